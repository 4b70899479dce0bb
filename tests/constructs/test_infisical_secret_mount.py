from __future__ import annotations

import dataclasses
from typing import Any

import pytest
import yaml

from constructs_lib.constructs.infisical_secret_mount import (
    InfisicalConnection,
    InfisicalSecret,
    InfisicalSecretMount,
    InfisicalSecretMountProps,
)
from tests.support import find
from tests.support.constructs import synth

INFISICAL = InfisicalConnection(
    url="https://infisical.example.com",
    project_id="p-1",
    identity_id="id-1",
    audience="infisical",
    auth_method="kubernetes",
)
SECRETS = (
    InfisicalSecret(
        key="DATABASE_URL", path="/api", object_name="DATABASE_URL", env="DATABASE_URL"
    ),
    InfisicalSecret(key="tls-key", path="/certs", object_name="tls.key"),
)


def props(**fields: Any) -> InfisicalSecretMountProps:
    base: dict[str, Any] = dict(
        name="api",
        namespace="shop",
        labels={"app.kubernetes.io/name": "api"},
        infisical=INFISICAL,
        env_slug="dev",
        secrets=SECRETS,
        mount_path="/mnt/secrets",
        synced_secret_name="api-infisical",  # pragma: allowlist secret
    )
    base.update(fields)
    return InfisicalSecretMountProps(**base)


def test_secret_provider_class_for_the_infisical_provider() -> None:
    spc = find(
        synth(lambda c: InfisicalSecretMount(c, "s", props=props())), "SecretProviderClass", "api"
    )
    assert spc["apiVersion"] == "secrets-store.csi.x-k8s.io/v1"
    assert spc["metadata"]["annotations"] == {"argocd.argoproj.io/sync-wave": "-1"}
    params = spc["spec"]["parameters"]
    assert spc["spec"]["provider"] == "infisical"
    assert {k: v for k, v in params.items() if k != "secrets"} == {
        "infisicalUrl": "https://infisical.example.com",
        "authMethod": "kubernetes",
        "identityId": "id-1",
        "projectId": "p-1",
        "envSlug": "dev",
        "audience": "infisical",
    }
    assert yaml.safe_load(params["secrets"]) == [
        {"secretPath": "/api", "fileName": "DATABASE_URL", "secretKey": "DATABASE_URL"},
        {"secretPath": "/certs", "fileName": "tls.key", "secretKey": "tls-key"},
    ]


def test_only_env_secrets_are_synced_to_a_secret() -> None:
    spc = find(
        synth(lambda c: InfisicalSecretMount(c, "s", props=props())), "SecretProviderClass", "api"
    )
    assert spc["spec"]["secretObjects"] == [
        {
            "secretName": "api-infisical",
            "type": "Opaque",
            "labels": {"app.kubernetes.io/name": "api"},
            "data": [{"objectName": "DATABASE_URL", "key": "DATABASE_URL"}],
        }
    ]


def test_file_only_secrets_need_no_sync() -> None:
    p = props(secrets=(SECRETS[1],))
    spc = find(synth(lambda c: InfisicalSecretMount(c, "s", props=p)), "SecretProviderClass", "api")
    assert "secretObjects" not in spc["spec"]


def test_volume_mount_and_env_vars() -> None:
    mounts: list[InfisicalSecretMount] = []
    synth(
        lambda c: mounts.append(
            InfisicalSecretMount(c, "s", props=props(mount_path="/run/secrets"))
        )
    )
    mount = mounts[0]
    assert mount.volume() == {
        "name": "secrets",
        "csi": {
            "driver": "secrets-store.csi.k8s.io",
            "readOnly": True,
            "volumeAttributes": {"secretProviderClass": "api"},
        },
    }
    assert mount.volume_mount() == {
        "name": "secrets",
        "mountPath": "/run/secrets",
        "readOnly": True,
    }
    assert mount.env_vars() == [
        {
            "name": "DATABASE_URL",
            "valueFrom": {"secretKeyRef": {"name": "api-infisical", "key": "DATABASE_URL"}},
        }
    ]


def test_ca_certificate_is_passed_when_set() -> None:
    infisical = dataclasses.replace(INFISICAL, ca_certificate="-----BEGIN CERTIFICATE-----\nMIIB\n")
    spc = find(
        synth(lambda c: InfisicalSecretMount(c, "s", props=props(infisical=infisical))),
        "SecretProviderClass",
        "api",
    )
    assert spc["spec"]["parameters"]["caCertificate"].startswith("-----BEGIN CERTIFICATE-----")


def test_no_secret_object_is_ever_rendered() -> None:
    out = synth(lambda c: InfisicalSecretMount(c, "s", props=props()))
    assert [m["kind"] for m in out] == ["SecretProviderClass"]


def test_requires_secrets() -> None:
    with pytest.raises(ValueError, match="InfisicalSecretMount 'api': no secrets to mount"):
        synth(lambda c: InfisicalSecretMount(c, "s", props=props(secrets=())))
