"""dist/ is a tested artifact: CI fails when it was not re-synthesized (e.g. after a chart
version bump) or when anything in it does not validate."""

from __future__ import annotations

from pathlib import Path

import pytest

import app
from constructs_lib.overlays import with_overlays
from constructs_lib.synth import DEFAULT_CLUSTERS, DEFAULT_CONFIG, run
from constructs_lib.validate import validate_tree
from constructs_lib.versions import load_versions

REPO_DIST = Path(__file__).resolve().parent.parent / "dist"


def tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


def test_committed_dist_is_what_synth_renders(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    assert run(with_overlays(app.build), DEFAULT_CONFIG, DEFAULT_CLUSTERS, dist) == 0
    fresh, committed = tree(dist), tree(REPO_DIST)
    stale = sorted(k for k in fresh.keys() | committed.keys() if fresh.get(k) != committed.get(k))
    assert stale == [], "dist/ is stale; run 'make synth' and commit dist/"


def test_committed_dist_validates() -> None:
    assert validate_tree(REPO_DIST) == []


def test_a_chart_version_change_changes_dist(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    versions = load_versions()
    pin = versions.charts["cert-manager"].model_copy(update={"version": "v9.9.9"})
    bumped = versions.model_copy(update={"charts": {**versions.charts, "cert-manager": pin}})
    monkeypatch.setattr(app, "versions", lambda: bumped)
    dist = tmp_path / "dist"
    assert run(app.build, DEFAULT_CONFIG, DEFAULT_CLUSTERS, dist) == 0
    changed = {k for k, v in tree(dist).items() if tree(REPO_DIST).get(k) != v}
    assert changed == {
        f"{env}/argocd/application-cert-manager.yaml" for env in ("dev", "prod", "test")
    }
