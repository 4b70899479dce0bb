"""Overlay points: how a private infra repo specializes the base without editing its code.

    overlays/<env>/config.yaml        deep-merged over config/app-config.yaml for that env
    overlays/<env>/patches.yaml       RFC 6902 JSON patches on synthesized objects (kind/name)
    overlays/<env>/manifests/<folder>/*.yaml   extra objects, added to dist/<env>/<folder>/

All three are applied during synth and checked like everything else: the merged config is
validated by the config model, patched and added objects against the Kubernetes schemas and
pinned CRDs, and a patch that matches nothing is an error. Any error fails the synth and
leaves dist/ untouched. See docs/how-to/overlays.md.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import ConfigDict, Field

from constructs_lib.compose.layout import ROOT_FILE, RenderedEnv
from constructs_lib.model.base import Model
from constructs_lib.model.bounded import MAX_YAML_BYTES, InputTooLarge, read_bounded
from constructs_lib.model.clusters import ClusterSettings
from constructs_lib.model.config import AppConfig
from constructs_lib.model.loading import (
    ConfigError,
    format_errors,
    parse_model,
    parse_yaml_documents,
    read_yaml,
)
from constructs_lib.model.migration import upgrade_overlay_services
from constructs_lib.paths import ROOT, display
from constructs_lib.render.json_patch import PatchError, apply_patch
from constructs_lib.render.schema_check import validate_manifest

OVERLAYS_DIR = ROOT / "overlays"
CONFIG_FILE = "config.yaml"
PATCHES_FILE = "patches.yaml"
MANIFESTS_DIR = "manifests"
# What the API server accepts as an object's name (a DNS subdomain) and namespace (a DNS
# label), which is also what a file name of dist/ may hold.
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?\Z")
_NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?\Z")
# Lists inside Lists: kubectl and Argo CD flatten them; this deep is far more than any need.
_LIST_DEPTH = 4

Build = Callable[[AppConfig, ClusterSettings], RenderedEnv]
M = TypeVar("M", bound=Model)


class OverlayError(ConfigError):
    """A problem of an overlay file (overlays/<env>/)."""


class Target(Model):
    """The object a patch applies to."""

    kind: str = Field(min_length=1)
    name: str = Field(min_length=1)
    namespace: str | None = Field(None, description="Needed only when kind/name is ambiguous.")


class Operation(Model):
    """One RFC 6902 operation."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    op: Literal["add", "remove", "replace", "move", "copy", "test"]
    path: str
    value: Any = None
    from_: str | None = Field(None, alias="from")


class PatchEntry(Model):
    target: Target
    patch: list[Operation] = Field(min_length=1)


class PatchesFile(Model):
    """Root of `overlays/<env>/patches.yaml`."""

    patches: list[PatchEntry] = Field(default_factory=list)


@dataclass(frozen=True)
class Overlay:
    """What `overlays/<env>/` holds; every part may be absent."""

    env: str
    directory: Path
    config: dict[str, Any] | None
    patches: list[PatchEntry]
    manifests: dict[str, list[tuple[str, dict[str, Any]]]]
    """Folder -> (where: the file, its document and List item, object); Lists flattened."""

    def source(self, name: str) -> str:
        return display(self.directory / name, ROOT)


def load_overlay(root: Path, env: str) -> Overlay | None:
    """Read `root/<env>/`; None when the environment has no overlay folder."""
    directory = root / env
    if not directory.is_dir():
        return None
    problems: list[str] = []
    config = _load_config(directory / CONFIG_FILE, problems)
    patches = _load_patches(directory / PATCHES_FILE, problems)
    manifests = _load_manifests(directory / MANIFESTS_DIR, problems)
    if problems:
        raise OverlayError(display(directory, ROOT), problems)
    return Overlay(env, directory, config, patches, manifests)


def _read(path: Path, problems: list[str]) -> Any:
    try:
        return read_yaml(path)
    except ConfigError as exc:
        problems += [f"{display(path, ROOT)}: {p.removeprefix(f'{path}: ')}" for p in exc.problems]
        return None


def _load_config(path: Path, problems: list[str]) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    data = _read(path, problems)
    if data is not None and not isinstance(data, dict):
        problems.append(f"{display(path, ROOT)}: must be a mapping of config keys")
        return None
    return data or None


def _load_patches(path: Path, problems: list[str]) -> list[PatchEntry]:
    patches = read_overlay_file(path, PatchesFile, problems)
    return list(patches.patches) if patches is not None else []


def read_overlay_file(path: Path, model: type[M], problems: list[str]) -> M | None:
    """An overlay file read strictly as `model`; None when it is absent or empty, or has
    problems, which go to `problems` as `file: path: message` lines."""
    if not path.is_file():
        return None
    data = _read(path, problems)
    if data is None:
        return None
    try:
        return parse_model(model, data, display(path, ROOT))
    except ConfigError as exc:
        problems += [f"{display(path, ROOT)}: {p}" for p in exc.problems]
        return None


def _load_manifests(path: Path, problems: list[str]) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    out: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    if not path.is_dir():
        return out
    for file in sorted(path.rglob("*")):
        if file.is_dir() or file.suffix not in (".yaml", ".yml"):
            continue
        where = display(file, ROOT)
        relative = file.relative_to(path)
        if len(relative.parts) != 2:
            problems.append(
                f"{where}: put extra manifests in {MANIFESTS_DIR}/<folder>/ (app, platform, ...)"
            )
            continue
        try:
            raw = read_bounded(file, MAX_YAML_BYTES)
            documents = parse_yaml_documents(raw.decode("utf-8"), where)
        except (OSError, InputTooLarge, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else str(exc)
            if isinstance(exc, UnicodeDecodeError):
                reason = f"not UTF-8 text (byte {exc.start})"
            problems.append(f"{where}: {reason}")
            continue
        except ConfigError as exc:
            problems += [f"{where}: {p}" for p in exc.problems]
            continue
        for i, document in enumerate(d for d in documents if d is not None):
            for item_where, item in _objects_of(document, f"{where}: document {i}", problems):
                # A plain document is named by its file, a List's item by its path in it.
                shown = where if item_where == f"{where}: document {i}" else item_where
                out.setdefault(relative.parts[0], []).append((shown, item))
    return out


def is_list(document: Any) -> bool:
    """A List as kubectl and Argo CD read it: any object with an `items` key (they decode it as
    a list whatever its kind), or a kind ending in List."""
    if not isinstance(document, dict):
        return False
    kind = document.get("kind")
    return "items" in document or (isinstance(kind, str) and kind.lower().endswith("list"))


def _objects_of(
    document: Any, where: str, problems: list[str], depth: int = 0
) -> list[tuple[str, dict[str, Any]]]:
    """The objects a document holds: itself, or the items of a List, flattened, so every
    check sees each item as the object it is."""
    if is_list(document):
        items = document.get("items")
        if not isinstance(items, list):
            problems.append(f"{where}: a List (kind {document.get('kind')!r}) needs items")
            return []
        if depth >= _LIST_DEPTH:
            problems.append(f"{where}: Lists nested deeper than {_LIST_DEPTH}")
            return []
        return [
            found
            for j, item in enumerate(items)
            for found in _objects_of(item, f"{where}: items[{j}]", problems, depth + 1)
        ]
    problem = object_problem(document)
    if problem is not None:
        problems.append(f"{where}: {problem}")
        return []
    return [(where, document)]


def object_problem(document: Any) -> str | None:
    """What makes `document` no object the synth can write and the API server accepts."""
    if not isinstance(document, dict):
        return "needs apiVersion, kind and metadata.name"
    metadata = document.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    kind, api_version = document.get("kind"), document.get("apiVersion")
    if not (isinstance(kind, str) and kind and isinstance(api_version, str) and name):
        return "needs apiVersion, kind and metadata.name"
    if not isinstance(name, str) or len(name) > 253 or not _NAME.match(name):
        return (
            f"metadata.name {name!r} is not a DNS subdomain (lowercase letters, digits, '-' "
            "and '.', at most 253)"
        )
    namespace = metadata.get("namespace") if isinstance(metadata, dict) else None
    if namespace is not None and (
        not isinstance(namespace, str) or len(namespace) > 63 or not _NAMESPACE.match(namespace)
    ):
        return f"metadata.namespace {namespace!r} is not a DNS label"
    if not re.match(r"^[A-Za-z][A-Za-z0-9]*\Z", kind):
        return f"kind {kind!r} is not a Kubernetes kind"
    return None


# --- config ----------------------------------------------------------------------------------


def merge(base: Any, override: Any) -> Any:
    """Deep merge: mappings merge key by key, lists of mappings with `name` merge by name
    (new names are appended), anything else is replaced by the override."""
    if isinstance(base, dict) and isinstance(override, dict):
        out = dict(base)
        for key, value in override.items():
            out[key] = merge(base[key], value) if key in base else value
        return out
    if isinstance(base, list) and isinstance(override, list) and _named(base) and _named(override):
        merged = list(base)
        index = {item["name"]: i for i, item in enumerate(merged)}
        for item in override:
            if item["name"] in index:
                merged[index[item["name"]]] = merge(merged[index[item["name"]]], item)
            else:
                merged.append(item)
        return merged
    return override


def _named(items: list[Any]) -> bool:
    return all(isinstance(i, dict) and "name" in i for i in items)


def overlay_config(config: AppConfig, overlay: Overlay) -> AppConfig:
    if overlay.config is None:
        return config
    override = overlay.config
    if isinstance(override.get("services"), list):  # entries with version 1 keys: read as 2
        kinds = {s.name: s.type for s in config.services}
        override = {
            **override,
            "services": upgrade_overlay_services(override["services"], kinds.get),
        }
    data = merge(config.model_dump(mode="json", exclude_unset=True), override)
    source = overlay.source(CONFIG_FILE)
    try:
        return AppConfig.model_validate(data)
    except Exception as exc:  # pydantic.ValidationError, reported line by line
        from pydantic import ValidationError

        if not isinstance(exc, ValidationError):
            raise
        raise OverlayError(
            source, [f"{source}: {p}" for p in format_errors(exc, AppConfig)]
        ) from None


# --- rendered objects ------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """One object an overlay patched or added, for the trust policy to judge."""

    source: str
    """The patch entry (`overlays/dev/patches.yaml: patches[0]`) or the manifest's file,
    document and List item."""
    folder: str
    """The dist/ folder, or root.yaml."""
    before: dict[str, Any] | None
    """The object before this change; None for an added object."""
    after: dict[str, Any]


def apply_overlay(env: RenderedEnv, overlay: Overlay) -> RenderedEnv:
    """Patched and extended copy of `env`; every problem is reported at once."""
    return trace_overlay(env, overlay)[0]


def trace_overlay(env: RenderedEnv, overlay: Overlay) -> tuple[RenderedEnv, list[Change]]:
    """`apply_overlay`, and each change it made, in order."""
    problems: list[str] = []
    changes: list[Change] = []
    folders = {folder: list(objects) for folder, objects in env.folders.items()}
    root = list(env.root)
    source = overlay.source(PATCHES_FILE)
    for i, entry in enumerate(overlay.patches):
        problems += _apply_entry(env.name, folders, root, entry, f"{source}: patches[{i}]", changes)
    for folder, documents in overlay.manifests.items():
        if folder not in folders:
            known = ", ".join(sorted(folders))
            problems.append(
                f"{overlay.source(MANIFESTS_DIR)}/{folder}: no folder '{folder}' "
                f"in dist/{env.name} ({known})"
            )
            continue
        for where, document in documents:
            problems += [
                f"{where}: {document['kind']} '{document['metadata']['name']}': {p}"
                for p in validate_manifest(document)
            ]
            folders[folder].append(document)
            changes.append(Change(where, folder, None, document))
    if problems:
        raise OverlayError(display(overlay.directory, ROOT), problems)
    return RenderedEnv(name=env.name, folders=folders, root=root), changes


def _apply_entry(
    env: str,
    folders: dict[str, list[dict[str, Any]]],
    root: list[dict[str, Any]],
    entry: PatchEntry,
    where: str,
    changes: list[Change],
) -> list[str]:
    target = entry.target
    lists = [*folders.items(), (ROOT_FILE, root)]
    seen: set[int] = set()
    matches: list[tuple[str, dict[str, Any]]] = []
    for folder, objects in lists:
        for obj in objects:
            metadata = obj.get("metadata")
            metadata = metadata if isinstance(metadata, dict) else {}
            if (
                id(obj) not in seen
                and obj.get("kind") == target.kind
                and metadata.get("name") == target.name
                and (target.namespace is None or metadata.get("namespace") == target.namespace)
            ):
                seen.add(id(obj))
                matches.append((folder, obj))
    label = f"{target.kind} '{target.name}'" + (
        f" in namespace '{target.namespace}'" if target.namespace else ""
    )
    if not matches:
        return [f"{where}: no {label} in dist/{env}"]
    if len(matches) > 1:
        spaces = ", ".join(sorted(str(m["metadata"].get("namespace")) for _, m in matches))
        return [
            f"{where}: {label} matches {len(matches)} objects (namespaces {spaces}); "
            "set target.namespace"
        ]
    folder, original = matches[0]
    operations = [o.model_dump(by_alias=True, exclude_none=False) for o in entry.patch]
    for operation in operations:
        if operation.get("from") is None:
            operation.pop("from", None)
    for operation, model in zip(operations, entry.patch, strict=True):
        if "value" not in model.model_fields_set:
            operation.pop("value", None)
    try:
        patched = apply_patch(original, operations)
    except PatchError as exc:
        return [f"{where}: {exc}"]
    if not isinstance(patched, dict) or is_list(patched):
        what = "a List" if is_list(patched) else "no object"
        return [f"{where}: {label} after the patch: {what}; a patch changes one object's fields"]
    problem = object_problem(patched)
    if problem is not None:
        return [f"{where}: {label} after the patch: {problem}"]
    problems = [f"{where}: {label} after the patch: {p}" for p in validate_manifest(patched)]
    if problems:
        return problems
    for _, objects in lists:
        for k, obj in enumerate(objects):
            if obj is original:
                objects[k] = patched
    changes.append(Change(where, folder, original, patched))
    return []


@dataclass(frozen=True)
class WithOverlays:
    """`build` with each environment's overlay applied around it. A plain object, not a
    closure, so the synth can send it to its worker processes."""

    build: Build
    root: Path = OVERLAYS_DIR

    def __call__(self, config: AppConfig, cluster: ClusterSettings) -> RenderedEnv:
        overlay = load_overlay(self.root, cluster.name)
        if overlay is None:
            return self.build(config, cluster)
        return apply_overlay(self.build(overlay_config(config, overlay), cluster), overlay)


def with_overlays(build: Build, root: Path = OVERLAYS_DIR) -> Build:
    """`build` with each environment's overlay applied around it."""
    return WithOverlays(build, root)
