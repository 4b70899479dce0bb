"""A secret-looking value is refused by `validate` and by `synth` (which validates the config),
the value never printed; `not_secret` carries through `generate` into the config."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from constructs_lib.model.config import AppConfig
from constructs_lib.model.loading import load_model
from tests.support import FIXTURES, ROOT, run_cli

FIXTURE = FIXTURES / "invalid" / "secret-url-password.yaml"
LINE = (
    "services[0].env.DATABASE_URL: looks like a secret (URL with a password); deliver it "
    "through secrets[] (Infisical), or mark it with not_secret: [DATABASE_URL] if it is not one"
)
PASSWORD = "Zq8hunter2Xr4v"  # pragma: allowlist secret


def test_validate_refuses_it_without_echoing_the_value() -> None:
    done = run_cli("validate", FIXTURE)
    assert done.returncode == 1
    assert done.stdout.splitlines() == [f"{FIXTURE.relative_to(ROOT)}: {LINE}"]
    assert PASSWORD not in done.stdout + done.stderr


def test_synth_refuses_it_and_writes_nothing(tmp_path: Path) -> None:
    output = tmp_path / "dist"
    done = run_cli("synth", "--config", FIXTURE, "--output", output)
    assert done.returncode == 1
    assert LINE in done.stderr
    assert PASSWORD not in done.stdout + done.stderr
    assert not output.exists()


def test_generate_keeps_not_secret_in_the_config(tmp_path: Path) -> None:
    config = tmp_path / "app-config.yaml"
    shutil.copyfile(FIXTURES / "configs" / "base.yaml", config)
    url = "amqp://guest:" + "guest@rabbit.shop.svc:5672/"  # the broker's public default login
    payload = tmp_path / "payload.json"
    app = {
        "name": "worker",
        "image": "ghcr.io/acme/worker:1.0.0",
        "env": {"BROKER_URL": url},
        "not_secret": ["BROKER_URL"],
    }
    payload.write_text(json.dumps({"version": 2, "deployed_apps": [app]}))
    done = run_cli("generate", "--input", payload, "--output", config)
    assert done.returncode == 0, done.stderr
    [worker] = load_model(AppConfig, config).services
    assert worker.env == {"BROKER_URL": url}
    assert worker.not_secret == ["BROKER_URL"]
    del app["not_secret"]
    payload.write_text(json.dumps({"version": 2, "deployed_apps": [app]}))
    done = run_cli("generate", "--input", payload, "--output", config)
    assert done.returncode == 0, "the config's not_secret is kept when the payload omits it"
