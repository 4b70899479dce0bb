"""The app namespace's ResourceQuota and LimitRange, derived from the config.

One computation: validation bounds the quota with it and the platform renders it, so what is
checked is what is deployed.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

from pydantic import Field

from constructs_lib.model.base import Model
from constructs_lib.model.service import ResourceList, Resources, Service
from constructs_lib.model.value_types import quantity_value
from constructs_lib.model.workload_kinds import KINDS

# Bounds of the namespace ResourceQuota the platform derives (replicas x resources, plus
# headroom). Requests must fit the cluster: 1024 cores or 4 TiB is more than any single k3s
# cluster holds, so a total above it is a typo or a runaway payload, not an app. Limits may be
# overcommitted, but not beyond 16 times that.
QUOTA_MAX_CPU_CORES = 1024
QUOTA_MAX_MEMORY_BYTES = 4 * 2**40
QUOTA_LIMITS_OVERCOMMIT = 16
# What a container without resources gets from the LimitRange when nothing else is set.
FALLBACK_REQUEST = {"cpu": "50m", "memory": "64Mi"}
FALLBACK_LIMIT = {"cpu": "500m", "memory": "256Mi"}
# cert-manager's default HTTP-01 solver pod resources (controller flags
# --acme-http01-solver-resource-{request,limit}-{cpu,memory}); one solver per TLS Ingress.
ACME_SOLVER = {
    "requests": {"cpu": "10m", "memory": "64Mi"},
    "limits": {"cpu": "100m", "memory": "64Mi"},
}


class QuotaSettings(Model):
    """ResourceQuota of the app namespace. Derived from the services' resources unless set:
    each service's most pods (full autoscale, plus a Deployment's 25 % rolling-update surge;
    one for a CronJob or a Job) times its container's requests and limits (the LimitRange
    defaults where it sets none), plus the ACME solvers, plus `headroom_percent`. A derived
    or overridden total above 1024 cores or 4Ti of requests is refused: more than any single
    k3s cluster holds, so it can only be a typo or a runaway payload; limits may overcommit,
    up to 16 times that (16384 cores, 64Ti)."""

    enabled: bool = Field(True, description="Render the ResourceQuota. Default: true.")
    headroom_percent: int = Field(
        50,
        ge=0,
        le=1000,
        description="Added on top of what the services need at full scale, for rollouts, "
        "Jobs and certificate solvers. Default: 50.",
    )
    requests: ResourceList | None = Field(
        None, description="Override requests.cpu / requests.memory. Default: derived."
    )
    limits: ResourceList | None = Field(
        None, description="Override limits.cpu / limits.memory. Default: derived."
    )
    pods: int | None = Field(None, ge=1, description="Override the pod count. Default: derived.")
    node_ports: int = Field(
        0,
        ge=0,
        description="services.nodeports: Services of type NodePort the app may create. "
        "Default: 0 (traffic comes in through the ingress controller).",
    )
    load_balancers: int = Field(
        0,
        ge=0,
        description="services.loadbalancers: Services of type LoadBalancer the app may "
        "create. Default: 0.",
    )


class LimitRangeSettings(Model):
    """LimitRange of the app namespace: what a container without resources gets."""

    enabled: bool = Field(True, description="Render the LimitRange. Default: true.")
    default_request: ResourceList | None = Field(
        None, description="Default: defaults.resources.requests, else 50m CPU / 64Mi."
    )
    default_limit: ResourceList | None = Field(
        None, description="Default: defaults.resources.limits, else 500m CPU / 256Mi."
    )


# --- the derived quota -----------------------------------------------------------------------


def max_pods(service: Service) -> int:
    """The most pods a service runs at once, as its kind counts them (workload_kinds)."""
    scaling = service.autoscaling
    return KINDS[service.type].max_pods(
        service.replicas, scaling.max_replicas if scaling is not None else None
    )


def container_defaults(
    settings: LimitRangeSettings, defaults: Resources | None
) -> tuple[dict[str, str], dict[str, str]]:
    """The LimitRange's defaultRequest and default: its own, else `defaults` (the config's
    defaults.resources), else the fallbacks."""
    request = _first_set(
        settings.default_request, defaults.requests if defaults else None, FALLBACK_REQUEST
    )
    limit = _first_set(
        settings.default_limit, defaults.limits if defaults else None, FALLBACK_LIMIT
    )
    return request, limit


def _first_set(*lists: ResourceList | dict[str, str] | None) -> dict[str, str]:
    out = {}
    for key in ("cpu", "memory"):
        for values in lists:
            value = values.get(key) if isinstance(values, dict) else getattr(values, key, None)
            if value:
                out[key] = value
                break
    return out


# What the quota counts: requests.cpu, requests.memory, limits.cpu and limits.memory (cores,
# bytes) and pods; each a list of (who, how much), before headroom.
QuotaShares = dict[str, list[tuple[str, float]]]
RESOURCE_KEYS = tuple(f"{p}.{k}" for p in ("requests", "limits") for k in ("cpu", "memory"))


def quota_shares(
    services: Sequence[Service],
    defaults: Resources | None,
    container_default: tuple[dict[str, str], dict[str, str]],
    *,
    tls: bool,
) -> QuotaShares:
    """What each service and the ACME solvers add to the quota: a service's most pods times
    its container's resources (`defaults` where it sets none, then `container_default`, the
    LimitRange's request and limit); one solver pod per Ingress with TLS (its own, else `tls`,
    the config's tls.enabled)."""
    request, limit = container_default
    value = functools.cache(quantity_value)  # a few distinct quantities, many services
    shares: QuotaShares = {key: [] for key in (*RESOURCE_KEYS, "pods")}
    for i, service in enumerate(services):
        resources = service.resources or defaults
        pods = max_pods(service)
        label = f"services[{i}] '{service.name}' ({pods} pod{'s' if pods != 1 else ''})"
        for part, fallback in (("requests", request), ("limits", limit)):
            values = getattr(resources, part) if resources is not None else None
            for key in ("cpu", "memory"):
                quantity = getattr(values, key, None) if values is not None else None
                shares[f"{part}.{key}"].append((label, pods * value(quantity or fallback[key])))
        shares["pods"].append((label, pods))
    solvers = sum(1 for s in services if s.ingress is not None and s.ingress.terminates_tls(tls))
    if solvers:
        for part in ("requests", "limits"):
            for key in ("cpu", "memory"):
                share = solvers * quantity_value(ACME_SOLVER[part][key])
                shares[f"{part}.{key}"].append(("the ACME solvers", share))
        shares["pods"].append(("the ACME solvers", solvers))
    return shares


def hard(shares: QuotaShares, settings: QuotaSettings) -> dict[str, str]:
    """`spec.hard` of the ResourceQuota: each total plus the headroom, unless the settings
    override it, and the Service counts the settings allow."""
    factor = 1 + settings.headroom_percent / 100
    totals = {key: sum(share for _, share in items) * factor for key, items in shares.items()}
    out = {
        "requests.cpu": _cpu(totals["requests.cpu"]),
        "requests.memory": _memory(totals["requests.memory"]),
        "limits.cpu": _cpu(totals["limits.cpu"]),
        "limits.memory": _memory(totals["limits.memory"]),
        "pods": str(max(1, math.ceil(totals["pods"]))),
    }
    for part, key, override in _overrides(settings):
        if override is not None:
            out[f"{part}.{key}"] = override
    if settings.pods is not None:
        out["pods"] = str(settings.pods)
    out["services.nodeports"] = str(settings.node_ports)
    out["services.loadbalancers"] = str(settings.load_balancers)
    return out


def bound_problem(shares: QuotaShares, settings: QuotaSettings) -> str | None:
    """Why the quota is larger than any single k3s cluster, derived or overridden; None if it
    is not, or if the quota is off."""
    if not settings.enabled:
        return None
    factor = 1 + settings.headroom_percent / 100
    overrides = {f"{part}.{key}": value for part, key, value in _overrides(settings)}
    for name in RESOURCE_KEYS:
        items = shares[name]
        part, key = name.split(".")
        bound = QUOTA_MAX_CPU_CORES if key == "cpu" else QUOTA_MAX_MEMORY_BYTES
        why = "more than any single k3s cluster holds"
        if part == "limits":
            bound *= QUOTA_LIMITS_OVERCOMMIT
            why = f"{QUOTA_LIMITS_OVERCOMMIT} times what any single k3s cluster holds"
        override = overrides[name]
        if override is not None:
            if quantity_value(override) > bound:
                return (
                    f"platform.quota.{name}: '{override}' is more than {_amount(key, bound)}, {why}"
                )
            continue
        total = sum(share for _, share in items) * factor
        if total <= bound:
            continue
        biggest = sorted(items, key=lambda item: -item[1])[:3]
        named = ", ".join(f"{who}: {_amount(key, share)}" for who, share in biggest)
        return (
            f"platform.quota: the derived quota's {name} would be {_amount(key, total)} "
            f"(with {settings.headroom_percent}% headroom), more than {_amount(key, bound)}, "
            f"{why}; biggest: {named}; lower replicas or resources"
        )
    return None


def _overrides(settings: QuotaSettings) -> list[tuple[str, str, str | None]]:
    return [
        (part, key, getattr(values, key) if values is not None else None)
        for part, values in (("requests", settings.requests), ("limits", settings.limits))
        for key in ("cpu", "memory")
    ]


def _amount(key: str, value: float) -> str:
    if key == "cpu":
        return f"{value:,.0f} cores" if value >= 10 else f"{value:g} cores"
    return f"{value / 2**30:,.0f}Gi"


def _cpu(cores: float) -> str:
    return f"{math.ceil(round(cores * 1000, 6))}m"


def _memory(size: float) -> str:
    return f"{math.ceil(round(size / 2**20, 6))}Mi"
