"""One least-privilege AppProject per add-on chart, a locked `default` project, and the kinds
list (addon_kinds.py) kept at the pinned chart versions."""

from __future__ import annotations

from typing import Any

from constructs_lib.compose.build import build
from constructs_lib.constructs.platform.addon_kinds import ADDON_KINDS
from constructs_lib.model.clusters import ClusterSettings
from constructs_lib.model.config import AppConfig
from constructs_lib.model.versions import load_versions
from tests.support import with_changes
from tests.support.platform import render_platform


def kinds(entries: list[dict[str, str]]) -> set[tuple[str, str]]:
    return {(e["group"], e["kind"]) for e in entries}


def test_the_kinds_list_is_read_at_the_pinned_versions() -> None:
    """A version bump (Renovate) fails here until the list is re-derived from the new chart."""
    pins = load_versions().charts
    assert set(ADDON_KINDS) == set(pins)
    for chart, listed in ADDON_KINDS.items():
        assert listed.version == pins[chart].version, (
            f"{chart}: addon_kinds.py lists {listed.version}, versions.yaml pins "
            f"{pins[chart].version}; re-derive with tests/e2e/addon_kinds.py"
        )


def test_each_addon_has_its_own_project(config: AppConfig, cluster: ClusterSettings) -> None:
    cluster = with_changes(cluster, sealed_secrets=True, argocd__self_managed=True)
    rendered = render_platform(config, cluster)
    pins = load_versions().charts
    apps = [m for m in rendered.delivery if m["kind"] == "Application" and m["spec"].get("source")]
    addons = [a for a in apps if "chart" in a["spec"]["source"]]
    # Five charts; the self-managed Argo CD is a manifest, in its own project (addon-argocd).
    assert len(addons) == 5
    for app in addons:
        chart, name = app["spec"]["source"]["chart"], app["metadata"]["name"]
        project: dict[str, Any] = rendered.find("AppProject", f"addon-{name}")["spec"]
        assert app["spec"]["project"] == f"addon-{name}"
        assert project["sourceRepos"] == [pins[chart].repo]
        namespace = app["spec"]["destination"]["namespace"]
        expected = {namespace, *ADDON_KINDS[chart].other_namespaces}
        assert {d["namespace"] for d in project["destinations"]} == expected
        cluster_kinds = {(k.group, k.kind) for k in ADDON_KINDS[chart].cluster}
        if namespace != "kube-system":  # Argo CD creates the namespace (CreateNamespace=true)
            cluster_kinds.add(("", "Namespace"))
        assert kinds(project["clusterResourceWhitelist"]) == cluster_kinds
        assert kinds(project["namespaceResourceWhitelist"]) == {
            (k.group, k.kind) for k in ADDON_KINDS[chart].namespaced
        }
    # The CSI provider's project may not create CRDs or webhooks; only the CSI driver's may
    # create the CSIDriver.
    provider = rendered.find("AppProject", "addon-infisical-csi-provider")["spec"]
    assert kinds(provider["clusterResourceWhitelist"]) == {
        ("rbac.authorization.k8s.io", "ClusterRole"),
        ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    }


def test_root_locks_argo_cds_default_project(
    example_config: AppConfig, dev_cluster: ClusterSettings
) -> None:
    root = build(example_config, dev_cluster).root
    locked = [m for m in root if m["kind"] == "AppProject" and m["metadata"]["name"] == "default"]
    assert len(locked) == 1
    spec = locked[0]["spec"]
    assert spec["sourceRepos"] == [] and spec["destinations"] == []
    assert spec["clusterResourceWhitelist"] == []
    assert spec["namespaceResourceBlacklist"] == [{"group": "*", "kind": "*"}]
    # Applied before the Application that names its own project (after the admission guards).
    assert [m["kind"] for m in root if not m["kind"].startswith("ValidatingAdmission")] == [
        "ConfigMap",
        "AppProject",
        "AppProject",
        "Application",
    ]
