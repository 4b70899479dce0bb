"""End-to-end harness: a real kube-apiserver + etcd + kube-controller-manager
and a real Argo CD (application controller, repo server, Redis) running as
local processes on loopback, with Argo CD syncing from local git repositories.

See docs/e2e.md for how to run it and how to write journeys.
"""

from .cluster import Cluster, ClusterError
from .gitrepo import GitRepo
from .kube import KubeClient, KubeError, load_manifests
from .tools import Tools, ToolsMissing, find_tools
from .wait import WaitTimeout, wait_for

Timings = dict[str, float]
"""Measured durations in seconds, by description (the `e2e_timings` fixture)."""

__all__ = [
    "Cluster",
    "ClusterError",
    "GitRepo",
    "KubeClient",
    "KubeError",
    "Timings",
    "Tools",
    "ToolsMissing",
    "WaitTimeout",
    "find_tools",
    "load_manifests",
    "wait_for",
]
