from __future__ import annotations

import pytest

from constructs_lib.model.clusters import ClusterSettings
from constructs_lib.model.config import AppConfig, container_defaults, derived_quota
from tests.support import with_changes
from tests.support.platform import render_platform


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


def test_the_quota_is_the_derived_one(config: AppConfig, cluster: ClusterSettings) -> None:
    hard = render_platform(config, cluster).find("ResourceQuota", "shop")["spec"]["hard"]
    assert hard == derived_quota(config)


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
