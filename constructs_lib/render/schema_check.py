"""Validate rendered manifests against the real schemas.

Built-in kinds are checked against the Kubernetes OpenAPI schema of every supported minor
(strict: unknown fields are errors); custom resources against the openAPIV3Schema of their
pinned CRD (platform/crds.yaml; where the files are read from: constructs_lib.render.crds).

Each object is first checked by a compiled validator (jsonschema-rs, tens of microseconds an
object, so the synth can check every object it renders); only an object it rejects goes
through the reference validator (jsonschema), which words the problems.

    python -m constructs_lib.render.schema_check [DIST]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import sys
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema_rs
import yaml

from constructs_lib.paths import ROOT
from constructs_lib.render.crds import (
    CrdsError,
    cache_dir,
    ensure_crds,
    fetch_crds,
    load_crd,
    pinned_crds,
)

# The Kubernetes minors the base supports. See docs/reference/kubernetes-versions.md.
KUBERNETES_VERSIONS = ("1.34", "1.35", "1.36")
# The one the synth checks against (`make check` checks every supported minor).
NEWEST = KUBERNETES_VERSIONS[-1:]


def _ensure_crds() -> None:
    ensure_crds(log=lambda line: print(line, file=sys.stderr))


@cache
def crd_schema(api_version: str, kind: str) -> dict[str, Any] | None:
    """openAPIV3Schema of a pinned CRD's version; None for kinds no pinned CRD defines.
    Only the one file is read, so a synth pays for the CRDs it uses."""
    group, _, version = api_version.rpartition("/")
    for pin in pinned_crds():
        if pin.kind == kind and pin.group == group:
            # Every pinned file must be there: fetched (checksums checked) into the cache on
            # first use when no mirror is configured; else an error naming the mirror variable.
            _ensure_crds()
            crd = load_crd(pin)
            for served in crd["spec"]["versions"]:
                if served["name"] == version:
                    schema: dict[str, Any] = served["schema"]["openAPIV3Schema"]
                    return schema
    return None


def _errors(validator: Any, manifest: dict[str, Any], prefix: str = "") -> list[str]:
    return [
        f"{prefix}{'.'.join(str(p) for p in error.absolute_path) or '(root)'}: {error.message}"
        for error in sorted(
            validator.iter_errors(manifest), key=lambda e: list(map(str, e.absolute_path))
        )
    ]


@cache
def _crd_validator(api_version: str, kind: str) -> Any:
    import jsonschema

    schema = crd_schema(api_version, kind)
    # CRDs prune unknown fields unless preserved; an unknown field in our output is a bug.
    return jsonschema.Draft7Validator(_strict(schema)) if schema is not None else None


def _strict(schema: Any) -> Any:
    """Forbid properties a structural schema does not declare, as the API server would prune."""
    if isinstance(schema, list):
        return [_strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _strict(v) for k, v in schema.items()}
    if (
        out.get("type") == "object"
        and "properties" in out
        and "additionalProperties" not in out
        and not out.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


@cache
def _fast_crd_validator(api_version: str, kind: str) -> Any:
    schema = crd_schema(api_version, kind)
    if schema is None:
        return None
    return jsonschema_rs.Draft7Validator(_strict(schema), validate_formats=False)


def _schemas_root() -> Path:
    """kubernetes-validate's bundled schemas, found without importing the package (its import
    takes 0.1 s; the synth needs only the files)."""
    spec = importlib.util.find_spec("kubernetes_validate")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("kubernetes-validate is not installed: run 'make install'")
    return Path(next(iter(spec.submodule_search_locations))) / "kubernetes-json-schema"


_SCHEMAS = _schemas_root()


def _schema_folder(version: str) -> Path:
    return _SCHEMAS / f"v{version}.0-local-strict"


def _kubernetes_schema(version: str, api_version: str, kind: str) -> Any:
    """The strict JSON schema kubernetes-validate bundles for one kind, or None."""
    folder = _schema_folder(version)
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    schema_file = folder.joinpath(f"{kind.lower()}-{group_version}.json")
    if not schema_file.is_file():
        return None
    return json.loads(schema_file.read_text())


_BASE = "https://kubernetes-validate.invalid/v{version}/"


@cache
def _fast_registry(version: str) -> Any:
    definitions = (_BASE + "_definitions.json").format(version=version)
    return jsonschema_rs.Registry(resources=[(definitions, _definitions(version))])


@cache
def _fast_kubernetes_validator(version: str, api_version: str, kind: str) -> Any:
    schema = _kubernetes_schema(version, api_version, kind)
    if schema is None:
        return None
    return jsonschema_rs.Draft202012Validator(
        schema,
        registry=_fast_registry(version),
        base_uri=(_BASE + "{kind}.json").format(version=version, kind=kind.lower()),
        validate_formats=False,
    )


@cache
def _kubernetes_validator(version: str, api_version: str, kind: str) -> Any:
    """Strict validator from the OpenAPI-derived JSON schemas kubernetes-validate bundles."""
    import jsonschema
    from referencing import Registry, Resource

    schema = _kubernetes_schema(version, api_version, kind)
    if schema is None:
        return None
    registry: Registry = Registry().with_resources(
        [
            ("", Resource.from_contents(schema)),
            ("_definitions.json", Resource.from_contents(_definitions(version))),
        ]
    )
    registry = Resource.from_contents(schema) @ registry
    registry = Resource.from_contents(_definitions(version)) @ registry
    return jsonschema.Draft202012Validator(schema, registry=registry)


@cache
def _definitions(version: str) -> Any:
    return json.loads((_schema_folder(version) / "_definitions.json").read_text())


def warm(kinds: Iterable[str] = (), versions: Iterable[str] = NEWEST) -> None:
    """Build ahead what a synth will need (the Kubernetes definitions, the validators of the
    pinned CRDs of `kinds`), so that a thread can do it while the synth waits for cdk8s.
    Errors are left for the synth's own call to raise."""
    wanted = set(kinds)
    try:
        for version in versions:
            _fast_registry(version)
        for pin in pinned_crds():
            if pin.kind in wanted:
                crd = load_crd(pin)
                for served in crd["spec"]["versions"]:
                    _fast_crd_validator(f"{pin.group}/{served['name']}", pin.kind)
    except Exception:  # raised again where the synth needs it
        return


def validate_manifest(
    manifest: dict[str, Any], versions: Iterable[str] = KUBERNETES_VERSIONS
) -> list[str]:
    """Every problem of one object, for every supported Kubernetes minor."""
    api_version, kind = manifest.get("apiVersion", ""), manifest.get("kind", "")
    crd = _fast_crd_validator(api_version, kind)
    if crd is not None:
        if crd.is_valid(manifest):
            return []
        return _errors(_crd_validator(api_version, kind), manifest)
    problems = []
    for version in versions:
        fast = _fast_kubernetes_validator(version, api_version, kind)
        if fast is None:
            problems.append(f"Kubernetes {version}: no schema for {api_version} {kind}")
        elif not fast.is_valid(manifest):
            validator = _kubernetes_validator(version, api_version, kind)
            problems += _errors(validator, manifest, prefix=f"Kubernetes {version}: ")
    return problems


def validate_tree(dist: Path) -> list[str]:
    problems = []
    for path in sorted(dist.rglob("*.yaml")):
        for document in yaml.load_all(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader):
            if document is None:
                continue
            for problem in validate_manifest(document):
                problems.append(f"{path.relative_to(dist.parent)}: {problem}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Validate dist/ against Kubernetes and CRD schemas."
    )
    parser.add_argument("dist", nargs="?", type=Path, default=ROOT / "dist")
    parser.add_argument(
        "--fetch-crds",
        action="store_true",
        help=f"download the pinned CRDs into $CRDS_DIR (default {cache_dir()}) and exit",
    )
    parser.add_argument(
        "--ensure-crds",
        action="store_true",
        help="like --fetch-crds, but only if any pinned CRD is missing from where they are read",
    )
    args = parser.parse_args(argv)
    try:
        if args.ensure_crds:
            ensure_crds()
            return 0
        if args.fetch_crds:
            fetch_crds(Path(os.environ["CRDS_DIR"]) if os.environ.get("CRDS_DIR") else None)
            return 0
    except (CrdsError, OSError) as exc:
        for problem in getattr(exc, "problems", None) or [str(exc)]:
            print(f"error: {problem}", file=sys.stderr)
        return 1
    try:
        problems = validate_tree(args.dist)
    except CrdsError as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        return 2
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    files = sum(1 for _ in args.dist.rglob("*.yaml"))
    if problems:
        print(f"{len(problems)} problem(s) in {files} files", file=sys.stderr)
        return 1
    print(
        f"{files} files valid for Kubernetes {', '.join(KUBERNETES_VERSIONS)} and the pinned CRDs"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
