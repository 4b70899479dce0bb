"""The deploy status of one environment (clusters/<env>/cluster.yaml `deploy_status`): the keys
of argocd-notifications-cm in root.yaml, and the subscription the app's Application carries."""

from __future__ import annotations

from constructs import Construct

from constructs_lib.constructs.argocd.deploy_status import (
    DeployStatus,
    DeployStatusProps,
    subscriptions,
)
from constructs_lib.constructs.labels import standard_labels
from constructs_lib.model.clusters import GITHUB_API, ClusterSettings
from constructs_lib.model.config import AppConfig


def deploy_status_props(config: AppConfig, cluster: ClusterSettings) -> DeployStatusProps | None:
    """The construct's props; None when the environment has no deploy_status (the default)."""
    status = cluster.deploy_status
    if status is None:
        return None
    github = status.provider == "github"
    return DeployStatusProps(
        namespace=cluster.argocd.namespace,
        labels=standard_labels(config.app.name, "deploy-status"),
        env=cluster.name,
        app=config.app.name,
        provider=status.provider,
        url=status.url or GITHUB_API,
        repository=(cluster.github_repository() or "") if github else "",
        context=(status.context or f"gitops-base/{cluster.name}") if github else "",
        target_url=status.target_url or "",
    )


def add_deploy_status(
    scope: Construct, config: AppConfig, cluster: ClusterSettings
) -> DeployStatus | None:
    """argocd-notifications-cm's keys (root.yaml), when the environment asks for them."""
    props = deploy_status_props(config, cluster)
    return None if props is None else DeployStatus(scope, "DeployStatus", props=props)


def app_annotations(cluster: ClusterSettings) -> dict[str, str]:
    """The app's Application's subscription to the deploy status; none when it is off."""
    return subscriptions() if cluster.deploy_status is not None else {}
