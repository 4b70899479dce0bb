"""`gitops-base wait`: the verdict on each Application (pure), the polling loop with a fake
clock, revisions from a real Git clone, and the command's one-line errors."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from constructs_lib.cli import wait as wt
from constructs_lib.cli.main import main
from constructs_lib.model.durations import format_duration, parse_duration
from tests.cli.test_status import Clock

OLD = "1" * 40
WANTED = "2" * 40
NEWER = "3" * 40
OTHER = "4" * 40
T0 = "2026-05-02T10:00:00Z"
T1 = "2026-05-02T10:00:05Z"

# The history the fake Git knows: OLD <- WANTED <- NEWER; OTHER is on another branch.
ANCESTRY = {(WANTED, WANTED), (NEWER, WANTED)}


def contains(revision: str, wanted: str) -> bool | None:
    if revision not in (OLD, WANTED, NEWER, OTHER):
        return None
    return (revision, wanted) in ANCESTRY


def app(
    name: str = "shop",
    *,
    revision: str = WANTED,
    sync: str = "Synced",
    health: str = "Healthy",
    op: dict[str, Any] | None = None,
    reconciled: str = T1,
    conditions: list[dict[str, str]] | None = None,
    resources: list[dict[str, Any]] | None = None,
    refreshing: bool = False,
) -> dict[str, Any]:
    status: dict[str, Any] = {
        "sync": {"status": sync, "revision": revision},
        "health": {"status": health},
        "reconciledAt": reconciled,
    }
    if op is not None:
        status["operationState"] = op
    if conditions:
        status["conditions"] = conditions
    if resources:
        status["resources"] = resources
    annotations = {"argocd.argoproj.io/refresh": "normal"} if refreshing else {}
    return {
        "metadata": {"name": name, "annotations": annotations},
        "spec": {"source": {"repoURL": "https://git.example/shop.git"}},
        "status": status,
    }


def op(phase: str, revision: str = WANTED, **extra: Any) -> dict[str, Any]:
    return {
        "phase": phase,
        "operation": {"sync": {"revision": revision}},
        "syncResult": {"revision": revision, "resources": extra.pop("results", [])},
        "finishedAt": T0,
        **extra,
    }


REFUSED_RESULT = {
    "kind": "ClusterRole",
    "name": "sneaky",
    "status": "SyncFailed",
    "message": "resource rbac.authorization.k8s.io:ClusterRole is not permitted in project shop",
}
WEB_DEGRADED = {
    "kind": "Deployment",
    "namespace": "shop",
    "name": "web",
    "status": "Synced",
    "health": {"status": "Degraded", "message": 'Deployment "web" exceeded its progress deadline'},
}


@pytest.mark.parametrize(
    ("obj", "phase", "detail"),
    [
        (None, "missing", "not created yet"),
        (app(revision=OLD), "behind", "at 1111111 (older), waiting for it"),
        (app(revision=OTHER), "behind", "at 4444444 (older), waiting for it"),
        (
            app(revision="5" * 40),
            "behind",
            "at 5555555 (not in this clone: git fetch to compare), waiting for it",
        ),
        (app(refreshing=True), "behind", "refresh asked, at 2222222"),
        (
            app(sync="OutOfSync", op=op("Succeeded", OLD)),
            "syncing",
            "OutOfSync, Healthy at 2222222",
        ),
        (app(sync="OutOfSync", op=op("Running")), "syncing", "syncing 2222222"),
        (
            app(op=op("Succeeded"), reconciled="2026-05-02T09:59:59Z"),
            "syncing",
            "synced 2222222, not assessed yet",
        ),
        (app(op=op("Succeeded")), "healthy", "Synced, Healthy at 2222222"),
        (app(revision=NEWER, op=op("Succeeded", NEWER)), "healthy", "Synced, Healthy at 3333333"),
        (
            app(health="Progressing", op=op("Succeeded")),
            "progressing",
            "Synced, Progressing at 2222222",
        ),
        (
            app(health="Degraded", op=op("Succeeded"), resources=[WEB_DEGRADED]),
            "degraded",
            "Synced, Degraded at 2222222",
        ),
        (
            app(sync="OutOfSync", op=op("Failed", message="one or more objects failed to apply")),
            "failed",
            "sync of 2222222 Failed: one or more objects failed to apply",
        ),
        (
            app(
                sync="OutOfSync",
                op=op(
                    "Running",
                    retryCount=1,
                    message="one or more synchronization tasks are not valid. Retrying attempt #1",
                    results=[REFUSED_RESULT],
                ),
            ),
            "failed",
            "sync of 2222222 refused: one or more synchronization tasks are not valid. "
            "Retrying attempt #1",
        ),
        # A sync of an older revision that failed does not fail the newer one.
        (
            app(sync="OutOfSync", op=op("Failed", OLD, message="boom")),
            "syncing",
            "OutOfSync, Healthy at 2222222",
        ),
    ],
    ids=[
        "missing",
        "older",
        "other-branch",
        "unknown-commit",
        "refresh-pending",
        "out-of-sync",
        "sync-running",
        "not-assessed-after-sync",
        "healthy",
        "descendant",
        "progressing",
        "degraded",
        "sync-failed",
        "refused-while-retrying",
        "older-failure",
    ],
)
def test_verdict(obj: dict[str, Any] | None, phase: str, detail: str) -> None:
    verdict = wt.judge(obj, "shop", WANTED, contains)
    assert (verdict.phase, verdict.detail) == (phase, detail)


def test_a_degraded_verdict_names_the_failing_object_and_why() -> None:
    verdict = wt.judge(
        app(health="Degraded", op=op("Succeeded"), resources=[WEB_DEGRADED]),
        "shop",
        WANTED,
        contains,
    )
    assert verdict.failing == (wt.ObjectRef("Deployment", "shop", "web"),)
    assert verdict.reasons == (
        'shop: Deployment shop/web: Degraded (Deployment "web" exceeded its progress deadline)',
    )


def test_a_refused_object_is_named_with_the_project_s_message() -> None:
    verdict = wt.judge(
        app(sync="OutOfSync", op=op("Failed", message="sync failed", results=[REFUSED_RESULT])),
        "shop",
        WANTED,
        contains,
    )
    assert verdict.failing == (wt.ObjectRef("ClusterRole", "", "sneaky"),)
    assert (
        "shop: ClusterRole sneaky: resource rbac.authorization.k8s.io:ClusterRole is not "
        "permitted in project shop" in verdict.reasons
    )


def run_wait(
    rounds: list[list[dict[str, Any]]], names: tuple[str, ...] = ("shop",), timeout: float = 60
) -> tuple[wt.WaitResult, list[str]]:
    clock, lines = Clock(), list[str]()
    feed = iter(rounds)
    last = [rounds[0]]

    def fetch() -> list[dict[str, Any]]:
        last[0] = next(feed, last[0])
        return last[0]

    result = wt.wait_for_revision(
        fetch, names, WANTED, contains, timeout, lines.append, 2, clock, clock.sleep
    )
    return result, lines


def test_the_wait_ends_when_every_application_is_healthy_at_the_revision() -> None:
    result, lines = run_wait(
        [
            [app(revision=OLD, op=op("Succeeded", OLD))],
            [app(sync="OutOfSync", op=op("Running")), app("platform", op=op("Succeeded"))],
            [app(health="Progressing", op=op("Succeeded")), app("platform", op=op("Succeeded"))],
            [app(op=op("Succeeded")), app("platform", op=op("Succeeded"))],
        ],
        names=("platform", "shop"),
    )
    assert (result.outcome, result.seconds) == ("healthy", 6)
    assert lines == [
        "[    0s] platform: not created yet",
        "[    0s] shop: at 1111111 (older), waiting for it",
        "[    2s] platform: Synced, Healthy at 2222222",
        "[    2s] shop: syncing 2222222",
        "[    4s] shop: Synced, Progressing at 2222222",
        "[    6s] shop: Synced, Healthy at 2222222",
    ]


def test_an_older_revision_never_satisfies_the_wait() -> None:
    result, lines = run_wait([[app(revision=OLD, op=op("Succeeded", OLD))]], timeout=10)
    assert (result.outcome, result.seconds) == ("timeout", 10)
    assert lines == ["[    0s] shop: at 1111111 (older), waiting for it"]


def test_degraded_fails_at_once() -> None:
    result, _ = run_wait(
        [
            [app(health="Progressing", op=op("Succeeded"))],
            [app(health="Degraded", op=op("Succeeded"), resources=[WEB_DEGRADED])],
            [app(op=op("Succeeded"))],
        ]
    )
    assert (result.outcome, result.seconds) == ("degraded", 2)


def test_a_failed_sync_beats_a_degraded_app_in_the_outcome() -> None:
    result, _ = run_wait(
        [
            [
                app(health="Degraded", op=op("Succeeded"), resources=[WEB_DEGRADED]),
                app("platform", sync="OutOfSync", op=op("Failed", message="boom")),
            ]
        ],
        names=("platform", "shop"),
    )
    assert result.outcome == "failed"


def test_events_of_an_object_include_its_pods_newest_last() -> None:
    def event(kind: str, name: str, reason: str, at: str, message: str) -> dict[str, Any]:
        return {
            "involvedObject": {"kind": kind, "name": name},
            "reason": reason,
            "type": "Warning" if reason == "BackOff" else "Normal",
            "lastTimestamp": at,
            "message": message,
        }

    events = [
        event("Pod", "web-6d5f7-abcde", "BackOff", T1, "Back-off restarting\n failed container"),
        event("Deployment", "web", "ScalingReplicaSet", T0, "Scaled up replica set web-6d5f7 to 1"),
        event("Deployment", "webhook", "ScalingReplicaSet", T0, "another Deployment"),
        event("Service", "web", "Created", T0, "a Service named web is not the Deployment"),
    ]
    assert wt.events_of(wt.ObjectRef("Deployment", "shop", "web"), events) == [
        f"{T0} Normal ScalingReplicaSet Deployment/web: Scaled up replica set web-6d5f7 to 1",
        f"{T1} Warning BackOff Pod/web-6d5f7-abcde: Back-off restarting failed container",
    ]


def test_problem_lines_show_reasons_then_events() -> None:
    verdict = wt.judge(
        app(health="Degraded", op=op("Succeeded"), resources=[WEB_DEGRADED]),
        "shop",
        WANTED,
        contains,
    )
    result = wt.WaitResult("degraded", [verdict], 3)
    events = {"Deployment shop/web": ["e1", "e2"]}
    assert wt.problem_lines(result, events) == [
        'shop: Deployment shop/web: Degraded (Deployment "web" exceeded its progress deadline)',
        "shop: last events of Deployment shop/web:",
        "  e1",
        "  e2",
    ]
    doc = wt.report("dev", WANTED, result, events)
    assert doc["outcome"] == "degraded"
    assert doc["applications"][0]["failing"] == [
        {"kind": "Deployment", "namespace": "shop", "name": "web", "events": ["e1", "e2"]}
    ]


# --- Git ------------------------------------------------------------------------------------


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "config", "user.email", "ci@example.com")
    git(tmp_path, "config", "user.name", "CI")
    for n in range(3):
        (tmp_path / "f").write_text(str(n))
        git(tmp_path, "add", "f")
        git(tmp_path, "commit", "-qm", f"c{n}")
    return tmp_path


def test_revisions_come_from_the_clone(clone: Path) -> None:
    head = git(clone, "rev-parse", "HEAD")
    first = git(clone, "rev-parse", "HEAD~2")
    assert wt.resolve_revision(None, clone) == head
    assert wt.resolve_revision("HEAD~2", clone) == first
    assert wt.resolve_revision(head.upper(), clone) == head
    with pytest.raises(ValueError, match=r"^--revision nope: not a commit of the clone at "):
        wt.resolve_revision("nope", clone)
    contains_ = wt.git_contains(clone)
    assert contains_(head, first) is True
    assert contains_(first, head) is False
    assert contains_("9" * 40, head) is None
    assert contains_("v1.2.3", head) is False


def test_a_folder_without_git_needs_the_revision(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"^--revision: .* is not a Git clone with a commit"):
        wt.resolve_revision(None, tmp_path)


# --- the command ----------------------------------------------------------------------------


def test_an_unknown_application_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["wait", "--env", "dev", "--revision", WANTED, "--app", "nope"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: --app nope: no such Application in ") and err.count("\n") == 1


def test_a_bad_timeout_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["wait", "--env", "dev", "--timeout", "soon"]) == 2
    assert "--timeout: 'soon' is not a duration" in capsys.readouterr().err


def test_the_default_applications_are_those_of_the_env_s_repository() -> None:
    from tests.support import ROOT

    names = wt.revision_apps(
        ROOT / "dist" / "dev", "https://github.com/example-org/shop-gitops.git"
    )
    assert names == ["root", "platform", "shop"]


@pytest.mark.parametrize(
    ("text", "seconds", "shown"),
    [("90", 90, "1m30s"), ("90s", 90, "1m30s"), ("5m", 300, "5m"), ("1h30m", 5400, "1h30m")],
)
def test_durations(text: str, seconds: int, shown: str) -> None:
    assert parse_duration(text) == seconds
    assert format_duration(seconds) == shown


@pytest.mark.parametrize("text", ["soon", "5x", "1m1h", "5m5m", "1.5m", "", "-1"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match=r"is not a duration|out of range"):
        parse_duration(text)
