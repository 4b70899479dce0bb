"""The derived ResourceQuota: each service's most pods times its resources, plus headroom, and
an absolute bound on it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from constructs_lib.model.config import AppConfig, derived_quota, quota_shares
from constructs_lib.model.loading import ConfigError, parse_model
from tests.bench.generate import config as generated
from tests.support import with_changes

ROOT = Path(__file__).resolve().parents[2]


def test_pods_count_full_autoscale_and_a_deployments_rollout_surge(config: AppConfig) -> None:
    pods = dict(quota_shares(config)["pods"])
    assert pods == {
        "services[0] 'web' (8 pods)": 6 + 2,  # max_replicas 6, 25 % surge rounded up
        "services[1] 'api' (3 pods)": 2 + 1,
        "services[2] 'worker' (2 pods)": 1 + 1,
        "services[3] 'nightly-report' (1 pod)": 1,
        "the ACME solvers": 2,  # one per Ingress with TLS
    }


def test_a_statefulset_has_no_surge() -> None:
    data = generated(2)
    data["services"][0].update(type="StatefulSet", replicas=4)
    data["services"][0].pop("ingress", None)
    config = parse_model(AppConfig, data, "inline")
    assert quota_shares(config)["pods"][0][1] == 4


def test_the_quota_is_the_shares_plus_headroom(config: AppConfig) -> None:
    hard = derived_quota(config)
    # web 8 pods x 100m, api 3 x 200m, worker 2 x 50m (defaults), report 1 x 100m,
    # two TLS Ingresses -> two HTTP-01 solvers x 10m: 1620m; +50 % = 2430m.
    assert hard["requests.cpu"] == "2430m"
    # 8x128 + 3x256 + 2x64 + 128 + 2x64 = 2176Mi; +50 % = 3264Mi.
    assert hard["requests.memory"] == "3264Mi"
    assert hard["pods"] == "24"  # (8 + 3 + 2 + 1 + 2) x 1.5


def test_no_services_still_leaves_room_for_one_pod(config: AppConfig) -> None:
    assert derived_quota(with_changes(config, services=[]))["pods"] == "1"


def test_a_quota_within_the_bound_passes() -> None:
    data = yaml.safe_load((ROOT / "config" / "app-config.yaml").read_text())
    data["services"][0]["replicas"] = 200  # 250 pods of 250m requests: 94 cores with headroom
    parse_model(AppConfig, data, "inline")


def test_a_disabled_quota_is_not_bounded() -> None:
    data = yaml.safe_load(
        (ROOT / "tests" / "fixtures" / "invalid" / "quota-requests-cpu-over-bound.yaml").read_text()
    )
    data["platform"] = {"quota": {"enabled": False}}
    parse_model(AppConfig, data, "inline")
    data["platform"] = {"quota": {"headroom_percent": 0}}  # 704 cores without headroom
    parse_model(AppConfig, data, "inline")
    data["platform"] = {"quota": {"headroom_percent": 100}}
    with pytest.raises(ConfigError) as caught:
        parse_model(AppConfig, data, "inline")
    assert "requests.cpu would be 1,408 cores (with 100% headroom)" in caught.value.problems[0]


def test_an_ingress_with_tls_of_its_own_counts_its_solver(config: AppConfig) -> None:
    """web sets ingress.tls.enabled, so it asks for a certificate whatever tls.enabled says."""
    pods = dict(quota_shares(with_changes(config, tls__enabled=False))["pods"])
    assert pods["the ACME solvers"] == 1
