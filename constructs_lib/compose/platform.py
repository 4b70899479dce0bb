"""From the config and one environment's settings to K3sPlatform's props: the add-ons, the
namespace's quota and limit range, and the NetworkPolicies that follow the declared calls."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from constructs import Construct

from constructs_lib.compose.layout import PLATFORM, source_path
from constructs_lib.constructs.app_namespace import AppNamespaceProps
from constructs_lib.constructs.argocd.helm_addon import ChartSource
from constructs_lib.constructs.argocd.self_managed import ManifestSource
from constructs_lib.constructs.labels import standard_labels
from constructs_lib.constructs.lets_encrypt_issuers import AcmeServer
from constructs_lib.constructs.network_policies import (
    AppNetworkPoliciesProps,
    Call,
    ExternalRule,
)
from constructs_lib.constructs.platform.k3s_platform import (
    INGRESS_CONTROLLERS,
    K3sPlatform,
    K3sPlatformProps,
    PlatformIngress,
    PlatformScopes,
)
from constructs_lib.constructs.workloads import Workload
from constructs_lib.model.clusters import ClusterSettings
from constructs_lib.model.config import (
    ACME_SOLVER,
    AppConfig,
    Port,
    Service,
    ServiceCall,
    container_defaults,
)
from constructs_lib.model.value_types import quantity_value
from constructs_lib.model.versions import ARGOCD_REPO, Versions

CHARTS = (
    "ingress-nginx",
    "cert-manager",
    "secrets-store-csi-driver",
    "infisical-csi-provider",
    "sealed-secrets",
)


def add_platform(
    scope: Construct,
    scopes: PlatformScopes,
    config: AppConfig,
    cluster: ClusterSettings,
    versions: Versions,
    workloads: Sequence[Workload],
) -> K3sPlatform:
    """Add-ons, the `platform` project and the cluster baseline of one environment."""
    infisical = config.secrets.infisical
    props = K3sPlatformProps(
        scopes=scopes,
        labels=standard_labels(config.app.name, PLATFORM),
        app_namespace=namespace_props(config, workloads),
        argocd_namespace=cluster.argocd.namespace,
        destination_server=cluster.argocd.destination_server,
        repo_url=cluster.repo.url,
        revision=cluster.repo.revision,
        path=source_path(cluster.name, PLATFORM),
        charts={
            chart: ChartSource(repo=pin.repo, version=pin.version)
            for chart in CHARTS
            if chart in versions.charts and (pin := versions.pin(chart, cluster.name))
        },
        acme_email=cluster.acme_email,
        acme_issuers=tuple(AcmeServer(i.name, i.server, i.ca_bundle) for i in cluster.acme_issuers),
        ingress=PlatformIngress(
            controller=cluster.ingress.controller,
            http_node_port=cluster.ingress.http_node_port,
            https_node_port=cluster.ingress.https_node_port,
            publish_status_address=tuple(cluster.ingress.publish_status_address),
        ),
        csi_token_audience=infisical.auth.audience if infisical else "infisical",
        network_policies=(
            network_policy_props(config, cluster) if config.features.network_policies else None
        ),
        sealed_secrets=cluster.sealed_secrets,
        self_managed_argocd=(
            ManifestSource(
                repo_url=ARGOCD_REPO,
                revision=versions.argocd.version,
                path=versions.argocd.install_path.rpartition("/")[0],
                include=versions.argocd.install_path.rpartition("/")[2],
            )
            if cluster.argocd.self_managed
            else None
        ),
    )
    return K3sPlatform(scope, "k3s-platform", props=props)


# --- the namespace ------------------------------------------------------------------------


def namespace_props(config: AppConfig, workloads: Sequence[Workload]) -> AppNamespaceProps:
    request, limit = container_defaults(config)
    settings = config.platform
    return AppNamespaceProps(
        name=config.app.namespace,
        labels=standard_labels(config.app.name, PLATFORM),
        quota=quota(config, workloads, request, limit) if settings.quota.enabled else None,
        limit_range=settings.limit_range.enabled,
        default_request=request,
        default_limit=limit,
    )


@dataclass(frozen=True)
class _Totals:
    """CPU in cores, memory in bytes."""

    requests_cpu: float = 0.0
    requests_memory: float = 0.0
    limits_cpu: float = 0.0
    limits_memory: float = 0.0


def quota(
    config: AppConfig,
    workloads: Sequence[Workload],
    request: dict[str, str],
    limit: dict[str, str],
) -> dict[str, str]:
    """`spec.hard` of the ResourceQuota: what every workload needs at its most pods (every
    container counted), plus the ACME solvers, plus the config's headroom. A container without
    resources gets `request`/`limit` (the LimitRange defaults), as the API server would give it;
    each field of quota.requests / quota.limits / quota.pods overrides its total."""
    solvers = 0
    if config.tls.enabled:
        solvers = sum(
            1
            for s in config.services
            if s.ingress is not None and s.ingress.tls.enabled is not False
        )
    totals = {"requests_cpu": 0.0, "requests_memory": 0.0, "limits_cpu": 0.0, "limits_memory": 0.0}
    pod_resources = [(w.max_pods, c.resources) for w in workloads for c in w.containers]
    pods = sum(w.max_pods for w in workloads) + solvers
    for count, resources in [*pod_resources, (solvers, ACME_SOLVER)]:
        for key in ("cpu", "memory"):
            totals[f"requests_{key}"] += count * _value(resources.get("requests"), request, key)
            totals[f"limits_{key}"] += count * _value(resources.get("limits"), limit, key)
    factor = 1 + config.platform.quota.headroom_percent / 100
    hard = {
        "requests.cpu": _cpu(totals["requests_cpu"] * factor),
        "requests.memory": _memory(totals["requests_memory"] * factor),
        "limits.cpu": _cpu(totals["limits_cpu"] * factor),
        "limits.memory": _memory(totals["limits_memory"] * factor),
        "pods": str(max(1, math.ceil(pods * factor))),
    }
    overrides = config.platform.quota
    for prefix, values in (("requests", overrides.requests), ("limits", overrides.limits)):
        for key in ("cpu", "memory"):
            value = getattr(values, key, None) if values is not None else None
            if value is not None:
                hard[f"{prefix}.{key}"] = value
    if overrides.pods is not None:
        hard["pods"] = str(overrides.pods)
    hard["services.nodeports"] = str(overrides.node_ports)
    hard["services.loadbalancers"] = str(overrides.load_balancers)
    return hard


def _value(resources: dict[str, str] | None, fallback: dict[str, str], key: str) -> float:
    quantity = (resources or {}).get(key)
    return quantity_value(quantity or fallback[key])


def _cpu(cores: float) -> str:
    return f"{math.ceil(round(cores * 1000, 6))}m"


def _memory(size: float) -> str:
    return f"{math.ceil(round(size / 2**20, 6))}Mi"


# --- network policies ---------------------------------------------------------------------


def network_policy_props(config: AppConfig, cluster: ClusterSettings) -> AppNetworkPoliciesProps:
    by_name = {s.name: s for s in config.services}
    routed: dict[str, tuple[str, ...]] = {
        s.name: (_routed_port(s),)
        for s in config.services
        if s.ingress is not None and config.features.ingresses and config.features.services
    }
    tls = config.tls.enabled and any(
        by_name[name].ingress.tls.enabled is not False  # type: ignore[union-attr]
        for name in routed
    )
    calls = tuple(
        Call(
            caller=s.name,
            callee=call.name,
            ports=tuple((p.name, p.protocol) for p in called_ports(by_name[call.name], call)),
        )
        for s in config.services
        for call in s.egress.calls
    )
    external = tuple(
        ExternalRule(
            service=s.name,
            ports=tuple(e.ports),
            protocol=e.protocol,
            cidr=e.cidr,
        )
        for s in config.services
        for e in s.egress.external
    )
    return AppNetworkPoliciesProps(
        app=config.app.name,
        namespace=config.app.namespace,
        labels=standard_labels(config.app.name, PLATFORM),
        ingress_controller=INGRESS_CONTROLLERS[cluster.ingress.controller],
        routed=routed,
        acme_solver=tls,
        internet=tuple(s.name for s in config.services if s.egress.internet),
        internet_except=tuple(cluster.cluster_ranges()),
        calls=calls,
        external=external,
    )


def called_ports(callee: Service, call: ServiceCall) -> list[Port]:
    """The callee's ports a call names (by name or service port), or all of them."""
    if call.ports is None:
        return list(callee.ports)
    return [
        p
        for p in callee.ports
        if p.name in call.ports or (p.service_port or p.container_port) in call.ports
    ]


def _routed_port(service: Service) -> str:
    """Container port name the Service port of the service's Ingress targets."""
    ingress = service.ingress
    ref = ingress.port if ingress is not None else None
    for port in service.ports:
        if ref is None or ref == port.name or ref == (port.service_port or port.container_port):
            return port.name
    raise ValueError(f"service '{service.name}': ingress.port '{ref}' is not declared in ports")
