"""The Argo CD objects of one environment: the root Application and its project (root.yaml),
and the app's project and Application (synced by the root)."""

from __future__ import annotations

from constructs import Construct

from constructs_lib.compose.deploy_status import app_annotations
from constructs_lib.compose.layout import APP, ARGOCD, source_path
from constructs_lib.compose.workloads import app_kinds
from constructs_lib.constructs.argocd.application import (
    APPLICATION,
    ArgoApplicationProps,
    GitSource,
)
from constructs_lib.constructs.argocd.confined_application import (
    ConfinedApplication,
    ConfinedApplicationProps,
)
from constructs_lib.constructs.argocd.project import (
    ANY_KIND,
    APPPROJECT,
    ArgoProject,
    ArgoProjectProps,
)
from constructs_lib.constructs.labels import standard_labels
from constructs_lib.model.addons import Kind
from constructs_lib.model.clusters import ClusterSettings
from constructs_lib.model.config import AppConfig
from constructs_lib.model.names import BOOTSTRAP_PROJECT, DEFAULT_PROJECT, ROOT_APPLICATION


def add_bootstrap(scope: Construct, config: AppConfig, cluster: ClusterSettings) -> None:
    """The root Application (app of apps) and its project: root.yaml, applied by hand.

    They are not in dist/<env>/argocd/: a root that manages its own Application never finishes
    deleting in Argo CD 3.x, and a change to them is rare enough to re-apply by hand.
    """
    argocd_ns = cluster.argocd.namespace
    labels = standard_labels(config.app.name, "argocd")
    ConfinedApplication(
        scope,
        "Root",
        props=ConfinedApplicationProps(
            application=ArgoApplicationProps(
                name=ROOT_APPLICATION,
                namespace=argocd_ns,
                labels=labels,
                project=BOOTSTRAP_PROJECT,
                source=git_source(cluster, ARGOCD),
                destination_namespace=argocd_ns,
                destination_server=cluster.argocd.destination_server,
            ),
            description="The root Application: manages AppProjects and Applications only.",
            namespaced_kinds=tuple(Kind(k.group, k.kind) for k in (APPLICATION, APPPROJECT)),
        ),
    )
    # Argo CD creates a `default` project that allows any repository, destination and kind.
    # Applied with the root, this empties it: an Application naming it can deploy nothing.
    ArgoProject(
        scope,
        "DefaultProject",
        props=ArgoProjectProps(
            name=DEFAULT_PROJECT,
            namespace=argocd_ns,
            labels=labels,
            description="Locked: no Application may use it.",
            source_repos=(),
            namespaces=(),
            namespaced_kinds=(),
            server=cluster.argocd.destination_server,
            denied_namespaced_kinds=(ANY_KIND,),
            sync_wave=None,
            sorted_keys=False,
        ),
    )


def add_delivery(scope: Construct, config: AppConfig, cluster: ClusterSettings) -> None:
    """The app's Application, in a project of its own: children of the root."""
    ConfinedApplication(
        scope,
        "App",
        props=ConfinedApplicationProps(
            application=ArgoApplicationProps(
                name=config.app.name,
                namespace=cluster.argocd.namespace,
                labels=standard_labels(config.app.name, "argocd"),
                project=config.app.name,
                source=git_source(cluster, APP),
                destination_namespace=config.app.namespace,
                destination_server=cluster.argocd.destination_server,
                # The namespace comes from the platform Application (wave 3): dist/<env>/platform/.
                sync_wave="10",
                annotations=app_annotations(cluster),
            ),
            description=(
                f"Workloads of {config.app.name}: namespaced kinds in "
                f"'{config.app.namespace}' only."
            ),
            namespaced_kinds=app_kinds() + pull_secret_kinds(config, cluster),
        ),
    )


def git_source(cluster: ClusterSettings, folder: str) -> GitSource:
    """One of the environment's dist/ folders in its repository."""
    return GitSource(
        repo_url=cluster.repo.url,
        revision=cluster.repo.revision,
        path=source_path(cluster.name, folder),
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
