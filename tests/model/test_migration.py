"""Version 1 configs are read as version 2, and their problems named as version 1 wrote them."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from constructs_lib.model.config import AppConfig
from constructs_lib.model.loading import ConfigError, load_model, parse_model
from constructs_lib.model.migration import upgrade, upgrade_overlay_services, v1_moves
from tests.support import FIXTURES, ROOT

V1 = FIXTURES / "configs" / "v1" / "app-config.yaml"
INVALID_V1 = sorted((FIXTURES / "invalid-v1").glob("*.yaml"))


def v1_config(**service: object) -> dict[str, object]:
    entry = {"name": "report", "image": {"repository": "ghcr.io/example/r", "tag": "1"}}
    return {
        "version": 1,
        "app": {"name": "shop", "namespace": "shop"},
        "domain": "example.com",
        "services": [entry | service],
    }


def test_the_version_1_example_is_the_version_2_example() -> None:
    assert load_model(AppConfig, V1) == load_model(AppConfig, ROOT / "config" / "app-config.yaml")


@pytest.mark.parametrize("path", INVALID_V1, ids=lambda p: p.stem)
def test_a_version_1_problem_names_the_field_as_the_file_does(path: Path) -> None:
    expected = path.read_text().splitlines()[1].removeprefix("# Expect: ")
    with pytest.raises(ConfigError) as caught:
        load_model(AppConfig, path)
    assert caught.value.problems == [expected]


def test_options_version_1_ignored_are_still_ignored() -> None:
    """Version 1 accepted a CronJob option on a Deployment, and replicas on a CronJob, and
    rendered nothing for them; version 2 refuses them, so reading version 1 drops them."""
    web = parse_model(AppConfig, v1_config(suspend=True, backoff_limit=4), "inline").services[0]
    assert (web.type, web.cronjob, web.job) == ("Deployment", None, None)
    data = v1_config(type="CronJob", schedule="@daily", replicas=3, restart_policy="Never")
    report = parse_model(AppConfig, data, "inline").services[0]
    assert "replicas" not in report.model_fields_set
    assert report.job is not None and report.job.restart_policy == "Never"


def test_each_option_moves_into_its_section() -> None:
    service = {"name": "r", "type": "CronJob", "schedule": "@daily", "backoff_limit": 1}
    assert v1_moves(service) == [("schedule", "cronjob"), ("backoff_limit", "job")]
    assert upgrade({"version": 1, "services": [service]})["services"] == [
        {
            "name": "r",
            "type": "CronJob",
            "cronjob": {"schedule": "@daily"},
            "job": {"backoff_limit": 1},
        }
    ]
    assert upgrade({"version": 1})["version"] == 2


def test_an_overlay_entry_takes_the_kind_of_the_configs_service() -> None:
    entries = [{"name": "report", "suspend": True}, {"name": "web", "replicas": 1}]
    kinds = {"report": "CronJob", "web": "Deployment"}
    assert upgrade_overlay_services(entries, kinds.get) == [
        {"name": "report", "cronjob": {"suspend": True}},
        {"name": "web", "replicas": 1},
    ]


def test_a_version_1_file_is_kept_whole_by_the_loader() -> None:
    """The conversion works on a copy: the parsed data still says version 1."""
    data = yaml.safe_load(V1.read_text())
    parse_model(AppConfig, data, "inline")
    assert data["version"] == 1 and "schedule" in data["services"][3]
