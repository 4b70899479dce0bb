"""ArgoApplication: the one builder of Argo CD Applications, each with the one sync policy.

The sync policy: automated sync with prune and self-heal, foreground pruning after everything
else has synced, and retries with backoff; every Application the base renders has it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from constructs import Construct

from constructs_lib.constructs.kube_object import Gvk, KubeObject, NamespacedMeta, sorted_keys
from constructs_lib.model.names import SYNC_WAVE

APPLICATION = Gvk("argoproj.io/v1alpha1", "Application")
RESOURCES_FINALIZER = "resources-finalizer.argocd.argoproj.io"
SYNC_OPTIONS = ("PrunePropagationPolicy=foreground", "PruneLast=true")
RETRY_LIMIT = 10
RETRY_BACKOFF = {"duration": "5s", "factor": 2, "maxDuration": "3m"}


@dataclass(frozen=True)
class GitSource:
    """A folder of a Git repository at a revision."""

    repo_url: str
    revision: str
    """A branch, tag or commit."""
    path: str
    """The folder in the repository."""
    include: str | None = None
    """Only this file of the folder (`directory.include`). @default every file"""


@dataclass(frozen=True)
class ChartSource:
    """Where a chart is published and the exact version to install."""

    repo: str
    """Helm repository URL, as Argo CD's repoURL."""
    version: str


@dataclass(frozen=True)
class HelmSource:
    """One chart of a Helm repository at an exact version, released under the Application's
    name."""

    chart: str
    """Chart name in the repository."""
    pin: ChartSource
    """Repository and exact version, from platform/versions.yaml."""
    values: Mapping[str, Any] = field(default_factory=dict)
    """helm.valuesObject. @default the chart's own defaults"""

    @property
    def repo_url(self) -> str:
        """The Helm repository, as Argo CD's repoURL."""
        return self.pin.repo


@dataclass(frozen=True)
class ArgoApplicationProps(NamespacedMeta):
    """Props of ArgoApplication: its name, namespace (Argo CD's) and labels, what it syncs
    from and to, and how."""

    project: str
    source: GitSource | HelmSource
    destination_namespace: str
    destination_server: str
    """The API server Argo CD deploys to."""
    sync_wave: str = "0"
    """Order among the root's children. @default 0"""
    create_namespace: bool = False
    """Let Argo CD create the destination namespace. @default False"""
    namespace_labels: Mapping[str, str] = field(default_factory=dict)
    """Labels Argo CD sets on the namespace it creates (managedNamespaceMetadata), such as
    the Pod Security levels; only with `create_namespace`. @default none"""
    server_side_apply: bool = False
    """Apply with server-side apply (needed for objects too large for the last-applied
    annotation, such as big CRDs). @default False"""
    delete_resources: bool = True
    """Deleting the Application deletes what it deployed (the resources finalizer). False for
    an Application whose objects must outlive it, such as Argo CD's own. @default True"""
    sorted_keys: bool = True
    """Write the spec with its keys sorted at every level, the order cdk8s gives what it
    renders itself. False keeps the order built here (Argo CD's documented order), as the
    Applications of charts and of Argo CD itself have always been rendered. @default True"""
    annotations: Mapping[str, str] = field(default_factory=dict)
    """Annotations besides the sync wave (e.g. notification subscriptions). @default none"""


class ArgoApplication(KubeObject):
    """An Application with the one sync policy (automated, prune, self-heal, retries)."""

    def __init__(self, scope: Construct, id: str, *, props: ArgoApplicationProps) -> None:
        self.props = props
        options = [*SYNC_OPTIONS]
        if props.create_namespace:
            options.append("CreateNamespace=true")
        if props.server_side_apply:
            options.append("ServerSideApply=true")
        policy: dict[str, Any] = {
            "automated": {"prune": True, "selfHeal": True},
            "syncOptions": options,
            "retry": {"limit": RETRY_LIMIT, "backoff": dict(RETRY_BACKOFF)},
        }
        if props.create_namespace and props.namespace_labels:
            policy["managedNamespaceMetadata"] = {"labels": dict(props.namespace_labels)}
        spec = {
            "project": props.project,
            "source": _source(props.name, props.source),
            "destination": {
                "server": props.destination_server,
                "namespace": props.destination_namespace,
            },
            "syncPolicy": policy,
        }
        body = {"spec": sorted_keys(spec) if props.sorted_keys else spec}
        annotations = {SYNC_WAVE: props.sync_wave, **props.annotations}
        super().__init__(scope, id, APPLICATION, props, annotations=annotations, body=body)
        if props.delete_resources:
            self.metadata.add_finalizers(RESOURCES_FINALIZER)


def _source(name: str, source: GitSource | HelmSource) -> dict[str, Any]:
    if isinstance(source, HelmSource):
        helm: dict[str, Any] = {"releaseName": name}
        if source.values:
            helm["valuesObject"] = dict(source.values)
        return {
            "repoURL": source.pin.repo,
            "chart": source.chart,
            "targetRevision": source.pin.version,
            "helm": helm,
        }
    git: dict[str, Any] = {
        "repoURL": source.repo_url,
        "targetRevision": source.revision,
        "path": source.path,
    }
    if source.include is not None:
        git["directory"] = {"include": source.include}
    return git
