"""The static rules that mirror what the API server and its controllers accept."""

from __future__ import annotations

from pathlib import Path

import pytest

from constructs_lib.model.kube_rules import (
    annotation_key_problem,
    cron_problem,
    ingress_path_problem,
    time_zone_problem,
)
from tests.support import CONFIG, run_cli

# Accepted by robfig/cron v3's ParseStandard, which the API server runs on every schedule.
ACCEPTED = [
    "* * * * *",
    "*/5 * * * *",
    "0 3 * * *",
    "0 9 * * MON-FRI",
    "0 9 * * mon,wed,fri",
    "0 0 1 JAN *",
    "5/10 * * * *",
    "0 0 ? * 0",
    "0 0 29 2 *",
    "0 0 31 2 1",  # day of month and day of week both set: either one matches
    "0 0 30 2,4 *",
    "@daily",
    "@hourly",
]
REFUSED = [
    "0 0 L * *",
    "0 0 * * 1#2",
    "0 0 15W * *",
    "0 0 * * 7",
    "60 * * * *",
    "* 24 * * *",
    "* * 0 * *",
    "* * * 13 *",
    "*/0 * * * *",
    "5-1 * * * *",
    "1,,2 * * * *",
    "0 0 2 * * *",
    "* * *",
    "@every 5m",
    "TZ=UTC 0 0 * * *",
    "0 0 31 2 *",  # never fires
    "0 0 30,31 2 *",  # never fires
    "0 0 31 4,6,9,11 *",  # never fires
]


@pytest.mark.parametrize("schedule", ACCEPTED)
def test_schedules_kubernetes_accepts(schedule: str) -> None:
    assert cron_problem(schedule) is None


@pytest.mark.parametrize("schedule", REFUSED)
def test_schedules_kubernetes_refuses_or_never_runs(schedule: str) -> None:
    assert cron_problem(schedule) is not None


def test_time_zones_come_from_the_iana_database() -> None:
    for zone in ("Europe/Paris", "America/Argentina/Buenos_Aires", "UTC", "Etc/GMT+5"):
        assert time_zone_problem(zone) is None
    for zone in ("Europe/Atlantis", "Local", "utc", "", "../etc/passwd"):
        assert time_zone_problem(zone) is not None


def test_annotation_keys_are_qualified_names() -> None:
    for key in ("a", "example.com/a.b_c-d", "nginx.ingress.kubernetes.io/proxy-body-size"):
        assert annotation_key_problem(key) is None
    for key in ("", "/a", "a/", "a b", "Example.com/a", "a/b/c", "-a", "x" * 64, "a/_b"):
        assert annotation_key_problem(key) is not None


def test_ingress_paths_the_api_server_accepts() -> None:
    for path in ("/", "/v1/", "/a.b/c..d", "/.well-known/x", "/%20", "/a;b=1", "/..x"):
        assert ingress_path_problem(path) is None
    for path in ("//", "/a//b", "/a/./b", "/a/../b", "/a/.", "/a/..", "/x%2fy", "/x%2Fy", "/."):
        assert ingress_path_problem(path) is not None


def test_a_quantity_that_overflows_is_a_clean_error_in_validate_and_synth(tmp_path: Path) -> None:
    config = tmp_path / "app-config.yaml"
    config.write_text(CONFIG.read_text().replace("cpu: 50m", 'cpu: "1e400"', 1))
    assert config.read_text() != CONFIG.read_text()
    validate = run_cli("validate", config)
    assert validate.returncode == 1
    assert validate.stdout.splitlines() == [
        f"{config}: defaults.resources.requests.cpu: '1e400' is too large a quantity "
        "(at most 2^53, e.g. '8Pi')"
    ]
    synth = run_cli("synth", "--config", config, "--output", tmp_path / "dist")
    assert synth.returncode == 1
    assert "'1e400' is too large a quantity" in synth.stderr
    assert not (tmp_path / "dist").exists()
