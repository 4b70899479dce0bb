"""ArgoProject: the one builder of Argo CD AppProjects, each with explicit allowlists."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from constructs import Construct

from constructs_lib.constructs.kube_object import Gvk, KubeObject, NamespacedMeta, sorted_keys
from constructs_lib.model.addons import Kind
from constructs_lib.model.names import SYNC_WAVE

APPPROJECT = Gvk("argoproj.io/v1alpha1", "AppProject")
ANY_KIND = Kind("*", "*")


@dataclass(frozen=True)
class ArgoProjectProps(NamespacedMeta):
    """Props of ArgoProject: its name, namespace (Argo CD's) and labels, and what its
    Applications may use."""

    description: str
    source_repos: tuple[str, ...]
    """Repositories Applications of this project may use. Never '*'; none only in a project
    that allows nothing."""
    namespaces: tuple[str, ...]
    """Namespaces Applications may deploy to, on `server`."""
    namespaced_kinds: tuple[Kind, ...]
    """Namespaced kinds Applications may manage."""
    server: str
    """The API server the namespaces are on (Argo CD's destination server)."""
    cluster_kinds: tuple[Kind, ...] = ()
    """Cluster-scoped kinds Applications may manage, each restricted to the object its `name`
    names when it has one. @default none"""
    denied_namespaced_kinds: tuple[Kind, ...] = ()
    """Namespaced kinds no Application may manage (namespaceResourceBlacklist). @default none"""
    sync_wave: str | None = "-1"
    """Projects come before the Applications that name them. None: no wave. @default -1"""
    sorted_keys: bool = True
    """Write the spec with its keys sorted at every level, the order cdk8s gives what it
    renders itself. False keeps the order built here (Argo CD's documented order), as the
    locked `default` project has always been rendered. @default True"""


class ArgoProject(KubeObject):
    """An AppProject with an explicit source-repo allowlist, its destinations and the kinds
    its Applications may manage, each listed."""

    def __init__(self, scope: Construct, id: str, *, props: ArgoProjectProps) -> None:
        if "*" in props.source_repos:
            raise ValueError(
                f"ArgoProject '{props.name}': source_repos must list repositories, not '*'"
            )
        allows = props.namespaces or props.namespaced_kinds or props.cluster_kinds
        if allows and not props.source_repos:
            raise ValueError(
                f"ArgoProject '{props.name}': source_repos is empty; a project that allows "
                "destinations or kinds must list its repositories"
            )
        named = [k for k in (*props.namespaced_kinds, *props.denied_namespaced_kinds) if k.name]
        if named:
            raise ValueError(
                f"ArgoProject '{props.name}': namespaced kind {named[0].kind} names an object; "
                "Argo CD restricts only cluster-scoped kinds by name"
            )
        self.props = props
        spec: dict[str, Any] = {
            "description": props.description,
            "sourceRepos": list(props.source_repos),
            "destinations": [{"server": props.server, "namespace": ns} for ns in props.namespaces],
            "clusterResourceWhitelist": _kinds(props.cluster_kinds),
            "namespaceResourceWhitelist": _kinds(props.namespaced_kinds),
        }
        if props.denied_namespaced_kinds:
            spec["namespaceResourceBlacklist"] = _kinds(props.denied_namespaced_kinds)
        body = {"spec": sorted_keys(spec) if props.sorted_keys else spec}
        wave = {SYNC_WAVE: props.sync_wave} if props.sync_wave is not None else None
        super().__init__(scope, id, APPPROJECT, props, annotations=wave, body=body)


def _kinds(kinds: tuple[Kind, ...]) -> list[dict[str, str]]:
    return [
        {"group": k.group, "kind": k.kind, **({"name": k.name} if k.name else {})} for k in kinds
    ]
