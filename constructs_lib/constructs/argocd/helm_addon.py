"""HelmAddon: an Argo CD Application of one pinned Helm chart, values in the config."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from constructs import Construct

from constructs_lib.constructs.argocd.sync_policy import RESOURCES_FINALIZER, sync_policy
from constructs_lib.constructs.kube_object import SYNC_WAVE, KubeObject


@dataclass(frozen=True)
class ChartSource:
    """Where a chart is published and the exact version to install."""

    repo: str
    """Helm repository URL, as Argo CD's repoURL."""
    version: str


@dataclass(frozen=True)
class HelmAddonProps:
    """Props of HelmAddon."""

    name: str
    """Name of the Application and of the Helm release."""
    chart: str
    """Chart name in the Helm repository."""
    pin: ChartSource
    """Repository and exact version, from platform/versions.yaml."""
    argocd_namespace: str
    labels: dict[str, str]
    project: str
    destination_namespace: str
    destination_server: str = "https://kubernetes.default.svc"
    values: dict[str, Any] = field(default_factory=dict)
    """helm.valuesObject. @default the chart's own defaults"""
    sync_wave: str = "0"
    """Order among the root's children. @default 0"""
    create_namespace: bool = True
    """Let Argo CD create the destination namespace. @default True"""
    namespace_labels: dict[str, str] = field(default_factory=dict)
    """Labels Argo CD sets on the namespace it creates (managedNamespaceMetadata), such as
    the Pod Security levels. @default none"""
    server_side_apply: bool = False
    """Apply with server-side apply (needed for CRDs too large for the last-applied
    annotation). @default False"""


class HelmAddon(KubeObject):
    """Application with `spec.source.chart` at an exact `targetRevision`, automated sync (prune,
    selfHeal), retry with backoff and the resources finalizer, like ArgoApplication."""

    def __init__(self, scope: Construct, id: str, *, props: HelmAddonProps) -> None:
        self.props = props
        sync_options = []
        if props.create_namespace:
            sync_options.append("CreateNamespace=true")
        if props.server_side_apply:
            sync_options.append("ServerSideApply=true")
        helm: dict[str, Any] = {"releaseName": props.name}
        if props.values:
            helm["valuesObject"] = props.values
        spec: dict[str, Any] = {
            "project": props.project,
            "source": {
                "repoURL": props.pin.repo,
                "chart": props.chart,
                "targetRevision": props.pin.version,
                "helm": helm,
            },
            "destination": {
                "server": props.destination_server,
                "namespace": props.destination_namespace,
            },
            "syncPolicy": sync_policy(
                sync_options, props.namespace_labels if props.create_namespace else None
            ),
        }
        super().__init__(
            scope,
            id,
            api_version="argoproj.io/v1alpha1",
            kind="Application",
            name=props.name,
            namespace=props.argocd_namespace,
            labels=props.labels,
            annotations={SYNC_WAVE: props.sync_wave},
            body={"spec": spec},
        )
        # KubeObject sets metadata from its arguments; finalizers go in by patch.
        self.metadata.add_finalizers(RESOURCES_FINALIZER)
