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
(`helm template --include-crds` with the values below), at `kinds.version`.
`tests/model/test_addons.py` fails when platform/versions.yaml pins another version, and
`tests/e2e/addon_kinds.py` re-derives the lists from the charts:

    HELM=/path/to/helm CHARTS_DIR=/path/to/charts .venv/bin/python -m tests.e2e.addon_kinds

Values an overlay adds to a chart may render more kinds (a PodDisruptionBudget with more
replicas, say); the overlay then patches that add-on's AppProject too.
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
    """An API group and kind, as AppProject allowlists name them ('' is the core group)."""

    group: str
    kind: str


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
CLUSTER_RBAC = (
    Kind("rbac.authorization.k8s.io", "ClusterRole"),
    Kind("rbac.authorization.k8s.io", "ClusterRoleBinding"),
)
RBAC = (Kind("rbac.authorization.k8s.io", "Role"), Kind("rbac.authorization.k8s.io", "RoleBinding"))


@dataclass(frozen=True)
class PlatformIngress:
    """The ingress controller and how clients reach it on a node without a cloud LB."""

    controller: Literal["nginx", "traefik"]
    """nginx: the ingress-nginx chart; traefik: the one k3s bundles."""
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

    @property
    def creates_namespace(self) -> bool:
        """Argo CD creates the release namespace (CreateNamespace=true)."""
        return self.namespace != KUBE_SYSTEM

    @property
    def optional(self) -> bool:
        """Some environments do without it."""
        return self.installed is not always


def ingress_nginx_values(settings: PlatformSettings) -> dict[str, Any]:
    """ingress-nginx on node ports, status from publish-status-address (chart 4.15.1)."""
    ingress = settings.ingress
    controller: dict[str, Any] = {
        # The IngressClass the Ingresses name: the controller's name (nginx).
        "ingressClassResource": {"name": ingress.controller, "enabled": True, "default": True},
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


def csi_driver_values(settings: PlatformSettings) -> dict[str, Any]:
    """Secrets synced into Secrets and rotated; tokens for the providers, with their audience."""
    return {
        "syncSecret": {"enabled": True},
        "enableSecretRotation": True,
        "rotationPollInterval": "2m",
        "tokenRequests": [{"audience": settings.csi_token_audience}],
    }


def catalogue(*addons: Addon) -> dict[str, Addon]:
    """The add-ons by name; refuses a name listed twice and a namespace Argo CD would create
    without a Pod Security level."""
    by_name: dict[str, Addon] = {}
    for addon in addons:
        if addon.name in by_name:
            raise ValueError(f"add-on '{addon.name}' is listed twice")
        if addon.creates_namespace and addon.pod_security is None:
            raise ValueError(
                f"add-on '{addon.name}': Argo CD creates namespace '{addon.namespace}', "
                "so it needs a pod_security level"
            )
        by_name[addon.name] = addon
    return by_name


ADDONS: dict[str, Addon] = catalogue(
    Addon(
        name="ingress-nginx",
        namespace="ingress-nginx",
        pod_security="restricted",
        values=ingress_nginx_values,
        installed=lambda settings: settings.ingress.controller == "nginx",
        kinds=AddonKinds(
            version="4.15.1",
            cluster=(VALIDATING_WEBHOOK, Kind("networking.k8s.io", "IngressClass"), *CLUSTER_RBAC),
            namespaced=(CONFIG_MAP, SERVICE, SERVICE_ACCOUNT, DEPLOYMENT, JOB, *RBAC),
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
            cluster=(MUTATING_WEBHOOK, VALIDATING_WEBHOOK, CRD, *CLUSTER_RBAC),
            namespaced=(SERVICE, SERVICE_ACCOUNT, DEPLOYMENT, JOB, *RBAC),
            other_namespaces=(KUBE_SYSTEM,),
        ),
    ),
    Addon(
        name="secrets-store-csi-driver",
        namespace=KUBE_SYSTEM,
        values=csi_driver_values,
        kinds=AddonKinds(
            version="1.6.0",
            cluster=(CRD, *CLUSTER_RBAC, Kind("storage.k8s.io", "CSIDriver")),
            namespaced=(SERVICE_ACCOUNT, DAEMON_SET, JOB),
        ),
    ),
    # The chart puts the provider's socket under /etc/kubernetes/secrets-store-csi-providers,
    # which the driver chart (1.6.0) watches by default (linux.additionalProvidersDirs).
    Addon(
        name="infisical-csi-provider",
        namespace=KUBE_SYSTEM,
        sync_wave="2",  # plugs into the CSI driver
        kinds=AddonKinds(
            version="0.2.3", cluster=CLUSTER_RBAC, namespaced=(SERVICE_ACCOUNT, DAEMON_SET)
        ),
    ),
    Addon(
        name="sealed-secrets",
        namespace=KUBE_SYSTEM,
        # kubeseal looks for this controller name in kube-system by default.
        values=lambda settings: {"fullnameOverride": "sealed-secrets-controller"},
        installed=lambda settings: settings.sealed_secrets,
        kinds=AddonKinds(
            version="2.18.5",
            cluster=(CRD, *CLUSTER_RBAC),
            namespaced=(SERVICE, SERVICE_ACCOUNT, DEPLOYMENT, *RBAC),
        ),
    ),
)
"""Every add-on by name, in the order K3sPlatform renders them."""
