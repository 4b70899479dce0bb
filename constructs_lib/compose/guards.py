"""The admission guards of one environment (root.yaml), from what K3sPlatform renders: the
Pod Security level and version of every namespace the base labels and the namespace of its
default-deny NetworkPolicy."""

from __future__ import annotations

from constructs import Construct

from constructs_lib.constructs.admission_guards import (
    PSA_ENFORCE,
    AdmissionGuards,
    AdmissionGuardsProps,
)
from constructs_lib.constructs.app_namespace import PSS_RESTRICTED
from constructs_lib.constructs.labels import standard_labels
from constructs_lib.constructs.platform.k3s_platform import K3sPlatform
from constructs_lib.constructs.trust_rules import PSA_ENFORCE_VERSION, PSA_LATEST
from constructs_lib.model.clusters import ClusterSettings
from constructs_lib.model.config import AppConfig


def pod_security_levels(platform: K3sPlatform) -> dict[str, str]:
    """Namespace -> the `enforce` level the base sets: the app namespace's, and each add-on
    namespace Argo CD creates with Pod Security labels (managedNamespaceMetadata)."""
    levels = {platform.props.app_namespace.name: PSS_RESTRICTED[PSA_ENFORCE]}
    for addon in platform.addons.values():
        level = addon.props.namespace_labels.get(PSA_ENFORCE)
        if addon.props.create_namespace and level:
            levels[addon.props.destination_namespace] = level
    return levels


def pod_security_versions(platform: K3sPlatform) -> dict[str, str]:
    """Namespace -> the `enforce-version` the base sets, for the namespaces above."""
    versions = {
        platform.props.app_namespace.name: PSS_RESTRICTED.get(PSA_ENFORCE_VERSION, PSA_LATEST)
    }
    labelled = pod_security_levels(platform)
    for addon in platform.addons.values():
        if addon.props.destination_namespace in labelled:
            version = addon.props.namespace_labels.get(PSA_ENFORCE_VERSION, PSA_LATEST)
            versions[addon.props.destination_namespace] = version
    return versions


def add_guards(
    scope: Construct, config: AppConfig, cluster: ClusterSettings, platform: K3sPlatform
) -> AdmissionGuards:
    """The ValidatingAdmissionPolicies applied with root.yaml (admission_guards.py)."""
    default_deny = platform.network_policies is not None
    return AdmissionGuards(
        scope,
        "AdmissionGuards",
        props=AdmissionGuardsProps(
            labels=standard_labels(config.app.name, "admission-guards"),
            argocd_namespace=cluster.argocd.namespace,
            pod_security=pod_security_levels(platform),
            pod_security_versions=pod_security_versions(platform),
            default_deny_namespaces=(config.app.namespace,) if default_deny else (),
        ),
    )
