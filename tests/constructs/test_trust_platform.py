"""Platform namespaces, quota and internet egress at their strictest by default."""

from __future__ import annotations

from pathlib import Path

import pytest

from constructs_lib.model.clusters import ClusterSettings
from constructs_lib.model.config import AppConfig
from constructs_lib.model.loading import ConfigError, load_model
from tests.support import with_changes
from tests.support.platform import render_platform

INVALID_CLUSTERS = sorted(
    (Path(__file__).resolve().parents[1] / "fixtures" / "invalid-clusters").glob("*.yaml")
)
RESTRICTED = {
    "pod-security.kubernetes.io/enforce": "restricted",
    "pod-security.kubernetes.io/enforce-version": "latest",
    "pod-security.kubernetes.io/audit": "restricted",
    "pod-security.kubernetes.io/warn": "restricted",
}


def test_addon_namespaces_argo_cd_creates_get_pod_security_labels(
    config: AppConfig, cluster: ClusterSettings
) -> None:
    rendered = render_platform(config, cluster)
    for name in ("ingress-nginx", "cert-manager"):
        policy = rendered.find("Application", name)["spec"]["syncPolicy"]
        assert "CreateNamespace=true" in policy["syncOptions"]
        assert policy["managedNamespaceMetadata"] == {"labels": RESTRICTED}
    # kube-system is k3s's: Argo CD does not create it, and its add-ons need hostPath.
    driver = rendered.find("Application", "secrets-store-csi-driver")["spec"]["syncPolicy"]
    assert "managedNamespaceMetadata" not in driver


def test_quota_allows_no_node_port_or_load_balancer_services_unless_asked(
    config: AppConfig, cluster: ClusterSettings
) -> None:
    rendered = render_platform(config, cluster)
    hard = rendered.find("ResourceQuota", "shop")["spec"]["hard"]
    assert hard["services.nodeports"] == "0"
    assert hard["services.loadbalancers"] == "0"
    # So cert-manager's HTTP-01 solver Service, created in the app namespace, must not be the
    # NodePort it is by default: the quota would refuse it and no certificate would issue.
    for issuer in rendered.names("ClusterIssuer"):
        for solver in rendered.find("ClusterIssuer", issuer)["spec"]["acme"]["solvers"]:
            assert solver["http01"]["ingress"]["serviceType"] == "ClusterIP", issuer
    asked = with_changes(config, platform__quota={"node_ports": 2, "load_balancers": 1})
    hard = render_platform(asked, cluster).find("ResourceQuota", "shop")["spec"]["hard"]
    assert (hard["services.nodeports"], hard["services.loadbalancers"]) == ("2", "1")


def _internet_except(config: AppConfig, cluster: ClusterSettings) -> tuple[list[str], list[str]]:
    policy = render_platform(config, cluster).find("NetworkPolicy", "allow-internet-egress")
    v4, v6 = (peer["ipBlock"] for peer in policy["spec"]["egress"][0]["to"])
    assert (v4["cidr"], v6["cidr"]) == ("0.0.0.0/0", "::/0")
    return v4["except"], v6["except"]


def test_internet_egress_excludes_the_nodes_and_the_cluster_ranges(
    config: AppConfig, cluster: ClusterSettings
) -> None:
    v4, _ = _internet_except(config, cluster)
    assert "192.0.2.10/32" in v4  # the node address clients reach (publish_status_address)
    assert "10.0.0.0/8" in v4  # covers k3s's 10.42.0.0/16 and 10.43.0.0/16
    moved = with_changes(
        cluster,
        network={
            "pod_cidr": "198.18.0.0/16",
            "service_cidr": "10.96.0.0/12",
            "node_addresses": ["203.0.113.7", "2001:db8::7"],
        },
    )
    v4, v6 = _internet_except(config, moved)
    assert v4[-2:] == ["198.18.0.0/16", "203.0.113.7/32"]
    assert "10.96.0.0/12" not in v4  # already inside 10.0.0.0/8
    assert "192.0.2.10/32" not in v4  # node_addresses replaces the default
    assert v6[-1] == "2001:db8::7/128"


@pytest.mark.parametrize("path", INVALID_CLUSTERS, ids=lambda p: p.stem)
def test_invalid_cluster_fixture_is_rejected_with_its_message(path: Path) -> None:
    lines = path.read_text().splitlines()
    assert lines[0].startswith("# Rejected because: ")
    with pytest.raises(ConfigError) as caught:
        load_model(ClusterSettings, path)
    assert caught.value.problems == [lines[1].removeprefix("# Expect: ")]
