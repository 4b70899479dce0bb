from __future__ import annotations

from typing import Any

import cdk8s

from constructs_lib.constructs.argocd.helm_addon import HelmAddon, HelmAddonProps
from constructs_lib.constructs.kube_object import synthesize
from constructs_lib.model.versions import ChartPin
from constructs_lib.render.schema_check import validate_manifest

PIN = ChartPin(version="1.2.3", repo="https://charts.example.com")


def render(**changes: Any) -> dict[str, Any]:
    chart = cdk8s.Chart(cdk8s.App(), "test")
    props: dict[str, Any] = dict(
        name="demo",
        chart="demo-chart",
        pin=PIN,
        argocd_namespace="argocd",
        labels={"a": "b"},
        project="platform",
        destination_namespace="demo",
    )
    props.update(changes)
    HelmAddon(chart, "Demo", props=HelmAddonProps(**props))
    manifest: dict[str, Any] = synthesize(chart)[0]
    return manifest


def test_source_is_the_pinned_chart() -> None:
    app = render(values={"x": 1})
    assert app["spec"]["source"] == {
        "repoURL": "https://charts.example.com",
        "chart": "demo-chart",
        "targetRevision": "1.2.3",
        "helm": {"releaseName": "demo", "valuesObject": {"x": 1}},
    }
    assert validate_manifest(app) == []


def test_sync_options_follow_the_props() -> None:
    options = render()["spec"]["syncPolicy"]["syncOptions"]
    assert "CreateNamespace=true" in options
    options = render(create_namespace=False, server_side_apply=True)["spec"]["syncPolicy"][
        "syncOptions"
    ]
    assert "CreateNamespace=true" not in options
    assert "ServerSideApply=true" in options


def test_no_values_means_chart_defaults() -> None:
    assert render()["spec"]["source"]["helm"] == {"releaseName": "demo"}


def test_wave_and_finalizer() -> None:
    app = render(sync_wave="2")
    assert app["metadata"]["annotations"] == {"argocd.argoproj.io/sync-wave": "2"}
    assert app["metadata"]["finalizers"] == ["resources-finalizer.argocd.argoproj.io"]
