"""DeployStatus: argocd-notifications-cm's keys for one webhook service, one trigger and three
templates, and the subscription of the app's Application; off unless the environment asks
(what Argo CD's notifications controller sends from them: tests/e2e/test_promotion_journey.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from constructs_lib.compose.build import build
from constructs_lib.constructs.argocd import deploy_status as ds
from constructs_lib.model.clusters import ClusterSettings
from constructs_lib.model.config import AppConfig
from tests.support.constructs import synth

SHA = "0123456789abcdef0123456789abcdef01234567"  # pragma: allowlist secret (a commit id)
LABELS = {"app.kubernetes.io/managed-by": "gitops-base"}


def props(**fields: Any) -> ds.DeployStatusProps:
    values: dict[str, Any] = {
        "namespace": "argocd",
        "labels": LABELS,
        "env": "dev",
        "app": "shop",
        "provider": "github",
        "url": "https://api.github.com",
        "repository": "example-org/shop-gitops",
        "context": "gitops-base/dev",
        "target_url": "https://argocd.example.com/applications/argocd/shop",
    } | fields
    return ds.DeployStatusProps(**values)


def fill(template: str) -> str:
    """A template as the controller renders it for a commit."""
    for expression in ds.REVISION.values():
        template = template.replace(expression, SHA)
    return template


def test_github_gets_a_commit_status_per_state() -> None:
    data = ds.notifications_data(props())
    service = yaml.safe_load(data["service.webhook.gitops-base-status"])
    assert service == {
        "url": "https://api.github.com",
        "headers": [
            {"name": "Authorization", "value": "Bearer $gitops-base-status-token"},
            {"name": "Accept", "value": "application/vnd.github+json"},
            {"name": "Content-Type", "value": "application/json"},
        ],
    }
    for state, github in (("deployed", "success"), ("degraded", "failure"), ("failed", "error")):
        hook = yaml.safe_load(data[f"template.gitops-base-{state}"])["webhook"][
            "gitops-base-status"
        ]
        assert hook["method"] == "POST"
        assert fill(hook["path"]) == f"/repos/example-org/shop-gitops/statuses/{SHA}"
        assert json.loads(fill(hook["body"])) == {
            "state": github,
            "context": "gitops-base/dev",
            "description": {
                "deployed": "dev: Synced and Healthy",
                "degraded": "dev: Degraded after the sync",
                "failed": "dev: the sync failed",
            }[state],
            "target_url": "https://argocd.example.com/applications/argocd/shop",
        }


def test_a_webhook_gets_the_app_environment_commit_and_state() -> None:
    data = ds.notifications_data(
        props(provider="webhook", url="https://deploys.example.com/hook", repository="", context="")
    )
    service = yaml.safe_load(data["service.webhook.gitops-base-status"])
    assert service["url"] == "https://deploys.example.com/hook"
    assert [h["name"] for h in service["headers"]] == ["Authorization", "Content-Type"]
    hook = yaml.safe_load(data["template.gitops-base-degraded"])["webhook"]["gitops-base-status"]
    assert "path" not in hook
    assert json.loads(fill(hook["body"])) == {
        "app": "shop",
        "environment": "dev",
        "revision": SHA,
        "state": "degraded",
        "description": "dev: Degraded after the sync",
        "target_url": "https://argocd.example.com/applications/argocd/shop",
    }


def test_one_trigger_sends_each_state_once_per_commit() -> None:
    conditions = yaml.safe_load(ds.notifications_data(props())["trigger.gitops-base-status"])
    assert [c["send"] for c in conditions] == [
        ["gitops-base-deployed"],
        ["gitops-base-degraded"],
        ["gitops-base-failed"],
    ]
    deployed, degraded, failed = conditions
    # Deployed only once Argo CD compared again after the sync: the health is the new one.
    assert "app.status.operationState.phase == 'Succeeded'" in deployed["when"]
    assert "(app.status.reconciledAt ?? '') >= " in deployed["when"]
    assert deployed["oncePer"] == "app.status.operationState?.syncResult?.revision"
    assert degraded["oncePer"] == "app.status.sync.revision"
    assert "retryCount ?? 0) > 0" in failed["when"]


def test_the_subscription_annotation_is_a_valid_key() -> None:
    (key,) = ds.subscriptions()
    prefix, name = key.split("/")
    assert prefix == "notifications.argoproj.io" and len(name) <= 63
    assert ds.subscriptions() == {key: ""}
    assert all(ds.own_key(k) for k in ds.notifications_data(props()))
    assert not ds.own_key("service.webhook.other")


def test_the_construct_renders_one_partial_config_map() -> None:
    (cm,) = synth(lambda s: ds.DeployStatus(s, "status", props=props()))
    assert (cm["kind"], cm["metadata"]["name"], cm["metadata"]["namespace"]) == (
        "ConfigMap",
        "argocd-notifications-cm",
        "argocd",
    )
    assert cm["data"] == ds.notifications_data(props())


def with_deploy_status(cluster: ClusterSettings, **settings: Any) -> ClusterSettings:
    return ClusterSettings.model_validate(
        cluster.model_dump(mode="json") | {"deploy_status": settings}
    )


@pytest.mark.parametrize("on", [False, True], ids=["off", "on"])
def test_the_environment_turns_it_on(
    example_config: AppConfig, dev_cluster: ClusterSettings, on: bool
) -> None:
    cluster = with_deploy_status(dev_cluster, provider="github") if on else dev_cluster
    env = build(example_config, cluster)
    config_maps = [o for o in env.root if o["metadata"]["name"] == "argocd-notifications-cm"]
    shop = next(
        o
        for o in env.folders["argocd"]
        if o["kind"] == "Application" and o["metadata"]["name"] == "shop"
    )
    annotations = shop["metadata"]["annotations"]
    others = [
        o
        for o in env.folders["argocd"]
        if o["kind"] == "Application" and o["metadata"]["name"] != "shop"
    ]
    assert all(ds.SUBSCRIBE not in (o["metadata"].get("annotations") or {}) for o in others)
    if not on:
        assert config_maps == [] and ds.SUBSCRIBE not in annotations
        return
    (cm,) = config_maps
    service = yaml.safe_load(cm["data"]["service.webhook.gitops-base-status"])
    assert service["url"] == "https://api.github.com"
    path = yaml.safe_load(cm["data"]["template.gitops-base-deployed"])["webhook"][
        "gitops-base-status"
    ]["path"]
    # owner/name from repo.url (https://github.com/example-org/shop-gitops.git).
    assert path.startswith("/repos/example-org/shop-gitops/statuses/")
    assert annotations[ds.SUBSCRIBE] == ""
