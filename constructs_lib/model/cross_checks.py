"""Rules that need both the config and one environment's settings."""

from __future__ import annotations

from constructs_lib.model.clusters import ClusterSettings
from constructs_lib.model.config import AppConfig


def cluster_problems(config: AppConfig, cluster: ClusterSettings) -> list[str]:
    """Problems of `cluster` (its clusters/<env>/cluster.yaml) given the config, one line each,
    as `path: message` within the cluster file."""
    problems = []
    if cluster.argocd.namespace == config.app.namespace:
        problems.append(
            f"argocd.namespace: '{cluster.argocd.namespace}' is also the app namespace "
            "(app.namespace): Argo CD's namespace must not get the app's default-deny network "
            "policies, restricted Pod Security and quota; give the app a namespace of its own"
        )
    return problems
