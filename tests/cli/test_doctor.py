"""`gitops-base doctor`: the checks that need neither root nor a network (the end-to-end suite
runs every check against real servers: tests/e2e/test_doctor.py)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from constructs_lib.cli.support.credentials import Credential
from constructs_lib.cli.support.preflight import (
    Check,
    infisical_endpoints,
    ingress_hosts,
    ls_remote,
    repository,
)
from tests.support import ROOT, run_cli


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


@pytest.fixture
def remote(tmp_path: Path) -> str:
    """A repository with a branch `main`, as a file:// URL."""
    repo = tmp_path / "remote"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "README.md").write_text("x\n")
    git(repo, "add", ".")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "x")
    return f"file://{repo}"


def test_a_readable_repository_with_its_revision_passes(remote: str) -> None:
    check = repository(remote, "main", None)
    assert check == Check(
        "repository", "ok", f"{remote} is readable with no credential; 'main' is there"
    )


def test_a_revision_that_is_not_pushed_fails(remote: str) -> None:
    check = repository(remote, "release", None)
    assert check.status == "fail"
    assert check.detail.endswith("but has no branch or tag 'release'")
    assert check.fix == "push it (`git push origin release`), or set repo.revision"


def test_a_commit_revision_is_not_looked_for(remote: str) -> None:
    assert repository(remote, "7" * 40, None).status == "ok"


def test_a_repository_that_is_not_there_is_refused(tmp_path: Path) -> None:
    result = ls_remote(f"file://{tmp_path / 'nothing'}", None)
    assert result.outcome == "refused"
    assert "does not appear to be a git repository" in result.message


def test_a_github_app_is_not_checked(remote: str) -> None:
    app = Credential("github-app", "GITOPS_BASE_REPO_GITHUB_APP_ID", (("githubAppID", "1"),))
    assert repository(remote, "main", app).status == "skip"


def test_the_user_git_config_is_not_used(
    remote: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Argo CD reads the URL as it is: an insteadOf in the operator's git config must not make
    the check pass where Argo CD would fail."""
    home = tmp_path / "home"
    home.mkdir()
    (home / ".gitconfig").write_text(f'[url "{remote}"]\n\tinsteadOf = https://git.invalid/shop\n')
    monkeypatch.setenv("HOME", str(home))
    assert ls_remote("https://git.invalid/shop", None, timeout=10).outcome != "ok"


def test_hosts_and_infisical_come_from_the_rendered_environment() -> None:
    dist = ROOT / "dist" / "dev"
    assert ingress_hosts(dist) == [
        "api.shop.dev.example.com",
        "shop.dev.example.com",
        "www.shop.dev.example.com",
    ]
    assert infisical_endpoints(dist) == [("https://app.infisical.com", None)]


def test_each_line_has_a_mark_and_the_fix() -> None:
    assert Check("DNS a.example.com", "fail", "no record", "add an A record").line() == (
        "✗ DNS a.example.com: no record; fix: add an A record"
    )
    assert Check("listener", "ok", "free").line() == "✓ listener: free"


def test_doctor_prints_one_line_per_check_and_fails_without_a_cluster(tmp_path: Path) -> None:
    """Whatever the network says, the shipped example fails: its contact is RFC 2606's and no
    kubeconfig is given; every check still prints its line."""
    done = run_cli("doctor", "--env", "dev", "--kubeconfig", tmp_path / "none")
    assert done.returncode == 1
    names = [re.match(r"^(✓|✗|!|-) ([^:]+):", line) for line in done.stdout.splitlines()]
    assert [m[2] for m in names if m][:5] == [
        "ACME contact",
        "repository",
        "Infisical",
        "kubeconfig",
        "k3s",
    ]
    assert done.stdout.splitlines()[0].startswith("✗ ACME contact: clusters/dev/cluster.yaml: ")
    assert re.search(
        r"^doctor dev: \d+ passed or skipped, \d+ warning\(s\), \d+ failed$", done.stdout, re.M
    )
