"""The Argo CD objects of one environment: the root Application and its project (root.yaml),
and the app's project and Application (synced by the root)."""

from __future__ import annotations

from constructs import Construct

from constructs_lib.compose.deploy_status import app_annotations
from constructs_lib.compose.layout import APP, ARGOCD, source_path
from constructs_lib.compose.workloads import app_kinds
from constructs_lib.constructs.argocd.application import (
    ArgoApplication,
    ArgoApplicationProps,
    ArgoProject,
    ArgoProjectProps,
    Kind,
)
from constructs_lib.constructs.kube_object import KubeObject
from constructs_lib.constructs.labels import standard_labels
from constructs_lib.model.clusters import ClusterSettings
from constructs_lib.model.config import AppConfig

BOOTSTRAP_PROJECT = "bootstrap"
DEFAULT_PROJECT = "default"
ROOT_APPLICATION = "root"


def add_bootstrap(scope: Construct, config: AppConfig, cluster: ClusterSettings) -> None:
    """The root Application (app of apps) and its project: root.yaml, applied by hand.

    They are not in dist/<env>/argocd/: a root that manages its own Application never finishes
    deleting in Argo CD 3.x, and a change to them is rare enough to re-apply by hand.
    """
    argocd_ns = cluster.argocd.namespace
    server = cluster.argocd.destination_server
    labels = standard_labels(config.app.name, "argocd")
    ArgoProject(
        scope,
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
    # Argo CD creates a `default` project that allows any repository, destination and kind.
    # Applied with the root, this empties it: an Application naming it can deploy nothing.
    KubeObject(
        scope,
        "DefaultProject",
        api_version="argoproj.io/v1alpha1",
        kind="AppProject",
        name=DEFAULT_PROJECT,
        namespace=argocd_ns,
        labels=labels,
        body={
            "spec": {
                "description": "Locked: no Application may use it.",
                "sourceRepos": [],
                "destinations": [],
                "clusterResourceWhitelist": [],
                "namespaceResourceWhitelist": [],
                "namespaceResourceBlacklist": [{"group": "*", "kind": "*"}],
            }
        },
    )
    ArgoApplication(
        scope,
        "Root",
        props=ArgoApplicationProps(
            name=ROOT_APPLICATION,
            namespace=argocd_ns,
            labels=labels,
            project=BOOTSTRAP_PROJECT,
            repo_url=cluster.repo.url,
            revision=cluster.repo.revision,
            path=source_path(cluster.name, ARGOCD),
            destination_namespace=argocd_ns,
            destination_server=server,
        ),
    )


def add_delivery(scope: Construct, config: AppConfig, cluster: ClusterSettings) -> None:
    """The app's AppProject and Application: children of the root."""
    argocd_ns = cluster.argocd.namespace
    server = cluster.argocd.destination_server
    labels = standard_labels(config.app.name, "argocd")
    ArgoProject(
        scope,
        "AppProject",
        props=ArgoProjectProps(
            name=config.app.name,
            namespace=argocd_ns,
            labels=labels,
            description=(
                f"Workloads of {config.app.name}: namespaced kinds in "
                f"'{config.app.namespace}' only."
            ),
            source_repos=(cluster.repo.url,),
            destinations=((server, config.app.namespace),),
            namespaced_kinds=app_kinds() + pull_secret_kinds(config, cluster),
        ),
    )
    ArgoApplication(
        scope,
        "App",
        props=ArgoApplicationProps(
            name=config.app.name,
            namespace=argocd_ns,
            labels=labels,
            project=config.app.name,
            repo_url=cluster.repo.url,
            revision=cluster.repo.revision,
            path=source_path(cluster.name, APP),
            destination_namespace=config.app.namespace,
            destination_server=server,
            # The namespace comes from the platform Application (wave 3): dist/<env>/platform/.
            sync_wave="10",
            annotations=app_annotations(cluster),
        ),
    )


SEALED_SECRET = Kind("bitnami.com", "SealedSecret")


def pull_secret_kinds(config: AppConfig, cluster: ClusterSettings) -> tuple[Kind, ...]:
    """SealedSecret in the app project only when it can be needed: the environment runs the
    sealed-secrets controller and some service pulls with a secret
    (docs/how-to/private-registries.md). Never Secret itself."""
    pulls = bool(config.defaults.image_pull_secrets) or any(
        s.image_pull_secrets for s in config.services
    )
    return (SEALED_SECRET,) if cluster.sealed_secrets and pulls else ()
