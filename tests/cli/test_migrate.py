"""`gitops-base migrate`: a version 1 config (and its overlays) rewritten as version 2, every
other line kept, or nothing written at all."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from constructs_lib.cli.main import main
from constructs_lib.cli.support.config_edit import migrate_services
from constructs_lib.model.config import AppConfig
from constructs_lib.model.loading import load_model
from tests.support import CONFIG, FIXTURES, run_cli

V1 = FIXTURES / "configs" / "v1" / "app-config.yaml"

COMMENTED = """\
version: 1  # the version
app: {name: shop, namespace: shop}
domain: example.com
services:
  - name: web
    image: {repository: ghcr.io/x/web, tag: "1"}
    suspend: false   # a Deployment ignored it in version 1
    backoff_limit: 3

  # the report
  - name: report
    type: CronJob
    image: {repository: ghcr.io/x/r, tag: "1"}
    # when it runs
    schedule: "0 1 * * *"   # nightly
    replicas: 2
    backoff_limit: 4  # retries
    suspend: true     # paused

  - {name: one, type: Job, image: {repository: ghcr.io/x/o, tag: "1"}, restart_policy: Never}
# the end
"""

MIGRATED = """\
version: 2  # the version
app: {name: shop, namespace: shop}
domain: example.com
services:
  - name: web
    image: {repository: ghcr.io/x/web, tag: "1"}

  # the report
  - name: report
    type: CronJob
    image: {repository: ghcr.io/x/r, tag: "1"}
    cronjob:
      # when it runs
      schedule: "0 1 * * *"   # nightly
      suspend: true     # paused
    job:
      backoff_limit: 4  # retries

  - {name: one, type: Job, image: {repository: ghcr.io/x/o, tag: "1"}, job: {restart_policy: Never}}
# the end
"""


@pytest.fixture
def v1_copy(tmp_path: Path) -> Path:
    path = tmp_path / "app-config.yaml"
    shutil.copyfile(V1, path)
    return path


def migrate(config: Path, *flags: str) -> int:
    return main(["migrate", str(config), "--overlays", str(config.parent / "overlays"), *flags])


def test_the_version_1_example_becomes_the_shipped_config(v1_copy: Path) -> None:
    """The shipped config is the mechanical migration of its version 1 form."""
    assert migrate(v1_copy) == 0
    assert v1_copy.read_text() == CONFIG.read_text()
    assert migrate(v1_copy) == 0  # a second run changes nothing
    assert v1_copy.read_text() == CONFIG.read_text()


def test_options_move_with_their_comments_and_ignored_ones_are_named() -> None:
    text, removed = migrate_services(COMMENTED)
    assert text == MIGRATED
    assert removed == [
        "services[0].suspend: removed; a Deployment ignored it",
        "services[0].backoff_limit: removed; a Deployment ignored it",
        "services[1].replicas: removed; a CronJob ignored it",
    ]


def test_what_it_writes_reads_as_what_was_read(tmp_path: Path) -> None:
    path = tmp_path / "app-config.yaml"
    path.write_text(COMMENTED)
    before = load_model(AppConfig, path)
    assert migrate(path) == 0
    assert load_model(AppConfig, path) == before


def test_an_invalid_config_is_refused_and_kept(
    v1_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = v1_copy.read_text().replace('schedule: "30 2 * * *"', 'schedule: "61 * * * *"')
    v1_copy.write_text(broken)
    assert migrate(v1_copy) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"{v1_copy}: services[3].schedule: '61 * * * *' is not a valid")
    assert err[-1] == "migrate: 1 problem(s); nothing was changed"
    assert v1_copy.read_text() == broken


def test_check_writes_nothing(v1_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert migrate(v1_copy, "--check") == 1
    assert "run gitops-base migrate" in capsys.readouterr().err
    assert v1_copy.read_text() == V1.read_text()


def test_overlays_follow_with_the_kinds_of_the_config(v1_copy: Path) -> None:
    overlay = v1_copy.parent / "overlays" / "dev" / "config.yaml"
    overlay.parent.mkdir(parents=True)
    overlay.write_text(
        "services:\n  - name: nightly-report\n    suspend: true  # not in dev\n"
        "  - name: web\n    replicas: 1\n"
    )
    assert migrate(v1_copy) == 0
    assert overlay.read_text() == (
        "services:\n  - name: nightly-report\n    cronjob:\n      suspend: true  # not in dev\n"
        "  - name: web\n    replicas: 1\n"
    )


def test_the_command_says_what_it_did(v1_copy: Path) -> None:
    done = run_cli("migrate", v1_copy, "--overlays", v1_copy.parent / "none")
    assert done.returncode == 0
    assert done.stdout == f"migrated {v1_copy} to version 2\n"
    done = run_cli("migrate", v1_copy, "--overlays", v1_copy.parent / "none")
    assert done.stdout == f"{v1_copy}: already version 2\n"
