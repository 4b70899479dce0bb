"""SelfManagedArgoCd: an Application that keeps Argo CD at one pinned release.

It syncs upstream's `manifests/install.yaml` from Argo CD's repository at the pinned tag: the
same file `gitops-base bootstrap` installs (checksum verified), so the first install and every
later sync are one set of objects. No `argo-cd` Helm chart ships the pinned Argo CD yet (the
newest, 10.1.1, has appVersion v3.4.4), so the chart is not used.
"""

from __future__ import annotations

from dataclasses import dataclass

from constructs import Construct

from constructs_lib.constructs.argocd.sync_policy import sync_policy
from constructs_lib.constructs.kube_object import SYNC_WAVE, KubeObject


@dataclass(frozen=True)
class ManifestSource:
    """One file of a Git repository at an exact revision."""

    repo_url: str
    revision: str
    """A tag or commit, never a branch."""
    path: str
    """Folder of the file in the repository."""
    include: str
    """The file's name in that folder."""


@dataclass(frozen=True)
class SelfManagedArgoCdProps:
    """Props of SelfManagedArgoCd."""

    source: ManifestSource
    """Argo CD's install manifest at the pinned release."""
    namespace: str
    """Namespace Argo CD runs in (the Application's and the objects')."""
    labels: dict[str, str]
    project: str
    destination_server: str = "https://kubernetes.default.svc"
    name: str = "argocd"
    """Name of the Application. @default argocd"""
    sync_wave: str = "0"
    """Order among the root's children. @default 0"""


class SelfManagedArgoCd(KubeObject):
    """Application of the install manifest, applied server-side (the ApplicationSet CRD is too
    large for client-side apply), with the one sync policy but without the resources finalizer:
    deleting the Application must not uninstall the Argo CD that runs it."""

    def __init__(self, scope: Construct, id: str, *, props: SelfManagedArgoCdProps) -> None:
        self.props = props
        source = props.source
        spec = {
            "project": props.project,
            "source": {
                "repoURL": source.repo_url,
                "targetRevision": source.revision,
                "path": source.path,
                "directory": {"include": source.include},
            },
            "destination": {"server": props.destination_server, "namespace": props.namespace},
            "syncPolicy": sync_policy(extra_options=("ServerSideApply=true",)),
        }
        super().__init__(
            scope,
            id,
            api_version="argoproj.io/v1alpha1",
            kind="Application",
            name=props.name,
            namespace=props.namespace,
            labels=props.labels,
            annotations={SYNC_WAVE: props.sync_wave},
            body={"spec": spec},
        )
