"""The derived ResourceQuota has an absolute bound, checked on the config from the same
numbers the platform renders the quota from."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml

from constructs_lib.compose.platform import quota
from constructs_lib.model.config import AppConfig, container_defaults, quota_shares
from constructs_lib.model.loading import ConfigError, parse_model
from tests.bench.generate import config as generated
from tests.support import load_cluster, load_config
from tests.support.platform import render_workloads

ROOT = Path(__file__).resolve().parents[2]


def model_hard(config: AppConfig) -> dict[str, str]:
    factor = 1 + config.platform.quota.headroom_percent / 100
    out = {}
    for key, items in quota_shares(config).items():
        total = sum(share for _, share in items) * factor
        if key.endswith("cpu"):
            out[key] = f"{math.ceil(round(total * 1000, 6))}m"
        else:
            out[key] = f"{math.ceil(round(total / 2**20, 6))}Mi"
    return out


@pytest.mark.parametrize("source", ["example", "generated-40", "autoscaled"])
def test_the_bound_sees_what_the_platform_renders(source: str) -> None:
    """The check's totals are the rendered quota's: the two can never drift apart."""
    if source == "example":
        config = load_config()
    else:
        data = generated(40)
        if source == "autoscaled":
            data["services"][0]["autoscaling"] = {"max_replicas": 7}
            data["services"][1]["type"] = "StatefulSet"
            data["services"][1].pop("ingress", None)
        config = parse_model(AppConfig, data, "inline")
    cluster = load_cluster()
    request, limit = container_defaults(config)
    rendered = quota(config, render_workloads(config, cluster), request, limit)
    assert {k: rendered[k] for k in model_hard(config)} == model_hard(config)


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
