from __future__ import annotations

import pytest

from constructs_lib.constructs.argocd.application import (
    ArgoApplication,
    ArgoApplicationProps,
    ArgoProject,
    ArgoProjectProps,
    Kind,
)
from tests.support import find
from tests.support.constructs import synth


def project(**fields: object) -> ArgoProjectProps:
    base: dict[str, object] = dict(
        name="shop",
        namespace="argocd",
        labels={},
        description="d",
        source_repos=("https://git.example.com/shop.git",),
        destinations=(("https://kubernetes.default.svc", "shop"),),
        namespaced_kinds=(Kind("apps", "Deployment"),),
    )
    base.update(fields)
    return ArgoProjectProps(**base)  # type: ignore[arg-type]


def test_project_allowlists() -> None:
    out = synth(lambda c: ArgoProject(c, "p", props=project()))
    spec = find(out, "AppProject", "shop")["spec"]
    assert spec["sourceRepos"] == ["https://git.example.com/shop.git"]
    assert spec["destinations"] == [
        {"namespace": "shop", "server": "https://kubernetes.default.svc"}
    ]
    assert spec["clusterResourceWhitelist"] == []
    assert spec["namespaceResourceWhitelist"] == [{"group": "apps", "kind": "Deployment"}]


def test_project_refuses_any_repo() -> None:
    with pytest.raises(ValueError, match="source_repos must list repositories, not"):
        synth(lambda c: ArgoProject(c, "p", props=project(source_repos=("*",))))


def test_application_syncs_automatically_with_retry_and_finalizer() -> None:
    props = ArgoApplicationProps(
        name="shop",
        namespace="argocd",
        labels={},
        project="shop",
        repo_url="https://git.example.com/shop.git",
        revision="main",
        path="dist/dev/app",
        destination_namespace="shop",
        sync_wave="10",
    )
    app = find(synth(lambda c: ArgoApplication(c, "a", props=props)), "Application", "shop")
    assert app["metadata"]["finalizers"] == ["resources-finalizer.argocd.argoproj.io"]
    assert app["metadata"]["annotations"] == {"argocd.argoproj.io/sync-wave": "10"}
    policy = app["spec"]["syncPolicy"]
    assert policy["automated"] == {"prune": True, "selfHeal": True}
    assert policy["retry"] == {
        "limit": 10,
        "backoff": {"duration": "5s", "factor": 2, "maxDuration": "3m"},
    }
    assert app["spec"]["source"] == {
        "path": "dist/dev/app",
        "repoURL": "https://git.example.com/shop.git",
        "targetRevision": "main",
    }
