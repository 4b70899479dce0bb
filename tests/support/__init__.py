"""Shared test helpers: paths, finding objects, config variants, running the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from constructs_lib.model.clusters import ClusterSettings
from constructs_lib.model.config import AppConfig
from constructs_lib.model.loading import load_model
from constructs_lib.render.crds import crds_dir

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "config" / "app-config.yaml"
FIXTURES = ROOT / "tests" / "fixtures"
CLI = Path(sys.executable).parent / "gitops-base"


def cli_env() -> dict[str, str]:
    env = dict(os.environ)
    env["JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"] = "20"
    env["JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION"] = "1"
    # A copy of the checkout in a temporary folder has no ../shared/crds beside it: point it
    # at the pinned CRDs this checkout reads (make test fetches them first).
    env.setdefault("CRDS_DIR", str(crds_dir()))
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


def find(manifests: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    """The one object of a kind and name; fails loudly when absent or ambiguous."""
    hits = [m for m in manifests if m["kind"] == kind and m["metadata"]["name"] == name]
    assert len(hits) == 1, f"expected one {kind} '{name}', found {len(hits)}"
    return hits[0]


def kinds(manifests: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return sorted((m["kind"], m["metadata"]["name"]) for m in manifests)


def load_config() -> AppConfig:
    return load_model(AppConfig, ROOT / "config" / "app-config.yaml")


def load_cluster(env: str = "dev") -> ClusterSettings:
    return load_model(ClusterSettings, ROOT / "clusters" / env / "cluster.yaml")


def with_changes(model: Any, **changes: Any) -> Any:
    """A re-validated copy of a frozen model with fields replaced; `a__b` reaches nested ones."""
    data = model.model_dump(mode="json")
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        target = data
        for key in parents:
            target = target[key]
        target[last] = value
    return type(model).model_validate(data)


GO_TOOLS = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "gitops-base" / "tools"


def go_tool(module: str, version: str) -> Path:
    """The pinned Go tool `module` (a main package) at `version`, built with `go install` into
    the tools cache on first use, then reused."""
    import shutil
    import tempfile

    import pytest

    name = module.rsplit("/", 1)[-1]
    binary = GO_TOOLS / f"{name}-{version}"
    if binary.is_file():
        return binary
    go = shutil.which("go")
    if go is None:
        pytest.fail(f"go is needed once to build {name} {version} into {binary}")
    GO_TOOLS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=GO_TOOLS) as gobin:
        subprocess.run(
            [go, "install", f"{module}@{version}"],
            env={**os.environ, "GOBIN": gobin, "GOFLAGS": "-mod=mod"},
            check=True,
            timeout=900,
        )
        (Path(gobin) / name).replace(binary)  # atomic: no half-written binary
    return binary
