"""InfisicalSecretMount: a SecretProviderClass for the Infisical CSI provider, and the volume,
mount and env vars a pod uses to read it.

No secret value and no kind Secret is ever rendered. The secrets-store CSI driver fetches the
secrets when a pod starts, writes them as files into the pod's volume, and (for secrets a
service wants as env vars) syncs them into a Secret that exists only in the cluster.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml
from constructs import Construct

from constructs_lib.constructs.kube_object import Gvk, KubeObject, NamespacedMeta
from constructs_lib.model.names import SECRETS_VOLUME, SYNC_WAVE

SECRET_PROVIDER_CLASS = Gvk("secrets-store.csi.x-k8s.io/v1", "SecretProviderClass")
CSI_DRIVER = "secrets-store.csi.k8s.io"


@dataclass(frozen=True)
class InfisicalConnection:
    """How the CSI provider reaches Infisical and authenticates (a machine identity)."""

    url: str
    project_id: str
    identity_id: str
    audience: str
    """Audience of the service account token the provider presents."""
    auth_method: str
    """How the provider authenticates (kubernetes)."""
    ca_certificate: str | None = None
    """PEM CA of a self-hosted Infisical. @default the system's CAs"""


@dataclass(frozen=True)
class InfisicalSecret:
    """One Infisical secret: a file under the mount, and an env var when `env` is set."""

    key: str
    """Key in Infisical."""
    path: str
    """Infisical folder."""
    object_name: str
    """File name under the mount; an env var syncs from it."""
    env: str | None = None
    """Also expose as this environment variable. @default file only"""


@dataclass(frozen=True)
class InfisicalSecretMountProps(NamespacedMeta):
    """Props of InfisicalSecretMount: the SecretProviderClass's name (the workload's),
    namespace and labels, and the secrets it mounts."""

    infisical: InfisicalConnection
    env_slug: str
    """Infisical environment slug (per cluster)."""
    secrets: tuple[InfisicalSecret, ...]
    mount_path: str
    """Where the files appear in the container."""
    synced_secret_name: str
    """The Secret the CSI driver syncs the env secrets into."""


class InfisicalSecretMount(KubeObject):
    """SecretProviderClass with `provider: infisical`, plus what a pod needs to mount it."""

    def __init__(self, scope: Construct, id: str, *, props: InfisicalSecretMountProps) -> None:
        if not props.secrets:
            raise ValueError(f"InfisicalSecretMount '{props.name}': no secrets to mount")
        self.props = props
        self.synced_secret_name = props.synced_secret_name
        spec: dict[str, Any] = {"provider": "infisical", "parameters": _parameters(props)}
        env_secrets = [s for s in props.secrets if s.env]
        if env_secrets:
            spec["secretObjects"] = [
                {
                    "secretName": self.synced_secret_name,
                    "type": "Opaque",
                    "labels": props.labels,
                    "data": [
                        {"objectName": s.object_name, "key": s.object_name} for s in env_secrets
                    ],
                }
            ]
        # Before the workloads that mount it, so their pods never wait on a missing class.
        wave = {SYNC_WAVE: "-1"}
        super().__init__(
            scope, id, SECRET_PROVIDER_CLASS, props, annotations=wave, body={"spec": spec}
        )

    def volume(self) -> dict[str, Any]:
        """The pod volume that mounts the secrets."""
        return {
            "name": SECRETS_VOLUME,
            "csi": {
                "driver": CSI_DRIVER,
                "readOnly": True,
                "volumeAttributes": {"secretProviderClass": self.props.name},
            },
        }

    def volume_mount(self) -> dict[str, Any]:
        """The container mount of `volume()`."""
        return {"name": SECRETS_VOLUME, "mountPath": self.props.mount_path, "readOnly": True}

    def env_vars(self) -> list[dict[str, Any]]:
        """Env vars for the secrets a service reads from the environment, in config order."""
        return [
            {
                "name": s.env,
                "valueFrom": {
                    "secretKeyRef": {"name": self.synced_secret_name, "key": s.object_name}
                },
            }
            for s in self.props.secrets
            if s.env
        ]


def _parameters(props: InfisicalSecretMountProps) -> dict[str, str]:
    """The parameters the Infisical CSI provider reads (internal/config/config.go upstream)."""
    infisical = props.infisical
    objects = [
        {"secretPath": s.path, "fileName": s.object_name, "secretKey": s.key} for s in props.secrets
    ]
    parameters = {
        "infisicalUrl": infisical.url,
        "authMethod": infisical.auth_method,
        "identityId": infisical.identity_id,
        "projectId": infisical.project_id,
        "envSlug": props.env_slug,
        "audience": infisical.audience,
        # The provider reads this list as YAML text.
        "secrets": yaml.safe_dump(objects, sort_keys=False, default_flow_style=False),
    }
    if infisical.ca_certificate:
        parameters["caCertificate"] = infisical.ca_certificate
    return parameters
