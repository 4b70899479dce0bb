"""`gitops-base validate`: every problem as `file: path: message`, or as JSON."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.support import CONFIG, FIXTURES, ROOT, run_cli

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
        "version: 2\napp: {name: shop, namespace: shop}\ndomain: a.com\ndomain: b.com\n"
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


def test_the_app_namespace_may_not_be_the_environments_argocd_namespace(tmp_path: Path) -> None:
    clusters = tmp_path / "clusters"
    shutil.copytree(CLUSTERS, clusters)
    path = clusters / "dev" / "cluster.yaml"
    path.write_text(path.read_text().replace("  namespace: argocd\n", "  namespace: shop\n"))
    expected = (
        f"{path}: argocd.namespace: 'shop' is also the app namespace (app.namespace): Argo CD's "
        "namespace must not get the app's default-deny network policies, restricted Pod "
        "Security and quota; give the app a namespace of its own"
    )
    done = run_cli("validate", "--clusters", clusters)
    assert done.returncode == 1
    assert done.stdout.splitlines() == [expected]
    synth = run_cli("synth", "--clusters", clusters, "--output", tmp_path / "dist")
    assert synth.returncode == 1
    assert synth.stderr.splitlines()[0] == f"error: {expected}"
    assert not (tmp_path / "dist").exists()


def test_an_app_named_argocd_is_refused_where_argo_cd_manages_itself(tmp_path: Path) -> None:
    """Argo CD's own Application is `argocd`: the app's would overwrite it, in the
    environments that render it only."""
    config = tmp_path / "app-config.yaml"
    config.write_text(CONFIG.read_text().replace("  name: shop ", "  name: argocd ", 1))
    clusters = tmp_path / "clusters"
    shutil.copytree(CLUSTERS, clusters)
    path = clusters / "dev" / "cluster.yaml"
    path.write_text(path.read_text().replace("self_managed: false", "self_managed: true"))
    done = run_cli("validate", config, "--clusters", clusters)
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        f"{path}: argocd.self_managed: Argo CD's own Application is named 'argocd', and so is "
        "the app's (app.name), which would overwrite it; rename the app or leave "
        "self_managed false"
    ]


def test_two_services_on_one_host_after_the_move_to_the_env_domain(tmp_path: Path) -> None:
    clusters = tmp_path / "clusters"
    shutil.copytree(CLUSTERS, clusters)
    dev = clusters / "dev" / "cluster.yaml"
    dev.write_text(dev.read_text().replace("domain: dev.example.com", "domain: example.net"))
    assert "domain: example.net" in dev.read_text()
    config = tmp_path / "app-config.yaml"
    config.write_text(
        "version: 2\napp: {name: shop, namespace: shop}\ndomain: example.com\nservices:\n"
        "  - name: web\n    image: {repository: ghcr.io/example/web, tag: '1.0.0'}\n"
        "    ports: [{name: http, container_port: 8080}]\n"
        "    ingress: {hosts: [shop.example.com]}\n"
        "  - name: web2\n    image: {repository: ghcr.io/example/web, tag: '1.0.0'}\n"
        "    ports: [{name: http, container_port: 8080}]\n"
        "    ingress: {hosts: [], env_hosts: {dev: [shop.example.net]}}\n"
    )
    done = run_cli("validate", config, "--clusters", clusters)
    assert done.returncode == 1
    # In dev, shop.example.com moves onto example.net, where web2 already routes; and dev's
    # domain is not under the base domain at all (nor do the environments share one).
    assert done.stdout.splitlines() == [
        f"{dev}: domain: with 'example.net', services[1].ingress.env_hosts.dev[0] "
        "'shop.example.net' routes shop.example.net/, which 'web' already routes here",
        f"{config}: domain: 'example.com' is not the base domain of the environments in "
        f"{clusters}: dev (example.net) is not under it, so hosts under it would move onto "
        f"unrelated domains; change 'domain' in {clusters}/<env>/cluster.yaml",
    ]


CROSS = sorted((ROOT / "tests" / "fixtures" / "invalid-cross").glob("*.yaml"))


def expected_message(path: Path) -> str:
    lines = path.read_text().splitlines()
    assert lines[0].startswith("# Rejected because: "), f"{path.name}: first line must say why"
    assert lines[1].startswith("# Expect: "), f"{path.name}: second line must give the message"
    return lines[1].removeprefix("# Expect: ")


@pytest.mark.parametrize("path", CROSS, ids=lambda p: p.stem)
def test_a_config_valid_alone_is_refused_with_the_shipped_environments(
    path: Path, tmp_path: Path
) -> None:
    """Rules between the config and clusters/: one line from validate, the same from synth."""
    rel = path.relative_to(ROOT)
    done = run_cli("validate", rel)
    assert done.returncode == 1
    assert done.stdout.splitlines() == [f"{rel}: {expected_message(path)}"]
    synth = run_cli("synth", "--config", rel, "--output", tmp_path / "dist")
    assert synth.returncode == 1
    assert synth.stderr.splitlines()[0] == f"error: {rel}: {expected_message(path)}"
    assert not (tmp_path / "dist").exists()


def test_the_base_domain_may_be_a_parent_of_every_environment(tmp_path: Path) -> None:
    """example.com is prod's domain and the parent of dev's and test's: valid. A base domain
    below the environments' domains is not, and the message names the one they share."""
    config = tmp_path / "app-config.yaml"
    config.write_text(CONFIG.read_text())
    assert run_cli("validate", config).returncode == 0
    config.write_text(CONFIG.read_text().replace("domain: example.com", "domain: shop.example.com"))
    done = run_cli("validate", config)
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        f"{config}: domain: 'shop.example.com' is not the base domain of the environments in "
        "clusters: dev (dev.example.com), prod (example.com), test (test.example.com) are not "
        "under it, so hosts under it would move onto unrelated domains; set the base domain "
        "they share, 'example.com', or change 'domain' in clusters/<env>/cluster.yaml"
    ]


def test_a_host_too_long_once_moved_onto_the_env_domain(tmp_path: Path) -> None:
    """253 characters under example.com, 257 under dev.example.com: the API server refuses
    that Ingress (tests/e2e/test_server_dry_run.py draws such hosts)."""
    clusters = tmp_path / "clusters"
    shutil.copytree(CLUSTERS, clusters)
    label = "a" * 63
    host = ".".join([label, label, label, "a" * 49, "example.com"])
    assert len(host) == 253
    config = tmp_path / "app-config.yaml"
    config.write_text(
        "version: 2\napp: {name: shop, namespace: shop}\ndomain: example.com\nservices:\n"
        "  - name: web\n    image: {repository: ghcr.io/example/web, tag: '1.0.0'}\n"
        "    ports: [{name: http, container_port: 8080}]\n"
        f"    ingress: {{hosts: [{host}]}}\n"
    )
    done = run_cli("validate", config, "--clusters", clusters)
    assert done.returncode == 1
    moved = host.removesuffix("example.com")
    assert done.stdout.splitlines() == [
        f"{clusters / env / 'cluster.yaml'}: domain: with '{env}.example.com', "
        f"services[0].ingress.hosts[0] becomes {length} characters long "
        f"('{moved}{env}.example.com'); a hostname may have at most 253"
        for env, length in (("dev", 257), ("test", 258))
    ]


def test_a_version_1_config_is_valid_and_says_how_to_migrate() -> None:
    done = run_cli("validate", FIXTURES / "configs" / "v1" / "app-config.yaml")
    assert done.returncode == 0
    assert done.stdout.splitlines()[0] == (
        "tests/fixtures/configs/v1/app-config.yaml: version 1, read as version 2; "
        "`gitops-base migrate` rewrites it (docs/reference/versioning.md)"
    )
