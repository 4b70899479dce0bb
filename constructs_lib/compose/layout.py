"""The dist/ layout, owned here and only here.

    dist/<env>/root.yaml   the root Application and its project, the admission guards;
                           applied by hand (bootstrap)
    dist/<env>/argocd/     what the root syncs: AppProjects and child Applications
    dist/<env>/app/        every workload of the app, synced by the app's Application
    dist/<env>/platform/   the app namespace's baseline and the ClusterIssuers

One file per object, `<kind>-<name>.yaml` in lowercase; root.yaml holds several documents.
No cdk8s here: the render layer reads this module before the cdk8s runtime has loaded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

DIST = "dist"
APP = "app"
ARGOCD = "argocd"
PLATFORM = "platform"
ROOT_FILE = "root.yaml"
# Kinds in root.yaml, in the order they must be applied.
ROOT_ORDER = (
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "ConfigMap",
    "AppProject",
    "Application",
)


def source_path(env: str, folder: str) -> str:
    """Path of a folder in the repository, as an Application's `source.path`."""
    return f"{DIST}/{env}/{folder}"


def file_name(manifest: Mapping[str, Any]) -> str:
    """`<kind>-<name>.yaml`, lowercase: `deployment-web.yaml`."""
    return f"{manifest['kind'].lower()}-{manifest['metadata']['name']}.yaml"


def file_path(env: str, folder: str, manifest: Mapping[str, Any]) -> str:
    """Path of an object's file, relative to dist/."""
    return f"{env}/{folder}/{file_name(manifest)}"


def root_path(env: str) -> str:
    """Path of an environment's root file, relative to dist/."""
    return f"{env}/{ROOT_FILE}"


@dataclass(frozen=True)
class RenderedEnv:
    """Everything one environment renders: folder -> objects, plus the hand-applied root file."""

    name: str
    folders: Mapping[str, list[dict[str, Any]]]
    root: list[dict[str, Any]]
