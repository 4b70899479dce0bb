"""The synth checks every rendered object against its schema before dist/ changes."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from constructs_lib.compose.build import build
from constructs_lib.compose.layout import RenderedEnv
from constructs_lib.model.clusters import ClusterSettings
from constructs_lib.model.config import AppConfig
from constructs_lib.render.synth import DEFAULT_CLUSTERS, DEFAULT_CONFIG, run
from tests.support import ROOT


@dataclass(frozen=True)
class Broken:
    """The base's build with a construct's mistake in one environment: a field the
    Deployment schema does not have, and a ClusterIssuer (a custom resource built as plain
    data) missing the field its CRD requires. A plain object, so worker processes get it."""

    env: str = "prod"

    def __call__(self, config: AppConfig, cluster: ClusterSettings) -> RenderedEnv:
        env = build(config, cluster)
        if cluster.name == self.env:
            for manifest in env.folders["app"]:
                if manifest["kind"] == "Deployment" and manifest["metadata"]["name"] == "web":
                    container = manifest["spec"]["template"]["spec"]["containers"][0]
                    container["imagePullPolicyy"] = "Always"
            for manifest in env.folders["platform"]:
                if manifest["kind"] == "ClusterIssuer":
                    del manifest["spec"]["acme"]["server"]
        return env


def snapshot(path: Path) -> dict[str, tuple[bytes, int]]:
    return {
        str(p.relative_to(path)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(path.rglob("*"))
        if p.is_file()
    }


@pytest.mark.parametrize("jobs", [1, 3])
def test_an_invalid_object_fails_the_synth_and_leaves_dist_unchanged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], jobs: int
) -> None:
    dist = tmp_path / "dist"
    shutil.copytree(ROOT / "dist", dist)
    (dist / "prod/app/deployment-web.yaml").unlink()  # so the synth has something to write
    before = snapshot(dist)
    code = run(Broken(), DEFAULT_CONFIG, DEFAULT_CLUSTERS, dist, jobs)
    assert code == 1
    err = capsys.readouterr().err.splitlines()
    assert (
        "error: dist/prod/app: Deployment 'web': Kubernetes 1.36: "
        "spec.template.spec.containers.0: Additional properties are not allowed "
        "('imagePullPolicyy' was unexpected)"
    ) in err
    issuers = [line for line in err if "ClusterIssuer" in line]
    assert issuers and all(
        line.startswith("error: dist/prod/platform: ClusterIssuer 'letsencrypt-")
        and line.endswith("spec.acme: 'server' is a required property")
        for line in issuers
    ), err
    assert err[-1].endswith("problem(s); dist/ was not changed")
    assert snapshot(dist) == before
    assert not [p for p in os.listdir(dist / "prod/app") if p.startswith(".")]


def test_the_same_build_without_the_mistake_synthesizes(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    code = run(Broken(env="nowhere"), DEFAULT_CONFIG, DEFAULT_CLUSTERS, dist)
    assert code == 0
    assert (dist / "prod/app/deployment-web.yaml").read_bytes() == (
        ROOT / "dist/prod/app/deployment-web.yaml"
    ).read_bytes()
