"""K3sPlatform: everything a fresh k3s cluster needs before the app can run, per environment.

Its objects go into three scopes the caller names (`PlatformScopes`), one per place they are
delivered from:

- `delivery` (synced by the root Application): the baseline `platform` AppProject and the
  Application that syncs the `cluster` objects, and per add-on of the catalogue (addons.py)
  that the environment installs, one Application and its own AppProject `addon-<name>` (its
  chart repository, its namespace and the kinds the pinned chart renders);
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
from typing import Any

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
    LetsEncryptIssuers,
    LetsEncryptIssuersProps,
)
from constructs_lib.constructs.network_policies import (
    AppNetworkPolicies,
    AppNetworkPoliciesProps,
    Peer,
)
from constructs_lib.constructs.platform.addons import (
    ADDONS,
    KUBE_SYSTEM,
    Addon,
    PlatformSettings,
)
from constructs_lib.constructs.security import pod_security_labels

PLATFORM = "platform"
# The controller's pods, as the NetworkPolicies of the app namespace admit them.
INGRESS_CONTROLLERS = {
    "nginx": Peer(
        ADDONS["ingress-nginx"].namespace,
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


def addon_project(name: str) -> str:
    """Name of the AppProject of the add-on Application `name`."""
    return f"{ADDON_PROJECT_PREFIX}{name}"


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
    """Chart name -> pinned source (platform/versions.yaml); every add-on this env installs
    needs one."""
    acme_email: str
    settings: PlatformSettings = field(default_factory=PlatformSettings)
    """Which add-ons the environment installs, their values, and the ingress. @default nginx
    on node ports 30080 and 30443, no sealed-secrets"""
    network_policies: AppNetworkPoliciesProps | None = None
    """@default no NetworkPolicies"""
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
        self.ingress_class = props.settings.ingress.controller
        self.delivery = props.scopes.delivery
        self.cluster = props.scopes.cluster
        self.bootstrap = props.scopes.bootstrap
        self.addons: dict[str, HelmAddon] = {}
        self.addon_projects: dict[str, ArgoProject] = {}

        for addon in ADDONS.values():
            if addon.installed(props.settings):
                self.add_addon(addon)
        self._self_managed_argocd()
        self.project = self._project()
        self.application = self._platform_application()
        self._cluster_objects()
        self.health_check = self._health_check()

    # --- add-ons ---------------------------------------------------------------------------

    def add_addon(self, addon: Addon) -> HelmAddon:
        """Create the Application of one add-on and its AppProject; return the Application."""
        props = self.props
        if addon.name not in props.charts:
            raise ValueError(
                f"K3sPlatform: no pin for add-on '{addon.name}' (platform/versions.yaml)"
            )
        application = HelmAddon(
            self.delivery,
            addon.name,
            props=HelmAddonProps(
                name=addon.name,
                chart=addon.name,
                pin=props.charts[addon.name],
                argocd_namespace=props.argocd_namespace,
                labels=self.labels,
                project=addon_project(addon.name),
                destination_namespace=addon.namespace,
                destination_server=props.destination_server,
                values=addon.values(props.settings),
                sync_wave=addon.sync_wave,
                create_namespace=addon.creates_namespace,
                server_side_apply=addon.server_side_apply,
                namespace_labels=(
                    pod_security_labels(addon.pod_security) if addon.pod_security else {}
                ),
            ),
        )
        self.addons[addon.name] = application
        self.addon_projects[addon.name] = self._addon_project(addon)
        return application

    def _self_managed_argocd(self) -> None:
        props = self.props
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

    def traefik_values(self) -> dict[str, Any]:
        """Values for k3s's bundled Traefik chart (keys stable from chart 34 to 41)."""
        ingress = self.props.settings.ingress
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
        if self.ingress_class == "traefik":
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

    def _addon_project(self, addon: Addon) -> ArgoProject:
        """One add-on's project: its chart repository, its namespace(s) and the kinds the
        pinned chart renders, plus Namespace when Argo CD creates it."""
        props = self.props
        kinds = addon.kinds
        cluster: tuple[Kind, ...] = kinds.cluster
        if addon.creates_namespace:
            cluster = (Kind("", "Namespace"), *cluster)
        namespaces = sorted({addon.namespace, *kinds.other_namespaces})
        return ArgoProject(
            self.delivery,
            f"Project-{addon.name}",
            props=ArgoProjectProps(
                name=addon_project(addon.name),
                namespace=props.argocd_namespace,
                labels=self.labels,
                description=f"The {addon.name} chart only: its repository, namespace and kinds.",
                source_repos=(props.charts[addon.name].repo,),
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
                email=props.acme_email, ingress_class_name=self.ingress_class, labels=self.labels
            ),
        )
        self.network_policies = (
            AppNetworkPolicies(self.cluster, "NetworkPolicies", props=props.network_policies)
            if props.network_policies is not None
            else None
        )
        self.traefik_config = self._traefik_config() if self.ingress_class == "traefik" else None

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
