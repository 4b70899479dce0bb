"""Secret-looking values in env, command and args: every detector, the escapes, the cost.

The samples are split so that this file holds no secret-shaped string itself.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys

import pytest

from constructs_lib.model import secret_values
from constructs_lib.model.config import AppConfig
from constructs_lib.model.loading import ConfigError, parse_model
from tests.support import ROOT


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


JWT = _b64({"alg": "HS256"}) + "." + _b64({"sub": "svc"}) + ".Kq3vW8xZ2mN5pL7rT1yU"
SAMPLES = {
    "AWS access key": "AKIA" + "Q3ZT7WJ5XK2LMB4N",
    "private key": "-----BEGIN OPENSSH " + "PRIVATE KEY-----\nb3BlbnNzaC1rZXk\n",
    "GitHub token": "ghp" + "_R7kW2pQ9xL4mN8vB3cZ6tY1hJ5sD0fG2aE7u",  # pragma: allowlist secret
    "GitLab token": "glpat" + "-Xy7Kq2Lm9Pn4Rs8Tv3Wz",
    "Slack token": "https://hooks.slack" + ".com/services/T0123ABCD/B0456EFGH/Zx9Qw8Er7Ty6Ui5Op4",
    "Stripe key": "rk" + "_live_4eC39HqLyjWDarjtT1zdp7dc",  # pragma: allowlist secret
    "JSON Web Token": JWT,
    "URL with a password": (
        "amqp://shop:" + "Zq8hunter2Xr4v@rabbit:5672/"  # pragma: allowlist secret
    ),
    "OpenAI key": "sk-" + "a1B2c3D4e5F6g7H8i9J0" + "T3BlbkFJ" + "k1L2m3N4o5P6q7R8s9T0",
    "npm token": (
        "//registry.npmjs.org/:_auth" + "Token=npm_Qm7Zr2Kx9Lp4Wn8Tv3Yb"  # pragma: allowlist secret
    ),
    "PyPI token": "pypi-AgEIcHlwaS5vcmc" + "Q" * 70,
    "SendGrid key": "SG." + "a" * 22 + "." + "b" * 43,
}


def test_every_detector_has_a_sample() -> None:
    assert set(SAMPLES) == set(secret_values._PLUGINS.values())


@pytest.mark.parametrize(("label", "value"), SAMPLES.items(), ids=list(SAMPLES))
def test_each_detector_finds_its_sample_through_the_gate(label: str, value: str) -> None:
    assert secret_values._GATE.search(value), "the gate must let every detector's sample through"
    assert secret_values.detect(value) == label
    # Inside a longer argument too, as in --flag=VALUE.
    assert secret_values.detect(f"--credential={value} --verbose") == label


@pytest.mark.parametrize(
    "value",
    [
        "http://api.shop.svc:8080/v1",
        "postgres://app:$(DB_PASSWORD)@db.shop.svc:5432/shop",
        "sk_test_" + "4eC39HqLyjWDarjtT1zdp7dc",  # a Stripe test key is no secret
        "ghcr.io/example/web@sha256:" + "0" * 64,
        "info",
    ],
)
def test_ordinary_values_pass(value: str) -> None:
    assert secret_values.detect(value) is None


@pytest.mark.parametrize(
    ("name", "value", "found"),
    [
        ("DB_PASSWORD", "hunter2", "a literal value in a *PASSWORD variable"),
        ("jwt_secret", "s3cr3t", "a literal value in a *SECRET variable"),
        ("GITHUB_TOKEN", "abc", "a literal value in a *TOKEN variable"),
        ("MAPS_API_KEY", "k", "a literal value in a *API_KEY variable"),
        ("DB_PASSWORD", "", None),  # empty: nothing to leak
        ("DB_PASSWORD", "$(PG_PASSWORD)", None),  # a reference to another variable
        ("DB_PASSWORD", "/mnt/secrets/db-password", None),  # a file secrets[] delivers
        ("PASSWORD_FILE", "/etc/app/pw", None),  # named like a file, not a password
        ("TOKEN_TTL", "3600", None),
    ],
)
def test_variables_named_like_secrets(name: str, value: str, found: str | None) -> None:
    assert secret_values.detect_env(name, value, "/mnt/secrets") == found


def config(**service: object) -> dict[str, object]:
    return {
        "version": 2,
        "app": {"name": "shop", "namespace": "shop"},
        "domain": "example.com",
        "services": [
            {"name": "web", "image": {"repository": "ghcr.io/example/web", "tag": "1"}, **service}
        ],
    }


def test_the_message_names_the_entry_and_never_the_value() -> None:
    key = SAMPLES["AWS access key"]
    with pytest.raises(ConfigError) as caught:
        parse_model(AppConfig, config(env={"LOG": "info", "KEY_ID": key}), "inline")
    [line] = caught.value.problems
    assert line.startswith("services[0].env.KEY_ID: looks like a secret (AWS access key);")
    assert "not_secret: [KEY_ID]" in line
    assert key not in line


def test_not_secret_accepts_the_listed_entries_only() -> None:
    url = SAMPLES["URL with a password"]
    accepted = config(
        env={"BROKER_URL": url}, args=["--url", url], not_secret=["BROKER_URL", "args[1]"]
    )
    parsed = parse_model(AppConfig, accepted, "inline")
    assert parsed.services[0].not_secret == ["BROKER_URL", "args[1]"]
    half = config(env={"BROKER_URL": url}, args=["--url", url], not_secret=["BROKER_URL"])
    with pytest.raises(ConfigError) as caught:
        parse_model(AppConfig, half, "inline")
    assert caught.value.problems[0].startswith("services[0].args[1]: looks like a secret")


def test_an_exec_probe_command_is_checked_and_has_its_own_escape() -> None:
    url = SAMPLES["URL with a password"]
    probe = {"liveness": {"exec": {"command": ["curl", "-fsS", url]}}}
    with pytest.raises(ConfigError) as caught:
        parse_model(AppConfig, config(probes=probe), "inline")
    [line] = caught.value.problems
    assert line.startswith("services[0].probes.liveness.exec.command[2]: looks like a secret")
    assert url not in line
    entry = "probes.liveness.exec.command[2]"
    parsed = parse_model(AppConfig, config(probes=probe, not_secret=[entry]), "inline")
    assert parsed.services[0].not_secret == [entry]
    with pytest.raises(ConfigError) as caught:
        parse_model(
            AppConfig,
            config(probes=probe, not_secret=["probes.readiness.exec.command[0]"]),
            "inline",
        )
    assert "names no env var, command, args or exec probe item" in caught.value.problems[0]


def test_a_not_secret_entry_must_be_an_env_name_or_an_argument() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_model(AppConfig, config(env={"A": "b"}, not_secret=["env.A"]), "inline")
    assert caught.value.problems == [
        "services[0].not_secret[0]: 'env.A' is not an env var name, 'command[N]', 'args[N]' or "
        "'probes.<readiness|liveness|startup>.exec.command[N]'"
    ]


def test_a_clean_config_does_not_load_detect_secrets() -> None:
    """The plugins cost ~0.2 s to import; a config without a candidate value never pays it."""
    code = (
        "import sys\n"
        "from constructs_lib.model.config import AppConfig\n"
        "from constructs_lib.model.loading import load_model\n"
        "load_model(AppConfig, __import__('pathlib').Path('config/app-config.yaml'))\n"
        "print('detect_secrets' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout == "False\n"
