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
# Copies of the checkout in temporary folders (docs blocks, the cdk8s CLI, diff) have no
# ../shared/crds beside them: every process of the tests reads the pinned CRDs this checkout
# reads (make test fetches them first).
from constructs_lib.render.crds import crds_dir  # noqa: E402

os.environ.setdefault("CRDS_DIR", str(crds_dir()))
sys.path.insert(0, str(ROOT))

from constructs_lib.model.clusters import ClusterSettings  # noqa: E402
from constructs_lib.model.config import AppConfig  # noqa: E402
from constructs_lib.model.loading import load_model  # noqa: E402
from tests.support import FIXTURES, find, kinds, load_cluster, load_config, with_changes  # noqa: E402, F401


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
