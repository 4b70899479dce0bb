from __future__ import annotations

import pytest

from constructs_lib.compose.platform import quota
from constructs_lib.model.clusters import ClusterSettings
from constructs_lib.model.config import AppConfig, container_defaults
from tests.support import with_changes
from tests.support.platform import render_platform, render_workloads


def test_namespace_enforces_restricted_and_is_never_pruned(
    config: AppConfig, cluster: ClusterSettings
) -> None:
    namespace = render_platform(config, cluster).find("Namespace", "shop")
    labels = namespace["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert labels["pod-security.kubernetes.io/enforce-version"] == "latest"
    annotations = namespace["metadata"]["annotations"]
    assert annotations["argocd.argoproj.io/sync-options"] == "Prune=false,Delete=false"
    assert annotations["argocd.argoproj.io/sync-wave"] == "-10"


def test_max_pods_counts_autoscaling_and_rollout_surge(
    config: AppConfig, cluster: ClusterSettings
) -> None:
    by_name = {w.service_name: w for w in render_workloads(config, cluster)}
    assert by_name["web"].max_pods == 6 + 2  # max_replicas 6, 25 % surge rounded up
    assert by_name["api"].max_pods == 2 + 1
    assert by_name["nightly-report"].max_pods == 1


def test_quota_is_derived_with_headroom(config: AppConfig, cluster: ClusterSettings) -> None:
    # web 8 pods x 100m, api 3 x 200m, worker 2 x 50m (defaults), report 1 x 100m,
    # two TLS Ingresses -> two HTTP-01 solvers x 10m: 1620m; +50 % = 2430m.
    hard = render_platform(config, cluster).find("ResourceQuota", "shop")["spec"]["hard"]
    assert hard["requests.cpu"] == "2430m"
    # 8x128 + 3x256 + 2x64 + 128 + 2x64 = 2176Mi; +50 % = 3264Mi.
    assert hard["requests.memory"] == "3264Mi"
    assert hard["pods"] == "24"  # (8 + 3 + 2 + 1 + 2) x 1.5


def test_headroom_and_explicit_totals_come_from_the_config(
    config: AppConfig, cluster: ClusterSettings
) -> None:
    config = with_changes(
        config,
        platform__quota={"headroom_percent": 0, "requests": {"cpu": "8"}, "pods": 50},
    )
    hard = render_platform(config, cluster).find("ResourceQuota", "shop")["spec"]["hard"]
    assert hard["requests.cpu"] == "8"
    assert hard["requests.memory"] == "2176Mi"
    assert hard["pods"] == "50"


def test_limit_range_defaults_follow_the_config_defaults(
    config: AppConfig, cluster: ClusterSettings
) -> None:
    limits = render_platform(config, cluster).find("LimitRange", "shop")["spec"]["limits"]
    assert limits == [
        {
            "type": "Container",
            "defaultRequest": {"cpu": "50m", "memory": "64Mi", "ephemeral-storage": "64Mi"},
            "default": {"cpu": "500m", "memory": "256Mi", "ephemeral-storage": "1Gi"},
        }
    ]


def test_limit_range_override_wins(config: AppConfig) -> None:
    config = with_changes(config, platform__limit_range={"default_request": {"cpu": "20m"}})
    request, limit = container_defaults(config)
    assert (request["cpu"], request["memory"]) == ("20m", "64Mi")
    assert (limit["cpu"], limit["memory"]) == ("500m", "256Mi")


def test_a_request_above_the_limit_is_an_error(config: AppConfig, cluster: ClusterSettings) -> None:
    """Refused by the config itself (validate), before anything renders."""
    with pytest.raises(
        ValueError,
        match=r"platform.limit_range: the default cpu request 2 is above the default cpu "
        r"limit 500m",
    ):
        with_changes(config, platform__limit_range={"default_request": {"cpu": "2"}})


def test_quota_and_limit_range_can_be_turned_off(
    config: AppConfig, cluster: ClusterSettings
) -> None:
    config = with_changes(
        config, platform__quota={"enabled": False}, platform__limit_range={"enabled": False}
    )
    rendered = render_platform(config, cluster)
    assert rendered.names("ResourceQuota") == []
    assert rendered.names("LimitRange") == []


def test_no_services_still_leaves_room_for_one_pod(config: AppConfig) -> None:
    config = with_changes(config, services=[])
    request, limit = container_defaults(config)
    assert quota(config, [], request, limit)["pods"] == "1"
