"""Containers and volumes of a workload's pods, as Kubernetes names them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from constructs_lib.constructs.security import PodSecurity, container_security_context


@dataclass(frozen=True)
class ContainerPort:
    """A port a container listens on; `service_port` is where its Service exposes it."""

    name: str
    container_port: int
    protocol: str
    """TCP or UDP."""
    service_port: int | None = None
    """Port on the Service. @default the container port"""


@dataclass(frozen=True)
class VolumeMount:
    """Where, and whether writable, a container sees one of the pod's volumes."""

    name: str
    """The volume's name."""
    mount_path: str
    """Where it appears in the container."""
    read_only: bool
    """Whether the container may only read it."""


@dataclass(frozen=True)
class Volume:
    """A pod volume: its name and its source as the pod spec writes it (`{"emptyDir": {}}`)."""

    name: str
    source: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ContainerProps:
    """One container of a pod. Every optional field says what its absence means."""

    name: str
    image: str
    image_pull_policy: str | None = None
    """@default Kubernetes' (IfNotPresent unless the tag is latest)"""
    command: tuple[str, ...] = ()
    """@default the image's entrypoint"""
    args: tuple[str, ...] = ()
    """@default the image's arguments"""
    ports: tuple[ContainerPort, ...] = ()
    """@default no ports (and so no Service)"""
    env: tuple[tuple[str, str], ...] = ()
    """(name, value) pairs. @default none"""
    resources: dict[str, dict[str, str]] = field(default_factory=dict)
    """`requests` and `limits`, as the container spec writes them. @default the LimitRange's"""
    probes: dict[str, dict[str, Any]] = field(default_factory=dict)
    """`readinessProbe`, `livenessProbe`, `startupProbe`, as the container spec writes them.
    @default no probes"""
    volume_mounts: tuple[VolumeMount, ...] = ()
    """Mounts of the workload's volumes. @default only /tmp (and the secrets, see `secrets`)"""
    secrets: bool = True
    """Mount the workload's Infisical secrets and their env vars. @default True"""


def container_spec(
    props: ContainerProps,
    security: PodSecurity,
    *,
    extra_env: list[dict[str, Any]],
    first_mounts: list[dict[str, Any]],
) -> dict[str, Any]:
    """The container as the pod spec writes it. `first_mounts` (/tmp, the secrets) come before
    the container's own mounts, `extra_env` (secret env vars) after its own env."""
    container: dict[str, Any] = {"name": props.name, "image": props.image}
    if props.image_pull_policy:
        container["imagePullPolicy"] = props.image_pull_policy
    if props.command:
        container["command"] = list(props.command)
    if props.args:
        container["args"] = list(props.args)
    if props.ports:
        container["ports"] = [
            {"name": p.name, "containerPort": p.container_port, "protocol": p.protocol}
            for p in props.ports
        ]
    env: list[dict[str, Any]] = [{"name": name, "value": value} for name, value in props.env]
    env.extend(extra_env)
    if env:
        container["env"] = env
    if props.resources:
        container["resources"] = props.resources
    for key in ("readinessProbe", "livenessProbe", "startupProbe"):
        if key in props.probes:
            container[key] = props.probes[key]
    container["securityContext"] = container_security_context(security)
    mounts = list(first_mounts)
    for mount in props.volume_mounts:
        entry: dict[str, Any] = {"name": mount.name, "mountPath": mount.mount_path}
        if mount.read_only:
            entry["readOnly"] = True
        mounts.append(entry)
    container["volumeMounts"] = mounts
    return container
