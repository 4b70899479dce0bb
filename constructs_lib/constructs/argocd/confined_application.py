"""ConfinedApplication: an Argo CD Application in an AppProject of its own, which allows what
the Application deploys and nothing else."""

from __future__ import annotations

from dataclasses import dataclass

from constructs import Construct

from constructs_lib.constructs.argocd.application import ArgoApplication, ArgoApplicationProps
from constructs_lib.constructs.argocd.project import ArgoProject, ArgoProjectProps
from constructs_lib.model.addons import Kind

NAMESPACE = Kind("", "Namespace")


@dataclass(frozen=True)
class ConfinedApplicationProps:
    """Props of ConfinedApplication."""

    application: ArgoApplicationProps
    """The Application; its `project` names the project created with it."""
    description: str
    """What the project allows, in a sentence (its `description`)."""
    namespaced_kinds: tuple[Kind, ...]
    """Namespaced kinds the Application may manage."""
    cluster_kinds: tuple[Kind, ...] = ()
    """Cluster-scoped kinds the Application may manage, each by name where it has one.
    @default none"""
    other_namespaces: tuple[str, ...] = ()
    """Namespaces besides the Application's destination it may deploy to. @default none"""


class ConfinedApplication(Construct):
    """The Application, and its project: the Application's source repository (one, never
    '*'), its destination namespace and `other_namespaces` on its destination server, and the
    kinds listed, plus that one Namespace when Argo CD creates the destination namespace."""

    def __init__(self, scope: Construct, id: str, *, props: ConfinedApplicationProps) -> None:
        super().__init__(scope, id)
        application = props.application
        cluster_kinds = props.cluster_kinds
        if application.create_namespace:
            cluster_kinds = (*NAMESPACE.named(application.destination_namespace), *cluster_kinds)
        self.project = ArgoProject(
            self,
            "Project",
            props=ArgoProjectProps(
                name=application.project,
                namespace=application.namespace,
                labels=application.labels,
                description=props.description,
                source_repos=(application.source.repo_url,),
                namespaces=tuple(
                    sorted({application.destination_namespace, *props.other_namespaces})
                ),
                namespaced_kinds=props.namespaced_kinds,
                cluster_kinds=cluster_kinds,
                server=application.destination_server,
            ),
        )
        self.application = ArgoApplication(self, "Application", props=application)
