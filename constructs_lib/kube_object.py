"""KubeObject: a cdk8s ApiObject whose body is plain data built by a typed construct."""

from __future__ import annotations

from typing import Any

import cdk8s
from constructs import Construct

SYNC_WAVE = "argocd.argoproj.io/sync-wave"


class KubeObject(cdk8s.ApiObject):
    """One Kubernetes object with an explicit name, so cdk8s adds no generated suffix.

    Typed props live on the constructs that create KubeObjects; the body here is already
    checked data. It reaches cdk8s as JSON patches on a plain ApiObject, which keeps synth at
    a few jsii calls per object (the generated L1 classes cost ten times more) and leaves
    every object open to `add_json_patch` from overlays.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        api_version: str,
        kind: str,
        name: str,
        labels: dict[str, str],
        namespace: str | None = None,
        annotations: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(
            scope,
            id,
            api_version=api_version,
            kind=kind,
            metadata=cdk8s.ApiObjectMetadata(
                name=name, namespace=namespace, labels=labels, annotations=annotations or None
            ),
        )
        if body:
            self.add_json_patch(*(cdk8s.JsonPatch.add(f"/{key}", value) for key, value in body.items()))
