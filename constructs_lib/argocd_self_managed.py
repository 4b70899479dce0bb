"""SelfManagedArgoCd: an Application that keeps Argo CD at the project's one pinned release.

It syncs upstream's `manifests/install.yaml` from Argo CD's repository at the pinned tag: the
same file `gitops-base bootstrap` installs (checksum verified), so the first install and every
later sync are one set of objects. No `argo-cd` Helm chart ships the pinned Argo CD yet (the
newest, 10.1.1, ships v3.4.4), so the chart is not used.
"""

from __future__ import annotations

from dataclasses import dataclass

from constructs import Construct

from constructs_lib.kube_object import SYNC_WAVE, KubeObject
from constructs_lib.versions import ARGOCD_REPO, ArgoCdPin


@dataclass(frozen=True)
class SelfManagedArgoCdProps:
    """Props of SelfManagedArgoCd."""

    pin: ArgoCdPin
    """The Argo CD release, from platform/versions.yaml."""
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
    """Application of `manifests/install.yaml` at the pinned tag, applied server-side (the
    ApplicationSet CRD is too large for client-side apply). Never pruned: deleting the
    Application must not uninstall the Argo CD that runs it."""

    def __init__(self, scope: Construct, id: str, *, props: SelfManagedArgoCdProps) -> None:
        self.props = props
        path, _, file = props.pin.install_path.rpartition("/")
        spec = {
            "project": props.project,
            "source": {
                "repoURL": ARGOCD_REPO,
                "targetRevision": props.pin.version,
                "path": path,
                "directory": {"include": file},
            },
            "destination": {"server": props.destination_server, "namespace": props.namespace},
            "syncPolicy": {
                # No prune: objects dropped by a newer release are left for the operator.
                "automated": {"prune": False, "selfHeal": True},
                "syncOptions": ["ServerSideApply=true"],
                "retry": {
                    "limit": 10,
                    "backoff": {"duration": "5s", "factor": 2, "maxDuration": "3m"},
                },
            },
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
