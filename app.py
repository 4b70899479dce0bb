"""The cdk8s app: composes the base's constructs from config/ and clusters/<env>/.

Run `make synth` (or `cdk8s synth`, or `gitops-base synth`) to render dist/<env>/:

    dist/<env>/root.yaml   the root Application and its project; applied by hand, once
    dist/<env>/argocd/     what the root syncs: AppProjects and child Applications
    dist/<env>/app/        every workload of the app, synced by the app's Application
    dist/<env>/platform/   the app namespace's baseline and the ClusterIssuers (K3sPlatform)
"""

from __future__ import annotations

# First: loads cdk8s (a Node.js process) in the background while Python imports the rest.
import constructs_lib.render.preload  # isort: skip  # noqa: F401

import sys
from functools import cache

import cdk8s

from constructs_lib.constructs.argocd.application import (
    ArgoApplication,
    ArgoApplicationProps,
    ArgoProject,
    ArgoProjectProps,
    Kind,
)
from constructs_lib.constructs.cron_workload import CronWorkload, CronWorkloadProps
from constructs_lib.constructs.infisical_secret_mount import InfisicalSecretMountProps
from constructs_lib.constructs.kube_object import SYNC_WAVE, KubeObject, synthesize
from constructs_lib.constructs.labels import standard_labels
from constructs_lib.constructs.platform.k3s_platform import K3sPlatform, K3sPlatformProps
from constructs_lib.constructs.pod_template import PodTemplateProps
from constructs_lib.constructs.web_workload import IngressProps, WebWorkload, WebWorkloadProps
from constructs_lib.model.clusters import ClusterSettings, rehost
from constructs_lib.model.config import AppConfig, Service
from constructs_lib.model.versions import Versions, load_versions
from constructs_lib.render.overlays import with_overlays
from constructs_lib.render.publish import RenderedEnv
from constructs_lib.render.synth import main

BOOTSTRAP_PROJECT = "bootstrap"
ROOT_APPLICATION = "root"
# Kinds the app's Applications may manage: namespaced only, nothing cluster-scoped.
APP_KINDS = (
    Kind("", "ConfigMap"),
    Kind("", "Service"),
    Kind("", "ServiceAccount"),
    Kind("apps", "Deployment"),
    Kind("autoscaling", "HorizontalPodAutoscaler"),
    Kind("batch", "CronJob"),
    Kind("batch", "Job"),
    Kind("networking.k8s.io", "Ingress"),
    Kind("policy", "PodDisruptionBudget"),
    Kind("secrets-store.csi.x-k8s.io", "SecretProviderClass"),
)
ROOT_ORDER = ("ConfigMap", "AppProject", "Application")


@cache
def versions() -> Versions:
    """platform/versions.yaml, read once per synth."""
    return load_versions()


def build(config: AppConfig, cluster: ClusterSettings) -> RenderedEnv:
    """Render one environment."""
    app = cdk8s.App()
    workloads = cdk8s.Chart(app, "app", disable_resource_name_hashes=True)
    add_workloads(workloads, config, cluster)
    bootstrap = cdk8s.Chart(app, "bootstrap", disable_resource_name_hashes=True)
    add_bootstrap(bootstrap, config, cluster)
    argocd = cdk8s.Chart(app, "argocd", disable_resource_name_hashes=True)
    add_delivery(argocd, config, cluster)
    platform = add_platform(app, config, cluster)

    root = synthesize(bootstrap) + synthesize(platform.bootstrap)
    return RenderedEnv(
        name=cluster.name,
        folders={
            "app": synthesize(workloads),
            "argocd": synthesize(argocd) + synthesize(platform.delivery),
            "platform": synthesize(platform.cluster),
        },
        root=sorted(root, key=lambda m: ROOT_ORDER.index(m["kind"])),
    )


def add_platform(scope: cdk8s.App, config: AppConfig, cluster: ClusterSettings) -> K3sPlatform:
    """Add-ons, the `platform` project and the cluster baseline."""
    props = K3sPlatformProps(config=config, cluster=cluster, versions=versions())
    return K3sPlatform(scope, "platform", props=props)


def add_workloads(chart: cdk8s.Chart, config: AppConfig, cluster: ClusterSettings) -> None:
    namespace = config.app.namespace
    service_account = config.app.name
    KubeObject(
        chart,
        "ServiceAccount",
        api_version="v1",
        kind="ServiceAccount",
        name=service_account,
        namespace=namespace,
        labels=standard_labels(config.app.name, config.app.name),
        annotations={SYNC_WAVE: "-1"},
        body={"automountServiceAccountToken": False},
    )
    for service in config.services:
        pod = PodTemplateProps(
            service=service,
            labels=standard_labels(config.app.name, service.name),
            service_account_name=service_account,
            default_resources=config.defaults.resources,
        )
        secrets = secret_mount(config, cluster, service)
        if service.type == "Deployment":
            WebWorkload(
                chart,
                service.name,
                props=WebWorkloadProps(
                    app=config.app.name,
                    namespace=namespace,
                    pod=pod,
                    create_service=config.features.services,
                    ingress=ingress(config, cluster, service),
                    secrets=secrets,
                ),
            )
        else:
            CronWorkload(
                chart,
                service.name,
                props=CronWorkloadProps(
                    app=config.app.name, namespace=namespace, pod=pod, secrets=secrets
                ),
            )


def ingress(config: AppConfig, cluster: ClusterSettings, service: Service) -> IngressProps | None:
    if service.ingress is None or not config.features.ingresses:
        return None
    return IngressProps(
        hosts=tuple(rehost(h, config.domain, cluster.domain) for h in service.ingress.hosts),
        tls=config.tls.enabled,
        cluster_issuer=cluster.tls_issuer or config.tls.issuer,
        ingress_class_name=cluster.ingress.controller,
    )


def secret_mount(
    config: AppConfig, cluster: ClusterSettings, service: Service
) -> InfisicalSecretMountProps | None:
    infisical = config.secrets.infisical
    if not service.secrets or infisical is None:
        return None
    return InfisicalSecretMountProps(
        name=service.name,
        namespace=config.app.namespace,
        labels=standard_labels(config.app.name, service.name),
        infisical=infisical,
        env_slug=cluster.infisical_env,
        secrets=tuple(service.secrets),
        mount_path=service.secrets_mount_path,
    )


def add_bootstrap(chart: cdk8s.Chart, config: AppConfig, cluster: ClusterSettings) -> None:
    """The root Application (app of apps) and its project: root.yaml, applied by hand.

    They are not in dist/<env>/argocd/: a root that manages its own Application never finishes
    deleting in Argo CD 3.x, and a change to them is rare enough to re-apply by hand.
    """
    argocd_ns = cluster.argocd.namespace
    server = cluster.argocd.destination_server
    labels = standard_labels(config.app.name, "argocd")
    ArgoProject(
        chart,
        "BootstrapProject",
        props=ArgoProjectProps(
            name=BOOTSTRAP_PROJECT,
            namespace=argocd_ns,
            labels=labels,
            description="The root Application: manages AppProjects and Applications only.",
            source_repos=(cluster.repo.url,),
            destinations=((server, argocd_ns),),
            namespaced_kinds=(
                Kind("argoproj.io", "Application"),
                Kind("argoproj.io", "AppProject"),
            ),
        ),
    )
    ArgoApplication(
        chart,
        "Root",
        props=ArgoApplicationProps(
            name=ROOT_APPLICATION,
            namespace=argocd_ns,
            labels=labels,
            project=BOOTSTRAP_PROJECT,
            repo_url=cluster.repo.url,
            revision=cluster.repo.revision,
            path=f"dist/{cluster.name}/argocd",
            destination_namespace=argocd_ns,
            destination_server=server,
        ),
    )


def add_delivery(chart: cdk8s.Chart, config: AppConfig, cluster: ClusterSettings) -> None:
    """The app's AppProject and Application: children of the root."""
    argocd_ns = cluster.argocd.namespace
    server = cluster.argocd.destination_server
    repos = (cluster.repo.url,)
    labels = standard_labels(config.app.name, "argocd")
    ArgoProject(
        chart,
        "AppProject",
        props=ArgoProjectProps(
            name=config.app.name,
            namespace=argocd_ns,
            labels=labels,
            description=(
                f"Workloads of {config.app.name}: namespaced kinds in "
                f"'{config.app.namespace}' only."
            ),
            source_repos=repos,
            destinations=((server, config.app.namespace),),
            namespaced_kinds=APP_KINDS,
        ),
    )
    ArgoApplication(
        chart,
        "App",
        props=ArgoApplicationProps(
            name=config.app.name,
            namespace=argocd_ns,
            labels=labels,
            project=config.app.name,
            repo_url=cluster.repo.url,
            revision=cluster.repo.revision,
            path=f"dist/{cluster.name}/app",
            destination_namespace=config.app.namespace,
            destination_server=server,
            # The namespace comes from the platform Application (wave 3): dist/<env>/platform/.
            sync_wave="10",
        ),
    )


if __name__ == "__main__":
    sys.exit(main(with_overlays(build)))
