"""Secure pod defaults: the `restricted` Pod Security Standard, in one place.

Every field here is the secure value. A service loosens one only through an explicit field
of its `security` block; an absent field never loosens anything.
"""

from __future__ import annotations

from typing import Any

from constructs_lib.model.config import Security

TMP_VOLUME = "tmp"


def pod_security_context(security: Security) -> dict[str, Any]:
    context: dict[str, Any] = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
    if security.run_as_user is not None:
        context["runAsUser"] = security.run_as_user
    if security.run_as_group is not None:
        context["runAsGroup"] = security.run_as_group
    if security.fs_group is not None:
        context["fsGroup"] = security.fs_group
    return context


def container_security_context(security: Security) -> dict[str, Any]:
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


def tmp_volume() -> tuple[dict[str, Any], dict[str, Any]]:
    """A writable /tmp, so a read-only root filesystem does not break ordinary programs."""
    return (
        {"name": TMP_VOLUME, "emptyDir": {}},
        {"name": TMP_VOLUME, "mountPath": "/tmp"},
    )
