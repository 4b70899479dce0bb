"""Shared test helpers: run the installed `gitops-base` the way a pipeline does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "config" / "app-config.yaml"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
CLI = Path(sys.executable).parent / "gitops-base"


def cli_env() -> dict[str, str]:
    env = dict(os.environ)
    env["JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"] = "20"
    env["JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION"] = "1"
    return env


def run_cli(
    *args: str | Path, cwd: Path = ROOT, stdin: bytes | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the console script; every run asserts the no-traceback rule."""
    done = subprocess.run(
        [str(CLI), *map(str, args)],
        cwd=cwd,
        env=cli_env(),
        capture_output=True,
        input=stdin.decode() if stdin is not None else None,
        text=True,
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done
