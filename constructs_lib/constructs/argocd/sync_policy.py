"""The one sync policy of every Application the base renders.

Automated sync with prune and self-heal, foreground pruning after everything else has synced,
and retries with backoff. HelmAddon writes it as plain data; ArgoApplication through the typed
bindings (`typed()`); both take it from `sync_policy()`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from imports.argocd_application.io import argoproj as app_crd

RESOURCES_FINALIZER = "resources-finalizer.argocd.argoproj.io"
SYNC_OPTIONS = ("PrunePropagationPolicy=foreground", "PruneLast=true")
RETRY_LIMIT = 10
RETRY_BACKOFF = {"duration": "5s", "factor": 2, "maxDuration": "3m"}


def sync_policy(
    extra_options: Sequence[str] = (), managed_namespace_labels: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """`spec.syncPolicy` as plain data, in the order Argo CD documents it."""
    policy: dict[str, Any] = {
        "automated": {"prune": True, "selfHeal": True},
        "syncOptions": [*SYNC_OPTIONS, *extra_options],
        "retry": {"limit": RETRY_LIMIT, "backoff": dict(RETRY_BACKOFF)},
    }
    if managed_namespace_labels:
        policy["managedNamespaceMetadata"] = {"labels": dict(managed_namespace_labels)}
    return policy


def typed(policy: Mapping[str, Any]) -> app_crd.ApplicationSpecSyncPolicy:
    """The same policy through the generated Application bindings."""
    automated, retry = policy["automated"], policy["retry"]
    backoff = retry["backoff"]
    managed = policy.get("managedNamespaceMetadata")
    return app_crd.ApplicationSpecSyncPolicy(
        automated=app_crd.ApplicationSpecSyncPolicyAutomated(
            prune=automated["prune"], self_heal=automated["selfHeal"]
        ),
        sync_options=list(policy["syncOptions"]),
        retry=app_crd.ApplicationSpecSyncPolicyRetry(
            limit=retry["limit"],
            backoff=app_crd.ApplicationSpecSyncPolicyRetryBackoff(
                duration=backoff["duration"],
                factor=backoff["factor"],
                max_duration=backoff["maxDuration"],
            ),
        ),
        managed_namespace_metadata=(
            app_crd.ApplicationSpecSyncPolicyManagedNamespaceMetadata(labels=managed["labels"])
            if managed
            else None
        ),
    )
