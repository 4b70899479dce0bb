"""dist/ as a tested artifact: drift, determinism, minimal diffs, failure safety, schemas."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from constructs_lib.render.crds import crds_dir, missing_crds, pinned_crds
from constructs_lib.render.schema_check import validate_tree
from tests.support import ROOT

ENV = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}


def synth(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-O", str(ROOT / "app.py"), *args],
        cwd=cwd,
        env=ENV,
        capture_output=True,
        text=True,
        check=False,
    )


def tree(path: Path) -> dict[str, str]:
    return {str(p.relative_to(path)): p.read_text() for p in sorted(path.rglob("*")) if p.is_file()}


@pytest.fixture()
def workspace(tmp_path: Path) -> Path:
    """A copy of config/ and clusters/ to edit freely."""
    shutil.copytree(ROOT / "config", tmp_path / "config")
    shutil.copytree(ROOT / "clusters", tmp_path / "clusters")
    return tmp_path


def synth_into(workspace: Path, out: str = "dist") -> subprocess.CompletedProcess[str]:
    return synth(
        "--config",
        str(workspace / "config" / "app-config.yaml"),
        "--clusters",
        str(workspace / "clusters"),
        "--output",
        str(workspace / out),
    )


def test_a_version_1_config_renders_the_committed_dist(tmp_path: Path) -> None:
    """Version 1 of the config still reads, as what its migration says."""
    v1 = ROOT / "tests" / "fixtures" / "configs" / "v1" / "app-config.yaml"
    result = synth("--config", str(v1), "--output", str(tmp_path / "dist"))
    assert result.returncode == 0, result.stderr
    assert tree(tmp_path / "dist") == tree(ROOT / "dist")


def test_committed_dist_equals_a_fresh_synth(tmp_path: Path) -> None:
    """The committed dist/ is the golden output of the example config."""
    result = synth("--output", str(tmp_path / "dist"))
    assert result.returncode == 0, result.stderr
    fresh, committed = tree(tmp_path / "dist"), tree(ROOT / "dist")
    assert sorted(fresh) == sorted(committed), "files differ; run 'make synth' and commit dist/"
    changed = [name for name in fresh if fresh[name] != committed[name]]
    assert changed == [], f"stale files in dist/: {changed}; run 'make synth' and commit dist/"


def test_cdk8s_cli_synth_writes_the_same_dist(workspace: Path) -> None:
    """`cdk8s synth` (the pipeline's command) with the pinned CLI renders the same dist/."""
    cli = ROOT / "node_modules" / ".bin" / "cdk8s"
    project = workspace / "project"
    shutil.copytree(
        ROOT,
        project,
        ignore=shutil.ignore_patterns(
            "node_modules", ".venv", ".git", "dist", ".cdk8s.out", "*cache*", "tests"
        ),
    )
    (project / ".venv").symlink_to(ROOT / ".venv")
    result = subprocess.run(
        [str(cli), "synth"], cwd=project, env=ENV, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert tree(project / "dist") == tree(ROOT / "dist")
    assert "deployment-web.yaml" in result.stdout  # the CLI lists what it rendered


def test_synth_is_deterministic(workspace: Path) -> None:
    assert synth_into(workspace, "a").returncode == 0
    assert synth_into(workspace, "b").returncode == 0
    assert tree(workspace / "a") == tree(workspace / "b")


def test_one_image_tag_change_is_one_line_per_env(workspace: Path) -> None:
    assert synth_into(workspace, "before").returncode == 0
    config = workspace / "config" / "app-config.yaml"
    config.write_text(config.read_text().replace('tag: "2.3.0"', 'tag: "2.4.0"'))
    assert synth_into(workspace, "after").returncode == 0
    before, after = tree(workspace / "before"), tree(workspace / "after")
    assert sorted(before) == sorted(after)
    changed_lines: dict[str, list[tuple[str, str]]] = {}
    for name in before:
        pairs = [
            (a, b)
            for a, b in zip(before[name].splitlines(), after[name].splitlines(), strict=True)
            if a != b
        ]
        if pairs:
            changed_lines[name] = pairs
    expected_line = (
        "        image: ghcr.io/example/shop-api:2.3.0",
        "        image: ghcr.io/example/shop-api:2.4.0",
    )
    assert changed_lines == {
        f"{env}/app/deployment-api.yaml": [expected_line] for env in ("dev", "prod", "test")
    }


def test_a_second_synth_rewrites_only_what_changed(workspace: Path) -> None:
    """Unchanged files keep their inode and mtime: cheap re-synths, quiet file watchers."""
    assert synth_into(workspace).returncode == 0
    dist = workspace / "dist"
    before = {p: p.stat() for p in dist.rglob("*.yaml")}
    config = workspace / "config" / "app-config.yaml"
    config.write_text(config.read_text().replace('tag: "2.3.0"', 'tag: "2.4.0"'))
    result = synth_into(workspace)
    assert result.returncode == 0, result.stderr
    assert result.stdout.rstrip().endswith("(3 written, 0 removed)")
    touched = sorted(
        p.relative_to(dist).as_posix()
        for p, info in before.items()
        if (p.stat().st_ino, p.stat().st_mtime_ns) != (info.st_ino, info.st_mtime_ns)
    )
    assert touched == [f"{env}/app/deployment-api.yaml" for env in ("dev", "prod", "test")]
    assert not [p for p in dist.rglob("*") if p.name.endswith(".tmp")]


def test_a_failing_worker_undoes_every_environment(workspace: Path) -> None:
    """prod fails in a worker process after dev and test rendered changes: nothing lands."""
    from constructs_lib.compose.build import build
    from constructs_lib.render.overlays import with_overlays
    from constructs_lib.render.synth import run

    dist = workspace / "dist"
    assert synth_into(workspace).returncode == 0
    before = tree(dist)
    config = workspace / "config" / "app-config.yaml"
    config.write_text(config.read_text().replace('tag: "2.3.0"', 'tag: "2.4.0"'))
    overlays = workspace / "overlays"
    (overlays / "prod").mkdir(parents=True)
    (overlays / "prod" / "patches.yaml").write_text(
        "patches:\n  - target: {kind: Deployment, name: x}\n"
        "    patch: [{op: remove, path: /spec/replicas}]\n"
    )
    code = run(with_overlays(build, overlays), config, workspace / "clusters", dist, jobs=3)
    assert code == 1
    assert tree(dist) == before
    assert sorted(p.name for p in dist.iterdir()) == ["dev", "prod", "test"]


def test_a_closed_stdout_is_not_an_error(workspace: Path) -> None:
    """`make synth | head -0` in a script: the synth succeeded, so no traceback, exit 0."""
    command = [sys.executable, "-O", str(ROOT / "app.py"), "--output", str(workspace / "dist")]
    child = subprocess.Popen(
        command, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    child.stdout.close()  # the reader is gone before the summary line is printed
    _, stderr = child.communicate()
    assert child.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert tree(workspace / "dist") == tree(ROOT / "dist")


def test_removed_service_removes_its_files(workspace: Path) -> None:
    config = workspace / "config" / "app-config.yaml"
    data = yaml.safe_load(config.read_text())
    data["services"] = [s for s in data["services"] if s["name"] != "worker"]
    assert synth_into(workspace).returncode == 0
    config.write_text(yaml.safe_dump(data))
    assert synth_into(workspace).returncode == 0
    names = tree(workspace / "dist")
    assert not [n for n in names if "worker" in n]
    assert "dev/app/deployment-web.yaml" in names


def test_invalid_config_fails_cleanly_and_leaves_dist_untouched(workspace: Path) -> None:
    assert synth_into(workspace).returncode == 0
    before = tree(workspace / "dist")
    config = workspace / "config" / "app-config.yaml"
    config.write_text(config.read_text().replace("replicas: 2", "replicas: -2", 1))
    result = synth_into(workspace)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "services[0].replicas: input should be greater than or equal to 0" in result.stderr
    assert "dist/ was not changed" in result.stderr
    assert tree(workspace / "dist") == before


def test_cluster_name_must_match_its_folder(workspace: Path) -> None:
    cluster = workspace / "clusters" / "test" / "cluster.yaml"
    cluster.write_text(cluster.read_text().replace("name: test", "name: staging"))
    result = synth_into(workspace)
    assert result.returncode == 1
    assert "name: 'staging' must equal the folder name 'test'" in result.stderr


def test_committed_dist_validates_against_kubernetes_and_crd_schemas() -> None:
    assert validate_tree(ROOT / "dist") == []


def test_validation_catches_an_unknown_field(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "dist" / "dev", tmp_path / "dev")
    path = tmp_path / "dev" / "app" / "deployment-web.yaml"
    path.write_text(path.read_text().replace("revisionHistoryLimit", "revisionHistoryLimt"))
    problems = validate_tree(tmp_path / "dev")
    assert len(problems) == 3  # one per supported Kubernetes minor
    assert (
        "Additional properties are not allowed ('revisionHistoryLimt' was unexpected)"
        in problems[0]
    )


def test_no_secret_kind_anywhere_in_dist() -> None:
    for path in (ROOT / "dist").rglob("*.yaml"):
        for doc in yaml.safe_load_all(path.read_text()):
            assert doc["kind"] != "Secret", path


def test_parallel_render_matches_the_committed_dist(tmp_path: Path) -> None:
    """Environments rendered in worker processes give the same bytes as one process."""
    result = synth("--output", str(tmp_path / "dist"), "--jobs", "3")
    assert result.returncode == 0, result.stderr
    assert tree(tmp_path / "dist") == tree(ROOT / "dist")


def test_ensure_crds_is_a_no_op_when_every_pinned_crd_is_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = crds_dir()
    for pin in pinned_crds():
        if pin.file != "cert-manager.io_issuers.yaml":
            shutil.copy(source / pin.file, tmp_path / pin.file)
    monkeypatch.setenv("CRDS_DIR", str(tmp_path))
    assert missing_crds() == ["cert-manager.io_issuers.yaml"]
    shutil.copy(source / "cert-manager.io_issuers.yaml", tmp_path)
    assert missing_crds() == []
    result = subprocess.run(
        [sys.executable, "-m", "constructs_lib.render.schema_check", "--ensure-crds"],
        cwd=ROOT,
        env={**ENV, "CRDS_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_small_apps_render_in_one_process_large_ones_per_environment() -> None:
    from constructs_lib.render.synth import PARALLEL_THRESHOLD, Inputs, jobs_for, load_inputs

    example = load_inputs(ROOT / "config" / "app-config.yaml", ROOT / "clusters")
    envs = len(example.clusters)

    def with_services(count: int) -> Inputs:
        services = [example.config.services[0]] * count  # only the count matters here
        return Inputs(example.config.model_copy(update={"services": services}), example.clusters)

    below = PARALLEL_THRESHOLD // envs - 1
    assert jobs_for(with_services(below), None) == 1
    assert jobs_for(with_services(below + 1), None) == min(envs, (os.cpu_count() or 1) + 1)
    assert jobs_for(with_services(1), 9) == envs, "never more processes than environments"
    assert jobs_for(with_services(5000), 1) == 1, "--jobs 1 always renders in one process"
