"""The one label helper. Selectors come from here and only here; the keys are named in
model/names.py.

Selectors are immutable on Deployments, so they are built from the app and service names,
never from construct paths or cdk8s hashes: moving a construct must not change them.
"""

from __future__ import annotations

from constructs_lib.model.names import INSTANCE, MANAGED_BY, MANAGER, NAME, PART_OF


def selector_labels(app: str, component: str) -> dict[str, str]:
    """Labels that select the pods of one component of an app."""
    return {NAME: component, INSTANCE: app}


def standard_labels(app: str, component: str) -> dict[str, str]:
    """The app.kubernetes.io labels every object carries."""
    return {**selector_labels(app, component), PART_OF: app, MANAGED_BY: MANAGER}
