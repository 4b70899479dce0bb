"""Shared fixtures: the example config and clusters, and rendering one environment."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from constructs_lib.clusters import ClusterSettings  # noqa: E402
from constructs_lib.config import AppConfig  # noqa: E402
from constructs_lib.loading import load_model  # noqa: E402

Manifest = dict[str, Any]


def load_config() -> AppConfig:
    return load_model(AppConfig, ROOT / "config" / "app-config.yaml")


def load_cluster(env: str = "dev") -> ClusterSettings:
    return load_model(ClusterSettings, ROOT / "clusters" / env / "cluster.yaml")


def with_changes(model: Any, **changes: Any) -> Any:
    """A copy of a frozen model with top-level or dotted (`a.b`) fields replaced, re-validated."""
    data = model.model_dump(mode="json")
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        target = data
        for key in parents:
            target = target[key]
        target[last] = value
    return type(model).model_validate(data)


def finder(manifests: list[Manifest]) -> Callable[[str, str], Manifest]:
    def find(kind: str, name: str) -> Manifest:
        found = [m for m in manifests if m["kind"] == kind and m["metadata"]["name"] == name]
        assert len(found) == 1, f"{len(found)} {kind} '{name}' in {len(manifests)} objects"
        return found[0]

    return find


@pytest.fixture
def config() -> AppConfig:
    return load_config()


@pytest.fixture
def cluster() -> ClusterSettings:
    return load_cluster("dev")
