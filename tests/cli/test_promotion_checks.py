"""What `promote` checks in the source environment (pure, on objects as the API server returns
them), the image at a commit from a real Git clone, and the command's refusals offline (end to
end, with three real control planes: tests/e2e/test_promotion_journey.py)."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from constructs_lib.cli.support import promotion_checks as pc
from tests.support import CONFIG, ROOT, run_cli

IMAGE = "ghcr.io/example/shop-web:1.9.1"
OLD_IMAGE = "ghcr.io/example/shop-web:1.9.0"
NOW = datetime(2026, 5, 2, 12, 0, tzinfo=UTC)
R1, R2, R3 = "1" * 40, "2" * 40, "3" * 40
WEB = pc.Workload("apps/v1", "Deployment", "shop", "web", "web")


def at(minutes_ago: float) -> str:
    return (NOW - timedelta(minutes=minutes_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def deployment(image: str = IMAGE) -> dict[str, Any]:
    containers = [{"name": "log-shipper", "image": "busybox:1"}, {"name": "web", "image": image}]
    return {"spec": {"template": {"spec": {"containers": containers}}}}


def application(
    revision: str = R3,
    sync: str = "Synced",
    health: str = "Healthy",
    healthy_since: float = 30,
    history: list[tuple[str, float]] | None = None,
) -> dict[str, Any]:
    entries = history if history is not None else [(R1, 60), (R2, 20), (R3, 10)]
    return {
        "status": {
            "sync": {"status": sync, "revision": revision},
            "health": {"status": health, "lastTransitionTime": at(healthy_since)},
            "history": [{"revision": r, "deployedAt": at(m)} for r, m in entries],
        }
    }


def contains_image(commit: str) -> bool | None:
    """R1 ran the old image; R2 and R3 the new one; anything else is unknown here."""
    return {R1: False, R2: True, R3: True}.get(commit)


def problems(
    live: dict[str, Any] | None = None,
    app: dict[str, Any] | None = None,
    soak: int = 300,
    missing_app: bool = False,
) -> list[str]:
    return pc.source_problems(
        "dev",
        WEB,
        IMAGE,
        deployment() if live is None else live,
        "shop",
        None if missing_app else (app or application()),
        contains_image,
        soak,
        NOW,
    )


def test_a_source_that_ran_the_image_healthy_long_enough_passes() -> None:
    # Healthy for 30 minutes, the image since R2 (20 minutes): the later start counts.
    assert problems(soak=20 * 60) == []


def test_the_soak_time_counts_from_the_first_sync_of_the_image() -> None:
    assert problems(soak=20 * 60 + 1) == [
        "dev: ghcr.io/example/shop-web:1.9.1 has run Synced and Healthy for 20m, less than the "
        "soak time 20m1s: promote again after 2026-05-02 12:00:01 UTC"
    ]


def test_the_soak_time_counts_from_the_last_time_it_turned_healthy() -> None:
    assert problems(app=application(healthy_since=2)) == [
        "dev: ghcr.io/example/shop-web:1.9.1 has run Synced and Healthy for 2m, less than the "
        "soak time 5m: promote again after 2026-05-02 12:03:00 UTC"
    ]


def test_a_source_running_another_image_is_refused() -> None:
    assert problems(live=deployment(OLD_IMAGE)) == [
        "dev: Deployment shop/web runs ghcr.io/example/shop-web:1.9.0, not "
        "ghcr.io/example/shop-web:1.9.1, the image the promotion would take: wait until dev "
        "synced it (gitops-base wait --env dev)"
    ]


@pytest.mark.parametrize(
    ("sync", "health", "shown"),
    [
        ("Synced", "Progressing", "Synced, Progressing"),
        ("OutOfSync", "Degraded", "OutOfSync, Degraded"),
    ],
)
def test_a_source_not_synced_and_healthy_is_refused(sync: str, health: str, shown: str) -> None:
    assert problems(app=application(sync=sync, health=health)) == [
        f"dev: Application shop is {shown} at 3333333; it must be Synced and Healthy "
        "(gitops-base wait --env dev)"
    ]


def test_a_source_at_a_commit_without_the_image_is_refused() -> None:
    assert problems(app=application(revision=R1)) == [
        "dev: Application shop is at 1111111, whose config does not give dev "
        "ghcr.io/example/shop-web:1.9.1"
    ]
    assert problems(app=application(revision="9" * 40)) == [
        "dev: Application shop is at 9999999, a commit this clone does not have: git fetch, "
        "then promote again"
    ]


def test_missing_objects_are_named() -> None:
    found = pc.source_problems("dev", WEB, IMAGE, None, "shop", None, contains_image, 300, NOW)
    assert found == [
        "dev: Deployment shop/web does not exist in the cluster",
        "dev: Application shop does not exist",
    ]


def test_without_history_of_the_image_it_cannot_tell_how_long() -> None:
    app = application(history=[(R1, 60)])
    del app["status"]["health"]["lastTransitionTime"]
    assert problems(app=app) == [
        "dev: Application shop has no sync history with ghcr.io/example/shop-web:1.9.1: cannot "
        "tell how long it has run"
    ]


def test_the_workload_and_its_container_come_from_dist() -> None:
    app_dir = ROOT / "dist" / "dev" / "app"
    assert pc.rendered_workload(app_dir, "web") == WEB
    cron = pc.rendered_workload(app_dir, "nightly-report")
    assert cron == pc.Workload("batch/v1", "CronJob", "shop", "nightly-report", "nightly-report")
    assert pc.rendered_workload(app_dir, "nope") is None
    live = {
        "spec": {
            "jobTemplate": {
                "spec": {
                    "template": {
                        "spec": {"containers": [{"name": "nightly-report", "image": "x:1"}]}
                    }
                }
            }
        }
    }
    assert pc.live_image(cron, live) == "x:1"


def test_the_soak_time_is_the_flag_else_the_setting_else_five_minutes() -> None:
    assert pc.soak_of("90s", 600) == 90
    assert pc.soak_of(None, 600) == 600
    assert pc.soak_of(None, None) == 300


def test_the_image_at_a_commit_is_read_from_the_config_there(tmp_path: Path) -> None:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(tmp_path), *args], check=True, capture_output=True, text=True
        ).stdout.strip()

    git("init", "-q", "-b", "main")
    git("config", "user.email", "ci@example.com")
    git("config", "user.name", "CI")
    config = tmp_path / "config" / "app-config.yaml"
    config.parent.mkdir()
    text = CONFIG.read_text()
    config.write_text(text)
    git("add", "-A")
    git("commit", "-qm", "base")
    first = git("rev-parse", "HEAD")
    config.write_text(
        text.replace('prod: {tag: "1.8.2"}', 'prod: {tag: "1.8.2"}\n        dev: {tag: "1.9.1"}', 1)
    )
    git("commit", "-qam", "web 1.9.1 in dev")
    second = git("rev-parse", "HEAD")
    has = pc.config_image_at(tmp_path, config, "dev", "web", IMAGE)
    assert (has(first), has(second), has("9" * 40)) == (False, True, None)


def promote_offline(
    config: Path, tmp_path: Path, *extra: str
) -> tuple[subprocess.CompletedProcess[str], bytes]:
    """dev pinned to web 2.0.0, then `promote web --from dev --to test` with a kubeconfig that
    does not exist; (the run, the config as it was before the promotion)."""
    run_cli("set-image", "web", "2.0.0", "--env", "dev", "--config", config)
    before = config.read_bytes()
    kubeconfig = tmp_path / "none.kubeconfig"
    args = ("--from", "dev", "--to", "test", "--config", config, "--kubeconfig", kubeconfig)
    return run_cli("promote", "web", *args, *extra), before


def test_offline_the_promotion_is_refused_and_needs_force(
    config_copy: Path, tmp_path: Path
) -> None:
    before = config_copy.read_bytes()
    done, middle = promote_offline(config_copy, tmp_path)
    assert middle != before
    assert done.returncode == 1
    first, summary = done.stderr.splitlines()
    assert first.startswith(
        f"cannot check dev's cluster: kubeconfig {tmp_path / 'none.kubeconfig'}: "
    )
    assert first.endswith(
        "; to promote without them: --force --reason TEXT "
        "(docs/how-to/image-updates.md#promotion-checks)"
    )
    assert summary == f"promote: refused; {config_copy} was not changed"
    assert config_copy.read_bytes() == middle


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--force",), "usage: --force needs --reason TEXT (recorded with --commit)"),
        (("--force", "--reason", "  \n "), "usage: --reason: give a reason (one line of text)"),
        (("--soak", "soon"), "usage: --soak: 'soon' is not a duration (like 90s, 5m or 1h30m)"),
    ],
)
def test_bad_flags_are_usage_errors(
    config_copy: Path, tmp_path: Path, extra: tuple[str, ...], message: str | None
) -> None:
    done, before = promote_offline(config_copy, tmp_path, *extra)
    assert config_copy.read_bytes() == before
    assert (done.returncode, done.stdout.strip()) == (2, message)
