"""The GitHub Actions workflows pass actionlint, pin every action by SHA, and grant nothing.

actionlint is built once from the Go module proxy into a cache outside the repository, keyed by
version; bump ACTIONLINT_VERSION to move it. The test fails, never skips, when Go is missing.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import go_tool

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))
ACTIONLINT_VERSION = "v1.7.12"
ACTIONLINT_MODULE = "github.com/rhysd/actionlint/cmd/actionlint"
# owner/repo[/path]@<40 hex> # <tag>
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")


def actionlint() -> Path:
    """The pinned actionlint, built with `go install` on first use."""
    return go_tool(ACTIONLINT_MODULE, ACTIONLINT_VERSION)


def uses(node: Any) -> list[str]:
    """Every `uses:` value anywhere in a workflow."""
    if isinstance(node, dict):
        found = [v for k, v in node.items() if k == "uses" and isinstance(v, str)]
        return found + [u for v in node.values() for u in uses(v)]
    if isinstance(node, list):
        return [u for v in node for u in uses(v)]
    return []


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_workflows_exist() -> None:
    assert (ROOT / ".github" / "workflows" / "ci.yaml") in WORKFLOWS


def test_actionlint_finds_nothing() -> None:
    result = subprocess.run(
        [str(actionlint()), "-no-color", *map(str, WORKFLOWS)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_actionlint_catches_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / ".github" / "workflows" / "broken.yaml"
    broken.parent.mkdir(parents=True)
    broken.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n"
        "      - run: echo ${{ github.event.no_such_thing.x }}\n        shell: bashh\n",
        encoding="utf-8",
    )
    result = subprocess.run(
        [str(actionlint()), "-no-color", str(broken)], capture_output=True, text=True
    )
    assert result.returncode == 1
    assert "bashh" in result.stdout


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_actions_are_pinned_by_sha(path: Path) -> None:
    unpinned = [u for u in uses(load(path)) if not u.startswith("./") and not PINNED.match(u)]
    assert unpinned == []
    lines = path.read_text(encoding="utf-8").splitlines()
    for line in lines:
        if re.search(r"\buses:\s*[\w.-]+/", line):
            assert re.search(r"@[0-9a-f]{40}\s+# v\d", line), f"{path.name}: no tag comment: {line}"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_permissions_are_minimal(path: Path) -> None:
    workflow = load(path)
    assert workflow.get("permissions") == {}, "top level must be `permissions: {}`"
    for name, job in workflow["jobs"].items():
        granted = job.get("permissions")
        assert isinstance(granted, dict), f"job {name} must declare its permissions"
        assert granted.get("contents") in (None, "read"), f"job {name}: contents beyond read"


# What a repository made from the base runs by default: what a GitOps repository needs, in
# minutes. The base's own suite (its code, docs, a control plane built from source) runs only
# where the repository variable opts in.
OPT_IN = "vars.GITOPS_BASE_FULL_CI == 'true'"
REPOSITORY_CHECKS = (
    "gitops-base validate",  # the config and the clusters
    "make check",  # dist/ against the Kubernetes and CRD schemas
    "make synth",  # dist/ drift, with the next one
    "git diff --exit-code --stat -- dist/",
    "make secrets",  # the scan of every line
)


def jobs() -> dict[str, tuple[Path, dict[str, Any]]]:
    return {
        name: (path, job)
        for path in WORKFLOWS
        for name, job in (load(path).get("jobs") or {}).items()
    }


def test_a_repository_made_from_the_base_runs_only_its_checks_by_default() -> None:
    default = {name for name, (_, job) in jobs().items() if job.get("if") != OPT_IN}
    assert default == {"checks", "diff"}
    runs = "\n".join(s.get("run", "") for s in jobs()["checks"][1]["steps"])
    for command in REPOSITORY_CHECKS:
        assert command in runs, f"the checks job does not run {command}"
    assert "pytest" not in runs and "make unit" not in runs and "make e2e" not in runs


def test_the_base_suite_and_the_k3s_journeys_need_the_opt_in() -> None:
    for name in ("lint", "test", "e2e", "journeys"):
        path, job = jobs()[name]
        assert job.get("if") == OPT_IN, f"{path.name}: job {name} runs without the opt-in"


def test_the_quickstart_says_what_ci_runs() -> None:
    text = (ROOT / "docs" / "tutorials" / "quickstart.md").read_text(encoding="utf-8")
    assert "## CI in your repository" in text
    assert "GITOPS_BASE_FULL_CI" in text
