"""The one label helper. Selectors come from here and only here.

Selectors are immutable on Deployments, so they are built from the app and service names,
never from construct paths or cdk8s hashes: moving a construct must not change them.
"""

from __future__ import annotations

NAME = "app.kubernetes.io/name"
INSTANCE = "app.kubernetes.io/instance"
COMPONENT = "app.kubernetes.io/component"
PART_OF = "app.kubernetes.io/part-of"
MANAGED_BY = "app.kubernetes.io/managed-by"
MANAGER = "gitops-base"
NAMESPACE_NAME = "kubernetes.io/metadata.name"
"""The label the API server sets on every Namespace, its name; immutable."""


def selector_labels(app: str, component: str) -> dict[str, str]:
    """Labels that select the pods of one component of an app."""
    return {NAME: component, INSTANCE: app}


def standard_labels(app: str, component: str) -> dict[str, str]:
    """The app.kubernetes.io labels every object carries."""
    return {**selector_labels(app, component), PART_OF: app, MANAGED_BY: MANAGER}
