"""Server-side dry run of rendered manifests against a real kube-apiserver.

`dry_run(kube, objects)` creates the Namespaces for real (a namespaced object can only be
dry-run into a namespace that exists), then server-side applies every other object with
`dryRun=All` and `fieldValidation=Strict`: the API server decodes it (an unknown or duplicate
field is an error, not a warning), defaults it, validates it with the built-in rules or the
CRD's OpenAPI schema, and runs admission, but stores nothing. It returns one `Refusal` per
object the API server refused, with the API server's own message, so that a failing test lists
every refused object at once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .kube import KubeClient, KubeError

Manifest = dict[str, Any]
FIELD_MANAGER = "e2e-dry-run"
# Server-side apply bodies are YAML (application/apply-patch+yaml), of which JSON is a subset,
# except that YAML refuses some characters raw (C1 controls, U+FEFF, U+FFFE/F), folds others
# as line breaks (U+0085, U+2028, U+2029) and refuses surrogate escapes (Python's
# `\ud83d\ude00` for one emoji). Everything else is sent raw, as Go's encoding/json (Argo CD,
# kubectl) sends it, and these few as `\uXXXX` escapes.
_YAML_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]")


def apply_body(obj: Manifest) -> bytes:
    """`obj` as an apply patch the API server decodes to exactly `obj`."""
    text = json.dumps(obj, ensure_ascii=False)
    return _YAML_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text).encode()


@dataclass(frozen=True)
class Refusal:
    source: str  # where the object came from, e.g. dist/dev/app/web.yaml
    object: str  # "<Kind> <namespace/>name"
    message: str

    def __str__(self) -> str:
        return f"{self.source}: {self.object}: {self.message}"


def describe(obj: Manifest) -> str:
    meta = obj.get("metadata") or {}
    ns = meta.get("namespace")
    return f"{obj.get('kind')} {ns + '/' if ns else ''}{meta.get('name')}"


def ensure_namespaces(kube: KubeClient, objects: Iterable[tuple[str, Manifest]]) -> list[Refusal]:
    """Apply every Namespace among `objects` for real, and create the namespaces the other
    objects name but do not render (argocd, the add-ons' namespaces, which Argo CD creates).
    Returns the Namespaces the API server refused."""
    objects = list(objects)
    refused: list[Refusal] = []
    rendered = set()
    for source, obj in objects:
        if obj.get("kind") != "Namespace" or obj.get("apiVersion") != "v1":
            continue
        rendered.add((obj.get("metadata") or {}).get("name"))
        try:
            _apply(kube, kube.path("v1", "Namespace", obj["metadata"]["name"]), obj)
        except KubeError as exc:
            refused.append(Refusal(source, describe(obj), _message(exc)))
    named = {
        ns
        for _, obj in objects
        if isinstance(ns := (obj.get("metadata") or {}).get("namespace"), str) and ns
    }
    for ns in sorted(named - rendered):
        if kube.get("v1", "Namespace", ns) is None:
            try:
                kube.apply_one(
                    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
                    FIELD_MANAGER,
                )
            except KubeError:
                pass  # an invalid name: the objects in it are refused below, with the reason
    return refused


def dry_run_one(kube: KubeClient, obj: Manifest) -> str | None:
    """None when the API server admits `obj` (server-side apply, dryRun=All, strict field
    validation), else its message."""
    meta = obj.get("metadata") or {}
    name, namespace = meta.get("name"), meta.get("namespace")
    if not isinstance(name, str) or not name:
        return "no metadata.name"
    try:
        namespaced = kube.namespaced(str(obj.get("apiVersion")), str(obj.get("kind")))
        if namespaced and not namespace:
            return "a namespaced kind without metadata.namespace"
        path = kube.path(
            str(obj["apiVersion"]), str(obj["kind"]), name, namespace if namespaced else None
        )
        _apply(kube, path, obj, dry_run=True)
    except KubeError as exc:
        return _message(exc)
    return None


def _apply(kube: KubeClient, path: str, obj: Manifest, *, dry_run: bool = False) -> None:
    """Server-side apply of `obj` at `path` with strict field validation; with `dry_run`,
    admission runs and nothing is stored."""
    params = {"fieldManager": FIELD_MANAGER, "force": "true", "fieldValidation": "Strict"}
    if dry_run:
        params["dryRun"] = "All"
    kube.request(
        "PATCH",
        path,
        params=params,
        body=apply_body(obj),
        content_type="application/apply-patch+yaml",
    )


def dry_run(kube: KubeClient, objects: Iterable[tuple[str, Manifest]]) -> list[Refusal]:
    """Every refusal of the API server for `objects` ((source, object) pairs): Namespaces
    applied for real first, then everything else dry-run in the given order."""
    objects = list(objects)
    refused = ensure_namespaces(kube, objects)
    for source, obj in objects:
        if obj.get("kind") == "Namespace" and obj.get("apiVersion") == "v1":
            continue
        message = dry_run_one(kube, obj)
        if message is not None:
            refused.append(Refusal(source, describe(obj), message))
    return refused


def _message(exc: KubeError) -> str:
    """The API server's message without the request line the client puts in front."""
    body = exc.body
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return f"{body.get('reason') or exc.status}: {body['message']}"
    return str(exc)
