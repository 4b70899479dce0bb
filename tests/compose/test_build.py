"""The composition in app.py, one environment at a time (in-process, no files)."""

from __future__ import annotations

from typing import Any

from constructs_lib.model.clusters import ClusterSettings, rehost
from constructs_lib.model.config import AppConfig
from tests.support import find


def test_every_app_object_lands_in_the_app_namespace(
    app_module: Any, example_config: AppConfig, dev_cluster: ClusterSettings
) -> None:
    env = app_module["build"](example_config, dev_cluster)
    assert env.folders["app"], "no workloads rendered"
    assert {m["metadata"]["namespace"] for m in env.folders["app"]} == {"shop"}
    assert all(m["kind"] != "Secret" for f in env.folders.values() for m in f)


def test_hosts_move_onto_the_environment_domain(
    app_module: Any, example_config: AppConfig, dev_cluster: ClusterSettings
) -> None:
    env = app_module["build"](example_config, dev_cluster)
    web = find(env.folders["app"], "Ingress", "web")
    assert [r["host"] for r in web["spec"]["rules"]] == [
        "shop.dev.example.com",
        "www.shop.dev.example.com",
    ]
    assert web["metadata"]["annotations"]["cert-manager.io/cluster-issuer"] == "letsencrypt-staging"


def test_prod_uses_the_production_issuer(
    app_module: Any, example_config: AppConfig, dev_cluster: ClusterSettings
) -> None:
    prod = dev_cluster.model_copy(
        update={"name": "prod", "domain": "example.com", "tls_issuer": "letsencrypt-production"}
    )
    env = app_module["build"](example_config, prod)
    web = find(env.folders["app"], "Ingress", "web")
    assert web["spec"]["rules"][0]["host"] == "shop.example.com"
    assert (
        web["metadata"]["annotations"]["cert-manager.io/cluster-issuer"] == "letsencrypt-production"
    )


def test_rehost() -> None:
    assert rehost("shop.example.com", "example.com", "dev.example.com") == "shop.dev.example.com"
    assert rehost("example.com", "example.com", "dev.example.com") == "dev.example.com"
    assert rehost("shop.other.org", "example.com", "dev.example.com") == "shop.other.org"
    assert rehost("notexample.com", "example.com", "dev.example.com") == "notexample.com"


def test_root_file_is_the_health_check_then_the_bootstrap_project_then_the_root_application(
    app_module: Any, example_config: AppConfig, dev_cluster: ClusterSettings
) -> None:
    env = app_module["build"](example_config, dev_cluster)
    assert [(m["kind"], m["metadata"]["name"]) for m in env.root] == [
        # The admission guards first: they check what follows (admission_guards.py).
        ("ValidatingAdmissionPolicy", "gitops-base-appprojects"),
        ("ValidatingAdmissionPolicy", "gitops-base-pod-security"),
        ("ValidatingAdmissionPolicy", "gitops-base-default-deny"),
        ("ValidatingAdmissionPolicy", "gitops-base-argocd-cm"),
        ("ValidatingAdmissionPolicy", "gitops-base-namespaces"),
        ("ValidatingAdmissionPolicyBinding", "gitops-base-appprojects"),
        ("ValidatingAdmissionPolicyBinding", "gitops-base-pod-security"),
        ("ValidatingAdmissionPolicyBinding", "gitops-base-default-deny"),
        ("ValidatingAdmissionPolicyBinding", "gitops-base-argocd-cm"),
        ("ValidatingAdmissionPolicyBinding", "gitops-base-namespaces"),
        ("ConfigMap", "argocd-cm"),  # the Application health check, so root's waves wait
        ("AppProject", "bootstrap"),
        ("AppProject", "default"),  # Argo CD's own, emptied (tests/test_addon_projects.py)
        ("Application", "root"),
    ]
    root = env.root[-1]
    assert root["spec"]["source"]["path"] == "dist/dev/argocd"
    assert root["spec"]["project"] == "bootstrap"


def test_app_project_allows_only_namespaced_kinds_in_the_app_namespace(
    app_module: Any, example_config: AppConfig, dev_cluster: ClusterSettings
) -> None:
    env = app_module["build"](example_config, dev_cluster)
    project = find(env.folders["argocd"], "AppProject", "shop")["spec"]
    assert project["clusterResourceWhitelist"] == []
    assert project["destinations"] == [
        {"namespace": "shop", "server": "https://kubernetes.default.svc"}
    ]
    assert project["sourceRepos"] == ["https://github.com/example-org/shop-gitops.git"]
    allowed = {(k["group"], k["kind"]) for k in project["namespaceResourceWhitelist"]}
    rendered = {(m["apiVersion"].rpartition("/")[0], m["kind"]) for m in env.folders["app"]}
    assert rendered <= allowed, f"rendered kinds the project refuses: {rendered - allowed}"


def test_app_application_deploys_dist_app_after_the_projects(
    app_module: Any, example_config: AppConfig, dev_cluster: ClusterSettings
) -> None:
    env = app_module["build"](example_config, dev_cluster)
    app = find(env.folders["argocd"], "Application", "shop")
    assert app["spec"]["source"]["path"] == "dist/dev/app"
    assert app["spec"]["destination"]["namespace"] == "shop"
    waves = {
        (m["kind"], m["metadata"]["name"]): int(
            m["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"]
        )
        for m in env.folders["argocd"]
    }
    assert waves[("AppProject", "shop")] < waves[("Application", "shop")]
