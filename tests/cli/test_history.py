"""`gitops-base history`: the promotion record read back from a real Git clone, per environment
in promotion order, oldest first, filtered by service and environment."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from constructs_lib.cli import history as hi
from constructs_lib.cli.support.promotion_record import ImageChange, commit_message
from tests.support import CLI

WEB_1 = "ghcr.io/acme/web:1.9.0"
WEB_2 = "ghcr.io/acme/web:1.9.1"


def entry(to_env: str, from_env: str = "", service: str = "web") -> hi.Entry:
    change = ImageChange(service, to_env, WEB_2, from_env, "checked" if from_env else "")
    return hi.Entry("a" * 40, "CI", "ci@example.com", "2026-05-02T10:00:00+00:00", "s", change)


def test_environments_come_in_promotion_order() -> None:
    entries = [entry("prod", "test"), entry("test", "dev"), entry("dev")]
    assert hi.env_order(entries, ["dev", "prod", "test"]) == ["dev", "test", "prod"]
    # Without promotions, the order given; environments only the record knows come last.
    assert hi.env_order([entry("qa")], ["dev", "prod", "test"]) == ["dev", "prod", "test", "qa"]
    # A cycle (test -> dev and dev -> test) falls back to the order given.
    cycle = [entry("test", "dev"), entry("dev", "test")]
    assert hi.env_order(cycle, ["dev", "test"]) == ["dev", "test"]


def test_how_an_image_got_there() -> None:
    assert entry("dev").how == "set"
    assert entry("test", "dev").how == "from dev, checked"
    forced = hi.Entry(
        "b" * 40,
        "Ops",
        "ops@example.com",
        "2026-05-02T11:00:00+00:00",
        "s",
        ImageChange("web", "prod", WEB_2, "test", "forced", "hotfix #42"),
    )
    assert forced.how == "from test, forced: hotfix #42"


def test_the_log_format_parses_commits_with_several_changes() -> None:
    block = "Gitops-Base-Service: web\nGitops-Base-To: dev\nGitops-Base-Image: x:1\n"
    block += "Gitops-Base-Service: web\nGitops-Base-To: test\nGitops-Base-Image: x:1\n"
    fields = ["c" * 40, "CI", "ci@example.com", "2026-05-02T10:00:00+00:00", "set web", block]
    text = "\x1f".join(fields) + "\x1e\n"
    entries = hi.parse_log(text)
    assert [(e.commit[:1], e.change.to_env, e.subject) for e in entries] == [
        ("c", "dev", "set web"),
        ("c", "test", "set web"),
    ]


# --- a real clone ---------------------------------------------------------------------------


def commit(repo: Path, author: str, subject: str, changes: list[ImageChange]) -> str:
    (repo / "log.txt").write_text((repo / "log.txt").read_text() + subject + "\n")
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": author,
        "GIT_AUTHOR_EMAIL": f"{author.lower()}@example.com",
        "GIT_COMMITTER_NAME": author,
        "GIT_COMMITTER_EMAIL": f"{author.lower()}@example.com",
    }
    subprocess.run(
        ["git", "-C", str(repo), "commit", "-qa", "-F", "-"],
        input=commit_message(subject, changes),
        text=True,
        check=True,
        env=env,
    )
    return subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.fixture
def record(tmp_path: Path) -> Path:
    """A checkout with dev, test and prod and a record: set in dev, promoted to test (checked)
    and prod (forced), with an unrelated commit in between."""
    for name in ("app.py", "cdk8s.yaml", "log.txt"):
        (tmp_path / name).write_text("")
    for env in ("dev", "prod", "test"):
        (tmp_path / "clusters" / env).mkdir(parents=True)
        (tmp_path / "clusters" / env / "cluster.yaml").write_text("")
    subprocess.run(["git", "-C", str(tmp_path), "init", "-q", "-b", "main"], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "add", "-A"], check=True)
    commit(tmp_path, "CI", "base", [])
    commit(
        tmp_path, "CI", "deploy", [ImageChange("web", e, WEB_1) for e in ("dev", "test", "prod")]
    )
    commit(tmp_path, "CI", "web 1.9.1 in dev", [ImageChange("web", "dev", WEB_2)])
    commit(tmp_path, "Alice", "docs", [])
    commit(
        tmp_path,
        "Alice",
        "promote web to test",
        [ImageChange("web", "test", WEB_2, "dev", "checked")],
    )
    commit(
        tmp_path,
        "Bob",
        "promote web to prod",
        [ImageChange("web", "prod", WEB_2, "test", "forced", "hotfix for incident 42")],
    )
    return tmp_path


def history(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CLI), "history", *args], cwd=repo, capture_output=True, text=True, check=False
    )


def test_history_is_a_timeline_per_environment(record: Path) -> None:
    done = history(record)
    assert done.returncode == 0, done.stderr
    rows = [line.split("  ") for line in done.stdout.splitlines()]
    view = [r[0] if len(r) == 1 else (r[3], r[4], r[5], r[6]) for r in rows]
    assert view == [
        "dev:",
        ("web", WEB_1, "set", "(CI)"),
        ("web", WEB_2, "set", "(CI)"),
        "test:",
        ("web", WEB_1, "set", "(CI)"),
        ("web", WEB_2, "from dev, checked", "(Alice)"),
        "prod:",
        ("web", WEB_1, "set", "(CI)"),
        ("web", WEB_2, "from test, forced: hotfix for incident 42", "(Bob)"),
    ]


def test_history_filters_and_speaks_json(record: Path) -> None:
    done = history(record, "web", "--env", "prod", "--output", "json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert [(d["to_env"], d["image"], d["check"], d["reason"], d["author"]) for d in doc] == [
        ("prod", WEB_1, "", "", "CI"),
        ("prod", WEB_2, "forced", "hotfix for incident 42", "Bob"),
    ]
    assert all(len(d["commit"]) == 40 for d in doc)
    assert history(record, "api").stdout.splitlines() == [
        "dev:",
        "  (no recorded image change)",
        "prod:",
        "  (no recorded image change)",
        "test:",
        "  (no recorded image change)",
    ]
