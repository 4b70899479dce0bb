"""`gitops-base validate`: every problem as `file: path: message`, or as JSON."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.support import CONFIG, ROOT, run_cli

CLUSTERS = ROOT / "clusters"


def test_the_shipped_config_is_valid() -> None:
    done = run_cli("validate")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == (
        "valid: config/app-config.yaml, clusters/dev/cluster.yaml, clusters/prod/cluster.yaml, "
        "clusters/test/cluster.yaml\n"
    )


def broken_config(tmp_path: Path) -> Path:
    config = tmp_path / "app-config.yaml"
    text = CONFIG.read_text()
    text = text.replace("replicas: 2\n", "replica: 2\n", 1)
    text = text.replace('tag: "2.3.0"', 'tag: "2.3 .0"', 1)
    text = text.replace("hosts: [api.shop.example.com]", "hosts: [https://api.shop.example.com]")
    config.write_text(text)
    return config


def test_every_problem_is_one_line(tmp_path: Path) -> None:
    config = broken_config(tmp_path)
    done = run_cli("validate", config)
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        f"{config}: services[0].replica: unknown field; did you mean 'replicas'?",
        f"{config}: services[1].image.tag: '2.3 .0' is not a valid image tag (letters, digits, "
        "'_', '.', '-', at most 128 characters, not starting with '.' or '-')",
        f"{config}: services[1].ingress.hosts[0]: 'https://api.shop.example.com' is a URL, not a "
        "hostname: give only the host, e.g. 'shop.example.com'",
    ]
    assert done.stderr == "validate: 3 problem(s)\n"


def test_json_gives_the_same_problems(tmp_path: Path) -> None:
    config = broken_config(tmp_path)
    text = run_cli("validate", config).stdout.splitlines()
    done = run_cli("validate", config, "--format", "json")
    assert done.returncode == 1
    report = json.loads(done.stdout)
    assert report["valid"] is False
    assert report["checked"][0] == str(config)
    assert [f"{p['file']}: {p['path']}: {p['message']}" for p in report["problems"]] == text
    assert report["problems"][0]["path"] == "services[0].replica"


def test_json_of_a_valid_config() -> None:
    done = run_cli("validate", "--format", "json")
    assert done.returncode == 0
    assert json.loads(done.stdout)["valid"] is True


def test_env_settings_are_checked(tmp_path: Path) -> None:
    clusters = tmp_path / "clusters"
    shutil.copytree(CLUSTERS, clusters)
    path = clusters / "dev" / "cluster.yaml"
    path.write_text(path.read_text().replace("name: dev ", "name: staging "))
    done = run_cli("validate", "--clusters", clusters)
    assert done.returncode == 1
    assert done.stdout.splitlines() == [f"{path}: name: 'staging' must equal the folder name 'dev'"]


def test_yaml_errors_name_the_line(tmp_path: Path) -> None:
    config = tmp_path / "app-config.yaml"
    config.write_text(
        "version: 1\napp: {name: shop, namespace: shop}\ndomain: a.com\ndomain: b.com\n"
    )
    done = run_cli("validate", config)
    assert done.returncode == 1
    assert done.stdout.splitlines() == [f"{config}: line 4: invalid YAML: duplicate key 'domain'"]


def test_a_missing_config_is_reported(tmp_path: Path) -> None:
    config = tmp_path / "nope.yaml"
    done = run_cli("validate", config)
    assert done.returncode == 1
    assert done.stdout.splitlines() == [f"{config}: cannot read: No such file or directory"]


def test_works_on_the_checkout_it_runs_in(tmp_path: Path) -> None:
    """Run from inside another checkout, the CLI reads that checkout's config, not its own."""
    clone = tmp_path / "private-repo"
    shutil.copytree(ROOT / "config", clone / "config")
    shutil.copytree(CLUSTERS, clone / "clusters")
    for name in ("app.py", "cdk8s.yaml"):
        shutil.copy(ROOT / name, clone / name)
    config = clone / "config" / "app-config.yaml"
    config.write_text(config.read_text().replace("replicas: 2\n", "replicas: -2\n", 1))
    (clone / "docs").mkdir()
    done = run_cli("validate", cwd=clone / "docs")
    assert done.returncode == 1
    assert done.stdout.splitlines()[0] == (
        f"{config}: services[0].replicas: input should be greater than or equal to 0"
    )
