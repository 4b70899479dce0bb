"""The cluster checks `bootstrap` and `doctor` share, as functions of the facts read from the
cluster (tests/e2e/test_doctor.py reads them from a real API server)."""

from __future__ import annotations

import pytest

from constructs_lib.cli.support.cluster_checks import (
    ClusterFacts,
    ServiceFacts,
    component_problems,
    disabled_components,
    listener_problem,
)
from constructs_lib.model.clusters import ClusterSettings
from tests.support import load_cluster, with_changes

SETTINGS = "clusters/dev/cluster.yaml"
NODE = (("node-1", "v1.36.3+k3s1"),)


@pytest.fixture
def dev() -> ClusterSettings:
    return load_cluster("dev")


@pytest.mark.parametrize(
    ("args", "disabled"),
    [
        (["server"], set()),
        (["server", "--disable", "traefik"], {"traefik"}),
        (["server", "--disable=traefik,servicelb"], {"traefik", "servicelb"}),
        # /etc/rancher/k3s/config.yaml `disable: [traefik, servicelb]` becomes repeated flags.
        (["server", "--disable", "traefik", "--disable", "servicelb"], {"traefik", "servicelb"}),
        (["server", "--no-deploy", "traefik"], {"traefik"}),
        (["server", "--disable", ""], set()),
        (["server", "--tls-san", "traefik"], set()),
    ],
)
def test_disabled_components_read_every_form_k3s_accepts(
    args: list[str], disabled: set[str]
) -> None:
    assert disabled_components(args) == disabled


def test_service_lb_needs_servicelb(dev: ClusterSettings) -> None:
    cluster = with_changes(dev, ingress__exposure="service-lb")
    facts = ClusterFacts(NODE, (), None, frozenset({"traefik", "servicelb"}))
    assert component_problems(facts, cluster, SETTINGS) == [
        f"{SETTINGS}: ingress.exposure is service-lb but k3s runs with --disable=servicelb: "
        "restart the k3s server without it, or set ingress.exposure: node-ports and forward "
        "ports 80 and 443 to the node ports"
    ]
    assert component_problems(facts, dev, SETTINGS) == []  # node-ports needs no ServiceLB


def test_traefik_needs_traefik(dev: ClusterSettings) -> None:
    cluster = with_changes(dev, ingress__controller="traefik")
    facts = ClusterFacts(NODE, (), None, frozenset({"traefik"}))
    assert component_problems(facts, cluster, SETTINGS) == [
        f"{SETTINGS}: ingress.controller is traefik but k3s runs with --disable=traefik: "
        "restart the k3s server without it, or set ingress.controller: nginx"
    ]


def lb(namespace: str, name: str, *ports: int, addresses: tuple[str, ...] = ()) -> ServiceFacts:
    return ServiceFacts(
        namespace, name, "LoadBalancer", tuple((p, 31000 + p) for p in ports), addresses
    )


def test_another_load_balancer_on_80_blocks_service_lb(dev: ClusterSettings) -> None:
    cluster = with_changes(dev, ingress__exposure="service-lb")
    facts = ClusterFacts(NODE, (), None, services=(lb("web", "caddy", 80),))
    assert listener_problem(facts, cluster, SETTINGS) == (
        "Service web/caddy is a LoadBalancer on port 80, which ServiceLB binds once per node: "
        f"remove it, or set ingress.exposure: node-ports in {SETTINGS}"
    )


def test_a_pending_load_balancer_is_named(dev: ClusterSettings) -> None:
    cluster = with_changes(dev, ingress__exposure="service-lb")
    pending = lb("ingress-nginx", "ingress-nginx-controller", 80, 443)
    problem = listener_problem(ClusterFacts(NODE, (), None, services=(pending,)), cluster, SETTINGS)
    assert problem is not None and problem.startswith(
        "Service ingress-nginx/ingress-nginx-controller has no address yet"
    )
    bound = lb("ingress-nginx", "ingress-nginx-controller", 80, 443, addresses=("192.0.2.10",))
    assert (
        listener_problem(ClusterFacts(NODE, (), None, services=(bound,)), cluster, SETTINGS) is None
    )


def test_a_node_port_another_service_holds_is_named(dev: ClusterSettings) -> None:
    other = ServiceFacts("web", "debug", "NodePort", ((8080, 30080),))
    assert listener_problem(ClusterFacts(NODE, (), None, services=(other,)), dev, SETTINGS) == (
        "Service web/debug holds node port 30080: change ingress.http_node_port / "
        f"https_node_port in {SETTINGS}, or free the port"
    )
    assert listener_problem(ClusterFacts(NODE, (), None), dev, SETTINGS) is None
