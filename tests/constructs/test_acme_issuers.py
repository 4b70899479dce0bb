"""`acme_issuers` in cluster.yaml: more ACME ClusterIssuers beside Let's Encrypt's, selectable
as the environment's `tls_issuer`."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
import yaml

from constructs_lib.model.clusters import ClusterSettings
from constructs_lib.model.config import AppConfig
from constructs_lib.model.loading import ConfigError, load_model
from constructs_lib.render.schema_check import validate_manifest
from tests.support import find, with_changes
from tests.support.platform import render_platform

# Two PEM blocks around the smallest DER SEQUENCE: the bundle check is about the format.
CERT = "-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----\n"
BUNDLE = CERT + "\n" + CERT
PEBBLE = {"name": "pebble", "server": "https://198.51.100.20:14000/dir", "ca_bundle": BUNDLE}
# Refused inputs that look like credentials to the repository's secret scan.
WITH_USER = "https://user:pw@ca.example.com/dir"  # pragma: allowlist secret
KEY = (
    "-----BEGIN PRIVATE KEY-----\nMAMCAQE=\n-----END PRIVATE KEY-----\n"  # pragma: allowlist secret
)


def test_an_extra_issuer_renders_beside_lets_encrypts(
    config: AppConfig, cluster: ClusterSettings
) -> None:
    env = with_changes(cluster, acme_issuers=[PEBBLE])
    rendered = render_platform(config, env)
    assert rendered.names("ClusterIssuer") == [
        "letsencrypt-production",
        "letsencrypt-staging",
        "pebble",
    ]
    staging = rendered.find("ClusterIssuer", "letsencrypt-staging")
    pebble = rendered.find("ClusterIssuer", "pebble")
    acme = pebble["spec"]["acme"]
    assert acme["server"] == PEBBLE["server"]
    assert acme["email"] == cluster.acme_email
    assert acme["privateKeySecretRef"] == {"name": "pebble-account-key"}
    assert acme["solvers"] == staging["spec"]["acme"]["solvers"]
    assert base64.b64decode(acme["caBundle"]).decode() == BUNDLE
    assert pebble["metadata"]["annotations"] == staging["metadata"]["annotations"]
    assert "caBundle" not in staging["spec"]["acme"]
    # The Let's Encrypt issuers are as without the setting.
    plain = render_platform(config, cluster)
    for name in ("letsencrypt-staging", "letsencrypt-production"):
        assert rendered.find("ClusterIssuer", name) == plain.find("ClusterIssuer", name)
    assert validate_manifest(pebble) == []


def test_the_platform_project_allows_each_issuer_by_name(
    config: AppConfig, cluster: ClusterSettings
) -> None:
    # Argo CD refuses a cluster-scoped object its project does not name: without its entry
    # the extra issuer would never be created.
    env = with_changes(cluster, acme_issuers=[PEBBLE])
    project = render_platform(config, env).find("AppProject", "platform")
    issuers = [
        entry["name"]
        for entry in project["spec"]["clusterResourceWhitelist"]
        if entry["kind"] == "ClusterIssuer"
    ]
    assert issuers == ["letsencrypt-staging", "letsencrypt-production", "pebble"]


def test_without_a_ca_bundle_the_issuer_trusts_the_system_cas(
    config: AppConfig, cluster: ClusterSettings
) -> None:
    env = with_changes(
        cluster, acme_issuers=[{"name": "step", "server": "https://ca.example.com/d"}]
    )
    acme = render_platform(config, env).find("ClusterIssuer", "step")["spec"]["acme"]
    assert "caBundle" not in acme


def test_the_env_can_select_it_for_its_ingresses(
    app_module: Any, config: AppConfig, cluster: ClusterSettings
) -> None:
    env = with_changes(cluster, acme_issuers=[PEBBLE], tls_issuer="pebble")
    ingresses = [
        m for m in app_module["build"](config, env).folders["app"] if m["kind"] == "Ingress"
    ]
    assert ingresses
    for ingress in ingresses:
        assert ingress["metadata"]["annotations"]["cert-manager.io/cluster-issuer"] == "pebble"
    # Added but not selected: the ingresses keep the config's Let's Encrypt issuer.
    env = with_changes(cluster, acme_issuers=[PEBBLE])
    web = find(app_module["build"](config, env).folders["app"], "Ingress", "web")
    assert web["metadata"]["annotations"]["cert-manager.io/cluster-issuer"] == "letsencrypt-staging"


LONG_URL = "https://ca.example.com/" + "a" * 2048


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (
            {"acme_issuers": [{**PEBBLE, "server": "http://198.51.100.20:14000/dir"}]},
            "acme_issuers[0].server: 'http://198.51.100.20:14000/dir' is not an https:// URL "
            "(ACME servers are reached over TLS)",
        ),
        (
            {"acme_issuers": [{**PEBBLE, "server": WITH_USER}]},
            f"acme_issuers[0].server: '{WITH_USER}' must not carry a user, password or #fragment",
        ),
        (
            {"acme_issuers": [{**PEBBLE, "server": "https://ca.example.com/dir x"}]},
            "acme_issuers[0].server: 'https://ca.example.com/dir x' contains whitespace",
        ),
        (
            {"acme_issuers": [{**PEBBLE, "server": "https://Bad_Host/dir"}]},
            "acme_issuers[0].server: 'https://Bad_Host/dir' has no valid host name or IP address",
        ),
        (
            {"acme_issuers": [{**PEBBLE, "server": "https://ca.example.com:99999/dir"}]},
            "acme_issuers[0].server: 'https://ca.example.com:99999/dir' has an invalid port",
        ),
        (
            {"acme_issuers": [{**PEBBLE, "server": LONG_URL}]},
            "acme_issuers[0].server: is longer than 2048 characters",
        ),
        (
            {"acme_issuers": [{**PEBBLE, "name": "letsencrypt-production"}]},
            "acme_issuers[0].name: 'letsencrypt-production' is a Let's Encrypt issuer the base "
            "already renders; choose another name",
        ),
        (
            {"acme_issuers": [PEBBLE, {**PEBBLE, "server": "https://other.example.com/d"}]},
            "acme_issuers[1].name: 'pebble' is already acme_issuers[0]",
        ),
        (
            {"acme_issuers": [{**PEBBLE, "name": "Pebble"}]},
            "acme_issuers[0].name: 'Pebble' is not a valid DNS label (lowercase letters, digits "
            "and '-', starting with a letter, ending with a letter or digit, at most 63 "
            "characters)",
        ),
        (
            {"tls_issuer": "pebble"},
            "tls_issuer: 'pebble' is neither letsencrypt-staging nor letsencrypt-production nor "
            "the name of one of acme_issuers",
        ),
        (
            {"acme_issuers": [{**PEBBLE, "ca_bundle": "not a certificate"}]},
            "acme_issuers[0].ca_bundle: holds no PEM certificate (-----BEGIN CERTIFICATE----- ...)",
        ),
        (
            {
                "acme_issuers": [
                    {
                        **PEBBLE,
                        "ca_bundle": CERT + KEY,
                    }
                ]
            },
            "acme_issuers[0].ca_bundle: holds something besides PEM certificates (only CA "
            "certificates belong here)",
        ),
        (
            {
                "acme_issuers": [
                    {
                        **PEBBLE,
                        "ca_bundle": "-----BEGIN CERTIFICATE-----\nQUJD\n-----END CERTIFICATE-----",
                    }
                ]
            },
            "acme_issuers[0].ca_bundle: certificate 1 is not valid base64-encoded DER",
        ),
        (
            {"acme_issuers": [{**PEBBLE, "ca_bundle": CERT * 4000}]},
            "acme_issuers[0].ca_bundle: is longer than 65536 characters",
        ),
        (
            {
                "acme_issuers": [
                    {**PEBBLE, "name": f"ca{i}", "server": f"https://ca{i}.example.com/d"}
                    for i in range(5)
                ]
            },
            "acme_issuers: list should have at most 4 items after validation, not 5",
        ),
    ],
    ids=[
        "http",
        "userinfo",
        "whitespace",
        "bad-host",
        "bad-port",
        "too-long",
        "lets-encrypt-name",
        "duplicate",
        "not-a-dns-label",
        "unknown-tls-issuer",
        "not-pem",
        "private-key",
        "not-der",
        "bundle-too-large",
        "too-many",
    ],
)
def test_bad_settings_are_refused_with_one_line_naming_the_field(
    tmp_path: Path, change: dict[str, Any], problem: str
) -> None:
    data = yaml.safe_load((Path("clusters") / "dev" / "cluster.yaml").read_text())
    data.update(change)
    path = tmp_path / "cluster.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError) as caught:
        load_model(ClusterSettings, path)
    assert caught.value.problems == [problem]
