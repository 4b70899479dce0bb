"""Validate rendered manifests against the real schemas.

Built-in kinds are checked against the Kubernetes OpenAPI schema of every supported minor
(strict: unknown fields are errors); custom resources against the openAPIV3Schema of their
pinned CRD. CRD files are read from CRDS_DIR, by default ../shared/crds next to the repo or the
cache `make crds` fills from the upstream URLs pinned in cdk8s.yaml.

    python -m constructs_lib.render.schema_check [DIST]
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from constructs_lib.paths import ROOT

# The Kubernetes minors the base supports. See docs/reference/kubernetes-versions.md.
KUBERNETES_VERSIONS = ("1.34", "1.35", "1.36")
# Pinned CRD files: upstream URL (also in cdk8s.yaml for the typed bindings) and mirror name.
PINNED_CRDS = {
    "argoproj.io_applications.yaml": "https://raw.githubusercontent.com/argoproj/argo-cd/v3.5.2/manifests/crds/application-crd.yaml",
    "argoproj.io_appprojects.yaml": "https://raw.githubusercontent.com/argoproj/argo-cd/v3.5.2/manifests/crds/appproject-crd.yaml",
    "argoproj.io_applicationsets.yaml": "https://raw.githubusercontent.com/argoproj/argo-cd/v3.5.2/manifests/crds/applicationset-crd.yaml",
    "cert-manager.io_clusterissuers.yaml": "https://raw.githubusercontent.com/cert-manager/cert-manager/v1.21.1/deploy/crds/cert-manager.io_clusterissuers.yaml",
    "cert-manager.io_issuers.yaml": "https://raw.githubusercontent.com/cert-manager/cert-manager/v1.21.1/deploy/crds/cert-manager.io_issuers.yaml",
    "cert-manager.io_certificates.yaml": "https://raw.githubusercontent.com/cert-manager/cert-manager/v1.21.1/deploy/crds/cert-manager.io_certificates.yaml",
    "secrets-store.csi.x-k8s.io_secretproviderclasses.yaml": "https://raw.githubusercontent.com/kubernetes-sigs/secrets-store-csi-driver/v1.6.0/charts/secrets-store-csi-driver/crds/secrets-store.csi.x-k8s.io_secretproviderclasses.yaml",
    "bitnami.com_sealedsecrets.yaml": "https://raw.githubusercontent.com/bitnami-labs/sealed-secrets/v0.36.6/helm/sealed-secrets/crds/bitnami.com_sealedsecrets.yaml",
    "helm.cattle.io_helmcharts.yaml": "https://raw.githubusercontent.com/k3s-io/helm-controller/v0.17.7/pkg/crds/yaml/generated/helm.cattle.io_helmcharts.yaml",
    "helm.cattle.io_helmchartconfigs.yaml": "https://raw.githubusercontent.com/k3s-io/helm-controller/v0.17.7/pkg/crds/yaml/generated/helm.cattle.io_helmchartconfigs.yaml",
}
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "gitops-base" / "crds"


def crds_dir() -> Path:
    """Where the pinned CRD files are: $CRDS_DIR, ../shared/crds, or the download cache."""
    configured = os.environ.get("CRDS_DIR")
    if configured:
        return Path(configured)
    shared = ROOT.parent / "shared" / "crds"
    if all((shared / name).is_file() for name in PINNED_CRDS):
        return shared
    return CACHE


def missing_crds() -> list[str]:
    """The pinned CRD files not found in `crds_dir()`."""
    return [name for name in PINNED_CRDS if not (crds_dir() / name).is_file()]


@cache
def crd_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) -> openAPIV3Schema of every pinned CRD version."""
    directory = crds_dir()
    missing = missing_crds()
    if missing:
        raise FileNotFoundError(
            f"pinned CRDs missing in {directory}: {', '.join(missing)}; run 'make crds' "
            "(downloads the pinned URLs) or set CRDS_DIR to a folder holding them"
        )
    schemas = {}
    for name in PINNED_CRDS:
        crd = yaml.load((directory / name).read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
        group = crd["spec"]["group"]
        kind = crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            schema = version["schema"]["openAPIV3Schema"]
            schemas[(f"{group}/{version['name']}", kind)] = schema
    return schemas


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

    schema = crd_schemas().get((api_version, kind))
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
def _kubernetes_validator(version: str, api_version: str, kind: str) -> Any:
    """Strict validator from the OpenAPI-derived JSON schemas kubernetes-validate bundles."""
    import json
    import re
    from importlib.resources import files

    import jsonschema
    from referencing import Registry, Resource

    folder = files("kubernetes_validate").joinpath(
        "kubernetes-json-schema", f"v{version}.0-local-strict"
    )
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    schema_file = folder.joinpath(f"{kind.lower()}-{group_version}.json")
    if not schema_file.is_file():
        return None
    schema = json.loads(schema_file.read_text())
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
    import json
    from importlib.resources import files

    path = files("kubernetes_validate").joinpath(
        "kubernetes-json-schema", f"v{version}.0-local-strict", "_definitions.json"
    )
    return json.loads(path.read_text())


def validate_manifest(
    manifest: dict[str, Any], versions: Iterable[str] = KUBERNETES_VERSIONS
) -> list[str]:
    """Every problem of one object, for every supported Kubernetes minor."""
    api_version, kind = manifest.get("apiVersion", ""), manifest.get("kind", "")
    crd = _crd_validator(api_version, kind)
    if crd is not None:
        return _errors(crd, manifest)
    problems = []
    for version in versions:
        validator = _kubernetes_validator(version, api_version, kind)
        if validator is None:
            problems.append(f"Kubernetes {version}: no schema for {api_version} {kind}")
            continue
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


def fetch_crds(target: Path = CACHE) -> None:
    """Download the pinned CRD files (needs network access to GitHub)."""
    from urllib.request import urlopen

    target.mkdir(parents=True, exist_ok=True)
    for name, url in PINNED_CRDS.items():
        with urlopen(url, timeout=30) as response:
            data = response.read()
        partial = target / f".{name}.part"
        partial.write_bytes(data)
        partial.replace(target / name)
        print(f"fetched {url}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Validate dist/ against Kubernetes and CRD schemas."
    )
    parser.add_argument("dist", nargs="?", type=Path, default=ROOT / "dist")
    parser.add_argument(
        "--fetch-crds",
        action="store_true",
        help=f"download the pinned CRDs into $CRDS_DIR (default {CACHE}) and exit",
    )
    parser.add_argument(
        "--ensure-crds",
        action="store_true",
        help="like --fetch-crds, but only if any pinned CRD is missing from where they are read",
    )
    args = parser.parse_args(argv)
    if args.ensure_crds and not missing_crds():
        return 0
    if args.fetch_crds or args.ensure_crds:
        try:
            fetch_crds(Path(os.environ.get("CRDS_DIR") or CACHE))
        except OSError as exc:
            print(f"error: cannot fetch the pinned CRDs: {exc}", file=sys.stderr)
            return 1
        return 0
    try:
        problems = validate_tree(args.dist)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
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
