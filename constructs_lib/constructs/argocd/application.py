"""Argo CD objects: AppProjects with explicit allowlists and automated Applications.

Built from the typed bindings that `cdk8s import` generated from the pinned Argo CD CRDs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cdk8s
from constructs import Construct

from constructs_lib.constructs.argocd.sync_policy import RESOURCES_FINALIZER, sync_policy, typed
from constructs_lib.constructs.kube_object import SYNC_WAVE
from imports.argocd_application.io import argoproj as app_crd
from imports.argocd_appproject.io import argoproj as project_crd


@dataclass(frozen=True)
class Kind:
    """An API group and kind, as AppProject allowlists name them ('' is the core group)."""

    group: str
    kind: str


@dataclass(frozen=True)
class ArgoProjectProps:
    """Props of ArgoProject."""

    name: str
    namespace: str
    """Namespace Argo CD runs in."""
    labels: dict[str, str]
    description: str
    source_repos: tuple[str, ...]
    """Repositories Applications of this project may use. Never '*'."""
    destinations: tuple[tuple[str, str], ...]
    """(server, namespace) pairs Applications may deploy to."""
    namespaced_kinds: tuple[Kind, ...]
    """Namespaced kinds Applications may manage."""
    cluster_kinds: tuple[Kind, ...] = ()
    """Cluster-scoped kinds Applications may manage. @default none"""
    sync_wave: str = "-1"
    """Projects come before the Applications that name them. @default -1"""


class ArgoProject(Construct):
    """An AppProject with an explicit source-repo allowlist and limited destinations."""

    def __init__(self, scope: Construct, id: str, *, props: ArgoProjectProps) -> None:
        super().__init__(scope, id)
        if not props.source_repos or "*" in props.source_repos:
            raise ValueError(
                f"ArgoProject '{props.name}': source_repos must list repositories, not '*'"
            )
        self.name = props.name
        self.resource = project_crd.AppProject(
            self,
            "Resource",
            metadata=cdk8s.ApiObjectMetadata(
                name=props.name,
                namespace=props.namespace,
                labels=props.labels,
                annotations={SYNC_WAVE: props.sync_wave},
            ),
            spec=project_crd.AppProjectSpec(
                description=props.description,
                source_repos=list(props.source_repos),
                destinations=[
                    project_crd.AppProjectSpecDestinations(server=server, namespace=namespace)
                    for server, namespace in props.destinations
                ],
                cluster_resource_whitelist=[
                    project_crd.AppProjectSpecClusterResourceWhitelist(group=k.group, kind=k.kind)
                    for k in props.cluster_kinds
                ],
                namespace_resource_whitelist=[
                    project_crd.AppProjectSpecNamespaceResourceWhitelist(group=k.group, kind=k.kind)
                    for k in props.namespaced_kinds
                ],
            ),
        )


@dataclass(frozen=True)
class ArgoApplicationProps:
    """Props of ArgoApplication."""

    name: str
    namespace: str
    """Namespace Argo CD runs in."""
    labels: dict[str, str]
    project: str
    repo_url: str
    revision: str
    path: str
    """Folder in the repository holding the rendered manifests."""
    destination_namespace: str
    destination_server: str = "https://kubernetes.default.svc"
    sync_wave: str = "0"
    """Order among the root's children. @default 0"""
    sync_options: tuple[str, ...] = ()
    """Extra syncOptions. @default none"""
    managed_namespace_labels: dict[str, str] = field(default_factory=dict)
    """Labels for a namespace Argo CD creates (CreateNamespace=true). @default none"""
    annotations: dict[str, str] = field(default_factory=dict)
    """Annotations besides the sync wave (e.g. notification subscriptions). @default none"""


class ArgoApplication(Construct):
    """An Application with automated sync (prune, selfHeal), retry with backoff and the
    resources finalizer, so deleting it deletes what it deployed."""

    def __init__(self, scope: Construct, id: str, *, props: ArgoApplicationProps) -> None:
        super().__init__(scope, id)
        self.name = props.name
        self.resource = app_crd.Application(
            self,
            "Resource",
            metadata=cdk8s.ApiObjectMetadata(
                name=props.name,
                namespace=props.namespace,
                labels=props.labels,
                annotations={SYNC_WAVE: props.sync_wave, **props.annotations},
                finalizers=[RESOURCES_FINALIZER],
            ),
            spec=app_crd.ApplicationSpec(
                project=props.project,
                source=app_crd.ApplicationSpecSource(
                    repo_url=props.repo_url, target_revision=props.revision, path=props.path
                ),
                destination=app_crd.ApplicationSpecDestination(
                    server=props.destination_server, namespace=props.destination_namespace
                ),
                sync_policy=typed(sync_policy(props.sync_options, props.managed_namespace_labels)),
            ),
        )
