"""The admission guards of one environment (root.yaml), from what K3sPlatform renders: the
Pod Security level and version of every namespace the base labels and the namespace of its
default-deny NetworkPolicy."""

from __future__ import annotations

from constructs import Construct

from constructs_lib.constructs.admission_guards import AdmissionGuards, AdmissionGuardsProps
from constructs_lib.constructs.app_namespace import PSS_RESTRICTED
from constructs_lib.constructs.labels import standard_labels
from constructs_lib.constructs.platform.k3s_platform import K3sPlatform
from constructs_lib.constructs.security import pod_security_labels
from constructs_lib.constructs.trust_rules import PSA_ENFORCE, PSA_ENFORCE_VERSION, PSA_LATEST
from constructs_lib.model.clusters import ClusterSettings
from constructs_lib.model.config import AppConfig


def pod_security_labels_by_namespace(platform: K3sPlatform) -> dict[str, dict[str, str]]:
    """Namespace -> the Pod Security labels the base sets: the app namespace's, and each
    add-on namespace Argo CD creates with Pod Security labels (managedNamespaceMetadata)."""
    labelled = {platform.props.app_namespace.name: PSS_RESTRICTED}
    for addon in platform.addons.values():
        if addon.creates_namespace and addon.pod_security:
            labelled[addon.namespace] = pod_security_labels(addon.pod_security)
    return labelled


def add_guards(
    scope: Construct, config: AppConfig, cluster: ClusterSettings, platform: K3sPlatform
) -> AdmissionGuards:
    """The ValidatingAdmissionPolicies applied with root.yaml (admission_guards.py)."""
    default_deny = platform.network_policies is not None
    labelled = pod_security_labels_by_namespace(platform)
    return AdmissionGuards(
        scope,
        "AdmissionGuards",
        props=AdmissionGuardsProps(
            labels=standard_labels(config.app.name, "admission-guards"),
            argocd_namespace=cluster.argocd.namespace,
            pod_security={ns: labels[PSA_ENFORCE] for ns, labels in labelled.items()},
            pod_security_versions={
                ns: labels.get(PSA_ENFORCE_VERSION, PSA_LATEST) for ns, labels in labelled.items()
            },
            default_deny_namespaces=(config.app.namespace,) if default_deny else (),
        ),
    )
