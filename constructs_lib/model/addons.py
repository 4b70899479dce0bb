"""The platform add-ons: the one catalogue of the Helm charts K3sPlatform can install.

Each entry is everything the base knows about one add-on: its chart, namespace and sync wave,
the Pod Security level of the namespace Argo CD creates for it, its Helm values (a function of
the environment's settings), the kinds the pinned chart renders (its AppProject allows those
and nothing else) and what switches it on. K3sPlatform renders each installed entry's
Application and AppProject, the config refuses an app named or namespaced like an add-on
(`names.py`), and the tests read their lists of add-ons from here. It is plain data, read by
the model and the constructs alike, as the catalogue of workload kinds is.

Outside this file an add-on takes its pin (Helm repository and exact version) in
platform/versions.yaml, which Renovate updates; the SHA-256 of the chart package in
tests/e2e/charts.sha256; and its section in docs/how-to/platform-addons.md (CONTRIBUTING.md,
"A new add-on").

The kinds are read from the charts themselves, rendered as Argo CD's repo-server renders them
(`helm template --include-crds` with the values below), at `kinds.version`; cluster-scoped
objects by name (the project allows those objects only).
`tests/model/test_addons.py` fails when platform/versions.yaml pins another version, and
`tests/e2e/addon_kinds.py` re-derives the lists from the charts:

    HELM=/path/to/helm CHARTS_DIR=/path/to/charts .venv/bin/python -m tests.e2e.addon_kinds

An overlay may set only the Helm values an entry lists in `overlay_values` (resources and
scheduling hints, never an image, a snippet or a privilege; the trust rule set,
constructs/trust_rules.py, reads them); the kinds they make the chart render (a
PodDisruptionBudget with more replicas, say) are in `kinds` already, and
tests/e2e/addon_kinds.py renders each chart with them set.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from constructs_lib.model.value_types import PodSecurityLevel

KUBE_SYSTEM = "kube-system"
ADDON_PROJECT_PREFIX = "addon-"


def addon_project(name: str) -> str:
    """Name of the AppProject of the add-on Application `name`."""
    return f"{ADDON_PROJECT_PREFIX}{name}"


@dataclass(frozen=True)
class Kind:
    """An API group and kind, as AppProject allowlists name them ('' is the core group),
    optionally one object's name."""

    group: str
    kind: str
    name: str | None = None
    """Only the object of this name (cluster-scoped entries only: Argo CD 3.5 matches a
    `clusterResourceWhitelist` entry's `name`; its namespaced whitelist has none).
    @default every object of the kind"""

    def named(self, *names: str) -> tuple[Kind, ...]:
        """One entry of this kind per name."""
        return tuple(Kind(self.group, self.kind, name) for name in names)


# Kinds several charts render.
CONFIG_MAP = Kind("", "ConfigMap")
SERVICE = Kind("", "Service")
SERVICE_ACCOUNT = Kind("", "ServiceAccount")
DAEMON_SET = Kind("apps", "DaemonSet")
DEPLOYMENT = Kind("apps", "Deployment")
JOB = Kind("batch", "Job")
CRD = Kind("apiextensions.k8s.io", "CustomResourceDefinition")
MUTATING_WEBHOOK = Kind("admissionregistration.k8s.io", "MutatingWebhookConfiguration")
VALIDATING_WEBHOOK = Kind("admissionregistration.k8s.io", "ValidatingWebhookConfiguration")
CLUSTER_ROLE = Kind("rbac.authorization.k8s.io", "ClusterRole")
CLUSTER_ROLE_BINDING = Kind("rbac.authorization.k8s.io", "ClusterRoleBinding")
RBAC = (Kind("rbac.authorization.k8s.io", "Role"), Kind("rbac.authorization.k8s.io", "RoleBinding"))
PDB = Kind("policy", "PodDisruptionBudget")
# Helm values an overlay may set on most charts: resources and scheduling hints.
SCHEDULING = ("nodeSelector", "tolerations", "affinity", "topologySpreadConstraints")


def under(prefix: str, *keys: str) -> tuple[str, ...]:
    """`prefix.key` for each key."""
    return tuple(f"{prefix}.{key}" for key in keys)


@dataclass(frozen=True)
class PlatformIngress:
    """The ingress controller and how clients reach it on a node without a cloud LB."""

    controller: Literal["nginx", "traefik"]
    """nginx: the ingress-nginx chart; traefik: the one k3s bundles."""
    exposure: Literal["node-ports", "service-lb"]
    """node-ports: a NodePort Service (a router forwards 80/443 to the node ports);
    service-lb: a LoadBalancer Service, which k3s's ServiceLB binds on ports 80 and 443 of
    every node."""
    http_node_port: int
    https_node_port: int
    publish_status_address: tuple[str, ...]
    """Node IPs written into Ingress status; none leaves it empty."""


@dataclass(frozen=True)
class PlatformSettings:
    """The environment's settings the platform depends on: which add-ons it installs, their
    values, and how the ingress controller is reached. The composition fills every field from
    the config and clusters/<env>/cluster.yaml, whose models hold the defaults."""

    ingress: PlatformIngress
    csi_token_audience: str
    """Audience of the tokens the CSI driver requests for providers."""
    sealed_secrets: bool
    """Install the sealed-secrets controller."""


@dataclass(frozen=True)
class AddonKinds:
    """The kinds one chart renders, at one version."""

    version: str
    """Chart version the lists were read from."""
    cluster: tuple[Kind, ...]
    """Cluster-scoped objects, one entry per kind and name."""
    namespaced: tuple[Kind, ...]
    other_namespaces: tuple[str, ...] = ()
    """Namespaces other than the release's that the chart renders objects into. @default none"""


def always(settings: PlatformSettings) -> bool:
    """Installed in every environment."""
    return True


def chart_defaults(settings: PlatformSettings) -> dict[str, Any]:
    """No values: the chart's own defaults."""
    return {}


@dataclass(frozen=True)
class Addon:
    """One add-on: a pinned Helm chart, the Application that installs it and its AppProject."""

    name: str
    """The chart's name in its repository; also the name of its pin in
    platform/versions.yaml, of the Application and Helm release, and of the AppProject
    `addon-<name>`."""
    namespace: str
    """Namespace of the release. Argo CD creates it, unless it is kube-system."""
    kinds: AddonKinds
    pod_security: PodSecurityLevel | None = None
    """Pod Security level of the namespace Argo CD creates: the strictest every pod of the
    chart passes (tests/e2e/test_addon_pod_security.py). Required then; kube-system keeps
    k3s's own settings (SECURITY.md). @default none (kube-system only)"""
    values: Callable[[PlatformSettings], dict[str, Any]] = chart_defaults
    """helm.valuesObject. @default the chart's own defaults"""
    sync_wave: str = "1"
    """Order among the root's children. @default 1 (controllers and CRDs)"""
    server_side_apply: bool = False
    """Sync with server-side apply (CRDs too large for the last-applied annotation).
    @default False"""
    installed: Callable[[PlatformSettings], bool] = always
    """Whether an environment installs it: its switch in clusters/<env>/cluster.yaml.
    @default always"""
    overlay_values: tuple[str, ...] = ()
    """Helm value keys (dotted, as `helm --set` names them) an overlay may set, each with
    everything below it: resources, replicas and scheduling hints. Never an image, a snippet,
    a namespace or a privilege. @default none"""

    @property
    def creates_namespace(self) -> bool:
        """Argo CD creates the release namespace (CreateNamespace=true)."""
        return self.namespace != KUBE_SYSTEM

    @property
    def optional(self) -> bool:
        """Some environments do without it."""
        return self.installed is not always


def ingress_nginx_values(settings: PlatformSettings) -> dict[str, Any]:
    """ingress-nginx on node ports or behind k3s's ServiceLB; Ingress status from
    publish-status-address, or from the load balancer's (chart 4.15.1)."""
    ingress = settings.ingress
    service_lb = ingress.exposure == "service-lb"
    controller: dict[str, Any] = {
        # The IngressClass the Ingresses name: the controller's name (nginx).
        "ingressClassResource": {"name": ingress.controller, "enabled": True, "default": True},
        # The chart pins the node ports for both types; ServiceLB listens on the Service's
        # ports, 80 and 443 (the chart's default).
        "service": {
            "type": "LoadBalancer" if service_lb else "NodePort",
            "nodePorts": {"http": ingress.http_node_port, "https": ingress.https_node_port},
        },
    }
    if ingress.publish_status_address or not service_lb:
        # --publish-service and --publish-status-address are mutually exclusive; a NodePort
        # Service has no load-balancer status to publish anyway. Behind ServiceLB without an
        # address given, the chart's default publishes the addresses ServiceLB reports.
        controller["publishService"] = {"enabled": False}
    if ingress.publish_status_address:
        address = ",".join(ingress.publish_status_address)
        controller["extraArgs"] = {"publish-status-address": address}
    return {"controller": controller}


def traefik_values(settings: PlatformSettings) -> dict[str, Any]:
    """Values for k3s's bundled Traefik chart, through its HelmChartConfig (keys stable from
    chart 34 to 41). k3s already serves Traefik's LoadBalancer Service with ServiceLB on 80
    and 443; service-lb says so explicitly, node-ports pins the node ports a router forwards
    to."""
    ingress = settings.ingress
    values: dict[str, Any] = {
        "ports": {
            "web": {"nodePort": ingress.http_node_port},
            "websecure": {"nodePort": ingress.https_node_port},
        }
    }
    if ingress.exposure == "service-lb":
        values["service"] = {"type": "LoadBalancer"}
    if ingress.publish_status_address:
        values["providers"] = {"kubernetesIngress": {"publishedService": {"enabled": False}}}
        values["additionalArguments"] = [
            f"--providers.kubernetesingress.ingressendpoint.ip={ingress.publish_status_address[0]}"
        ]
    return values


def csi_driver_values(settings: PlatformSettings) -> dict[str, Any]:
    """Secrets synced into Secrets and rotated; tokens for the providers, with their audience."""
    return {
        "syncSecret": {"enabled": True},
        "enableSecretRotation": True,
        "rotationPollInterval": "2m",
        "tokenRequests": [{"audience": settings.csi_token_audience}],
    }


def catalogue(*addons: Addon) -> dict[str, Addon]:
    """The add-ons by name; refuses a name listed twice, a namespace Argo CD would create
    without a Pod Security level, and a cluster-scoped kind that names no object."""
    by_name: dict[str, Addon] = {}
    for addon in addons:
        if addon.name in by_name:
            raise ValueError(f"add-on '{addon.name}' is listed twice")
        if addon.creates_namespace and addon.pod_security is None:
            raise ValueError(
                f"add-on '{addon.name}': Argo CD creates namespace '{addon.namespace}', "
                "so it needs a pod_security level"
            )
        unnamed = [k.kind for k in addon.kinds.cluster if not k.name]
        if unnamed:
            raise ValueError(
                f"add-on '{addon.name}': cluster-scoped kind {unnamed[0]} needs the names the "
                "chart renders"
            )
        by_name[addon.name] = addon
    return by_name


# cert-manager's controllers' ClusterRoles, each bound to its service account.
CERT_MANAGER_BOUND_ROLES = (
    "cert-manager-cainjector",
    "cert-manager-controller-approve:cert-manager-io",
    "cert-manager-controller-certificates",
    "cert-manager-controller-certificatesigningrequests",
    "cert-manager-controller-challenges",
    "cert-manager-controller-clusterissuers",
    "cert-manager-controller-ingress-shim",
    "cert-manager-controller-issuers",
    "cert-manager-controller-orders",
    "cert-manager-webhook:subjectaccessreviews",
)

ADDONS: dict[str, Addon] = catalogue(
    Addon(
        name="ingress-nginx",
        namespace="ingress-nginx",
        pod_security="restricted",
        values=ingress_nginx_values,
        installed=lambda settings: settings.ingress.controller == "nginx",
        kinds=AddonKinds(
            version="4.15.1",
            cluster=(
                *VALIDATING_WEBHOOK.named("ingress-nginx-admission"),
                *Kind("networking.k8s.io", "IngressClass").named("nginx"),
                *CLUSTER_ROLE.named("ingress-nginx", "ingress-nginx-admission"),
                *CLUSTER_ROLE_BINDING.named("ingress-nginx", "ingress-nginx-admission"),
            ),
            # The disruption budget comes with controller.replicaCount above 1.
            namespaced=(CONFIG_MAP, SERVICE, SERVICE_ACCOUNT, DEPLOYMENT, JOB, PDB, *RBAC),
        ),
        overlay_values=under(
            "controller", "replicaCount", "resources", "priorityClassName", *SCHEDULING
        ),
    ),
    Addon(
        name="cert-manager",
        namespace="cert-manager",
        pod_security="restricted",
        # The chart installs the CRDs (`installCRDs` is deprecated) and keeps them, and with
        # them every Certificate, when the Application is deleted.
        values=lambda settings: {"crds": {"enabled": True, "keep": True}},
        server_side_apply=True,
        kinds=AddonKinds(
            version="v1.21.1",
            cluster=(
                *MUTATING_WEBHOOK.named("cert-manager-webhook"),
                *VALIDATING_WEBHOOK.named("cert-manager-webhook"),
                *CRD.named(
                    "certificaterequests.cert-manager.io",
                    "certificates.cert-manager.io",
                    "challenges.acme.cert-manager.io",
                    "clusterissuers.cert-manager.io",
                    "issuers.cert-manager.io",
                    "orders.acme.cert-manager.io",
                ),
                *CLUSTER_ROLE.named(
                    *CERT_MANAGER_BOUND_ROLES,
                    "cert-manager-cluster-view",
                    "cert-manager-edit",
                    "cert-manager-view",
                ),
                *CLUSTER_ROLE_BINDING.named(*CERT_MANAGER_BOUND_ROLES),
            ),
            namespaced=(SERVICE, SERVICE_ACCOUNT, DEPLOYMENT, JOB, *RBAC),
            # Its leader-election Roles only (global.leaderElection.namespace is not an
            # overlay value, so the chart keeps them there).
            other_namespaces=(KUBE_SYSTEM,),
        ),
        overlay_values=(
            "replicaCount",
            "resources",
            "global.priorityClassName",
            *SCHEDULING,
            *(
                key
                for part in ("webhook", "cainjector")
                for key in under(part, "replicaCount", "resources", *SCHEDULING)
            ),
        ),
    ),
    Addon(
        name="secrets-store-csi-driver",
        namespace=KUBE_SYSTEM,
        values=csi_driver_values,
        kinds=AddonKinds(
            version="1.6.0",
            cluster=(
                *CRD.named(
                    "secretproviderclasses.secrets-store.csi.x-k8s.io",
                    "secretproviderclasspodstatuses.secrets-store.csi.x-k8s.io",
                ),
                *CLUSTER_ROLE.named(
                    "secretproviderclasses-admin-role",
                    "secretproviderclasses-role",
                    "secretproviderclasses-viewer-role",
                    "secretproviderclasspodstatuses-viewer-role",
                    "secretprovidersyncing-role",
                    "secrets-store-csi-driver-keep-crds",
                    "secrets-store-csi-driver-upgrade-crds",
                ),
                *CLUSTER_ROLE_BINDING.named(
                    "secretproviderclasses-rolebinding",
                    "secretprovidersyncing-rolebinding",
                    "secrets-store-csi-driver-keep-crds",
                    "secrets-store-csi-driver-upgrade-crds",
                ),
                *Kind("storage.k8s.io", "CSIDriver").named("secrets-store.csi.k8s.io"),
            ),
            namespaced=(SERVICE_ACCOUNT, DAEMON_SET, JOB),
        ),
        overlay_values=(
            "rotationPollInterval",
            *under("linux", "driver.resources", "registrar.resources", "livenessProbe.resources"),
            *under("linux", "priorityClassName", "nodeSelector", "tolerations", "affinity"),
        ),
    ),
    # The chart puts the provider's socket under /etc/kubernetes/secrets-store-csi-providers,
    # which the driver chart (1.6.0) watches by default (linux.additionalProvidersDirs).
    Addon(
        name="infisical-csi-provider",
        namespace=KUBE_SYSTEM,
        sync_wave="2",  # plugs into the CSI driver
        kinds=AddonKinds(
            version="0.2.3",
            cluster=(
                *CLUSTER_ROLE.named("infisical-csi-provider"),
                *CLUSTER_ROLE_BINDING.named("infisical-csi-provider"),
            ),
            namespaced=(SERVICE_ACCOUNT, DAEMON_SET),
        ),
        overlay_values=("resources", "nodeSelector", "tolerations"),
    ),
    Addon(
        name="sealed-secrets",
        namespace=KUBE_SYSTEM,
        # kubeseal looks for this controller name in kube-system by default.
        values=lambda settings: {"fullnameOverride": "sealed-secrets-controller"},
        installed=lambda settings: settings.sealed_secrets,
        kinds=AddonKinds(
            version="2.18.5",
            cluster=(
                *CRD.named("sealedsecrets.bitnami.com"),
                *CLUSTER_ROLE.named("secrets-unsealer"),
                *CLUSTER_ROLE_BINDING.named("sealed-secrets-controller"),
            ),
            namespaced=(SERVICE, SERVICE_ACCOUNT, DEPLOYMENT, *RBAC),
        ),
        overlay_values=("resources", "priorityClassName", *SCHEDULING),
    ),
)
"""Every add-on by name, in the order K3sPlatform renders them."""
