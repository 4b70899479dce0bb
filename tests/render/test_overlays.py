"""Overlays from tests/fixtures/overlays/<case>/, applied through the real synth entry point."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from constructs_lib.compose.build import build
from constructs_lib.render.overlays import Overlay, merge, overlay_config, with_overlays
from constructs_lib.render.schema_check import _crd_validator, _fast_crd_validator, crd_schema
from constructs_lib.render.synth import DEFAULT_CLUSTERS, DEFAULT_CONFIG, run
from tests.support import load_config

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "overlays"
REPO_DIST = Path(__file__).resolve().parents[2] / "dist"


def synth(case: str, tmp_path: Path) -> tuple[int, Path]:
    dist = tmp_path / "dist"
    code = run(with_overlays(build, FIXTURES / case), DEFAULT_CONFIG, DEFAULT_CLUSTERS, dist)
    return code, dist


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text())
    return data


def test_config_patches_and_manifests_apply_to_their_env_only(tmp_path: Path) -> None:
    code, dist = synth("good", tmp_path)
    assert code == 0
    web = load(dist / "dev/app/horizontalpodautoscaler-web.yaml")
    assert web["spec"]["maxReplicas"] == 2
    api = load(dist / "dev/app/deployment-api.yaml")
    assert api["spec"]["template"]["metadata"]["annotations"] == {"team": "payments"}
    nginx = load(dist / "dev/argocd/application-ingress-nginx.yaml")
    assert nginx["spec"]["source"]["helm"]["valuesObject"]["controller"]["replicaCount"] == 2
    root = list(yaml.safe_load_all((dist / "dev/root.yaml").read_text()))
    (argocd_cm,) = [d for d in root if d["kind"] == "ConfigMap"]
    assert argocd_cm["data"]["timeout.reconciliation"] == "120s"
    assert (dist / "dev/platform/networkpolicy-allow-monitoring.yaml").is_file()
    # Other environments are rendered as without overlays.
    for path in (dist / "prod").rglob("*.yaml"):
        assert path.read_text() == (REPO_DIST / path.relative_to(dist)).read_text(), path


def test_a_patch_that_matches_nothing_fails_and_leaves_dist_untouched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dist = tmp_path / "dist"
    shutil.copytree(REPO_DIST, dist)
    code = run(with_overlays(build, FIXTURES / "nomatch"), DEFAULT_CONFIG, DEFAULT_CLUSTERS, dist)
    assert code == 1
    err = capsys.readouterr().err
    assert (
        "error: tests/fixtures/overlays/nomatch/dev/patches.yaml: patches[0]: "
        "no Deployment 'x' in dist/dev" in err
    )
    assert "dist/ was not changed" in err
    for path in REPO_DIST.rglob("*.yaml"):
        assert (dist / path.relative_to(REPO_DIST)).read_text() == path.read_text()


def test_patched_objects_are_validated_and_every_problem_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = synth("invalidpatch", tmp_path)
    assert code == 1
    err = capsys.readouterr().err.splitlines()
    prefix = "error: tests/fixtures/overlays/invalidpatch/dev/patches.yaml"
    assert any(
        line.startswith(
            f"{prefix}: patches[0]: Deployment 'web' after the patch: Kubernetes 1.34: "
        )
        and "replicaz" in line
        for line in err
    ), err
    assert f"{prefix}: patches[1]: remove /spec/nothing: 'nothing' does not exist" in err


def test_missing_crds_are_reported_with_what_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A patched object is validated; without the CRDs the synth says how to get them."""
    monkeypatch.setenv("CRDS_DIR", str(tmp_path / "empty"))
    caches = (crd_schema, _crd_validator, _fast_crd_validator)  # cached from the real CRDs
    for cached in caches:
        cached.cache_clear()
    try:
        code, _ = synth("good", tmp_path)
    finally:
        for cached in caches:
            cached.cache_clear()
    assert code == 1
    err = capsys.readouterr().err
    assert f"error: pinned CRDs missing in {tmp_path / 'empty'}: argoproj.io_applications" in err
    assert "set CRDS_DIR=/path/to/mirror" in err
    assert "run 'make crds'" in err


def test_a_bad_config_overlay_is_reported_with_its_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = synth("badconfig", tmp_path)
    assert code == 1
    err = capsys.readouterr().err
    assert (
        "error: tests/fixtures/overlays/badconfig/dev/config.yaml: services[0].replicas: "
        "input should be greater than or equal to 0" in err
    )


def test_manifests_must_go_to_a_rendered_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = synth("badmanifest", tmp_path)
    assert code == 1
    assert (
        "error: tests/fixtures/overlays/badmanifest/dev/manifests/nope: "
        "no folder 'nope' in dist/dev (app, argocd, platform)" in capsys.readouterr().err
    )


def test_the_shipped_overlays_change_nothing(tmp_path: Path) -> None:
    assert run(with_overlays(build), DEFAULT_CONFIG, DEFAULT_CLUSTERS, tmp_path / "with") == 0
    assert run(build, DEFAULT_CONFIG, DEFAULT_CLUSTERS, tmp_path / "without") == 0
    with_, without = tmp_path / "with", tmp_path / "without"
    files = sorted(p.relative_to(without) for p in without.rglob("*.yaml"))
    assert files == sorted(p.relative_to(with_) for p in with_.rglob("*.yaml"))
    for name in files:
        assert (with_ / name).read_text() == (without / name).read_text(), name


def test_merge_rules() -> None:
    base = {"a": {"b": 1, "c": [1, 2]}, "s": [{"name": "x", "v": 1}, {"name": "y", "v": 2}]}
    override = {"a": {"c": [3]}, "s": [{"name": "y", "v": 3}, {"name": "z"}]}
    assert merge(base, override) == {
        "a": {"b": 1, "c": [3]},
        "s": [{"name": "x", "v": 1}, {"name": "y", "v": 3}, {"name": "z"}],
    }


def test_overlay_errors_come_back_from_worker_processes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Large apps synth environments in parallel processes; overlay errors must survive that."""
    build_ = with_overlays(build, FIXTURES / "nomatch")
    code = run(build_, DEFAULT_CONFIG, DEFAULT_CLUSTERS, tmp_path / "dist", jobs=2)
    assert code == 1
    assert "patches[0]: no Deployment 'x' in dist/dev" in capsys.readouterr().err


def test_a_duplicate_key_in_an_overlay_manifest_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, dist = synth("duplicatekey", tmp_path)
    assert code == 1
    assert (
        "error: tests/fixtures/overlays/duplicatekey/dev/manifests/platform/"
        "networkpolicy-allow-monitoring.yaml: line 15: invalid YAML: duplicate key 'ingress'"
    ) in capsys.readouterr().err
    assert not dist.exists()


def test_aliases_in_an_overlay_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, dist = synth("alias", tmp_path)
    assert code == 1
    assert (
        "error: tests/fixtures/overlays/alias/dev/config.yaml: line 2: invalid YAML: aliases "
        "(*name) are not allowed; write the value out where it is used"
    ) in capsys.readouterr().err
    assert not dist.exists()


def test_an_overlay_with_version_1_keys_is_read_as_version_2() -> None:
    config = load_config()
    overlay = Overlay(
        "dev",
        FIXTURES,
        {"services": [{"name": "nightly-report", "suspend": True, "backoff_limit": 5}]},
        [],
        {},
    )
    report = overlay_config(config, overlay).services[3]
    assert report.cronjob is not None and report.cronjob.suspend is True
    assert report.cronjob.schedule == "30 2 * * *"  # the config's, merged
    assert report.job is not None and report.job.backoff_limit == 5
