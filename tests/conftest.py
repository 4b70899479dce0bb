"""Shared helpers: load configs, build environments in-process, find objects."""

from __future__ import annotations

import os
import runpy
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
sys.path.insert(0, str(ROOT))

from constructs_lib.model.clusters import ClusterSettings  # noqa: E402
from constructs_lib.model.config import AppConfig  # noqa: E402
from constructs_lib.model.loading import load_model  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures"


@pytest.fixture(scope="session")
def app_module() -> Any:
    """app.py loaded as a module (it is a script, not a package)."""
    return runpy.run_path(str(ROOT / "app.py"), run_name="app")


@pytest.fixture(scope="session")
def example_config() -> AppConfig:
    return load_model(AppConfig, ROOT / "config" / "app-config.yaml")


@pytest.fixture(scope="session")
def dev_cluster() -> ClusterSettings:
    return load_model(ClusterSettings, ROOT / "clusters" / "dev" / "cluster.yaml")


def find(manifests: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    """The one object of a kind and name; fails loudly when absent or ambiguous."""
    hits = [m for m in manifests if m["kind"] == kind and m["metadata"]["name"] == name]
    assert len(hits) == 1, f"expected one {kind} '{name}', found {len(hits)}"
    return hits[0]


def kinds(manifests: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return sorted((m["kind"], m["metadata"]["name"]) for m in manifests)


# --- helpers of the platform tests (K3sPlatform, overlays, versions) -------------------------


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


@pytest.fixture
def config() -> AppConfig:
    return load_config()


@pytest.fixture
def cluster() -> ClusterSettings:
    return load_cluster("dev")


@pytest.fixture
def config_copy(tmp_path: Path) -> Path:
    """A copy of the shipped config in an otherwise empty folder (gitops-base CLI tests)."""
    import shutil

    path = tmp_path / "app-config.yaml"
    shutil.copyfile(ROOT / "config" / "app-config.yaml", path)
    return path
