"""K3sPlatform: everything a fresh k3s cluster needs before the app can run, per environment.

Two charts come out of it:

- `delivery` (synced from dist/<env>/argocd/ by the root Application): the `platform`
  AppProject, one HelmAddon Application per add-on and the Application that syncs
- `cluster` (dist/<env>/platform/): the app namespace with restricted Pod Security, its
  NetworkPolicies, ResourceQuota and LimitRange, the Let's Encrypt ClusterIssuers and, with
  Traefik, the HelmChartConfig that configures k3s's bundled Traefik.

Sync waves of the root's children: projects (-1), controllers and CRDs (1), the Infisical
provider (2), the cluster objects (3: issuers need cert-manager's CRDs), the app (10). They only
wait on each other with the Application health check in argocd-cm (`APPLICATION_HEALTH_LUA`,
shipped in root.yaml).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cdk8s
import yaml
from constructs import Construct

from constructs_lib.app_namespace import (
    AppNamespace,
    AppNamespaceProps,
    container_defaults,
    derive_quota,
)
from constructs_lib.argocd import (
    ArgoApplication,
    ArgoApplicationProps,
    ArgoProject,
    ArgoProjectProps,
    Kind,
)
from constructs_lib.argocd_self_managed import SelfManagedArgoCd, SelfManagedArgoCdProps
from constructs_lib.clusters import ClusterSettings
from constructs_lib.config import AppConfig, Service
from constructs_lib.helm_addon import HelmAddon, HelmAddonProps
from constructs_lib.kube_object import KubeObject
from constructs_lib.labels import standard_labels
from constructs_lib.lets_encrypt_issuers import LetsEncryptIssuers, LetsEncryptIssuersProps
from constructs_lib.network_policies import AppNetworkPolicies, AppNetworkPoliciesProps, Call, Peer
from constructs_lib.versions import ARGOCD_REPO, Versions

PLATFORM = "platform"
KUBE_SYSTEM = "kube-system"
INGRESS_NGINX_NAMESPACE = "ingress-nginx"
CERT_MANAGER_NAMESPACE = "cert-manager"
# The controller's pods, as the NetworkPolicies of the app namespace admit them.
INGRESS_CONTROLLERS = {
    "nginx": Peer(
        INGRESS_NGINX_NAMESPACE,
        {"app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/component": "controller"},
    ),
    "traefik": Peer(KUBE_SYSTEM, {"app.kubernetes.io/name": "traefik"}),
}
# Argo CD >= 1.8 has no health check for Applications, so the root's sync waves would not wait
# for a child to be Healthy. This restores it (Argo CD docs, operator-manual/health.md).
APPLICATION_HEALTH_KEY = "resource.customizations.health.argoproj.io_Application"
APPLICATION_HEALTH_LUA = """\
hs = {}
hs.status = "Progressing"
hs.message = ""
if obj.status ~= nil then
  if obj.status.health ~= nil then
    hs.status = obj.status.health.status
    if obj.status.health.message ~= nil then
      hs.message = obj.status.health.message
    end
  end
end
return hs
"""
# Cluster-scoped kinds the platform's Applications create, and nothing else.
PLATFORM_CLUSTER_KINDS = (
    Kind("", "Namespace"),
    Kind("apiextensions.k8s.io", "CustomResourceDefinition"),
    Kind("rbac.authorization.k8s.io", "ClusterRole"),
    Kind("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    Kind("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
    Kind("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
    Kind("networking.k8s.io", "IngressClass"),
    Kind("storage.k8s.io", "CSIDriver"),
    Kind("cert-manager.io", "ClusterIssuer"),
)
PLATFORM_NAMESPACED_KINDS = (
    Kind("", "ConfigMap"),
    Kind("", "LimitRange"),
    Kind("", "ResourceQuota"),
    Kind("", "Secret"),
    Kind("", "Service"),
    Kind("", "ServiceAccount"),
    Kind("apps", "DaemonSet"),
    Kind("apps", "Deployment"),
    Kind("apps", "StatefulSet"),
    Kind("batch", "Job"),
    Kind("networking.k8s.io", "NetworkPolicy"),
    Kind("policy", "PodDisruptionBudget"),
    Kind("rbac.authorization.k8s.io", "Role"),
    Kind("rbac.authorization.k8s.io", "RoleBinding"),
    Kind("helm.cattle.io", "HelmChartConfig"),
)


@dataclass(frozen=True)
class K3sPlatformProps:
    """Props of K3sPlatform."""

    config: AppConfig
    cluster: ClusterSettings
    versions: Versions
    """Chart pins; the cluster's overrides apply."""
    sync_wave: str = "3"
    """Wave of the Application of dist/<env>/platform/ among the root's children. @default 3"""


class K3sPlatform(Construct):
    """Add-on Applications, the `platform` AppProject and the cluster baseline of one env."""

    def __init__(self, scope: Construct, id: str, *, props: K3sPlatformProps) -> None:
        super().__init__(scope, id)
        self.props = props
        config, cluster = props.config, props.cluster
        self.labels = standard_labels(config.app.name, PLATFORM)
        self.ingress_class = cluster.ingress.controller
        self.delivery = cdk8s.Chart(self, "argocd", disable_resource_name_hashes=True)
        self.cluster = cdk8s.Chart(self, "platform", disable_resource_name_hashes=True)
        self.bootstrap = cdk8s.Chart(self, "bootstrap", disable_resource_name_hashes=True)
        self.addons: dict[str, HelmAddon] = {}

        self._addons()
        self.project = self._project()
        self.application = self._platform_application()
        self._cluster_objects()
        self.health_check = self._health_check()

    # --- add-ons ---------------------------------------------------------------------------

    def add_addon(
        self,
        chart: str,
        *,
        namespace: str,
        values: dict[str, Any],
        sync_wave: str = "1",
        name: str | None = None,
        server_side_apply: bool = False,
    ) -> HelmAddon:
        """Create the Application of one pinned chart and return it."""
        cluster = self.props.cluster
        addon = HelmAddon(
            self.delivery,
            chart,
            props=HelmAddonProps(
                name=name or chart,
                chart=chart,
                pin=self.props.versions.pin(chart, cluster.name),
                argocd_namespace=cluster.argocd.namespace,
                labels=self.labels,
                project=PLATFORM,
                destination_namespace=namespace,
                destination_server=cluster.argocd.destination_server,
                values=values,
                sync_wave=sync_wave,
                create_namespace=namespace != KUBE_SYSTEM,
                server_side_apply=server_side_apply,
            ),
        )
        self.addons[chart] = addon
        return addon

    def _addons(self) -> None:
        cluster = self.props.cluster
        if cluster.ingress.controller == "nginx":
            self.add_addon(
                "ingress-nginx", namespace=INGRESS_NGINX_NAMESPACE, values=self.nginx_values()
            )
        self.add_addon(
            "cert-manager",
            namespace=CERT_MANAGER_NAMESPACE,
            values={"crds": {"enabled": True, "keep": True}},
            server_side_apply=True,
        )
        self.add_addon(
            "secrets-store-csi-driver", namespace=KUBE_SYSTEM, values=self.csi_driver_values()
        )
        # Infisical's chart puts its socket under /etc/kubernetes/secrets-store-csi-providers,
        # which the driver chart (1.6.0) watches by default (linux.additionalProvidersDirs).
        self.add_addon("infisical-csi-provider", namespace=KUBE_SYSTEM, values={}, sync_wave="2")
        if cluster.sealed_secrets:
            # kubeseal looks for this controller name in kube-system by default.
            self.add_addon(
                "sealed-secrets",
                namespace=KUBE_SYSTEM,
                values={"fullnameOverride": "sealed-secrets-controller"},
            )
        self.self_managed: SelfManagedArgoCd | None = None
        if cluster.argocd.self_managed:
            # The health check stays in root.yaml's argocd-cm: Argo CD applies install.yaml's
            # argocd-cm server-side, which leaves keys another field manager owns.
            self.self_managed = SelfManagedArgoCd(
                self.delivery,
                "argocd",
                props=SelfManagedArgoCdProps(
                    pin=self.props.versions.argocd,
                    namespace=cluster.argocd.namespace,
                    labels=self.labels,
                    project=PLATFORM,
                    destination_server=cluster.argocd.destination_server,
                ),
            )

    def nginx_values(self) -> dict[str, Any]:
        """ingress-nginx on node ports, status from publish-status-address (chart 4.15.1)."""
        ingress = self.props.cluster.ingress
        controller: dict[str, Any] = {
            "ingressClassResource": {"name": "nginx", "enabled": True, "default": True},
            "service": {
                "type": "NodePort",
                "nodePorts": {"http": ingress.http_node_port, "https": ingress.https_node_port},
            },
            # --publish-service and --publish-status-address are mutually exclusive; a NodePort
            # Service has no load-balancer status to publish anyway.
            "publishService": {"enabled": False},
        }
        if ingress.publish_status_address:
            address = ",".join(ingress.publish_status_address)
            controller["extraArgs"] = {"publish-status-address": address}
        return {"controller": controller}

    def csi_driver_values(self) -> dict[str, Any]:
        infisical = self.props.config.secrets.infisical
        audience = infisical.auth.audience if infisical else "infisical"
        return {
            "syncSecret": {"enabled": True},
            "enableSecretRotation": True,
            "rotationPollInterval": "2m",
            "tokenRequests": [{"audience": audience}],
        }

    def traefik_values(self) -> dict[str, Any]:
        """Values for k3s's bundled Traefik chart (keys stable from chart 34 to 41)."""
        ingress = self.props.cluster.ingress
        values: dict[str, Any] = {
            "ports": {
                "web": {"nodePort": ingress.http_node_port},
                "websecure": {"nodePort": ingress.https_node_port},
            }
        }
        if ingress.publish_status_address:
            values["providers"] = {"kubernetesIngress": {"publishedService": {"enabled": False}}}
            values["additionalArguments"] = [
                f"--providers.kubernetesingress.ingressendpoint.ip={ingress.publish_status_address[0]}"
            ]
        return values

    def _project(self) -> ArgoProject:
        cluster = self.props.cluster
        server = cluster.argocd.destination_server
        namespaces = {self.props.config.app.namespace, KUBE_SYSTEM, CERT_MANAGER_NAMESPACE}
        if cluster.ingress.controller == "nginx":
            namespaces.add(INGRESS_NGINX_NAMESPACE)
        if cluster.argocd.self_managed:
            namespaces.add(cluster.argocd.namespace)
        repos = [cluster.repo.url, *sorted({a.props.pin.repo for a in self.addons.values()})]
        if self.self_managed is not None:
            repos.append(ARGOCD_REPO)
        return ArgoProject(
            self.delivery,
            "Project",
            props=ArgoProjectProps(
                name=PLATFORM,
                namespace=cluster.argocd.namespace,
                labels=self.labels,
                description="Cluster add-ons and the app namespace's baseline: "
                "the kinds they need only.",
                source_repos=tuple(repos),
                destinations=tuple((server, ns) for ns in sorted(namespaces)),
                namespaced_kinds=PLATFORM_NAMESPACED_KINDS,
                cluster_kinds=PLATFORM_CLUSTER_KINDS,
            ),
        )

    def _platform_application(self) -> ArgoApplication:
        cluster = self.props.cluster
        return ArgoApplication(
            self.delivery,
            "Application",
            props=ArgoApplicationProps(
                name=PLATFORM,
                namespace=cluster.argocd.namespace,
                labels=self.labels,
                project=PLATFORM,
                repo_url=cluster.repo.url,
                revision=cluster.repo.revision,
                path=f"dist/{cluster.name}/{PLATFORM}",
                destination_namespace=self.props.config.app.namespace,
                destination_server=cluster.argocd.destination_server,
                sync_wave=self.props.sync_wave,
            ),
        )

    # --- cluster objects -------------------------------------------------------------------

    def _cluster_objects(self) -> None:
        config, cluster = self.props.config, self.props.cluster
        request, limit = container_defaults(config)
        settings = config.platform
        self.namespace = AppNamespace(
            self.cluster,
            "Namespace",
            props=AppNamespaceProps(
                name=config.app.namespace,
                labels=self.labels,
                quota=derive_quota(config, request, limit) if settings.quota.enabled else None,
                quota_overrides=settings.quota,
                limit_range=settings.limit_range if settings.limit_range.enabled else None,
                default_request=request,
                default_limit=limit,
            ),
        )
        self.issuers = LetsEncryptIssuers(
            self.cluster,
            "Issuers",
            props=LetsEncryptIssuersProps(
                email=cluster.acme_email, ingress_class_name=self.ingress_class, labels=self.labels
            ),
        )
        self.network_policies = (
            AppNetworkPolicies(self.cluster, "NetworkPolicies", props=self.network_policy_props())
            if config.features.network_policies
            else None
        )
        self.traefik_config = (
            self._traefik_config() if cluster.ingress.controller == "traefik" else None
        )

    def network_policy_props(self) -> AppNetworkPoliciesProps:
        config = self.props.config
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
                callee=callee,
                ports=tuple((p.name, p.protocol) for p in by_name[callee].ports),
            )
            for s in config.services
            for callee in s.egress.services
        )
        return AppNetworkPoliciesProps(
            app=config.app.name,
            namespace=config.app.namespace,
            labels=self.labels,
            ingress_controller=INGRESS_CONTROLLERS[self.ingress_class],
            routed=routed,
            acme_solver=tls,
            internet=tuple(s.name for s in config.services if s.egress.internet),
            calls=calls,
        )

    def _traefik_config(self) -> KubeObject:
        return KubeObject(
            self.cluster,
            "TraefikConfig",
            api_version="helm.cattle.io/v1",
            kind="HelmChartConfig",
            name="traefik",
            namespace=KUBE_SYSTEM,
            labels=self.labels,
            body={"spec": {"valuesContent": yaml.safe_dump(self.traefik_values(), sort_keys=True)}},
        )

    def _health_check(self) -> KubeObject:
        """A partial argocd-cm applied with root.yaml: `kubectl apply` merges its one key into
        the ConfigMap the Argo CD install created."""
        return KubeObject(
            self.bootstrap,
            "ArgoCdHealthCheck",
            api_version="v1",
            kind="ConfigMap",
            name="argocd-cm",
            namespace=self.props.cluster.argocd.namespace,
            labels={"app.kubernetes.io/name": "argocd-cm", "app.kubernetes.io/part-of": "argocd"},
            body={"data": {APPLICATION_HEALTH_KEY: APPLICATION_HEALTH_LUA}},
        )


def _routed_port(service: Service) -> str:
    """Container port name the Service port of the service's Ingress targets."""
    ingress = service.ingress
    ref = ingress.port if ingress is not None else None
    for port in service.ports:
        if ref is None or ref == port.name or ref == (port.service_port or port.container_port):
            return port.name
    raise ValueError(f"service '{service.name}': ingress.port '{ref}' is not declared in ports")
