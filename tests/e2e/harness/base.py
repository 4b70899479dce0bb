"""Helpers for journeys against the GitOps base itself: read the rendered
Applications of an environment, run the `gitops-base` CLI in a copy of the
base, and wait for Applications to sync (or be refused by a guard rail)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from .cluster import Cluster
from .kube import Manifest
from .tools import REPO_ROOT


class RefusedByProject(AssertionError):
    """An AppProject guard rail refused a sync."""


def applications_in(path: Path) -> dict[str, Manifest]:
    """The Application objects of the YAML files in `path`, by name."""
    apps: dict[str, Manifest] = {}
    for p in sorted(path.glob("*.yaml")):
        for doc in yaml.safe_load_all(p.read_text()):
            if isinstance(doc, dict) and doc.get("kind") == "Application":
                apps[doc["metadata"]["name"]] = doc
    return apps


def is_chart(app: Manifest) -> bool:
    """Whether any source of the Application is a Helm chart (not renderable
    offline: the repo server would have to download it)."""
    spec = app["spec"]
    return any("chart" in s for s in [spec.get("source") or {}, *(spec.get("sources") or [])])


def wait_synced_or_refused(cluster: Cluster, app: str, timeout: float = 180) -> dict[str, Any]:
    """Return as soon as the app is Synced by a successful sync, or its sync
    is refused by a guard rail (so a refusal fails fast, not at the timeout)."""

    def check() -> dict[str, Any] | None:
        st = cluster.app_status(app)
        msg = st.get("operation", {}).get("message") or ""
        if "not permitted" in msg or "is not valid" in msg:
            return st
        if st.get("sync") == "Synced" and st["operation"]["phase"] == "Succeeded":
            return st
        return None

    st = cluster.wait_for(check, timeout, f"Application {app} to sync (or be refused)")
    if st["sync"] != "Synced":
        raise RefusedByProject(f"Application {app} was refused: {st['operation']['message']}")
    return st


def cli_path() -> Path:
    """The `gitops-base` console script of the Python running the tests (or
    of the repository's .venv). AssertionError naming the fix when absent."""
    for candidate in (
        Path(sys.executable).parent / "gitops-base",
        REPO_ROOT / ".venv" / "bin" / "gitops-base",
    ):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which("gitops-base")
    assert found, "the gitops-base CLI is not installed: run `make install` (creates .venv)"
    return Path(found)


def gitops_base(checkout: Path, *args: str) -> str:
    """Run `gitops-base ARGS` with the checkout as working directory (synth
    renders the checkout it runs in); returns stdout, fails with its output."""
    env = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    proc = subprocess.run(
        [str(cli_path()), *args],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, (
        f"gitops-base {' '.join(args)} exited {proc.returncode}\n"
        f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    )
    return proc.stdout
