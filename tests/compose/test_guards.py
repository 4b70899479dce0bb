"""The admission guards of an environment follow what it renders, and nothing synced by Argo CD
may manage them."""

from __future__ import annotations

from typing import Any

from constructs_lib.compose.build import build
from constructs_lib.model.addons import ADDONS
from constructs_lib.model.clusters import ClusterSettings
from constructs_lib.model.config import AppConfig
from tests.support import with_changes
from tests.support.platform import dev_settings

POLICY = "ValidatingAdmissionPolicy"
ADMISSION_KINDS = {POLICY, "ValidatingAdmissionPolicyBinding"}


def guards(config: AppConfig, cluster: ClusterSettings) -> dict[str, dict[str, Any]]:
    env = build(config, cluster)
    return {o["metadata"]["name"]: o for o in env.root if o["kind"] == POLICY}


def test_the_guards_cover_the_namespaces_the_base_labels(
    example_config: AppConfig, dev_cluster: ClusterSettings
) -> None:
    rendered = guards(example_config, dev_cluster)
    pod_security = rendered["gitops-base-pod-security"]["spec"]
    # The app namespace and the add-on namespaces Argo CD creates; not k3s's kube-system.
    created = sorted(
        a.namespace
        for a in ADDONS.values()
        if a.installed(dev_settings()) and a.namespace != "kube-system"
    )
    assert {"cert-manager", "ingress-nginx"} <= set(created)
    names = sorted([*created, "shop"])
    assert pod_security["matchConstraints"]["resourceRules"][0]["resourceNames"] == names
    # ... each at the enforce-version its namespace is rendered with.
    version = {v["name"]: v["expression"] for v in pod_security["variables"]}["version"]
    latest = ", ".join(f'"{name}": "latest"' for name in names)
    assert version == "{" + latest + "}[object.metadata.name]"
    selector = rendered["gitops-base-default-deny"]["spec"]["matchConstraints"]
    assert selector["namespaceSelector"]["matchExpressions"][0]["values"] == ["shop"]


def test_without_network_policies_there_is_no_default_deny_guard(
    example_config: AppConfig, dev_cluster: ClusterSettings
) -> None:
    config = with_changes(example_config, features__network_policies=False)
    assert "gitops-base-default-deny" not in guards(config, dev_cluster)


def test_the_guards_are_in_root_yaml_only_and_no_project_may_manage_them(
    example_config: AppConfig, dev_cluster: ClusterSettings
) -> None:
    env = build(example_config, dev_cluster)
    for objects in env.folders.values():
        assert not [o for o in objects if o["kind"] in ADMISSION_KINDS]
    # The guards come first in root.yaml: applied before what they check.
    assert [o["kind"] for o in env.root[:10]] == [POLICY] * 5 + [f"{POLICY}Binding"] * 5
    projects = [o for o in [*env.root, *env.folders["argocd"]] if o["kind"] == "AppProject"]
    for project in projects:
        spec = project["spec"]
        for field in ("clusterResourceWhitelist", "namespaceResourceWhitelist"):
            for entry in spec.get(field) or []:
                # Add-on charts bring webhook configurations, never admission policies.
                assert entry["kind"] not in ADMISSION_KINDS, project
                assert "*" not in entry["group"] + entry["kind"], project
