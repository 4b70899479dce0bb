"""Config rules: one invalid fixture per rule, asserted on the exact message."""

from __future__ import annotations

from pathlib import Path

import pytest

from constructs_lib.model.config import AppConfig
from constructs_lib.model.loading import ConfigError, load_model, parse_model, parse_yaml
from constructs_lib.model.value_types import quantity_value
from tests.support import FIXTURES, ROOT

INVALID = sorted((FIXTURES / "invalid").glob("*.yaml"))


def expected_message(path: Path) -> str:
    lines = path.read_text().splitlines()
    assert lines[0].startswith("# Rejected because: "), f"{path.name}: first line must say why"
    assert lines[1].startswith("# Expect: "), f"{path.name}: second line must give the message"
    return lines[1].removeprefix("# Expect: ")


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_invalid_fixture_is_rejected_with_its_message(path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_model(AppConfig, path)
    assert caught.value.problems == [expected_message(path)]


def test_there_is_a_fixture_per_rule() -> None:
    assert len(INVALID) >= 40


def test_minimal_and_example_configs_are_valid() -> None:
    load_model(AppConfig, FIXTURES / "valid-minimal.yaml")
    config = load_model(AppConfig, ROOT / "config" / "app-config.yaml")
    assert [s.name for s in config.services] == ["web", "api", "worker", "nightly-report"]


def test_every_problem_is_reported_not_just_the_first() -> None:
    data = {
        "version": 2,
        "app": {"name": "Shop", "namespace": "shop"},
        "domain": "example.com",
        "services": [{"name": "web", "image": {"repository": "x"}, "replicas": -1}],
    }
    with pytest.raises(ConfigError) as caught:
        parse_model(AppConfig, data, "inline")
    assert caught.value.problems == [
        "app.name: 'Shop' is not a valid DNS label (lowercase letters, digits and '-', starting "
        "with a letter, ending with a letter or digit, at most 63 characters)",
        "services[0].image: set 'tag' or 'digest'",
        "services[0].replicas: input should be greater than or equal to 0",
    ]


def test_yaml_injection_stays_a_literal_string() -> None:
    data = {
        "version": 2,
        "app": {"name": "shop", "namespace": "shop"},
        "domain": "example.com",
        "services": [
            {
                "name": "web",
                "image": {"repository": "ghcr.io/example/web", "tag": "1"},
                "env": {"GREETING": "hi\n---\nkind: Secret\nmetadata: {name: pwned}"},
            }
        ],
    }
    config = parse_model(AppConfig, data, "inline")
    assert config.services[0].env["GREETING"].startswith("hi\n---\nkind: Secret")


def test_config_is_immutable() -> None:
    config = load_model(AppConfig, FIXTURES / "valid-minimal.yaml")
    with pytest.raises(Exception, match="frozen"):
        config.services[0].replicas = 3  # type: ignore[misc]


def test_image_reference_joins_tag_and_digest() -> None:
    config = load_model(AppConfig, ROOT / "config" / "app-config.yaml")
    assert config.services[0].image.reference == "ghcr.io/example/shop-web:1.8.2"
    assert config.services[2].image.reference.startswith("ghcr.io/example/shop-worker@sha256:")


@pytest.mark.parametrize(
    ("quantity", "value"),
    [
        ("250m", 0.25),
        ("1", 1.0),
        ("1.5", 1.5),
        ("128Mi", 128 * 2**20),
        ("1G", 1e9),
        ("1e3", 1000.0),
    ],
)
def test_quantity_values_compare_like_kubernetes(quantity: str, value: float) -> None:
    assert quantity_value(quantity) == pytest.approx(value)


@pytest.mark.parametrize(
    "host", ["shop.example.com", "a-b.c.example.co.uk", "xn--bcher-kva.example"]
)
def test_valid_hostnames_are_accepted(host: str) -> None:
    data = {
        "version": 2,
        "app": {"name": "shop", "namespace": "shop"},
        "domain": host,
    }
    assert parse_model(AppConfig, data, "inline").domain == host


def test_ip_address_is_not_a_hostname() -> None:
    data = {"version": 2, "app": {"name": "shop", "namespace": "shop"}, "domain": "10.0.0.1"}
    with pytest.raises(ConfigError) as caught:
        parse_model(AppConfig, data, "inline")
    assert caught.value.problems[0].startswith(
        "domain: '10.0.0.1' is not a fully qualified hostname"
    )


def test_derived_values_cannot_be_set_in_yaml() -> None:
    """image.reference is computed from repository/tag/digest; giving it is an error."""
    data = {
        "version": 2,
        "app": {"name": "shop", "namespace": "shop"},
        "domain": "example.com",
        "services": [
            {
                "name": "web",
                "image": {"repository": "ghcr.io/example/web", "tag": "1", "reference": "x:2"},
            }
        ],
    }
    with pytest.raises(ConfigError) as caught:
        parse_model(AppConfig, data, "inline")
    assert caught.value.problems == ["services[0].image.reference: unknown field"]


def test_a_mutable_tag_is_accepted_when_allowed_or_pinned_by_digest() -> None:
    base = "version: 2\napp: {name: shop, namespace: shop}\ndomain: example.com\nservices:\n"
    digest = "sha256:" + "ab" * 32
    for image in (
        "{repository: ghcr.io/example/web, tag: latest, allow_mutable_tag: true}",
        f"{{repository: ghcr.io/example/web, tag: latest, digest: '{digest}'}}",
    ):
        text = base + f"  - name: web\n    image: {image}\n"
        config = parse_model(AppConfig, parse_yaml(text, "x.yaml"), "x.yaml")
        assert config.services[0].image.tag == "latest"


def test_the_synced_secret_rule_names_the_secret_the_driver_syncs() -> None:
    """The TLS secret rule must know the name the CSI mount gives its synced Secret."""
    from constructs_lib.model.service import SYNCED_SECRET_SUFFIX

    rendered = (ROOT / "dist" / "dev" / "app" / "secretproviderclass-api.yaml").read_text()
    assert f"secretName: api{SYNCED_SECRET_SUFFIX}\n" in rendered
