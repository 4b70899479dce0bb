from __future__ import annotations

import pytest
import yaml

from constructs_lib.constructs.platform.k3s_platform import (
    APPLICATION_HEALTH_KEY,
    PLATFORM_CLUSTER_KINDS,
    PLATFORM_NAMESPACED_KINDS,
)
from constructs_lib.model.addons import ADDONS
from constructs_lib.model.clusters import ClusterSettings
from constructs_lib.model.config import AppConfig
from constructs_lib.model.versions import ARGOCD_REPO, load_versions
from constructs_lib.render.schema_check import validate_manifest
from tests.support import load_cluster, with_changes
from tests.support.platform import dev_settings, render_platform


def test_default_addons_are_those_the_catalogue_installs_by_default(
    config: AppConfig, cluster: ClusterSettings
) -> None:
    defaults = [name for name, a in ADDONS.items() if a.installed(dev_settings())]
    assert {"ingress-nginx", "cert-manager", "secrets-store-csi-driver"} <= set(defaults)
    assert "sealed-secrets" not in defaults
    rendered = render_platform(config, cluster)
    assert rendered.names("Application") == sorted([*defaults, "platform"])


@pytest.mark.parametrize("env", ["dev", "test", "prod"])
@pytest.mark.parametrize("exposure", ["node-ports", "service-lb"])
@pytest.mark.parametrize("controller", ["nginx", "traefik"])
def test_everything_validates(config: AppConfig, env: str, controller: str, exposure: str) -> None:
    cluster = with_changes(
        load_cluster(env),
        sealed_secrets=True,
        argocd__self_managed=True,
        ingress__controller=controller,
        ingress__exposure=exposure,
    )
    rendered = render_platform(config, cluster)
    assert ("HelmChartConfig" in {m["kind"] for m in rendered.all}) == (controller == "traefik")
    for manifest in rendered.all:
        assert validate_manifest(manifest) == [], manifest["metadata"]["name"]


def test_every_addon_uses_its_pinned_chart(config: AppConfig, cluster: ClusterSettings) -> None:
    cluster = with_changes(cluster, sealed_secrets=True, argocd__self_managed=True)
    rendered = render_platform(config, cluster)
    versions = load_versions()
    for chart, pin in versions.charts.items():
        source = rendered.find("Application", chart)["spec"]["source"]
        assert (source["repoURL"], source["chart"], source["targetRevision"]) == (
            pin.repo,
            chart,
            pin.version,
        )


def test_an_env_override_changes_only_that_envs_target_revision(
    config: AppConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    versions = load_versions()
    moved = versions.model_copy(update={"overrides": {"test": {"cert-manager": "v1.22.0"}}})
    monkeypatch.setattr("tests.support.platform.load_versions", lambda: moved)
    test = render_platform(config, load_cluster("test")).find("Application", "cert-manager")
    prod = render_platform(config, load_cluster("prod")).find("Application", "cert-manager")
    assert test["spec"]["source"]["targetRevision"] == "v1.22.0"
    assert prod["spec"]["source"]["targetRevision"] == versions.charts["cert-manager"].version


def test_ingress_nginx_on_node_ports_publishes_the_node_address(
    config: AppConfig, cluster: ClusterSettings
) -> None:
    cluster = with_changes(cluster, ingress__publish_status_address=["192.0.2.1", "192.0.2.2"])
    values = render_platform(config, cluster).find("Application", "ingress-nginx")["spec"][
        "source"
    ]["helm"]["valuesObject"]["controller"]
    assert values["service"] == {"type": "NodePort", "nodePorts": {"http": 30080, "https": 30443}}
    assert values["extraArgs"] == {"publish-status-address": "192.0.2.1,192.0.2.2"}
    # --publish-service and --publish-status-address are mutually exclusive.
    assert values["publishService"] == {"enabled": False}
    assert values["ingressClassResource"]["name"] == "nginx"


def test_without_an_address_no_status_flag_is_set(
    config: AppConfig, cluster: ClusterSettings
) -> None:
    cluster = with_changes(cluster, ingress__publish_status_address=[])
    values = render_platform(config, cluster).find("Application", "ingress-nginx")["spec"][
        "source"
    ]["helm"]["valuesObject"]["controller"]
    assert "extraArgs" not in values


def nginx_controller_values(config: AppConfig, cluster: ClusterSettings) -> dict[str, object]:
    values = render_platform(config, cluster).find("Application", "ingress-nginx")["spec"][
        "source"
    ]["helm"]["valuesObject"]["controller"]
    assert isinstance(values, dict)
    return values


def test_node_ports_is_the_default_exposure(cluster: ClusterSettings) -> None:
    assert cluster.ingress.exposure == "node-ports"


def test_ingress_nginx_behind_service_lb_is_a_load_balancer_service(
    config: AppConfig, cluster: ClusterSettings
) -> None:
    """k3s's ServiceLB binds a LoadBalancer Service's ports (the chart's 80 and 443) on every
    node; the node ports stay pinned, so a router may still forward to them."""
    cluster = with_changes(cluster, ingress__exposure="service-lb")
    values = nginx_controller_values(config, cluster)
    assert values["service"] == {
        "type": "LoadBalancer",
        "nodePorts": {"http": 30080, "https": 30443},
    }
    # With an address given, it is published as with node ports.
    assert values["publishService"] == {"enabled": False}
    assert values["extraArgs"] == {"publish-status-address": "192.0.2.10"}


def test_behind_service_lb_without_an_address_the_lb_status_is_published(
    config: AppConfig, cluster: ClusterSettings
) -> None:
    cluster = with_changes(
        cluster, ingress__exposure="service-lb", ingress__publish_status_address=[]
    )
    values = nginx_controller_values(config, cluster)
    # The chart's default (publishService enabled) copies ServiceLB's addresses into every
    # Ingress's status, so Argo CD sees them Healthy.
    assert "publishService" not in values
    assert "extraArgs" not in values


def test_traefik_behind_service_lb_is_a_load_balancer_service(
    config: AppConfig, cluster: ClusterSettings
) -> None:
    cluster = with_changes(cluster, ingress__controller="traefik", ingress__exposure="service-lb")
    rendered = render_platform(config, cluster)
    values = yaml.safe_load(rendered.find("HelmChartConfig", "traefik")["spec"]["valuesContent"])
    assert values["service"] == {"type": "LoadBalancer"}
    assert values["ports"] == {"web": {"nodePort": 30080}, "websecure": {"nodePort": 30443}}


def test_traefik_on_node_ports_leaves_the_service_type_to_k3s(
    config: AppConfig, cluster: ClusterSettings
) -> None:
    cluster = with_changes(cluster, ingress__controller="traefik")
    rendered = render_platform(config, cluster)
    values = yaml.safe_load(rendered.find("HelmChartConfig", "traefik")["spec"]["valuesContent"])
    assert "service" not in values


def test_traefik_replaces_ingress_nginx_everywhere(
    config: AppConfig, cluster: ClusterSettings
) -> None:
    cluster = with_changes(cluster, ingress__controller="traefik")
    rendered = render_platform(config, cluster)
    assert "ingress-nginx" not in rendered.names("Application")
    values = yaml.safe_load(rendered.find("HelmChartConfig", "traefik")["spec"]["valuesContent"])
    assert values["ports"] == {"web": {"nodePort": 30080}, "websecure": {"nodePort": 30443}}
    assert values["additionalArguments"] == [
        "--providers.kubernetesingress.ingressendpoint.ip=192.0.2.10"
    ]
    assert values["providers"]["kubernetesIngress"]["publishedService"] == {"enabled": False}
    for issuer in ("letsencrypt-staging", "letsencrypt-production"):
        solver = rendered.find("ClusterIssuer", issuer)["spec"]["acme"]["solvers"][0]
        assert solver == {
            "http01": {"ingress": {"ingressClassName": "traefik", "serviceType": "ClusterIP"}}
        }
    peer = rendered.find("NetworkPolicy", "allow-from-ingress-controller")["spec"]["ingress"][0][
        "from"
    ][0]
    assert peer["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "kube-system"
    }
    assert peer["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "traefik"}
    assert "addon-ingress-nginx" not in rendered.names("AppProject")
    baseline = rendered.find("AppProject", "platform")["spec"]
    assert [d["namespace"] for d in baseline["destinations"]] == ["kube-system", "shop"]
    assert {"group": "helm.cattle.io", "kind": "HelmChartConfig"} in baseline[
        "namespaceResourceWhitelist"
    ]


def test_cert_manager_installs_its_crds(config: AppConfig, cluster: ClusterSettings) -> None:
    app = render_platform(config, cluster).find("Application", "cert-manager")
    assert app["spec"]["source"]["helm"]["valuesObject"] == {
        "crds": {"enabled": True, "keep": True}
    }
    assert "ServerSideApply=true" in app["spec"]["syncPolicy"]["syncOptions"]
    assert app["spec"]["destination"]["namespace"] == "cert-manager"


def test_issuers_use_the_env_email_and_wait_for_cert_manager(
    config: AppConfig, cluster: ClusterSettings
) -> None:
    rendered = render_platform(config, cluster)
    staging = rendered.find("ClusterIssuer", "letsencrypt-staging")
    production = rendered.find("ClusterIssuer", "letsencrypt-production")
    assert (
        staging["spec"]["acme"]["server"]
        == "https://acme-staging-v02.api.letsencrypt.org/directory"
    )
    assert production["spec"]["acme"]["server"] == "https://acme-v02.api.letsencrypt.org/directory"
    assert staging["spec"]["acme"]["email"] == cluster.acme_email
    annotations = staging["metadata"]["annotations"]
    assert annotations["argocd.argoproj.io/sync-options"] == "SkipDryRunOnMissingResource=true"
    # The issuers sync with the platform Application, after cert-manager's.
    waves = {
        m["metadata"]["name"]: int(m["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"])
        for m in rendered.delivery
        if m["kind"] == "Application"
    }
    assert waves["platform"] > waves["cert-manager"]


def test_csi_driver_syncs_rotates_and_requests_the_infisical_audience(
    config: AppConfig, cluster: ClusterSettings
) -> None:
    rendered = render_platform(config, cluster)
    driver = rendered.find("Application", "secrets-store-csi-driver")
    assert driver["spec"]["destination"]["namespace"] == "kube-system"
    values = driver["spec"]["source"]["helm"]["valuesObject"]
    assert values["syncSecret"] == {"enabled": True}
    assert values["enableSecretRotation"] is True
    assert values["tokenRequests"] == [{"audience": "infisical"}]
    provider = rendered.find("Application", "infisical-csi-provider")
    assert provider["spec"]["destination"]["namespace"] == "kube-system"
    assert "CreateNamespace=true" not in provider["spec"]["syncPolicy"]["syncOptions"]


def test_the_audience_follows_the_config(config: AppConfig, cluster: ClusterSettings) -> None:
    config = with_changes(config, secrets__infisical__auth__audience="https://infisical.internal")
    driver = render_platform(config, cluster).find("Application", "secrets-store-csi-driver")
    values = driver["spec"]["source"]["helm"]["valuesObject"]
    assert values["tokenRequests"] == [{"audience": "https://infisical.internal"}]


def test_sealed_secrets_is_off_by_default_and_optional(
    config: AppConfig, cluster: ClusterSettings
) -> None:
    assert "sealed-secrets" not in render_platform(config, cluster).names("Application")
    on = render_platform(config, with_changes(cluster, sealed_secrets=True))
    app = on.find("Application", "sealed-secrets")
    assert app["spec"]["destination"]["namespace"] == "kube-system"
    assert app["spec"]["source"]["helm"]["valuesObject"] == {
        "fullnameOverride": "sealed-secrets-controller"
    }


def test_self_managed_argocd_syncs_the_pinned_install_manifest(
    config: AppConfig, cluster: ClusterSettings
) -> None:
    assert "argocd" not in render_platform(config, cluster).names("Application")
    rendered = render_platform(config, with_changes(cluster, argocd__self_managed=True))
    app = rendered.find("Application", "argocd")
    pin = load_versions().argocd
    source = app["spec"]["source"]
    assert (source["repoURL"], source["targetRevision"]) == (ARGOCD_REPO, pin.version)
    assert f"{source['path']}/{source['directory']['include']}" == pin.install_path
    assert pin.install_url.endswith(f"/{pin.version}/{pin.install_path}")
    assert "ServerSideApply=true" in app["spec"]["syncPolicy"]["syncOptions"]
    assert "finalizers" not in app["metadata"], "deleting it must not uninstall Argo CD"
    project = rendered.find("AppProject", "addon-argocd")["spec"]
    assert app["spec"]["project"] == "addon-argocd"
    assert project["sourceRepos"] == [ARGOCD_REPO]
    assert project["destinations"] == [
        {"namespace": "argocd", "server": "https://kubernetes.default.svc"}
    ]
    assert ARGOCD_REPO not in rendered.find("AppProject", "platform")["spec"]["sourceRepos"]
    # The Application health check stays in root.yaml's argocd-cm.
    lua = rendered.find("ConfigMap", "argocd-cm")["data"][APPLICATION_HEALTH_KEY]
    assert "obj.status.health.status" in lua


def test_platform_project_is_the_baseline_only(config: AppConfig, cluster: ClusterSettings) -> None:
    project = render_platform(config, cluster).find("AppProject", "platform")["spec"]
    assert project["sourceRepos"] == [cluster.repo.url]
    assert project["clusterResourceWhitelist"] == [
        {"group": "", "kind": "Namespace", "name": "shop"},
        {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": "letsencrypt-staging"},
        {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": "letsencrypt-production"},
    ]
    assert {(k["group"], k["kind"]) for k in project["namespaceResourceWhitelist"]} == {
        ("", "LimitRange"),
        ("", "ResourceQuota"),
        ("networking.k8s.io", "NetworkPolicy"),
    }
    assert [d["namespace"] for d in project["destinations"]] == ["shop"]
    assert PLATFORM_CLUSTER_KINDS and PLATFORM_NAMESPACED_KINDS


def test_waves_put_controllers_before_the_baseline_and_the_app(
    config: AppConfig, cluster: ClusterSettings
) -> None:
    rendered = render_platform(config, cluster)
    wave = {
        m["metadata"]["name"]: int(m["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"])
        for m in rendered.delivery
        if m["kind"] == "Application"
    }
    assert rendered.find("AppProject", "platform")["metadata"]["annotations"] == {
        "argocd.argoproj.io/sync-wave": "-1"
    }
    assert wave["platform"] == 3
    for addon in ("ingress-nginx", "cert-manager", "secrets-store-csi-driver"):
        assert wave[addon] == 1
    assert wave["infisical-csi-provider"] == 2


def test_applications_are_automated_with_the_finalizer(
    config: AppConfig, cluster: ClusterSettings
) -> None:
    for app in (m for m in render_platform(config, cluster).delivery if m["kind"] == "Application"):
        assert app["metadata"]["finalizers"] == ["resources-finalizer.argocd.argoproj.io"]
        assert app["spec"]["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
        name = app["metadata"]["name"]
        assert app["spec"]["project"] == ("platform" if name == "platform" else f"addon-{name}")


@pytest.mark.parametrize(
    ("ingress", "message"),
    [
        ({"http_node_port": 30443}, "ingress.https_node_port: must differ from http_node_port"),
        (
            {"http_node_port": 80},
            "ingress.http_node_port: input should be greater than or equal to 30000",
        ),
        (
            {"publish_status_address": ["node-1"]},
            "ingress.publish_status_address[0]: 'node-1' is not an IP address",
        ),
        (
            {"controller": "traefik", "publish_status_address": ["192.0.2.1", "192.0.2.2"]},
            "ingress.publish_status_address: Traefik publishes one address, not several",
        ),
        (
            {"exposure": "host-ports"},
            "ingress.exposure: input should be 'node-ports' or 'service-lb', got 'host-ports'",
        ),
    ],
)
def test_ingress_settings_are_checked(
    cluster: ClusterSettings, ingress: dict[str, object], message: str
) -> None:
    from constructs_lib.model.loading import ConfigError, parse_model

    data = cluster.model_dump(mode="json")
    data["ingress"].update(ingress)
    with pytest.raises(ConfigError) as exc:
        parse_model(ClusterSettings, data, "cluster.yaml")
    assert exc.value.problems == [message]
