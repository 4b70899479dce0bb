"""From synthesized charts to files: one YAML file per object, byte-for-byte deterministic."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


class _Dumper(yaml.CSafeDumper if hasattr(yaml, "CSafeDumper") else yaml.SafeDumper):  # type: ignore[misc]
    """Block style everywhere; multi-line strings as literal blocks so diffs stay readable."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def dump(manifest: Mapping[str, Any]) -> str:
    """YAML text of one object. Key order is the one cdk8s produced (sorted, stable)."""
    return yaml.dump(  # type: ignore[no-any-return]
        manifest, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=1_000_000,
        allow_unicode=True,
    )


def file_name(manifest: Mapping[str, Any]) -> str:
    """`<kind>-<name>.yaml`, lowercase: `deployment-web.yaml`."""
    return f"{manifest['kind'].lower()}-{manifest['metadata']['name']}.yaml"


@dataclass(frozen=True)
class RenderedEnv:
    """Everything one environment renders: folder -> objects, plus the hand-applied root file."""

    name: str
    folders: Mapping[str, list[dict[str, Any]]]
    root: list[dict[str, Any]]


class OutputError(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def write_tree(envs: Iterable[RenderedEnv], target: Path) -> None:
    """Write every environment below `target` (which must not exist yet)."""
    problems: list[str] = []
    target.mkdir(parents=True)
    for env in envs:
        env_dir = target / env.name
        for folder, manifests in sorted(env.folders.items()):
            folder_dir = env_dir / folder
            folder_dir.mkdir(parents=True)
            for manifest in manifests:
                path = folder_dir / file_name(manifest)
                if path.exists():
                    problems.append(
                        f"dist/{env.name}/{folder}/{path.name}: two objects render to this file "
                        f"({manifest['kind']} '{manifest['metadata']['name']}')"
                    )
                    continue
                path.write_text(dump(manifest), encoding="utf-8")
        if env.root:
            (env_dir / "root.yaml").write_text(
                "---\n".join(dump(m) for m in env.root), encoding="utf-8"
            )
    if problems:
        raise OutputError(problems)


def publish(envs: list[RenderedEnv], dist: Path, staging: Path | None = None) -> None:
    """Replace `dist` with the rendered tree, or leave it untouched if anything fails.

    The tree is written next to `dist` first and swapped in with renames, so a reader sees
    either the old tree or the new one. `staging`, when given (the cdk8s CLI's output folder),
    receives a copy too, so `cdk8s synth` lists what it rendered.
    """
    dist = dist.resolve()
    dist.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{dist.name}.", dir=dist.parent))
    try:
        new = work / "new"
        write_tree(envs, new)
        if staging is not None:
            if staging.exists():
                shutil.rmtree(staging)
            shutil.copytree(new, staging)
        old = work / "old"
        if dist.exists():
            os.replace(dist, old)
        os.replace(new, dist)
    finally:
        shutil.rmtree(work, ignore_errors=True)
