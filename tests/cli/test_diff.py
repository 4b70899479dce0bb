"""`gitops-base diff`: per resource, added/removed/changed, with a unified diff."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from constructs_lib.cli.diff import compare
from constructs_lib.render.crds import crds_dir
from tests.support import ROOT, cli_env


def deployment(name: str, image: str) -> dict[str, object]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "shop"},
        "spec": {"template": {"spec": {"containers": [{"name": name, "image": image}]}}},
    }


def test_compare_reports_added_removed_and_changed_objects() -> None:
    base = {
        ("dev", "Deployment", "shop", "web"): deployment("web", "web:1"),
        ("dev", "Deployment", "shop", "old"): deployment("old", "old:1"),
    }
    head = {
        ("dev", "Deployment", "shop", "web"): deployment("web", "web:2"),
        ("dev", "Deployment", "shop", "new"): deployment("new", "new:1"),
    }
    report = compare(base, head, "main")
    assert report.added == [("dev", "Deployment", "shop", "new")]
    assert report.removed == [("dev", "Deployment", "shop", "old")]
    text = report.markdown()
    assert "1 added, 1 removed, 1 changed." in text
    assert "- **added** `Deployment/shop/new`" in text
    assert "- **removed** `Deployment/shop/old`" in text
    assert "- **changed** `Deployment/shop/web`" in text
    assert "-        image: web:1\n+        image: web:2\n" in text


def test_no_change_says_so() -> None:
    objects = {("dev", "Deployment", "shop", "web"): deployment("web", "web:1")}
    assert (
        compare(objects, dict(objects), "main")
        .markdown()
        .endswith("No change to any rendered manifest.\n")
    )


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A throwaway repository holding this checkout's tracked files, committed once."""
    repo = tmp_path / "repo"
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, repo / name)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", ".")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "base")
    return repo


def run_diff(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # `-m` from the repo runs that repo's constructs_lib, so its ROOT is the throwaway repo.
    return subprocess.run(
        [sys.executable, "-m", "constructs_lib.cli.main", "diff", *args],
        cwd=repo,
        env=cli_env(),
        capture_output=True,
        text=True,
        check=False,
    )


def test_diff_of_a_tag_change_against_the_base_ref(repo: Path) -> None:
    config = repo / "config" / "app-config.yaml"
    config.write_text(config.read_text().replace('tag: "1.8.2"', 'tag: "1.9.0"'))
    dist_before = {p: p.read_bytes() for p in (repo / "dist").rglob("*") if p.is_file()}
    done = run_diff(repo, "--base", "main", "--exit-code")
    assert "Traceback" not in done.stderr
    assert done.returncode == 1, done.stderr
    assert done.stdout.startswith("### Rendered manifests: `main` → working tree\n")
    assert "0 added, 0 removed, 3 changed." in done.stdout
    assert "- **changed** `Deployment/shop/web`" in done.stdout
    assert "-        image: ghcr.io/example/shop-web:1.8.2\n" in done.stdout
    assert "+        image: ghcr.io/example/shop-web:1.9.0\n" in done.stdout
    assert {p: p.read_bytes() for p in (repo / "dist").rglob("*") if p.is_file()} == dist_before


def test_the_base_ref_reads_the_crds_beside_the_checkout(repo: Path, tmp_path: Path) -> None:
    """A checkout with the pinned CRDs in ../shared/crds (where `make synth` finds them) and an
    empty cache: the exported base ref renders from the same folder, nothing is downloaded."""
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "crds").symlink_to(crds_dir(), target_is_directory=True)
    env = {k: v for k, v in cli_env().items() if k != "CRDS_DIR"}
    env["XDG_CACHE_HOME"] = str(tmp_path / "empty-cache")
    # Any download would fail at once instead of reaching the internet.
    env["https_proxy"] = env["HTTPS_PROXY"] = "http://127.0.0.1:9"
    config = repo / "config" / "app-config.yaml"
    config.write_text(config.read_text().replace('tag: "1.8.2"', 'tag: "1.9.0"'))
    done = subprocess.run(
        [sys.executable, "-m", "constructs_lib.cli.main", "diff", "--base", "main"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "0 added, 0 removed, 3 changed." in done.stdout
    assert not list((tmp_path / "empty-cache").rglob("*.yaml"))  # nothing was downloaded


def test_an_unknown_base_ref_is_a_clear_error(repo: Path) -> None:
    done = run_diff(repo, "--base", "no-such-branch")
    assert done.returncode == 1
    assert done.stderr.splitlines()[0] == f"--base: 'no-such-branch' is not a commit in {repo}"
    assert "Traceback" not in done.stderr


def test_the_pr_workflow_pins_actions_and_grants_only_what_it_needs() -> None:
    import re

    import yaml

    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "rendered-diff.yaml").read_text())
    assert workflow["permissions"] == {}
    job = workflow["jobs"]["diff"]
    assert job["permissions"] == {"contents": "read", "pull-requests": "write"}
    uses = [step["uses"] for step in job["steps"] if "uses" in step]
    assert uses and all(re.fullmatch(r"[\w-]+/[\w-]+@[0-9a-f]{40}", u) for u in uses)
    assert any("gitops-base diff --base" in step.get("run", "") for step in job["steps"])
