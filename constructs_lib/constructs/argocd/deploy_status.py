"""DeployStatus: Argo CD notifications that report each synced commit of the app's Application.

Argo CD's notifications controller (part of the pinned install) reads `argocd-notifications-cm`
in Argo CD's namespace and the subscriptions annotated on each Application. This construct
renders the ConfigMap's keys for one service, one trigger and three templates, all named
`gitops-base-*`; `subscriptions()` is the annotation the app's Application carries:

    deployed   the sync of a commit succeeded and Argo CD, comparing again after it, reports
               the Application Synced and Healthy at that commit   (GitHub state: success)
    degraded   the Application is Synced and Degraded             (GitHub state: failure)
    failed     the sync failed, or failed once and is retrying    (GitHub state: error)

Each is sent once per commit. The token is the Secret `argocd-notifications-secret`'s key
TOKEN_KEY, written by `gitops-base bootstrap` (cli/support/deploy_status_token.py), never
rendered: the service names it as `$gitops-base-status-token`, which the controller
substitutes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

import yaml
from constructs import Construct

from constructs_lib.constructs.kube_object import Gvk, KubeObject, NamespacedMeta
from constructs_lib.constructs.trust_rules import (
    DEPLOY_STATUS_KEYS,
    DEPLOY_STATUS_STATES,
    NOTIFICATIONS_CM,
    deploy_status_template,
)
from constructs_lib.model.names import DEPLOY_STATUS_SERVICE, DEPLOY_STATUS_TOKEN_KEY

CONFIGMAP = NOTIFICATIONS_CM
SERVICE = DEPLOY_STATUS_SERVICE
TOKEN_KEY = DEPLOY_STATUS_TOKEN_KEY
TRIGGER = SERVICE
SUBSCRIBE = f"notifications.argoproj.io/subscribe.{TRIGGER}.{SERVICE}"
STATES = DEPLOY_STATUS_STATES
CONFIG_MAP = Gvk("v1", "ConfigMap")
GITHUB_STATE = {"deployed": "success", "degraded": "failure", "failed": "error"}
# The commit each state is about, in the template's Go syntax.
REVISION = {
    "deployed": "{{.app.status.operationState.syncResult.revision}}",
    "degraded": "{{.app.status.sync.revision}}",
    "failed": "{{.app.status.operationState.operation.sync.revision}}",
}
# When each state is sent (expr), and the value it is sent once for.
_OP = "app.status.operationState"
WHEN = {
    "deployed": (
        f"{_OP} != nil and {_OP}.phase == 'Succeeded' and app.status.health.status == 'Healthy' "
        f"and app.status.sync.status == 'Synced' "
        f"and app.status.sync.revision == {_OP}.syncResult?.revision "
        f"and (app.status.reconciledAt ?? '') >= ({_OP}.finishedAt ?? '~')"
    ),
    "degraded": "app.status.health.status == 'Degraded' and app.status.sync.status == 'Synced'",
    "failed": (
        f"{_OP} != nil and ({_OP}.phase in ['Error', 'Failed'] or "
        f"({_OP}.phase == 'Running' and ({_OP}.retryCount ?? 0) > 0))"
    ),
}
ONCE_PER = {
    "deployed": f"{_OP}?.syncResult?.revision",
    "degraded": "app.status.sync.revision",
    "failed": f"{_OP}?.operation?.sync?.revision",
}


template_name = deploy_status_template


@dataclass(frozen=True, kw_only=True)
class DeployStatusProps(NamespacedMeta):
    """Props of DeployStatus: the ConfigMap's namespace (Argo CD's) and labels, and what the
    status reports where."""

    name: str = CONFIGMAP
    """The ConfigMap Argo CD's notifications controller reads. @default argocd-notifications-cm"""
    env: str
    """The environment, as the status describes it."""
    app: str
    """The app's Application (its name in the webhook payload)."""
    provider: Literal["github", "webhook"]
    url: str
    """github: the API's base URL; webhook: the endpoint."""
    repository: str = ""
    """github: owner/name of the repository whose commits get the status. @default none"""
    context: str = ""
    """github: the status's name. @default gitops-base/<env>"""
    target_url: str = ""
    """The status's link. @default none"""


def _service(props: DeployStatusProps) -> str:
    # `url:` first and as written: the admission guard reads the scheme from that line.
    headers = [
        {"name": "Authorization", "value": f"Bearer ${TOKEN_KEY}"},
        {"name": "Content-Type", "value": "application/json"},
    ]
    if props.provider == "github":
        headers.insert(1, {"name": "Accept", "value": "application/vnd.github+json"})
    return f"url: {props.url}\n" + yaml.safe_dump({"headers": headers}, sort_keys=False)


def _body(props: DeployStatusProps, state: str) -> str:
    description = {
        "deployed": f"{props.env}: Synced and Healthy",
        "degraded": f"{props.env}: Degraded after the sync",
        "failed": f"{props.env}: the sync failed",
    }[state]
    if props.provider == "github":
        body: dict[str, str] = {
            "state": GITHUB_STATE[state],
            "context": props.context or f"gitops-base/{props.env}",
            "description": description,
        }
    else:
        body = {
            "app": props.app,
            "environment": props.env,
            "revision": REVISION[state],
            "state": state,
            "description": description,
        }
    if props.target_url:
        body["target_url"] = props.target_url
    # Every value is checked to hold no quote, backslash or brace but the template's own.
    return json.dumps(body)


def _template(props: DeployStatusProps, state: str) -> str:
    hook: dict[str, str] = {"method": "POST"}
    if props.provider == "github":
        hook["path"] = f"/repos/{props.repository}/statuses/{REVISION[state]}"
    hook["body"] = _body(props, state)
    return yaml.safe_dump({"webhook": {SERVICE: hook}}, sort_keys=False, width=1000)


def _trigger() -> str:
    conditions = [
        {"when": WHEN[state], "oncePer": ONCE_PER[state], "send": [template_name(state)]}
        for state in STATES
    ]
    return yaml.safe_dump(conditions, sort_keys=False, width=1000)


def notifications_data(props: DeployStatusProps) -> dict[str, str]:
    """The keys this construct renders into argocd-notifications-cm."""
    data = {f"service.webhook.{SERVICE}": _service(props), f"trigger.{TRIGGER}": _trigger()}
    for state in STATES:
        data[f"template.{template_name(state)}"] = _template(props, state)
    return dict(sorted(data.items()))


def subscriptions() -> dict[str, str]:
    """The annotation that subscribes an Application to the trigger (no recipient: a webhook)."""
    return {SUBSCRIBE: ""}


def own_key(key: str) -> bool:
    """Whether an argocd-notifications-cm key is one this construct renders."""
    return key in DEPLOY_STATUS_KEYS


class DeployStatus(Construct):
    """The keys of argocd-notifications-cm, as a partial ConfigMap applied with root.yaml:
    server-side apply merges them into the ConfigMap the Argo CD install created."""

    def __init__(self, scope: Construct, id: str, *, props: DeployStatusProps) -> None:
        super().__init__(scope, id)
        self.props = props
        body = {"data": notifications_data(props)}
        self.config_map = KubeObject(self, "ConfigMap", CONFIG_MAP, props, body=body)
