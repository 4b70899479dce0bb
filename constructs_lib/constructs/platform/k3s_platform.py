"""K3sPlatform: everything a fresh k3s cluster needs before the app can run, per environment.

Its objects go into three scopes the caller names (`PlatformScopes`), one per place they are
delivered from:

- `delivery` (synced by the root Application): the baseline `platform` AppProject and the
  Application that syncs the `cluster` objects, and per add-on one HelmAddon Application and
  its own AppProject `addon-<name>` (its chart repository, its namespace and the kinds the
  pinned chart renders, from addon_kinds.py);
- `cluster`: the app namespace with restricted Pod Security, its NetworkPolicies, ResourceQuota
  and LimitRange, the Let's Encrypt ClusterIssuers and, with Traefik, the HelmChartConfig that
  configures k3s's bundled Traefik;
- `bootstrap` (applied with the root): the Application health check merged into argocd-cm.

Sync waves of the root's children: projects (-1), controllers and CRDs (1), the Infisical
provider (2), the cluster objects (3: issuers need cert-manager's CRDs), the app (10). They only
wait on each other with the Application health check in argocd-cm (`APPLICATION_HEALTH_LUA`,
shipped in root.yaml).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import yaml
from constructs import Construct

from constructs_lib.constructs.app_namespace import AppNamespace, AppNamespaceProps
from constructs_lib.constructs.argocd.application import (
    ArgoApplication,
    ArgoApplicationProps,
    ArgoProject,
    ArgoProjectProps,
    Kind,
)
from constructs_lib.constructs.argocd.helm_addon import ChartSource, HelmAddon, HelmAddonProps
from constructs_lib.constructs.argocd.self_managed import (
    ManifestSource,
    SelfManagedArgoCd,
    SelfManagedArgoCdProps,
)
from constructs_lib.constructs.kube_object import KubeObject
from constructs_lib.constructs.lets_encrypt_issuers import (
    AcmeServer,
    LetsEncryptIssuers,
    LetsEncryptIssuersProps,
)
from constructs_lib.constructs.network_policies import (
    AppNetworkPolicies,
    AppNetworkPoliciesProps,
    Peer,
)
from constructs_lib.constructs.platform.addon_kinds import ADDON_KINDS

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
# The baseline project (`platform`): the app namespace's baseline and the ClusterIssuers.
PLATFORM_CLUSTER_KINDS = (
    Kind("", "Namespace"),
    Kind("cert-manager.io", "ClusterIssuer"),
)
PLATFORM_NAMESPACED_KINDS = (
    Kind("", "LimitRange"),
    Kind("", "ResourceQuota"),
    Kind("networking.k8s.io", "NetworkPolicy"),
)
# With Traefik, the baseline also configures k3s's bundled chart in kube-system.
TRAEFIK_CONFIG_KIND = Kind("helm.cattle.io", "HelmChartConfig")
ADDON_PROJECT_PREFIX = "addon-"
SELF_MANAGED_PROJECT = f"{ADDON_PROJECT_PREFIX}argocd"
# What Argo CD's manifests/install.yaml holds (v3.5), and nothing else.
ARGOCD_INSTALL_CLUSTER_KINDS = (
    Kind("apiextensions.k8s.io", "CustomResourceDefinition"),
    Kind("rbac.authorization.k8s.io", "ClusterRole"),
    Kind("rbac.authorization.k8s.io", "ClusterRoleBinding"),
)
ARGOCD_INSTALL_KINDS = (
    Kind("", "ConfigMap"),
    Kind("", "Secret"),
    Kind("", "Service"),
    Kind("", "ServiceAccount"),
    Kind("apps", "Deployment"),
    Kind("apps", "StatefulSet"),
    Kind("networking.k8s.io", "NetworkPolicy"),
    Kind("rbac.authorization.k8s.io", "Role"),
    Kind("rbac.authorization.k8s.io", "RoleBinding"),
)
PodSecurityLevel = Literal["restricted", "baseline", "privileged"]
# The strictest Pod Security level every pod of the chart passes, with the base's values
# (checked against the rendered charts by tests/e2e/test_addon_pod_security.py). The add-ons
# in kube-system (CSI driver and provider: privileged, hostPath) take kube-system's own
# settings: k3s leaves it unlabelled, i.e. privileged; see SECURITY.md.
ADDON_POD_SECURITY: dict[str, PodSecurityLevel] = {
    "ingress-nginx": "restricted",
    "cert-manager": "restricted",
}


def pod_security_labels(level: PodSecurityLevel) -> dict[str, str]:
    """Enforce, audit and warn at `level`, against the latest policy version."""
    return {
        "pod-security.kubernetes.io/enforce": level,
        "pod-security.kubernetes.io/enforce-version": "latest",
        "pod-security.kubernetes.io/audit": level,
        "pod-security.kubernetes.io/warn": level,
    }


def addon_project(name: str) -> str:
    """Name of the AppProject of the add-on Application `name`."""
    return f"{ADDON_PROJECT_PREFIX}{name}"


@dataclass(frozen=True)
class PlatformIngress:
    """The ingress controller and how clients reach it on a node without a cloud LB."""

    controller: Literal["nginx", "traefik"] = "nginx"
    """@default nginx (the ingress-nginx chart)"""
    http_node_port: int = 30080
    https_node_port: int = 30443
    publish_status_address: tuple[str, ...] = ()
    """Node IPs written into Ingress status. @default none"""


@dataclass(frozen=True)
class PlatformScopes:
    """Where K3sPlatform puts its objects (see the module docstring)."""

    delivery: Construct
    cluster: Construct
    bootstrap: Construct


@dataclass(frozen=True)
class K3sPlatformProps:
    """Props of K3sPlatform."""

    scopes: PlatformScopes
    labels: dict[str, str]
    app_namespace: AppNamespaceProps
    """The app's namespace and its baseline."""
    argocd_namespace: str
    destination_server: str
    repo_url: str
    """Repository the `cluster` objects are synced from."""
    revision: str
    path: str
    """Folder of the `cluster` objects in the repository."""
    charts: Mapping[str, ChartSource]
    """Chart name -> pinned source, for every add-on this env installs."""
    acme_email: str
    acme_issuers: tuple[AcmeServer, ...] = ()
    """ACME issuers besides Let's Encrypt's. @default none"""
    ingress: PlatformIngress = field(default_factory=PlatformIngress)
    csi_token_audience: str = "infisical"
    """Audience of the tokens the CSI driver requests for providers. @default infisical"""
    network_policies: AppNetworkPoliciesProps | None = None
    """@default no NetworkPolicies"""
    sealed_secrets: bool = False
    """Install the sealed-secrets controller. @default False"""
    self_managed_argocd: ManifestSource | None = None
    """Let Argo CD manage itself from this install manifest. @default None (Argo CD stays as
    `gitops-base bootstrap` installed it)"""
    sync_wave: str = "3"
    """Wave of the Application of the `cluster` objects among the root's children. @default 3"""


class K3sPlatform(Construct):
    """Add-on Applications, the `platform` AppProject and the cluster baseline of one env."""

    def __init__(self, scope: Construct, id: str, *, props: K3sPlatformProps) -> None:
        super().__init__(scope, id)
        self.props = props
        self.labels = props.labels
        self.ingress_class = props.ingress.controller
        self.delivery = props.scopes.delivery
        self.cluster = props.scopes.cluster
        self.bootstrap = props.scopes.bootstrap
        self.addons: dict[str, HelmAddon] = {}

        self._addons()
        self.project = self._project()
        self.addon_projects = {name: self._addon_project(a) for name, a in self.addons.items()}
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
        pod_security: PodSecurityLevel | None = None,
    ) -> HelmAddon:
        """Create the Application of one pinned chart and return it."""
        if chart not in self.props.charts:
            raise ValueError(f"K3sPlatform: no pinned source for chart '{chart}'")
        addon = HelmAddon(
            self.delivery,
            chart,
            props=HelmAddonProps(
                name=name or chart,
                chart=chart,
                pin=self.props.charts[chart],
                argocd_namespace=self.props.argocd_namespace,
                labels=self.labels,
                project=addon_project(name or chart),
                destination_namespace=namespace,
                destination_server=self.props.destination_server,
                values=values,
                sync_wave=sync_wave,
                create_namespace=namespace != KUBE_SYSTEM,
                server_side_apply=server_side_apply,
                namespace_labels=pod_security_labels(pod_security) if pod_security else {},
            ),
        )
        self.addons[chart] = addon
        return addon

    def _addons(self) -> None:
        props = self.props
        if props.ingress.controller == "nginx":
            self.add_addon(
                "ingress-nginx",
                namespace=INGRESS_NGINX_NAMESPACE,
                values=self.nginx_values(),
                pod_security=ADDON_POD_SECURITY["ingress-nginx"],
            )
        self.add_addon(
            "cert-manager",
            namespace=CERT_MANAGER_NAMESPACE,
            values={"crds": {"enabled": True, "keep": True}},
            server_side_apply=True,
            pod_security=ADDON_POD_SECURITY["cert-manager"],
        )
        self.add_addon(
            "secrets-store-csi-driver", namespace=KUBE_SYSTEM, values=self.csi_driver_values()
        )
        # Infisical's chart puts its socket under /etc/kubernetes/secrets-store-csi-providers,
        # which the driver chart (1.6.0) watches by default (linux.additionalProvidersDirs).
        self.add_addon("infisical-csi-provider", namespace=KUBE_SYSTEM, values={}, sync_wave="2")
        if props.sealed_secrets:
            # kubeseal looks for this controller name in kube-system by default.
            self.add_addon(
                "sealed-secrets",
                namespace=KUBE_SYSTEM,
                values={"fullnameOverride": "sealed-secrets-controller"},
            )
        self.self_managed: SelfManagedArgoCd | None = None
        if props.self_managed_argocd is not None:
            # The health check stays in root.yaml's argocd-cm: Argo CD applies install.yaml's
            # argocd-cm server-side, which leaves keys another field manager owns.
            self.self_managed = SelfManagedArgoCd(
                self.delivery,
                "argocd",
                props=SelfManagedArgoCdProps(
                    source=props.self_managed_argocd,
                    namespace=props.argocd_namespace,
                    labels=self.labels,
                    project=SELF_MANAGED_PROJECT,
                    destination_server=props.destination_server,
                ),
            )
            self.self_managed_project = self._self_managed_project(props.self_managed_argocd)

    def nginx_values(self) -> dict[str, Any]:
        """ingress-nginx on node ports, status from publish-status-address (chart 4.15.1)."""
        ingress = self.props.ingress
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
        return {
            "syncSecret": {"enabled": True},
            "enableSecretRotation": True,
            "rotationPollInterval": "2m",
            "tokenRequests": [{"audience": self.props.csi_token_audience}],
        }

    def traefik_values(self) -> dict[str, Any]:
        """Values for k3s's bundled Traefik chart (keys stable from chart 34 to 41)."""
        ingress = self.props.ingress
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
        """The baseline project: the app namespace, its quota, limits and NetworkPolicies, and
        the ClusterIssuers, from the repository only."""
        props = self.props
        server = props.destination_server
        namespaces = [props.app_namespace.name]
        namespaced: tuple[Kind, ...] = PLATFORM_NAMESPACED_KINDS
        if props.ingress.controller == "traefik":
            namespaces.append(KUBE_SYSTEM)
            namespaced = (*namespaced, TRAEFIK_CONFIG_KIND)
        return ArgoProject(
            self.delivery,
            "Project",
            props=ArgoProjectProps(
                name=PLATFORM,
                namespace=props.argocd_namespace,
                labels=self.labels,
                description="The app namespace's baseline and the ClusterIssuers: "
                "the kinds they need only.",
                source_repos=(props.repo_url,),
                destinations=tuple((server, ns) for ns in sorted(namespaces)),
                namespaced_kinds=namespaced,
                cluster_kinds=PLATFORM_CLUSTER_KINDS,
            ),
        )

    def _self_managed_project(self, source: ManifestSource) -> ArgoProject:
        """The self-managed Argo CD's project: Argo CD's repository, its namespace, and the
        kinds its install manifest holds."""
        props = self.props
        return ArgoProject(
            self.delivery,
            "Project-argocd",
            props=ArgoProjectProps(
                name=SELF_MANAGED_PROJECT,
                namespace=props.argocd_namespace,
                labels=self.labels,
                description="Argo CD's own install manifest only: its repository, namespace "
                "and kinds.",
                source_repos=(source.repo_url,),
                destinations=((props.destination_server, props.argocd_namespace),),
                namespaced_kinds=ARGOCD_INSTALL_KINDS,
                cluster_kinds=ARGOCD_INSTALL_CLUSTER_KINDS,
            ),
        )

    def _addon_project(self, addon: HelmAddon) -> ArgoProject:
        """One add-on's project: its chart repository, its namespace(s) and the kinds the
        pinned chart renders (addon_kinds.py), plus Namespace when Argo CD creates it."""
        props = self.props
        chart = addon.props.chart
        if chart not in ADDON_KINDS:
            raise ValueError(f"K3sPlatform: no kinds listed for chart '{chart}' (addon_kinds.py)")
        kinds = ADDON_KINDS[chart]
        cluster: tuple[Kind, ...] = kinds.cluster
        if addon.props.create_namespace:
            cluster = (Kind("", "Namespace"), *cluster)
        namespaces = sorted({addon.props.destination_namespace, *kinds.other_namespaces})
        return ArgoProject(
            self.delivery,
            f"Project-{addon.props.name}",
            props=ArgoProjectProps(
                name=addon.props.project,
                namespace=props.argocd_namespace,
                labels=self.labels,
                description=f"The {chart} chart only: its repository, namespace and kinds.",
                source_repos=(addon.props.pin.repo,),
                destinations=tuple((props.destination_server, ns) for ns in namespaces),
                namespaced_kinds=kinds.namespaced,
                cluster_kinds=cluster,
            ),
        )

    def _platform_application(self) -> ArgoApplication:
        props = self.props
        return ArgoApplication(
            self.delivery,
            "Application",
            props=ArgoApplicationProps(
                name=PLATFORM,
                namespace=props.argocd_namespace,
                labels=self.labels,
                project=PLATFORM,
                repo_url=props.repo_url,
                revision=props.revision,
                path=props.path,
                destination_namespace=props.app_namespace.name,
                destination_server=props.destination_server,
                sync_wave=props.sync_wave,
            ),
        )

    # --- cluster objects -------------------------------------------------------------------

    def _cluster_objects(self) -> None:
        props = self.props
        self.namespace = AppNamespace(self.cluster, "Namespace", props=props.app_namespace)
        self.issuers = LetsEncryptIssuers(
            self.cluster,
            "Issuers",
            props=LetsEncryptIssuersProps(
                email=props.acme_email,
                ingress_class_name=self.ingress_class,
                labels=self.labels,
                extra=props.acme_issuers,
            ),
        )
        self.network_policies = (
            AppNetworkPolicies(self.cluster, "NetworkPolicies", props=props.network_policies)
            if props.network_policies is not None
            else None
        )
        self.traefik_config = (
            self._traefik_config() if props.ingress.controller == "traefik" else None
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
            namespace=self.props.argocd_namespace,
            labels={"app.kubernetes.io/name": "argocd-cm", "app.kubernetes.io/part-of": "argocd"},
            body={"data": {APPLICATION_HEALTH_KEY: APPLICATION_HEALTH_LUA}},
        )
