"""From the config and one environment's settings to K3sPlatform's props: the add-ons, the
namespace's quota and limit range, and the NetworkPolicies that follow the declared calls."""

from __future__ import annotations

from constructs import Construct

from constructs_lib.compose.layout import PLATFORM, source_path
from constructs_lib.constructs.app_namespace import AppNamespaceProps
from constructs_lib.constructs.argocd.application import ChartSource, GitSource
from constructs_lib.constructs.labels import standard_labels
from constructs_lib.constructs.network_policies import (
    AppNetworkPoliciesProps,
    Call,
    ExternalRule,
)
from constructs_lib.constructs.platform.k3s_platform import (
    INGRESS_CONTROLLERS,
    K3sPlatform,
    K3sPlatformProps,
    PlatformScopes,
)
from constructs_lib.model.addons import PlatformIngress, PlatformSettings
from constructs_lib.model.clusters import ClusterSettings
from constructs_lib.model.config import AppConfig, container_defaults, derived_quota
from constructs_lib.model.service import Port, Service, ServiceCall
from constructs_lib.model.versions import ARGOCD_REPO, Versions


def add_platform(
    scope: Construct,
    scopes: PlatformScopes,
    config: AppConfig,
    cluster: ClusterSettings,
    versions: Versions,
) -> K3sPlatform:
    """Add-ons, the `platform` project and the cluster baseline of one environment."""
    pins = {chart: versions.pin(chart, cluster.name) for chart in versions.charts}
    props = K3sPlatformProps(
        scopes=scopes,
        labels=standard_labels(config.app.name, PLATFORM),
        app_namespace=namespace_props(config),
        argocd_namespace=cluster.argocd.namespace,
        destination_server=cluster.argocd.destination_server,
        repo_url=cluster.repo.url,
        revision=cluster.repo.revision,
        path=source_path(cluster.name, PLATFORM),
        charts={chart: ChartSource(repo=p.repo, version=p.version) for chart, p in pins.items()},
        acme_email=cluster.acme_email,
        settings=platform_settings(config, cluster),
        network_policies=(
            network_policy_props(config, cluster) if config.features.network_policies else None
        ),
        self_managed_argocd=(
            GitSource(
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


def platform_settings(config: AppConfig, cluster: ClusterSettings) -> PlatformSettings:
    """What the add-ons depend on: which are installed, their values, the ingress."""
    return PlatformSettings(
        ingress=PlatformIngress(
            controller=cluster.ingress.controller,
            http_node_port=cluster.ingress.http_node_port,
            https_node_port=cluster.ingress.https_node_port,
            publish_status_address=tuple(cluster.ingress.publish_status_address),
        ),
        csi_token_audience=config.secrets.token_audience,
        sealed_secrets=cluster.sealed_secrets,
    )


# --- the namespace ------------------------------------------------------------------------


def namespace_props(config: AppConfig) -> AppNamespaceProps:
    request, limit = container_defaults(config)
    settings = config.platform
    return AppNamespaceProps(
        name=config.app.namespace,
        labels=standard_labels(config.app.name, PLATFORM),
        quota=derived_quota(config) if settings.quota.enabled else None,
        limit_range=settings.limit_range.enabled,
        default_request=request,
        default_limit=limit,
    )


# --- network policies ---------------------------------------------------------------------


def network_policy_props(config: AppConfig, cluster: ClusterSettings) -> AppNetworkPoliciesProps:
    by_name = {s.name: s for s in config.services}
    routed: dict[str, tuple[str, ...]] = {
        s.name: (_routed_port(s),)
        for s in config.services
        if s.ingress is not None and config.features.ingresses and config.features.services
    }
    tls = any(
        by_name[name].ingress.terminates_tls(config.tls.enabled)  # type: ignore[union-attr]
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
