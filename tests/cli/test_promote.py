"""Per-environment images: `set-image --env` and `promote`, and what they change."""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from constructs_lib.compose.charts import EnvCharts
from constructs_lib.compose.workloads import add_workloads
from constructs_lib.constructs.kube_object import synthesize
from constructs_lib.model.config import AppConfig
from constructs_lib.model.loading import load_model
from tests.support import ROOT, load_cluster, run_cli

CLUSTERS = ROOT / "clusters"


FORCE = ("--force", "--reason", "no cluster in unit tests")


def cli(*args: Any) -> Any:
    return run_cli(*args, "--clusters", CLUSTERS)


def promote(*args: Any) -> Any:
    """promote without the checks, which read the source's cluster (tested in
    tests/cli/test_promotion_checks.py and end to end in the promotion journey)."""
    return cli("promote", *args, *FORCE)


def changed_lines(before: str, after: str) -> list[str]:
    return [
        line
        for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


def images(config: Path) -> dict[str, str]:
    """env -> the web Deployment's image, as rendered."""
    model = load_model(AppConfig, config)
    out = {}
    for env in ("dev", "test", "prod"):
        charts = EnvCharts(env)
        add_workloads(charts.workloads, model, load_cluster(env))
        web = next(
            m
            for m in synthesize(charts.workloads)
            if m["kind"] == "Deployment" and m["metadata"]["name"] == "web"
        )
        out[env] = web["spec"]["template"]["spec"]["containers"][0]["image"]
    return out


def test_the_shipped_config_keeps_prod_behind(config_copy: Path) -> None:
    before = images(config_copy)
    done = cli("set-image", "web", "2.0.0", "--config", config_copy)
    assert done.returncode == 0, done.stderr
    after = images(config_copy)
    assert after["dev"] == after["test"] == "ghcr.io/example/shop-web:2.0.0"
    assert after["prod"] == before["prod"] == "ghcr.io/example/shop-web:1.8.2"


def test_set_image_for_one_env_changes_only_that_env(config_copy: Path) -> None:
    # Without the shipped prod pin, so the first override also adds the `envs:` key.
    pin = '      envs:\n        prod: {tag: "1.8.2"}\n'
    assert pin in config_copy.read_text()
    config_copy.write_text(config_copy.read_text().replace(pin, "", 1))
    before_text, before = config_copy.read_text(), images(config_copy)
    done = cli("set-image", "web", "2.0.0", "--env", "dev", "--config", config_copy)
    assert done.returncode == 0, done.stderr
    assert changed_lines(before_text, config_copy.read_text()) == [
        "+      envs:",
        '+        dev: {tag: "2.0.0"}',
    ]
    after = images(config_copy)
    assert after["dev"] == "ghcr.io/example/shop-web:2.0.0"
    assert (after["test"], after["prod"]) == (before["test"], before["prod"])
    # The next roll of dev is a one-line diff.
    middle = config_copy.read_text()
    assert cli("set-image", "web", "2.0.1", "--env", "dev", "--config", config_copy).returncode == 0
    assert changed_lines(middle, config_copy.read_text()) == [
        '-        dev: {tag: "2.0.0"}',
        '+        dev: {tag: "2.0.1"}',
    ]


def test_promote_copies_what_runs_in_one_env_to_the_next_only(config_copy: Path) -> None:
    cli("set-image", "web", "2.0.0", "--env", "dev", "--config", config_copy)
    before_text, before = config_copy.read_text(), images(config_copy)
    done = promote("web", "--from", "dev", "--to", "test", "--config", config_copy)
    assert done.returncode == 0, done.stderr
    assert done.stdout == (
        "promoted web in test: ghcr.io/example/shop-web:2.0.0 "
        "(from dev, forced: no cluster in unit tests)\n"
    )
    assert changed_lines(before_text, config_copy.read_text()) == ['+        test: {tag: "2.0.0"}']
    after = images(config_copy)
    assert after == {**before, "test": "ghcr.io/example/shop-web:2.0.0"}
    again = cli("promote", "web", "--from", "dev", "--to", "test", "--config", config_copy)
    # Already there: nothing to check, nothing to force.
    assert again.stdout.startswith("already at"), again.stdout
    assert after == images(config_copy)


def test_promote_copies_a_digest_too(config_copy: Path) -> None:
    digest = "sha256:" + "a" * 64
    assert (
        cli("set-image", f"web@{digest}", "--env", "test", "--config", config_copy).returncode == 0
    )
    done = promote("web", "--from", "test", "--to", "prod", "--config", config_copy)
    assert done.returncode == 0, done.stderr
    assert images(config_copy)["prod"] == f"ghcr.io/example/shop-web@{digest}"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("promote", "web", "--from", "dev", "--to", "stage"),
            "--to: no environment 'stage' (clusters: dev, prod, test)",
        ),
        (
            ("set-image", "web", "1.0", "--env", "qa"),
            "--env: no environment 'qa' (clusters: dev, prod, test)",
        ),
        (
            ("promote", "nope", "--from", "dev", "--to", "test"),
            "{config}: services: no service named 'nope' (services: web, api, worker, "
            "nightly-report)",
        ),
        (("set-image", "web", "bad tag", "--env", "dev"), None),
    ],
)
def test_bad_input_is_one_line_and_changes_nothing(
    config_copy: Path, args: tuple[str, ...], message: str | None
) -> None:
    before = config_copy.read_bytes()
    done = cli(*args, "--config", config_copy)
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert len(lines) == 2
    if message is not None:
        assert lines[0] == message.format(config=config_copy)
    else:
        assert lines[0].startswith("TAG: ")
    assert config_copy.read_bytes() == before


def test_generate_keeps_per_env_images_even_with_a_new_image(
    config_copy: Path, tmp_path: Path
) -> None:
    cli("set-image", "web", "2.0.0", "--env", "dev", "--config", config_copy)
    payload = tmp_path / "p.json"
    app = {"name": "web", "image": "ghcr.io/example/shop-web:3.0.0", "new_image": True}
    port = {"name": "http", "container_port": 8080, "service_port": 80}
    api = {"name": "api", "image": "ghcr.io/example/shop-api:2.4.0", "ports": [port]}
    payload.write_text(json.dumps({"version": 2, "deployed_apps": [app, api]}))
    done = run_cli("generate", "--input", payload, "--output", config_copy)
    assert done.returncode == 0, done.stderr
    image = yaml.safe_load(config_copy.read_text())["services"][0]["image"]
    assert image == {
        "repository": "ghcr.io/example/shop-web",
        "tag": "3.0.0",
        "envs": {"prod": {"tag": "1.8.2"}, "dev": {"tag": "2.0.0"}},
    }
    # and the written envs stay one line per environment, editable by set-image --env
    assert '        dev: {tag: "2.0.0"}\n' in config_copy.read_text()
    before = config_copy.read_text()
    assert cli("set-image", "web", "2.0.1", "--env", "dev", "--config", config_copy).returncode == 0
    assert changed_lines(before, config_copy.read_text()) == [
        '-        dev: {tag: "2.0.0"}',
        '+        dev: {tag: "2.0.1"}',
    ]


# --- a config generated from a payload keeps prod behind -------------------------------------

WEB = {
    "name": "web",
    "image": "ghcr.io/example/shop-web:1.9.0",
    "ports": [{"name": "http", "container_port": 8080, "service_port": 80}],
}
NEW_CONFIG = ["--app-name", "shop", "--namespace", "shop", "--domain", "example.com"]


def write_payload(path: Path, *apps: dict[str, Any]) -> Path:
    path.write_text(json.dumps({"version": 2, "deployed_apps": list(apps)}))
    return path


def test_a_generated_config_keeps_prod_behind_until_promoted(tmp_path: Path) -> None:
    config = tmp_path / "app-config.yaml"
    payload = write_payload(tmp_path / "p.json", WEB)
    done = cli("generate", "--input", payload, "--output", config, *NEW_CONFIG)
    assert done.returncode == 0, done.stderr
    text = config.read_text()
    assert "# Environments a new image reaches only by promotion (default: prod" in text
    assert '      tag: "1.9.0"\n      envs:\n        prod: {tag: "1.9.0"}\n' in text
    assert images(config) == dict.fromkeys(
        ("dev", "test", "prod"), "ghcr.io/example/shop-web:1.9.0"
    )
    # CI's tag edit rolls dev and test; prod runs what it ran.
    assert cli("set-image", "web", "1.9.1", "--config", config).returncode == 0
    assert images(config) == {
        "dev": "ghcr.io/example/shop-web:1.9.1",
        "test": "ghcr.io/example/shop-web:1.9.1",
        "prod": "ghcr.io/example/shop-web:1.9.0",
    }
    # So does a payload marking its image new; the prod pin is kept, not re-pinned.
    newer = write_payload(
        tmp_path / "p2.json", WEB | {"image": "ghcr.io/example/shop-web:1.9.2", "new_image": True}
    )
    assert cli("generate", "--input", newer, "--output", config).returncode == 0
    assert images(config)["dev"] == "ghcr.io/example/shop-web:1.9.2"
    assert images(config)["prod"] == "ghcr.io/example/shop-web:1.9.0"
    # Promotion moves prod, one line.
    before = config.read_text()
    assert promote("web", "--from", "test", "--to", "prod", "--config", config).returncode == 0
    assert changed_lines(before, config.read_text()) == [
        '-        prod: {tag: "1.9.0"}',
        '+        prod: {tag: "1.9.2"}',
    ]
    assert images(config)["prod"] == "ghcr.io/example/shop-web:1.9.2"


def test_a_service_added_later_is_held_and_existing_ones_keep_their_pins(
    config_copy: Path, tmp_path: Path
) -> None:
    """The shipped config without web's prod pin: generate adds no pin to a service the
    config has, and pins only the service it adds."""
    text = config_copy.read_text()
    pinned = '      envs:\n        prod: {tag: "1.8.2"}\n'
    assert pinned in text
    config_copy.write_text(text.replace(pinned, "", 1))
    search = {"name": "search", "image": "ghcr.io/example/shop-search:1.0.0@sha256:" + "c" * 64}
    api = {"name": "api", "image": "ghcr.io/example/shop-api:2.3.0"}  # web calls it
    payload = write_payload(tmp_path / "p.json", WEB | {"new_image": True}, api, search)
    done = cli("generate", "--input", payload, "--output", config_copy)
    assert done.returncode == 0, done.stderr
    services = {s["name"]: s for s in yaml.safe_load(config_copy.read_text())["services"]}
    assert services["web"]["image"] == {"repository": "ghcr.io/example/shop-web", "tag": "1.9.0"}
    assert services["search"]["image"]["envs"] == {
        "prod": {"tag": "1.0.0", "digest": "sha256:" + "c" * 64}
    }


@pytest.mark.parametrize(
    ("held", "envs"),
    [("[]", None), ("[test, prod]", {"test", "prod"})],
    ids=["none", "test-and-prod"],
)
def test_promotion_held_names_the_pinned_environments(
    tmp_path: Path, held: str, envs: set[str] | None
) -> None:
    config = tmp_path / "app-config.yaml"
    config.write_text(
        f"version: 2\napp: {{name: shop, namespace: shop}}\ndomain: example.com\n"
        f"promotion: {{held: {held}}}\nservices: []\n"
    )
    payload = write_payload(tmp_path / "p.json", WEB)
    done = cli("generate", "--input", payload, "--output", config)
    assert done.returncode == 0, done.stderr
    image = yaml.safe_load(config.read_text())["services"][0]["image"]
    assert (set(image["envs"]) if "envs" in image else None) == envs


def test_generate_refuses_a_held_environment_that_does_not_exist(tmp_path: Path) -> None:
    """As validate does: the config it would write names an environment clusters/ lacks."""
    config = tmp_path / "app-config.yaml"
    text = (
        "version: 2\napp: {name: shop, namespace: shop}\ndomain: example.com\n"
        "promotion: {held: [staging, prod]}\nservices: []\n"
    )
    config.write_text(text)
    payload = write_payload(tmp_path / "p.json", WEB)
    done = cli("generate", "--input", payload, "--output", config)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"{config}: promotion.held[0]: no environment 'staging' (clusters: dev, prod, test)",
        f"generate: 1 problem(s); {config} was not changed",
    ]
    assert config.read_text() == text


def test_without_a_prod_environment_nothing_is_pinned(tmp_path: Path) -> None:
    clusters = tmp_path / "clusters"
    (clusters / "dev").mkdir(parents=True)
    (clusters / "dev" / "cluster.yaml").write_text((CLUSTERS / "dev" / "cluster.yaml").read_text())
    config = tmp_path / "app-config.yaml"
    payload = write_payload(tmp_path / "p.json", WEB)
    done = run_cli(
        "generate", "--input", payload, "--output", config, *NEW_CONFIG, "--clusters", clusters
    )
    assert done.returncode == 0, done.stderr
    assert "envs" not in yaml.safe_load(config.read_text())["services"][0]["image"]
    assert run_cli("validate", config, "--clusters", clusters).returncode == 0


def test_a_held_environment_that_does_not_exist_is_one_line(config_copy: Path) -> None:
    text = config_copy.read_text().replace(
        "\nservices:\n", "\npromotion:\n  held: [prod, staging]\n\nservices:\n", 1
    )
    config_copy.write_text(text)
    done = cli("validate", config_copy)
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        f"{config_copy}: promotion.held[1]: no environment 'staging' (clusters: dev, prod, test)"
    ]
    config_copy.write_text(text.replace("held: [prod, staging]", "held: [prod, prod]"))
    done = cli("validate", config_copy)
    assert done.stdout.splitlines() == [f"{config_copy}: promotion.held: 'prod' is listed twice"]
