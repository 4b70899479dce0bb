"""The ingress-nginx chart at its pinned version, rendered with real helm from the values each
`ingress.exposure` gives it: the Service k3s's ServiceLB would bind on ports 80 and 443 of
every node (service-lb), or the NodePort Service a router forwards to (node-ports)."""

from __future__ import annotations

from typing import Any

import pytest

from constructs_lib.compose.build import build
from constructs_lib.model.clusters import ClusterSettings
from constructs_lib.model.config import AppConfig
from constructs_lib.model.loading import load_model
from constructs_lib.paths import ROOT
from tests.e2e.addon_kinds import charts_dir, helm_binary, render_chart


def rendered(exposure: str, addresses: list[str]) -> list[dict[str, Any]]:
    config = load_model(AppConfig, ROOT / "config" / "app-config.yaml")
    cluster = load_model(ClusterSettings, ROOT / "clusters" / "dev" / "cluster.yaml")
    ingress = cluster.ingress.model_copy(
        update={"exposure": exposure, "publish_status_address": addresses}
    )
    env = build(config, cluster.model_copy(update={"ingress": ingress}))
    app = next(
        o
        for objs in env.folders.values()
        for o in objs
        if o["kind"] == "Application" and o["metadata"]["name"] == "ingress-nginx"
    )
    return render_chart(app, helm_binary(), charts_dir())


def controller_service(objects: list[dict[str, Any]]) -> dict[str, Any]:
    return next(
        o
        for o in objects
        if o["kind"] == "Service" and o["metadata"]["name"] == "ingress-nginx-controller"
    )


def controller_args(objects: list[dict[str, Any]]) -> list[str]:
    deployment = next(o for o in objects if o["kind"] == "Deployment")
    args: list[str] = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    return args


@pytest.mark.parametrize("exposure", ["node-ports", "service-lb"])
def test_the_controller_service_listens_where_the_exposure_says(exposure: str) -> None:
    objects = rendered(exposure, ["192.0.2.10"])
    spec = controller_service(objects)["spec"]
    assert spec["type"] == ("LoadBalancer" if exposure == "service-lb" else "NodePort")
    ports = {p["name"]: (p["port"], p.get("nodePort")) for p in spec["ports"]}
    # ServiceLB binds the Service's ports on the node: 80 and 443; the node ports stay pinned.
    assert ports == {"http": (80, 30080), "https": (443, 30443)}
    args = controller_args(objects)
    assert "--publish-status-address=192.0.2.10" in args
    assert not any(a.startswith("--publish-service") for a in args)


def test_behind_service_lb_without_an_address_the_service_status_is_published() -> None:
    args = controller_args(rendered("service-lb", []))
    assert "--publish-service=$(POD_NAMESPACE)/ingress-nginx-controller" in args
    assert not any(a.startswith("--publish-status-address") for a in args)
