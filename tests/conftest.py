"""Fixtures shared by the tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from helpers import CONFIG


@pytest.fixture
def config_copy(tmp_path: Path) -> Path:
    """A copy of the shipped config in an otherwise empty folder."""
    path = tmp_path / "app-config.yaml"
    shutil.copyfile(CONFIG, path)
    return path
