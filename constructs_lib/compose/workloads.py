"""From services in the config to workload constructs: the kind, its pods, its exposure."""

from __future__ import annotations

import dataclasses
from typing import Any

from constructs import Construct

from constructs_lib.constructs.infisical_secret_mount import (
    InfisicalConnection,
    InfisicalSecret,
    InfisicalSecretMountProps,
)
from constructs_lib.constructs.kube_object import Gvk, KubeObject, ObjectMeta
from constructs_lib.constructs.labels import standard_labels
from constructs_lib.constructs.security import PodSecurity
from constructs_lib.constructs.workloads import Workload, WorkloadProps
from constructs_lib.constructs.workloads.container import (
    ContainerPort,
    ContainerProps,
    Volume,
    VolumeMount,
)
from constructs_lib.constructs.workloads.workload import (
    AutoscalingProps,
    DisruptionBudgetProps,
    IngressProps,
)
from constructs_lib.model.addons import Kind
from constructs_lib.model.clusters import ClusterSettings, rehost
from constructs_lib.model.config import AppConfig
from constructs_lib.model.names import SYNC_WAVE
from constructs_lib.model.service import Probe, Resources, Service
from constructs_lib.model.workload_kinds import KINDS

# Kinds the app's Application may manage besides what the workloads render.
BASE_APP_KINDS = (Kind("", "ConfigMap"), Kind("", "ServiceAccount"))
_COMMON_FIELDS = {f.name for f in dataclasses.fields(WorkloadProps)}


def app_kinds() -> tuple[Kind, ...]:
    """Every kind the app's workloads can render: the app project's allowlist. Namespaced
    only, nothing cluster-scoped."""
    kinds = set(BASE_APP_KINDS)
    kinds.update(Kind(child.group, child.kind) for child in Workload.CHILDREN)
    kinds.update(Kind(k.group, k.kind) for k in KINDS.values())
    return tuple(sorted(kinds, key=lambda k: (k.group, k.kind)))


def add_workloads(scope: Construct, config: AppConfig, cluster: ClusterSettings) -> list[Workload]:
    """The app's service account and one workload construct per service."""
    app = config.app
    KubeObject(
        scope,
        "ServiceAccount",
        Gvk("v1", "ServiceAccount"),
        ObjectMeta(
            name=app.name, namespace=app.namespace, labels=standard_labels(app.name, app.name)
        ),
        annotations={SYNC_WAVE: "-1"},
        body={"automountServiceAccountToken": False},
    )
    workloads = []
    for service in config.services:
        construct = Workload.for_kind(service.type)
        props = workload_props(construct, config, cluster, service)
        workloads.append(construct(scope, service.name, props=props))
    return workloads


def workload_props(
    construct: type[Workload], config: AppConfig, cluster: ClusterSettings, service: Service
) -> WorkloadProps:
    """Props of `construct` for one service. Fields a kind adds to WorkloadProps are read from
    the service's config field of the same name (`replicas`, its options: `cronjob`, ...)."""
    return construct.PROPS(
        **pod_fields(construct, service, config.defaults.resources, env=cluster.name),
        app=config.app.name,
        namespace=config.app.namespace,
        service_account_name=config.app.name,
        secrets=secret_mount(config, cluster, service),
        create_service=config.features.services,
        ingress=ingress(config, cluster, service),
        image_pull_secrets=tuple(
            config.defaults.image_pull_secrets
            if service.image_pull_secrets is None
            else service.image_pull_secrets
        ),
    )


def pod_fields(
    construct: type[Workload],
    service: Service,
    default_resources: Resources | None,
    *,
    env: str | None = None,
) -> dict[str, Any]:
    """The props fields that come from the service alone: name, containers, volumes, security,
    scaling, and the fields the kind adds (from the service's fields of the same name)."""
    fields: dict[str, Any] = {}
    for f in dataclasses.fields(construct.PROPS):
        value = getattr(service, f.name, None) if f.name not in _COMMON_FIELDS else None
        if value is not None:  # a field the service leaves unset gets the props' default
            fields[f.name] = value
    fields.update(
        name=service.name,
        containers=(main_container(service, default_resources, env=env),),
        volumes=tuple(volumes(service)),
        security=pod_security(service),
        autoscaling=(
            AutoscalingProps(**service.autoscaling.model_dump()) if service.autoscaling else None
        ),
        disruption_budget=(
            DisruptionBudgetProps(**service.disruption_budget.model_dump())
            if service.disruption_budget
            else None
        ),
    )
    return fields


def main_container(
    service: Service, default_resources: Resources | None, *, env: str | None = None
) -> ContainerProps:
    """The service's container; `env` picks the environment's image override, if any."""
    return ContainerProps(
        name=service.name,
        image=service.image.reference if env is None else service.image.reference_in(env),
        image_pull_policy=service.image.pull_policy,
        command=tuple(service.command or ()),
        args=tuple(service.args or ()),
        ports=tuple(
            ContainerPort(
                name=p.name,
                container_port=p.container_port,
                protocol=p.protocol,
                service_port=p.service_port,
            )
            for p in service.ports
        ),
        env=tuple(service.env.items()),
        resources=resources(service.resources or default_resources),
        probes={
            f"{kind}Probe": probe(value)
            for kind in ("readiness", "liveness", "startup")
            if (value := getattr(service.probes, kind)) is not None
        },
        volume_mounts=tuple(
            VolumeMount(name=v.name, mount_path=v.mount_path, read_only=v.read_only)
            for v in service.volumes
        ),
    )


def volumes(service: Service) -> list[Volume]:
    out = []
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
        out.append(Volume(name=volume.name, source=source))
    return out


def pod_security(service: Service) -> PodSecurity:
    """What the service loosens; what it leaves out keeps PodSecurity's secure default."""
    security = service.security
    names = (
        "run_as_user",
        "run_as_group",
        "fs_group",
        "read_only_root_filesystem",
        "automount_service_account_token",
    )
    given = {name: value for name in names if (value := getattr(security, name)) is not None}
    return PodSecurity(**given, add_capabilities=tuple(security.add_capabilities))


def resources(resources: Resources | None) -> dict[str, dict[str, str]]:
    """`requests` and `limits` as the container spec writes them; unset values left out."""
    out: dict[str, dict[str, str]] = {}
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


def probe(probe: Probe) -> dict[str, Any]:
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


def ingress(config: AppConfig, cluster: ClusterSettings, service: Service) -> IngressProps | None:
    """The service's Ingress in this environment: hosts moved onto the env's domain, TLS as the
    service or else the config says, the env's issuer and ingress class. None when the service
    has no ingress, Ingresses are off, or it gets no Service to route to."""
    settings = service.ingress
    if settings is None or not config.features.ingresses or not config.features.services:
        return None
    hosts = (
        *(rehost(h, config.domain, cluster.domain) for h in settings.hosts),
        *settings.env_hosts.get(cluster.name, ()),
    )
    if not service.ports or not hosts:
        return None
    return IngressProps(
        hosts=hosts,
        tls=settings.terminates_tls(config.tls.enabled),
        cluster_issuer=cluster.tls_issuer or config.tls.issuer,
        ingress_class_name=cluster.ingress.controller,
        paths=tuple(settings.paths),
        port=settings.port,
        tls_secret_name=settings.tls_secret(service.name),
        annotations=dict(settings.annotations),
    )


def secret_mount(
    config: AppConfig, cluster: ClusterSettings, service: Service
) -> InfisicalSecretMountProps | None:
    infisical = config.secrets.infisical
    if not service.secrets or infisical is None:
        return None
    return InfisicalSecretMountProps(
        name=service.name,
        namespace=config.app.namespace,
        labels=standard_labels(config.app.name, service.name),
        infisical=InfisicalConnection(
            url=infisical.url,
            project_id=infisical.project_id,
            identity_id=infisical.auth.identity_id,
            audience=infisical.auth.audience,
            auth_method=infisical.auth.method,
            ca_certificate=infisical.ca_certificate,
        ),
        env_slug=cluster.infisical_env,
        secrets=tuple(
            InfisicalSecret(key=s.key, path=s.path, object_name=s.object_name, env=s.env)
            for s in service.secrets
        ),
        mount_path=service.secrets_mount_path,
        synced_secret_name=service.synced_secret_name,
    )
