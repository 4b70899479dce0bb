from __future__ import annotations

from typing import Any

import pytest

from constructs_lib.constructs.argocd.project import ANY_KIND, ArgoProject, ArgoProjectProps
from constructs_lib.model.addons import Kind
from constructs_lib.render.schema_check import validate_manifest
from tests.support import find
from tests.support.constructs import synth


def project(**fields: Any) -> ArgoProjectProps:
    base: dict[str, Any] = dict(
        name="shop",
        namespace="argocd",
        labels={},
        description="d",
        source_repos=("https://git.example.com/shop.git",),
        namespaces=("shop",),
        namespaced_kinds=(Kind("apps", "Deployment"),),
        server="https://kubernetes.default.svc",
    )
    base.update(fields)
    return ArgoProjectProps(**base)


def render(**fields: Any) -> dict[str, Any]:
    out = synth(lambda c: ArgoProject(c, "p", props=project(**fields)))
    return find(out, "AppProject", fields.get("name", "shop"))


def test_project_allowlists() -> None:
    rendered = render()
    spec = rendered["spec"]
    assert spec["sourceRepos"] == ["https://git.example.com/shop.git"]
    assert spec["destinations"] == [
        {"namespace": "shop", "server": "https://kubernetes.default.svc"}
    ]
    assert spec["clusterResourceWhitelist"] == []
    assert spec["namespaceResourceWhitelist"] == [{"group": "apps", "kind": "Deployment"}]
    assert "namespaceResourceBlacklist" not in spec
    assert rendered["metadata"]["annotations"] == {"argocd.argoproj.io/sync-wave": "-1"}
    assert validate_manifest(rendered) == []


def test_keys_are_sorted_unless_asked_otherwise() -> None:
    assert list(render()["spec"]) == sorted(render()["spec"])
    assert list(render(sorted_keys=False)["spec"]) == [
        "description",
        "sourceRepos",
        "destinations",
        "clusterResourceWhitelist",
        "namespaceResourceWhitelist",
    ]


def test_project_refuses_any_repo() -> None:
    with pytest.raises(ValueError, match="source_repos must list repositories, not"):
        render(source_repos=("*",))


def test_a_project_without_repositories_allows_nothing() -> None:
    with pytest.raises(ValueError, match="source_repos is empty; a project that allows"):
        render(source_repos=())
    locked = render(
        name="default",
        source_repos=(),
        namespaces=(),
        namespaced_kinds=(),
        denied_namespaced_kinds=(ANY_KIND,),
        sync_wave=None,
    )
    assert locked["spec"]["namespaceResourceBlacklist"] == [{"group": "*", "kind": "*"}]
    assert locked["spec"]["destinations"] == [] and locked["spec"]["sourceRepos"] == []
    assert "annotations" not in locked["metadata"]
    assert validate_manifest(locked) == []


def test_cluster_scoped_kinds_may_name_their_object_namespaced_ones_may_not() -> None:
    named = Kind("rbac.authorization.k8s.io", "ClusterRoleBinding", "demo")
    spec = render(cluster_kinds=(named,))["spec"]
    assert spec["clusterResourceWhitelist"] == [
        {"group": "rbac.authorization.k8s.io", "kind": "ClusterRoleBinding", "name": "demo"}
    ]
    web = Kind("apps", "Deployment", "web")
    with pytest.raises(ValueError, match="namespaced kind Deployment names an object"):
        render(namespaced_kinds=(web,))
