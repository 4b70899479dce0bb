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

import functools
from collections.abc import Mapping
from dataclasses import dataclass

import yaml
from constructs import Construct

from constructs_lib.constructs.app_namespace import AppNamespace, AppNamespaceProps
from constructs_lib.constructs.argocd.application import (
    ArgoApplicationProps,
    ChartSource,
    GitSource,
    HelmSource,
)
from constructs_lib.constructs.argocd.confined_application import (
    NAMESPACE,
    ConfinedApplication,
    ConfinedApplicationProps,
)
from constructs_lib.constructs.kube_object import Gvk, KubeObject, ObjectMeta
from constructs_lib.constructs.lets_encrypt_issuers import (
    ACME_SERVERS,
    AcmeServer,
    LetsEncryptIssuers,
    LetsEncryptIssuersProps,
)
from constructs_lib.constructs.network_policies import (
    AppNetworkPolicies,
    AppNetworkPoliciesProps,
    Peer,
)
from constructs_lib.constructs.security import pod_security_labels
from constructs_lib.constructs.trust_rules import ARGOCD_CM
from constructs_lib.model.addons import (
    ADDONS,
    CLUSTER_ROLE,
    CLUSTER_ROLE_BINDING,
    CONFIG_MAP,
    CRD,
    DEPLOYMENT,
    KUBE_SYSTEM,
    RBAC,
    SERVICE,
    SERVICE_ACCOUNT,
    Addon,
    Kind,
    PlatformSettings,
    addon_project,
    traefik_values,
)
from constructs_lib.model.names import (
    ARGOCD_PART,
    COMPONENT,
    NAME,
    PART_OF,
    PLATFORM,
    SELF_MANAGED_ARGOCD,
)

# The controller's pods, as the NetworkPolicies of the app namespace admit them.
INGRESS_CONTROLLERS = {
    "nginx": Peer(
        ADDONS["ingress-nginx"].namespace,
        {NAME: "ingress-nginx", COMPONENT: "controller"},
    ),
    "traefik": Peer(KUBE_SYSTEM, {NAME: "traefik"}),
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
# The baseline project (`platform`): the app namespace's baseline and the ClusterIssuers (the
# namespace by its name, the issuers by theirs).
NETWORK_POLICY = Kind("networking.k8s.io", "NetworkPolicy")
CLUSTER_ISSUER = Kind("cert-manager.io", "ClusterIssuer")
PLATFORM_CLUSTER_KINDS = (NAMESPACE, CLUSTER_ISSUER)
PLATFORM_NAMESPACED_KINDS = (Kind("", "LimitRange"), Kind("", "ResourceQuota"), NETWORK_POLICY)
# With Traefik, the baseline also configures k3s's bundled chart in kube-system.
TRAEFIK_CONFIG_KIND = Kind("helm.cattle.io", "HelmChartConfig")
SELF_MANAGED_PROJECT = addon_project(SELF_MANAGED_ARGOCD)
# What Argo CD's manifests/install.yaml holds (v3.5), and nothing else; cluster-scoped objects
# by name.
ARGOCD_CONTROLLERS = (
    "argocd-application-controller",
    "argocd-applicationset-controller",
    "argocd-server",
)
ARGOCD_INSTALL_CLUSTER_KINDS = (
    *CRD.named(
        "applications.argoproj.io", "applicationsets.argoproj.io", "appprojects.argoproj.io"
    ),
    *(k for kind in (CLUSTER_ROLE, CLUSTER_ROLE_BINDING) for k in kind.named(*ARGOCD_CONTROLLERS)),
)
ARGOCD_INSTALL_KINDS = (
    CONFIG_MAP,
    Kind("", "Secret"),
    SERVICE,
    SERVICE_ACCOUNT,
    DEPLOYMENT,
    Kind("apps", "StatefulSet"),
    NETWORK_POLICY,
    *RBAC,
)


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
    settings: PlatformSettings
    """Which add-ons the environment installs, their values, and the ingress."""
    acme_issuers: tuple[AcmeServer, ...] = ()
    """ACME issuers besides Let's Encrypt's. @default none"""
    network_policies: AppNetworkPoliciesProps | None = None
    """@default no NetworkPolicies"""
    self_managed_argocd: GitSource | None = None
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
        self.addons: dict[str, Addon] = {}
        """The add-ons this environment installs, by name."""
        self.addon_applications: dict[str, ConfinedApplication] = {}
        # Every Application of the platform: in Argo CD's namespace, with the platform's
        # labels, deploying to the environment's API server.
        self._application = functools.partial(
            ArgoApplicationProps,
            namespace=props.argocd_namespace,
            labels=self.labels,
            destination_server=props.destination_server,
        )

        for addon in ADDONS.values():
            if addon.installed(props.settings):
                self.add_addon(addon)
        self.self_managed = self._self_managed_argocd()
        self.application = self._platform_application()
        self._cluster_objects()
        self.health_check = self._health_check()

    # --- Argo CD objects -------------------------------------------------------------------

    def add_addon(self, addon: Addon) -> ConfinedApplication:
        """The Application of one add-on of the catalogue, in its own project."""
        props = self.props
        if addon.namespace == props.app_namespace.name:
            # The app namespace's baseline (default-deny, quota, restricted) would stop it.
            raise ValueError(
                f"K3sPlatform: add-on '{addon.name}' installs into namespace "
                f"'{addon.namespace}', the app's namespace; give the app another one"
            )
        if addon.name not in props.charts:
            raise ValueError(
                f"K3sPlatform: no pin for add-on '{addon.name}' (platform/versions.yaml)"
            )
        source = HelmSource(
            chart=addon.name, pin=props.charts[addon.name], values=addon.values(props.settings)
        )
        application = ConfinedApplication(
            self.delivery,
            addon.name,
            props=ConfinedApplicationProps(
                application=self._application(
                    name=addon.name,
                    project=addon_project(addon.name),
                    source=source,
                    destination_namespace=addon.namespace,
                    sync_wave=addon.sync_wave,
                    create_namespace=addon.creates_namespace,
                    namespace_labels=(
                        pod_security_labels(addon.pod_security) if addon.pod_security else {}
                    ),
                    server_side_apply=addon.server_side_apply,
                    sorted_keys=False,
                ),
                description=f"The {addon.name} chart only: its repository, namespace and kinds.",
                namespaced_kinds=addon.kinds.namespaced,
                cluster_kinds=addon.kinds.cluster,
                other_namespaces=addon.kinds.other_namespaces,
            ),
        )
        self.addons[addon.name] = addon
        self.addon_applications[addon.name] = application
        return application

    def _self_managed_argocd(self) -> ConfinedApplication | None:
        """Argo CD's install manifest, applied server-side (the ApplicationSet CRD is too large
        for client-side apply), without the resources finalizer: deleting the Application
        must not uninstall the Argo CD that runs it. The health check stays in root.yaml's
        argocd-cm: Argo CD applies install.yaml's argocd-cm server-side, which leaves keys
        another field manager owns."""
        props = self.props
        if props.self_managed_argocd is None:
            return None
        return ConfinedApplication(
            self.delivery,
            "argocd",
            props=ConfinedApplicationProps(
                application=self._application(
                    name=SELF_MANAGED_ARGOCD,
                    project=SELF_MANAGED_PROJECT,
                    source=props.self_managed_argocd,
                    destination_namespace=props.argocd_namespace,
                    server_side_apply=True,
                    delete_resources=False,
                    sorted_keys=False,
                ),
                description="Argo CD's own install manifest only: its repository, namespace "
                "and kinds.",
                namespaced_kinds=ARGOCD_INSTALL_KINDS,
                cluster_kinds=ARGOCD_INSTALL_CLUSTER_KINDS,
            ),
        )

    def _platform_application(self) -> ConfinedApplication:
        """The `cluster` objects, in the baseline project: the app namespace, its quota,
        limits and NetworkPolicies, and the ClusterIssuers, from the repository only."""
        props = self.props
        namespaced: tuple[Kind, ...] = PLATFORM_NAMESPACED_KINDS
        others: tuple[str, ...] = ()
        if self.ingress_class == "traefik":
            namespaced, others = (*namespaced, TRAEFIK_CONFIG_KIND), (KUBE_SYSTEM,)
        return ConfinedApplication(
            self.delivery,
            PLATFORM,
            props=ConfinedApplicationProps(
                application=self._application(
                    name=PLATFORM,
                    project=PLATFORM,
                    source=GitSource(
                        repo_url=props.repo_url, revision=props.revision, path=props.path
                    ),
                    destination_namespace=props.app_namespace.name,
                    sync_wave=props.sync_wave,
                ),
                description="The app namespace's baseline and the ClusterIssuers: "
                "the kinds they need only.",
                namespaced_kinds=namespaced,
                cluster_kinds=(
                    *NAMESPACE.named(props.app_namespace.name),
                    *CLUSTER_ISSUER.named(
                        *ACME_SERVERS, *(issuer.name for issuer in props.acme_issuers)
                    ),
                ),
                other_namespaces=others,
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
        self.traefik_config = self._traefik_config() if self.ingress_class == "traefik" else None

    def _traefik_config(self) -> KubeObject:
        values = yaml.safe_dump(traefik_values(self.props.settings), sort_keys=True)
        return KubeObject(
            self.cluster,
            "TraefikConfig",
            Gvk("helm.cattle.io/v1", TRAEFIK_CONFIG_KIND.kind),
            ObjectMeta(name="traefik", namespace=KUBE_SYSTEM, labels=self.labels),
            body={"spec": {"valuesContent": values}},
        )

    def _health_check(self) -> KubeObject:
        """A partial argocd-cm applied with root.yaml: `kubectl apply` merges its one key into
        the ConfigMap the Argo CD install created."""
        labels = {NAME: ARGOCD_CM, PART_OF: ARGOCD_PART}
        return KubeObject(
            self.bootstrap,
            "ArgoCdHealthCheck",
            Gvk("v1", CONFIG_MAP.kind),
            ObjectMeta(name=ARGOCD_CM, namespace=self.props.argocd_namespace, labels=labels),
            body={"data": {APPLICATION_HEALTH_KEY: APPLICATION_HEALTH_LUA}},
        )
