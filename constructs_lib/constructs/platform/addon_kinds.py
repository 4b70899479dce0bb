"""What each pinned add-on chart renders: the kinds its AppProject allows, and nothing else.

Read from the charts themselves, rendered as Argo CD's repo-server renders them (`helm template
--include-crds` with the values the base sets, see `dist/<env>/argocd/application-*.yaml`) at
the version in `version`. `tests/test_addon_kinds.py` fails when platform/versions.yaml pins
another version, and `tests/e2e/addon_kinds.py` re-derives this table from the charts:

    HELM=/path/to/helm CHARTS_DIR=/path/to/charts .venv/bin/python -m tests.e2e.addon_kinds

Values an overlay adds to a chart may render more kinds (a PodDisruptionBudget with more
replicas, say); the overlay then patches that add-on's AppProject too.
"""

from __future__ import annotations

from dataclasses import dataclass

from constructs_lib.constructs.argocd.application import Kind as K


@dataclass(frozen=True)
class AddonKinds:
    """The kinds one chart renders, at one version."""

    version: str
    """Chart version the lists were read from."""
    cluster: tuple[K, ...]
    namespaced: tuple[K, ...]
    other_namespaces: tuple[str, ...] = ()
    """Namespaces other than the release's that the chart renders objects into."""


ADDON_KINDS: dict[str, AddonKinds] = {
    "ingress-nginx": AddonKinds(
        version="4.15.1",
        cluster=(
            K("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
            K("networking.k8s.io", "IngressClass"),
            K("rbac.authorization.k8s.io", "ClusterRole"),
            K("rbac.authorization.k8s.io", "ClusterRoleBinding"),
        ),
        namespaced=(
            K("", "ConfigMap"),
            K("", "Service"),
            K("", "ServiceAccount"),
            K("apps", "Deployment"),
            K("batch", "Job"),
            K("rbac.authorization.k8s.io", "Role"),
            K("rbac.authorization.k8s.io", "RoleBinding"),
        ),
    ),
    "cert-manager": AddonKinds(
        version="v1.21.1",
        cluster=(
            K("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
            K("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
            K("apiextensions.k8s.io", "CustomResourceDefinition"),
            K("rbac.authorization.k8s.io", "ClusterRole"),
            K("rbac.authorization.k8s.io", "ClusterRoleBinding"),
        ),
        namespaced=(
            K("", "Service"),
            K("", "ServiceAccount"),
            K("apps", "Deployment"),
            K("batch", "Job"),
            K("rbac.authorization.k8s.io", "Role"),
            K("rbac.authorization.k8s.io", "RoleBinding"),
        ),
        other_namespaces=("kube-system",),
    ),
    "secrets-store-csi-driver": AddonKinds(
        version="1.6.0",
        cluster=(
            K("apiextensions.k8s.io", "CustomResourceDefinition"),
            K("rbac.authorization.k8s.io", "ClusterRole"),
            K("rbac.authorization.k8s.io", "ClusterRoleBinding"),
            K("storage.k8s.io", "CSIDriver"),
        ),
        namespaced=(
            K("", "ServiceAccount"),
            K("apps", "DaemonSet"),
            K("batch", "Job"),
        ),
    ),
    "infisical-csi-provider": AddonKinds(
        version="0.2.3",
        cluster=(
            K("rbac.authorization.k8s.io", "ClusterRole"),
            K("rbac.authorization.k8s.io", "ClusterRoleBinding"),
        ),
        namespaced=(
            K("", "ServiceAccount"),
            K("apps", "DaemonSet"),
        ),
    ),
    "sealed-secrets": AddonKinds(
        version="2.18.5",
        cluster=(
            K("apiextensions.k8s.io", "CustomResourceDefinition"),
            K("rbac.authorization.k8s.io", "ClusterRole"),
            K("rbac.authorization.k8s.io", "ClusterRoleBinding"),
        ),
        namespaced=(
            K("", "Service"),
            K("", "ServiceAccount"),
            K("apps", "Deployment"),
            K("rbac.authorization.k8s.io", "Role"),
            K("rbac.authorization.k8s.io", "RoleBinding"),
        ),
    ),
}
