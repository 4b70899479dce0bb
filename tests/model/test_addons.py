"""The add-on catalogue (addons.py): its entries kept at the pinned chart versions, one
least-privilege AppProject per add-on, and a locked `default` project."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from pydantic import ValidationError

from constructs_lib.compose.build import build
from constructs_lib.model.addons import (
    ADDONS,
    CLUSTER_ROLE_BINDING,
    KUBE_SYSTEM,
    Addon,
    AddonKinds,
    catalogue,
)
from constructs_lib.model.clusters import ClusterSettings
from constructs_lib.model.config import AppConfig
from constructs_lib.model.versions import load_versions
from tests.support import with_changes
from tests.support.platform import dev_settings, render_platform


def kinds(entries: list[dict[str, str]]) -> set[tuple[str, str]]:
    return {(e["group"], e["kind"]) for e in entries}


def test_every_addon_is_pinned_and_every_pin_is_an_addon() -> None:
    assert set(load_versions().charts) == set(ADDONS)


def test_the_kinds_lists_are_read_at_the_pinned_versions() -> None:
    """A version bump (Renovate) fails here until the list is re-derived from the new chart."""
    pins = load_versions().charts
    for name, addon in ADDONS.items():
        assert addon.kinds.version == pins[name].version, (
            f"{name}: addons.py lists the kinds of {addon.kinds.version}, versions.yaml pins "
            f"{pins[name].version}; re-derive with tests/e2e/addon_kinds.py"
        )


KINDS = AddonKinds(version="1.0.0", cluster=(), namespaced=())


def test_the_catalogue_refuses_a_name_listed_twice() -> None:
    twice = Addon(name="demo", namespace=KUBE_SYSTEM, kinds=KINDS)
    with pytest.raises(ValueError, match="add-on 'demo' is listed twice"):
        catalogue(twice, twice)


def test_a_namespace_argo_cd_creates_needs_a_pod_security_level() -> None:
    """Secure by default: no add-on namespace is created without Pod Security labels."""
    with pytest.raises(ValueError, match="creates namespace 'demo', so it needs a pod_security"):
        catalogue(Addon(name="demo", namespace="demo", kinds=KINDS))
    assert catalogue(Addon(name="demo", namespace="demo", kinds=KINDS, pod_security="baseline"))


def test_a_cluster_scoped_kind_names_what_the_chart_renders() -> None:
    """A cluster-scoped entry without a name would let the add-on's project write any object
    of the kind (any ClusterRoleBinding, cluster-admin's included)."""
    unnamed = AddonKinds(version="1", cluster=(CLUSTER_ROLE_BINDING,), namespaced=())
    with pytest.raises(ValueError, match="kind ClusterRoleBinding needs the names the chart"):
        catalogue(Addon(name="demo", namespace=KUBE_SYSTEM, kinds=unnamed))
    for addon in ADDONS.values():
        assert all(k.name for k in addon.kinds.cluster), addon.name


def test_overlay_values_are_no_image_snippet_namespace_or_privilege_key() -> None:
    for addon in ADDONS.values():
        for key in addon.overlay_values:
            words = key.lower()
            assert not any(
                w in words
                for w in ("image", "snippet", "namespace", "privileged", "host", "security")
            ), (addon.name, key)


def test_the_switches() -> None:
    optional = {name for name, addon in ADDONS.items() if addon.optional}
    assert optional == {"ingress-nginx", "sealed-secrets"}
    defaults = dev_settings()
    assert not ADDONS["sealed-secrets"].installed(defaults)
    assert ADDONS["sealed-secrets"].installed(dataclasses.replace(defaults, sealed_secrets=True))
    assert ADDONS["ingress-nginx"].installed(defaults)


@pytest.mark.parametrize("name", sorted(ADDONS))
def test_an_app_may_not_take_an_addons_name_or_namespace(config: AppConfig, name: str) -> None:
    """Every add-on of the catalogue, optional ones included: the config refuses an app that
    would overwrite its Application or project, or run in its namespace, naming the field."""
    addon = ADDONS[name]
    for field, value in (
        ("name", name),
        ("name", f"addon-{name}"),
        ("namespace", addon.namespace),
    ):
        with pytest.raises(ValidationError) as caught:
            with_changes(config, **{f"app__{field}": value})
        [error] = caught.value.errors()
        assert error["loc"] == ("app", field)
        assert f"'{value}' is reserved" in error["msg"]


def test_each_addon_has_its_own_project(config: AppConfig, cluster: ClusterSettings) -> None:
    cluster = with_changes(cluster, sealed_secrets=True, argocd__self_managed=True)
    rendered = render_platform(config, cluster)
    pins = load_versions().charts
    apps = [m for m in rendered.delivery if m["kind"] == "Application" and m["spec"].get("source")]
    addons = [a for a in apps if "chart" in a["spec"]["source"]]
    # Every chart; the self-managed Argo CD is a manifest, in its own project (addon-argocd).
    assert sorted(a["metadata"]["name"] for a in addons) == sorted(ADDONS)
    for app in addons:
        chart, name = app["spec"]["source"]["chart"], app["metadata"]["name"]
        project: dict[str, Any] = rendered.find("AppProject", f"addon-{name}")["spec"]
        assert app["spec"]["project"] == f"addon-{name}"
        assert project["sourceRepos"] == [pins[chart].repo]
        namespace = app["spec"]["destination"]["namespace"]
        listed = ADDONS[name].kinds
        assert {d["namespace"] for d in project["destinations"]} == {
            namespace,
            *listed.other_namespaces,
        }
        cluster_kinds = {(k.group, k.kind) for k in listed.cluster}
        if namespace != "kube-system":  # Argo CD creates the namespace (CreateNamespace=true)
            cluster_kinds.add(("", "Namespace"))
        assert kinds(project["clusterResourceWhitelist"]) == cluster_kinds
        assert kinds(project["namespaceResourceWhitelist"]) == {
            (k.group, k.kind) for k in listed.namespaced
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


def test_an_addon_never_shares_the_app_namespace(
    config: AppConfig, cluster: ClusterSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The app namespace's baseline (default-deny, quota) would stop the add-on: refused, for
    any add-on of the catalogue (the config model reserves the shipped ones' namespaces)."""
    demo = Addon(name="demo", namespace=config.app.namespace, pod_security="baseline", kinds=KINDS)
    monkeypatch.setattr("constructs_lib.constructs.platform.k3s_platform.ADDONS", catalogue(demo))
    with pytest.raises(ValueError, match="add-on 'demo' installs into namespace 'shop', the app's"):
        render_platform(config, cluster)
