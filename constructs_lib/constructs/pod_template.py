"""The pod template shared by WebWorkload and CronWorkload."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from constructs_lib.constructs.infisical_secret_mount import InfisicalSecretMount
from constructs_lib.constructs.security import (
    container_security_context,
    pod_security_context,
    tmp_volume,
)
from constructs_lib.model.config import Probe, Resources, Service


@dataclass(frozen=True)
class PodTemplateProps:
    """What a pod template needs beyond the service's own config entry."""

    service: Service
    labels: dict[str, str]
    service_account_name: str
    default_resources: Resources | None = None
    """Used when the service declares no resources. @default none"""


def pod_template(
    props: PodTemplateProps,
    secret_mount: InfisicalSecretMount | None,
    *,
    restart_policy: str | None = None,
) -> dict[str, Any]:
    service = props.service
    tmp, tmp_mount = tmp_volume()
    volumes: list[dict[str, Any]] = [tmp]
    mounts: list[dict[str, Any]] = [tmp_mount]
    if secret_mount is not None:
        volumes.append(secret_mount.volume())
        mounts.append(secret_mount.volume_mount())
    for volume in service.volumes:
        source: dict[str, Any] = {}
        if volume.empty_dir is not None:
            empty: dict[str, Any] = {}
            if volume.empty_dir.medium:
                empty["medium"] = volume.empty_dir.medium
            if volume.empty_dir.size_limit:
                empty["sizeLimit"] = volume.empty_dir.size_limit
            source = {"emptyDir": empty}
        elif volume.persistent_volume_claim is not None:
            claim = volume.persistent_volume_claim.claim_name
            source = {"persistentVolumeClaim": {"claimName": claim}}
        volumes.append({"name": volume.name, **source})
        mount: dict[str, Any] = {"name": volume.name, "mountPath": volume.mount_path}
        if volume.read_only:
            mount["readOnly"] = True
        mounts.append(mount)

    container: dict[str, Any] = {"name": service.name, "image": service.image.reference}
    if service.image.pull_policy:
        container["imagePullPolicy"] = service.image.pull_policy
    if service.command:
        container["command"] = list(service.command)
    if service.args:
        container["args"] = list(service.args)
    if service.ports:
        container["ports"] = [
            {"name": p.name, "containerPort": p.container_port, "protocol": p.protocol}
            for p in service.ports
        ]
    env = [{"name": name, "value": value} for name, value in service.env.items()]
    if secret_mount is not None:
        env.extend(secret_mount.env_vars())
    if env:
        container["env"] = env
    resources = _resources(service.resources or props.default_resources)
    if resources:
        container["resources"] = resources
    for kind in ("readiness", "liveness", "startup"):
        probe = getattr(service.probes, kind)
        if probe is not None:
            container[f"{kind}Probe"] = _probe(probe)
    container["securityContext"] = container_security_context(service.security)
    container["volumeMounts"] = mounts

    spec: dict[str, Any] = {
        "automountServiceAccountToken": service.security.automount_service_account_token,
        "containers": [container],
        "securityContext": pod_security_context(service.security),
        "serviceAccountName": props.service_account_name,
        "volumes": volumes,
    }
    if restart_policy:
        spec["restartPolicy"] = restart_policy
    return {"metadata": {"labels": props.labels}, "spec": spec}


def _resources(resources: Resources | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if resources is None:
        return out
    for part in ("requests", "limits"):
        values = getattr(resources, part)
        if values is None:
            continue
        entry = {k: v for k, v in (("cpu", values.cpu), ("memory", values.memory)) if v}
        if entry:
            out[part] = entry
    return out


def _probe(probe: Probe) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if probe.http is not None:
        out["httpGet"] = {"path": probe.http.path, "port": probe.http.port}
    elif probe.tcp is not None:
        out["tcpSocket"] = {"port": probe.tcp.port}
    elif probe.exec is not None:
        out["exec"] = {"command": list(probe.exec.command)}
    for field, key in (
        ("initial_delay_seconds", "initialDelaySeconds"),
        ("period_seconds", "periodSeconds"),
        ("timeout_seconds", "timeoutSeconds"),
        ("failure_threshold", "failureThreshold"),
    ):
        value = getattr(probe, field)
        if value is not None:
            out[key] = value
    return out
