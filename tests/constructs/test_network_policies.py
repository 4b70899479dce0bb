"""The app namespace's NetworkPolicies allow exactly the flows the platform promises.

Flows are evaluated on a model of the pods the example config runs, the ingress controller,
CoreDNS, a cert-manager HTTP-01 solver and addresses outside the cluster.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from constructs_lib.constructs.labels import selector_labels
from constructs_lib.model.clusters import ClusterSettings
from constructs_lib.model.config import AppConfig
from tests.support import with_changes
from tests.support.netpol_model import External, Pod, allowed
from tests.support.platform import render_platform

NS = "shop"
NGINX = Pod(
    "ingress-nginx",
    {"app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/component": "controller"},
    {"http": 80, "https": 443},
)
TRAEFIK = Pod("kube-system", {"app.kubernetes.io/name": "traefik"}, {"web": 8000})
COREDNS = Pod("kube-system", {"k8s-app": "kube-dns"}, {"dns": 53})
SOLVER = Pod(NS, {"acme.cert-manager.io/http01-solver": "true"}, {"http": 8089})
STRANGER = Pod("other", {"app": "stranger"}, {"http": 8080})
INTERNET = External("93.184.215.14")
INTERNET6 = External("2606:2800:21f:cb07:6820:80da:af6b:8b2c")
PRIVATE = [
    External(ip)
    for ip in ("10.0.0.5", "172.16.3.4", "192.168.1.1", "169.254.169.254", "100.64.0.1", "fd00::1")
]


def app_pod(name: str, ports: dict[str, int] | None = None) -> Pod:
    return Pod(NS, selector_labels("shop", name), ports or {})


PROBES = [(53, "UDP"), (53, "TCP"), (443, "TCP"), (8080, "TCP"), (8089, "TCP"), (9090, "TCP")]
WEB = app_pod("web", {"http": 8080})
API = app_pod("api", {"http": 8080, "metrics": 9090})
WORKER = app_pod("worker")
REPORT = app_pod("nightly-report")
APP = [WEB, API, WORKER, REPORT]


def policies(config: AppConfig, cluster: ClusterSettings) -> list[dict[str, Any]]:
    return [m for m in render_platform(config, cluster).cluster if m["kind"] == "NetworkPolicy"]


def expected_flows(controller: Pod) -> set[tuple[Pod | External, Pod | External, int, str]]:
    dns = {(p, COREDNS, 53, proto) for p in [*APP, SOLVER] for proto in ("UDP", "TCP")}
    ingress = {
        (controller, WEB, 8080, "TCP"),
        (controller, API, 8080, "TCP"),
        (controller, SOLVER, 8089, "TCP"),
    }
    calls = {(WEB, API, 8080, "TCP"), (WEB, API, 9090, "TCP")}
    # Egress to public addresses is any port: the config says "internet", not which service.
    internet = {(API, dst, port, proto) for dst in (INTERNET, INTERNET6) for port, proto in PROBES}
    return dns | ingress | calls | internet


def test_exactly_the_promised_flows_are_allowed(
    config: AppConfig, cluster: ClusterSettings
) -> None:
    rendered = policies(config, cluster)
    endpoints: list[Pod | External] = [
        *APP,
        SOLVER,
        NGINX,
        TRAEFIK,
        COREDNS,
        STRANGER,
        INTERNET,
        INTERNET6,
        *PRIVATE,
    ]
    expected = expected_flows(NGINX)
    unexpected = []
    missing = []
    for src, dst in itertools.permutations(endpoints, 2):
        if not (isinstance(src, Pod) and src.namespace == NS) and not (
            isinstance(dst, Pod) and dst.namespace == NS
        ):
            continue  # the policies only govern the app namespace
        for port, protocol in PROBES:
            flow = (src, dst, port, protocol)
            if allowed(rendered, src, dst, port, protocol) and flow not in expected:
                unexpected.append(flow)
            if flow in expected and not allowed(rendered, src, dst, port, protocol):
                missing.append(flow)
    assert missing == []
    assert unexpected == []


def test_traefik_is_the_admitted_controller_when_selected(
    config: AppConfig, cluster: ClusterSettings
) -> None:
    rendered = policies(config, with_changes(cluster, ingress__controller="traefik"))
    assert allowed(rendered, TRAEFIK, WEB, 8080)
    assert allowed(rendered, TRAEFIK, SOLVER, 8089)
    assert not allowed(rendered, NGINX, WEB, 8080)


def test_internet_egress_is_off_unless_asked_for(
    config: AppConfig, cluster: ClusterSettings
) -> None:
    rendered = policies(config, cluster)
    assert allowed(rendered, API, INTERNET, 443)
    for pod in (WEB, WORKER, REPORT):
        assert not allowed(rendered, pod, INTERNET, 443)
    for address in PRIVATE:
        assert not allowed(rendered, API, address, 443), address


def test_undeclared_calls_between_services_are_denied(
    config: AppConfig, cluster: ClusterSettings
) -> None:
    rendered = policies(config, cluster)
    assert allowed(rendered, WEB, API, 8080)
    assert not allowed(rendered, API, WEB, 8080)
    assert not allowed(rendered, WORKER, API, 8080)


def test_no_ingress_no_controller_and_no_solver(
    config: AppConfig, cluster: ClusterSettings
) -> None:
    services = config.model_dump(mode="json")["services"]
    for service in services:
        if service["ingress"] is not None:
            service["ingress"]["tls"] = {"enabled": False}
    config = with_changes(config, tls__enabled=False, services=services)
    rendered = policies(config, cluster)
    assert not allowed(rendered, NGINX, SOLVER, 8089)
    assert allowed(rendered, NGINX, WEB, 8080)


def test_an_ingress_with_tls_of_its_own_gets_its_solver(
    config: AppConfig, cluster: ClusterSettings
) -> None:
    """web sets ingress.tls.enabled: its Ingress asks for a certificate whatever tls.enabled
    says, so its HTTP-01 solver must be reachable."""
    rendered = policies(with_changes(config, tls__enabled=False), cluster)
    assert allowed(rendered, NGINX, SOLVER, 8089)


def test_one_policy_per_concern_not_per_service(
    config: AppConfig, cluster: ClusterSettings
) -> None:
    names = sorted(p["metadata"]["name"] for p in policies(config, cluster))
    assert names == [
        "allow-acme-http01-solver",
        "allow-dns",
        "allow-egress-to-api",
        "allow-from-ingress-controller",
        "allow-internet-egress",
        "allow-to-api",
        "default-deny",
    ]


def test_policies_can_be_turned_off(config: AppConfig, cluster: ClusterSettings) -> None:
    config = with_changes(config, features__network_policies=False)
    assert policies(config, cluster) == []


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"egress": {"services": ["nope"]}}, "no service named 'nope' to call"),
        ({"egress": {"services": ["web"]}}, "service 'web' cannot name itself"),
        ({"egress": {"services": ["worker"]}}, "service 'worker' declares no ports to call"),
    ],
)
def test_declared_calls_must_name_a_service_with_ports(
    config: AppConfig, changes: dict[str, Any], message: str
) -> None:
    from constructs_lib.model.loading import ConfigError, parse_model

    data = config.model_dump(mode="json", exclude_unset=True)
    data["services"][0].update(changes)
    with pytest.raises(ConfigError) as exc:
        parse_model(AppConfig, data, "config")
    assert exc.value.problems == [f"services[0].egress.services[0]: {message}"]


# The dev cluster's node (publish_status_address), its pod and service ranges, loopback and
# the metadata endpoint: what no egress reaches.
NODE = External("192.0.2.10")
CLOSED = [NODE, External("10.42.0.7"), External("10.43.0.1"), External("127.0.0.1")]
CLOSED += [External("169.254.169.254"), External("::1"), External("fe80::1")]


@pytest.mark.parametrize(
    "external",
    [
        {"cidr": "0.0.0.0/0", "ports": [443, 6443, 10250]},
        {"cidr": "::/0", "ports": [443, 6443, 10250]},
        {"cidr": "10.0.0.0/8", "ports": [443, 6443, 10250]},
        {"cidr": "192.0.2.0/24", "ports": [443, 6443, 10250]},
        {"host": "payments.example.com", "ports": [443, 6443, 10250]},
    ],
    ids=lambda e: e.get("cidr") or e["host"],
)
def test_external_egress_never_reaches_the_cluster_s_own_ranges(
    config: AppConfig, cluster: ClusterSettings, external: dict[str, Any]
) -> None:
    """A range that holds the nodes, the pod or service range, loopback or link-local excepts
    them; a host opens public addresses only: the kubelet (10250) and the API server (6443) on
    a node stay closed, whatever the port list says."""
    data = config.model_dump(mode="json", exclude_unset=True)
    data["services"][2]["egress"] = {"external": [external]}  # the worker
    changed = AppConfig.model_validate(data)
    rendered = policies(changed, cluster)
    for target in CLOSED:
        for port in external["ports"]:
            assert not allowed(rendered, WORKER, target, port, "TCP"), (target, port)
    inside = {
        "0.0.0.0/0": INTERNET,
        "::/0": INTERNET6,
        "10.0.0.0/8": External("10.0.5.4"),
        "192.0.2.0/24": External("192.0.2.11"),
    }.get(external.get("cidr", ""), INTERNET)
    assert allowed(rendered, WORKER, inside, 443, "TCP")
