from __future__ import annotations

from typing import Any

from constructs_lib.constructs.argocd.application import (
    ArgoApplicationProps,
    ChartSource,
    GitSource,
    HelmSource,
)
from constructs_lib.constructs.argocd.confined_application import (
    ConfinedApplication,
    ConfinedApplicationProps,
)
from constructs_lib.model.addons import Kind
from tests.support import find
from tests.support.constructs import synth

DEPLOYMENT = Kind("apps", "Deployment")


def render(application: ArgoApplicationProps, **fields: Any) -> tuple[dict[str, Any], Any]:
    props = ConfinedApplicationProps(
        application=application, description="d", namespaced_kinds=(DEPLOYMENT,), **fields
    )
    out = synth(lambda c: ConfinedApplication(c, "c", props=props))
    app = find(out, "Application", application.name)
    return app, find(out, "AppProject", application.project)["spec"]


def application(**fields: Any) -> ArgoApplicationProps:
    base: dict[str, Any] = dict(
        name="demo",
        namespace="argocd",
        labels={},
        project="addon-demo",
        source=GitSource(repo_url="https://git.example.com/x.git", revision="main", path="d"),
        destination_namespace="demo",
        destination_server="https://k8s.example.com",
    )
    base.update(fields)
    return ArgoApplicationProps(**base)


def test_the_project_allows_the_applications_source_and_destination_only() -> None:
    app, project = render(application(), other_namespaces=("kube-system",))
    assert app["spec"]["project"] == "addon-demo"
    assert project["sourceRepos"] == ["https://git.example.com/x.git"]
    assert project["destinations"] == [
        {"namespace": "demo", "server": "https://k8s.example.com"},
        {"namespace": "kube-system", "server": "https://k8s.example.com"},
    ]
    assert project["namespaceResourceWhitelist"] == [{"group": "apps", "kind": "Deployment"}]
    assert project["clusterResourceWhitelist"] == []


def test_a_chart_s_project_allows_its_helm_repository_and_the_namespace_argo_cd_creates() -> None:
    source = HelmSource(
        chart="demo", pin=ChartSource(repo="https://charts.example.com", version="1")
    )
    _, project = render(application(source=source, create_namespace=True))
    assert project["sourceRepos"] == ["https://charts.example.com"]
    assert project["clusterResourceWhitelist"] == [
        {"group": "", "kind": "Namespace", "name": "demo"}
    ]
