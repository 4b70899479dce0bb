"""Secure pod defaults: the `restricted` Pod Security Standard, in one place.

Every default here is the secure value. A workload loosens one only through an explicit field
of `PodSecurity`; an absent field never loosens anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from constructs_lib.constructs.trust_rules import (
    PSA_ENFORCE,
    PSA_ENFORCE_VERSION,
    PSA_LATEST,
    psa_label,
)
from constructs_lib.model.names import TMP_PATH, TMP_VOLUME
from constructs_lib.model.value_types import PodSecurityLevel


def pod_security_labels(level: PodSecurityLevel) -> dict[str, str]:
    """A namespace's Pod Security labels: enforce, audit and warn at `level`, against the
    latest policy version."""
    return {
        PSA_ENFORCE: level,
        PSA_ENFORCE_VERSION: PSA_LATEST,
        psa_label("audit"): level,
        psa_label("warn"): level,
    }


@dataclass(frozen=True)
class PodSecurity:
    """The security settings of a pod and its containers."""

    run_as_user: int | None = None
    """UID. @default the image's user"""
    run_as_group: int | None = None
    """GID. @default the image's group"""
    fs_group: int | None = None
    """Group owning mounted volumes. @default none"""
    read_only_root_filesystem: bool = True
    """@default True"""
    add_capabilities: tuple[str, ...] = ()
    """Capabilities added after dropping ALL. @default none"""
    automount_service_account_token: bool = False
    """@default False"""


def pod_security_context(security: PodSecurity) -> dict[str, Any]:
    context: dict[str, Any] = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
    if security.run_as_user is not None:
        context["runAsUser"] = security.run_as_user
    if security.run_as_group is not None:
        context["runAsGroup"] = security.run_as_group
    if security.fs_group is not None:
        context["fsGroup"] = security.fs_group
    return context


def container_security_context(security: PodSecurity) -> dict[str, Any]:
    capabilities: dict[str, Any] = {"drop": ["ALL"]}
    if security.add_capabilities:
        capabilities["add"] = list(security.add_capabilities)
    return {
        "allowPrivilegeEscalation": False,
        "capabilities": capabilities,
        "privileged": False,
        "readOnlyRootFilesystem": security.read_only_root_filesystem,
        "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


# A pod writing more to /tmp is evicted rather than filling the node's disk.
TMP_SIZE_LIMIT = "256Mi"


def tmp_volume() -> tuple[dict[str, Any], dict[str, Any]]:
    """A writable /tmp, so a read-only root filesystem does not break ordinary programs."""
    return (
        {"name": TMP_VOLUME, "emptyDir": {"sizeLimit": TMP_SIZE_LIMIT}},
        {"name": TMP_VOLUME, "mountPath": TMP_PATH},
    )
