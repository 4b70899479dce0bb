"""AppNamespace: the app's namespace with Pod Security admission enforcing `restricted`, its
ResourceQuota (derived from the services' declared resources, with headroom) and LimitRange."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from constructs import Construct

from constructs_lib.constructs.kube_object import SYNC_WAVE, KubeObject
from constructs_lib.model.config import (
    AppConfig,
    LimitRangeSettings,
    QuotaSettings,
    ResourceList,
    Resources,
    Service,
)
from constructs_lib.model.value_types import quantity_value

PSS_RESTRICTED = {
    "pod-security.kubernetes.io/enforce": "restricted",
    "pod-security.kubernetes.io/enforce-version": "latest",
    "pod-security.kubernetes.io/warn": "restricted",
    "pod-security.kubernetes.io/audit": "restricted",
}
# Argo CD never deletes the namespace (and with it every workload and PVC) on prune or when
# the platform Application is deleted.
KEEP_NAMESPACE = {"argocd.argoproj.io/sync-options": "Prune=false,Delete=false"}
FALLBACK_REQUEST = ResourceList(cpu="50m", memory="64Mi")
FALLBACK_LIMIT = ResourceList(cpu="500m", memory="256Mi")
# cert-manager's default HTTP-01 solver pod resources (controller flags
# --acme-http01-solver-resource-{request,limit}-{cpu,memory}); one solver per TLS Ingress.
ACME_SOLVER = Resources(
    requests=ResourceList(cpu="10m", memory="64Mi"), limits=ResourceList(cpu="100m", memory="64Mi")
)


@dataclass(frozen=True)
class Quota:
    """Totals for a ResourceQuota: CPU in cores, memory in bytes."""

    requests_cpu: float = 0.0
    requests_memory: float = 0.0
    limits_cpu: float = 0.0
    limits_memory: float = 0.0
    pods: int = 0

    def hard(self) -> dict[str, str]:
        return {
            "requests.cpu": _cpu(self.requests_cpu),
            "requests.memory": _memory(self.requests_memory),
            "limits.cpu": _cpu(self.limits_cpu),
            "limits.memory": _memory(self.limits_memory),
            "pods": str(self.pods),
        }


def _cpu(cores: float) -> str:
    return f"{math.ceil(round(cores * 1000, 6))}m"


def _memory(size: float) -> str:
    return f"{math.ceil(round(size / 2**20, 6))}Mi"


def _value(resources: ResourceList | None, fallback: ResourceList, key: str) -> float:
    quantity = getattr(resources, key, None) if resources is not None else None
    return quantity_value(quantity or getattr(fallback, key))


def max_pods(service: Service) -> int:
    """Pods a service runs at most: full autoscale plus a rolling update's 25 % surge."""
    if service.type != "Deployment":
        return 1
    replicas = service.autoscaling.max_replicas if service.autoscaling else service.replicas
    return replicas + math.ceil(replicas * 0.25)


def derive_quota(config: AppConfig, request: ResourceList, limit: ResourceList) -> Quota:
    """What every service needs at full scale, plus solvers, plus the config's headroom.

    A service without resources gets `request`/`limit` (the LimitRange defaults), as the API
    server would give it; each field of quota.requests / quota.limits overrides its total.
    """
    solvers = 0
    if config.tls.enabled:
        solvers = sum(
            1
            for s in config.services
            if s.ingress is not None and s.ingress.tls.enabled is not False
        )
    totals = {"requests_cpu": 0.0, "requests_memory": 0.0, "limits_cpu": 0.0, "limits_memory": 0.0}
    count = 0
    for service in config.services:
        n = max_pods(service)
        resources = service.resources or config.defaults.resources
        requests = resources.requests if resources is not None else None
        limits = resources.limits if resources is not None else None
        count += n
        for key in ("cpu", "memory"):
            totals[f"requests_{key}"] += n * _value(requests, request, key)
            totals[f"limits_{key}"] += n * _value(limits, limit, key)
    for key in ("cpu", "memory"):
        totals[f"requests_{key}"] += solvers * _value(ACME_SOLVER.requests, request, key)
        totals[f"limits_{key}"] += solvers * _value(ACME_SOLVER.limits, limit, key)
    count += solvers
    factor = 1 + config.platform.quota.headroom_percent / 100
    return Quota(
        requests_cpu=totals["requests_cpu"] * factor,
        requests_memory=totals["requests_memory"] * factor,
        limits_cpu=totals["limits_cpu"] * factor,
        limits_memory=totals["limits_memory"] * factor,
        pods=max(1, math.ceil(count * factor)),
    )


@dataclass(frozen=True)
class AppNamespaceProps:
    """Props of AppNamespace."""

    name: str
    labels: dict[str, str]
    quota: Quota | None = None
    """Totals of the ResourceQuota. @default no ResourceQuota"""
    quota_overrides: QuotaSettings = field(default_factory=QuotaSettings)
    """Explicit values that replace derived ones. @default none"""
    limit_range: LimitRangeSettings | None = None
    """Container defaults. @default no LimitRange"""
    default_request: ResourceList = FALLBACK_REQUEST
    """Default request when limit_range sets none. @default 50m CPU / 64Mi"""
    default_limit: ResourceList = FALLBACK_LIMIT
    """Default limit when limit_range sets none. @default 500m CPU / 256Mi"""


class AppNamespace(Construct):
    """Namespace (restricted Pod Security, never pruned), ResourceQuota and LimitRange."""

    def __init__(self, scope: Construct, id: str, *, props: AppNamespaceProps) -> None:
        super().__init__(scope, id)
        self.props = props
        self.namespace = KubeObject(
            self,
            "Namespace",
            api_version="v1",
            kind="Namespace",
            name=props.name,
            labels={**props.labels, **PSS_RESTRICTED},
            # Before everything that lives in it.
            annotations={SYNC_WAVE: "-10", **KEEP_NAMESPACE},
        )
        self.quota = self._quota() if props.quota is not None else None
        self.limit_range = self._limit_range() if props.limit_range is not None else None

    def _quota(self) -> KubeObject:
        quota = self.props.quota
        if quota is None:
            raise ValueError(f"AppNamespace '{self.props.name}': no quota to render")
        hard = quota.hard()
        overrides = self.props.quota_overrides
        for prefix, values in (("requests", overrides.requests), ("limits", overrides.limits)):
            for key in ("cpu", "memory"):
                value = getattr(values, key, None) if values is not None else None
                if value is not None:
                    hard[f"{prefix}.{key}"] = value
        if overrides.pods is not None:
            hard["pods"] = str(overrides.pods)
        return KubeObject(
            self,
            "ResourceQuota",
            api_version="v1",
            kind="ResourceQuota",
            name=self.props.name,
            namespace=self.props.name,
            labels=self.props.labels,
            annotations={SYNC_WAVE: "-9"},
            body={"spec": {"hard": hard}},
        )

    def _limit_range(self) -> KubeObject:
        request, limit = self.props.default_request, self.props.default_limit
        for key in ("cpu", "memory"):
            req, lim = getattr(request, key), getattr(limit, key)
            if req and lim and quantity_value(req) > quantity_value(lim):
                raise ValueError(
                    f"AppNamespace '{self.props.name}': platform.limit_range: "
                    f"default_request.{key} "
                    f"{req} is above default_limit.{key} {lim}"
                )
        return KubeObject(
            self,
            "LimitRange",
            api_version="v1",
            kind="LimitRange",
            name=self.props.name,
            namespace=self.props.name,
            labels=self.props.labels,
            annotations={SYNC_WAVE: "-9"},
            body={
                "spec": {
                    "limits": [
                        {
                            "type": "Container",
                            "defaultRequest": _resource_dict(request),
                            "default": _resource_dict(limit),
                        }
                    ]
                }
            },
        )


def _resource_dict(resources: ResourceList) -> dict[str, str]:
    return {k: v for k, v in (("cpu", resources.cpu), ("memory", resources.memory)) if v}


def container_defaults(config: AppConfig) -> tuple[ResourceList, ResourceList]:
    """The LimitRange's defaultRequest and default: the config's, else the fallbacks."""
    settings = config.platform.limit_range
    defaults = config.defaults.resources
    request = _merge(
        settings.default_request, defaults.requests if defaults else None, FALLBACK_REQUEST
    )
    limit = _merge(settings.default_limit, defaults.limits if defaults else None, FALLBACK_LIMIT)
    return request, limit


def _merge(*lists: ResourceList | None) -> ResourceList:
    cpu = next((r.cpu for r in lists if r is not None and r.cpu), None)
    memory = next((r.memory for r in lists if r is not None and r.memory), None)
    return ResourceList(cpu=cpu, memory=memory)
