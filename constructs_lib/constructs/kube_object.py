"""KubeObject: a cdk8s ApiObject whose body is plain data built by a typed construct."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cdk8s
from constructs import Construct


@dataclass(frozen=True)
class Gvk:
    """What kind of object: its apiVersion and kind (cdk8s' GroupVersionKind)."""

    api_version: str
    kind: str

    @property
    def group(self) -> str:
        """The API group ("" for the core group)."""
        return self.api_version.rpartition("/")[0]


@dataclass(frozen=True, kw_only=True)
class ObjectMeta:
    """Which object: its name, namespace and labels."""

    name: str
    labels: dict[str, str]
    namespace: str | None = None
    """@default none: a cluster-scoped object"""


@dataclass(frozen=True, kw_only=True)
class NamespacedMeta(ObjectMeta):
    """The name, namespace and labels of a namespaced object. The props of a construct that is
    one such object extend it, and are its metadata."""

    namespace: str


class KubeObject(cdk8s.ApiObject):
    """One Kubernetes object: its kind (`Gvk`), its metadata (`ObjectMeta`, with an explicit
    name, so cdk8s adds no generated suffix) and its body.

    cdk8s owns the object's identity: it sits in the construct tree, and cdk8s renders its
    apiVersion, kind and metadata (labels and annotations other constructs add included).
    The body (spec, data, rules, ...) is data the typed construct already built; it stays on
    the Python side and `synthesize()` merges it into the rendered object. Sending it through
    jsii instead (JSON patches or the generated L1 classes) costs three to ten times more per
    object, which is most of the synth budget at a thousand services. A body is therefore
    patched through `overlays/` on the rendered output, not with `add_json_patch`.

    Every object the constructs render is one, custom resources included; the synth checks
    each body against its schema (docs/decisions/0010-one-rule-for-object-bodies.md).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        gvk: Gvk,
        meta: ObjectMeta,
        *,
        annotations: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(
            scope,
            id,
            api_version=gvk.api_version,
            kind=gvk.kind,
            metadata=cdk8s.ApiObjectMetadata(
                name=meta.name,
                namespace=meta.namespace,
                labels=meta.labels,
                annotations=annotations or None,
            ),
        )
        self.body: dict[str, Any] = dict(body or {})
        self.identity = (gvk.api_version, gvk.kind, meta.namespace or "", meta.name)


def synthesize(chart: cdk8s.Chart) -> list[dict[str, Any]]:
    """`chart.to_json()` with the body of every KubeObject merged into its object."""
    bodies: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for construct in chart.node.find_all():
        if isinstance(construct, KubeObject):
            if construct.identity in bodies:
                _, kind, namespace, name = construct.identity
                raise ValueError(f"two {kind} objects named '{name}' in namespace '{namespace}'")
            bodies[construct.identity] = construct.body
    manifests: list[dict[str, Any]] = []
    for manifest in chart.to_json():
        metadata = manifest["metadata"]
        identity = (
            manifest["apiVersion"],
            manifest["kind"],
            metadata.get("namespace", ""),
            metadata["name"],
        )
        manifests.append({**manifest, **bodies.get(identity, {})})
    return manifests


def sorted_keys(value: Any) -> Any:
    """`value` with the keys of every mapping in it sorted, at every level: the order cdk8s
    renders what it builds itself (metadata, and objects built through generated bindings)."""
    if isinstance(value, dict):
        return {key: sorted_keys(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [sorted_keys(item) for item in value]
    return value
