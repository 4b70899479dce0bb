from __future__ import annotations

from typing import Any

from constructs_lib.constructs.argocd.application import (
    ArgoApplication,
    ArgoApplicationProps,
    ChartSource,
    GitSource,
    HelmSource,
)
from constructs_lib.render.schema_check import validate_manifest
from tests.support import find
from tests.support.constructs import synth

GIT = GitSource(repo_url="https://git.example.com/shop.git", revision="main", path="dist/dev/app")
HELM = HelmSource(
    chart="demo-chart", pin=ChartSource(repo="https://charts.example.com", version="1.2.3")
)


def render(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = dict(
        name="shop",
        namespace="argocd",
        labels={},
        project="shop",
        source=GIT,
        destination_namespace="shop",
        destination_server="https://kubernetes.default.svc",
    )
    base.update(fields)
    props = ArgoApplicationProps(**base)
    app = find(synth(lambda c: ArgoApplication(c, "a", props=props)), "Application", "shop")
    assert validate_manifest(app) == []
    return app


def test_application_syncs_automatically_with_retry_and_finalizer() -> None:
    app = render(sync_wave="10")
    assert app["metadata"]["finalizers"] == ["resources-finalizer.argocd.argoproj.io"]
    assert app["metadata"]["annotations"] == {"argocd.argoproj.io/sync-wave": "10"}
    policy = app["spec"]["syncPolicy"]
    assert policy["automated"] == {"prune": True, "selfHeal": True}
    assert policy["retry"] == {
        "limit": 10,
        "backoff": {"duration": "5s", "factor": 2, "maxDuration": "3m"},
    }
    assert policy["syncOptions"] == ["PrunePropagationPolicy=foreground", "PruneLast=true"]
    assert app["spec"]["source"] == {
        "path": "dist/dev/app",
        "repoURL": "https://git.example.com/shop.git",
        "targetRevision": "main",
    }


def test_source_is_the_pinned_chart() -> None:
    app = render(source=HelmSource(chart="demo-chart", pin=HELM.pin, values={"x": 1}))
    assert app["spec"]["source"] == {
        "repoURL": "https://charts.example.com",
        "chart": "demo-chart",
        "targetRevision": "1.2.3",
        "helm": {"releaseName": "shop", "valuesObject": {"x": 1}},
    }


def test_no_values_means_chart_defaults() -> None:
    assert render(source=HELM)["spec"]["source"]["helm"] == {"releaseName": "shop"}


def test_one_file_of_a_folder() -> None:
    source = GitSource(
        repo_url="https://git.example.com/x.git", revision="v1", path="m", include="a.yaml"
    )
    assert render(source=source)["spec"]["source"]["directory"] == {"include": "a.yaml"}


def test_sync_options_and_the_namespace_argo_cd_creates() -> None:
    labels = {"pod-security.kubernetes.io/enforce": "restricted"}
    policy = render(create_namespace=True, server_side_apply=True, namespace_labels=labels)["spec"][
        "syncPolicy"
    ]
    assert policy["syncOptions"][-2:] == ["CreateNamespace=true", "ServerSideApply=true"]
    assert policy["managedNamespaceMetadata"] == {"labels": labels}
    # Labels only go to a namespace Argo CD creates.
    policy = render(namespace_labels=labels)["spec"]["syncPolicy"]
    assert "managedNamespaceMetadata" not in policy
    assert "CreateNamespace=true" not in policy["syncOptions"]


def test_an_application_whose_objects_outlive_it_has_no_finalizer() -> None:
    assert "finalizers" not in render(delete_resources=False)["metadata"]


def test_keys_are_sorted_unless_asked_otherwise() -> None:
    assert list(render()["spec"]) == ["destination", "project", "source", "syncPolicy"]
    assert list(render()["spec"]["syncPolicy"]["retry"]) == ["backoff", "limit"]
    documented = render(sorted_keys=False)["spec"]
    assert list(documented) == ["project", "source", "destination", "syncPolicy"]
    assert list(documented["syncPolicy"]) == ["automated", "syncOptions", "retry"]
