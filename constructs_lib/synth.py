"""The synth job: read config/ and clusters/, render every environment, publish dist/.

`app.py` says what to build; this module does the plumbing around it (loading, checking,
writing) so that `python app.py`, `cdk8s synth` and `gitops-base synth` behave the same.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from constructs_lib.clusters import CLUSTER_FILE, ClusterSettings, cluster_dirs
from constructs_lib.config import AppConfig
from constructs_lib.loading import ConfigError, load_model
from constructs_lib.rendering import OutputError, RenderedEnv, publish

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = ROOT / "config" / "app-config.yaml"
DEFAULT_CLUSTERS = ROOT / "clusters"
DEFAULT_DIST = ROOT / "dist"


@dataclass(frozen=True)
class Inputs:
    config: AppConfig
    clusters: list[ClusterSettings]


def load_inputs(config_path: Path, clusters_path: Path) -> Inputs:
    """Load and check the config and every environment; report all problems at once."""
    problems: list[str] = []
    config: AppConfig | None = None
    clusters: list[ClusterSettings] = []
    try:
        config = load_model(AppConfig, config_path)
    except ConfigError as exc:
        problems += [f"{exc.source}: {p}" for p in exc.problems]
    if not clusters_path.is_dir():
        problems.append(f"{clusters_path}: no such folder")
    else:
        for env_dir in cluster_dirs(clusters_path):
            path = env_dir / CLUSTER_FILE
            try:
                cluster = load_model(ClusterSettings, path)
            except ConfigError as exc:
                problems += [f"{exc.source}: {p}" for p in exc.problems]
                continue
            if cluster.name != env_dir.name:
                problems.append(f"{path}: name: '{cluster.name}' must equal the folder name '{env_dir.name}'")
            clusters.append(cluster)
        if not clusters and not problems:
            problems.append(f"{clusters_path}: no environments (expected <env>/{CLUSTER_FILE})")
    if problems or config is None:
        raise ConfigError("inputs", problems)
    return Inputs(config, clusters)


def check_rendered(env: RenderedEnv, config: AppConfig) -> list[str]:
    """Guards no construct may break: no Secret objects, app objects in the app namespace."""
    problems = []
    for folder, manifests in env.folders.items():
        for manifest in manifests:
            where = f"dist/{env.name}/{folder}: {manifest['kind']} '{manifest['metadata'].get('name')}'"
            if manifest["kind"] == "Secret":
                problems.append(f"{where}: kind Secret must never be rendered; use Infisical")
            if folder == "app" and manifest["metadata"].get("namespace") != config.app.namespace:
                problems.append(f"{where}: not in the app namespace '{config.app.namespace}'")
    return problems


Build = Callable[[AppConfig, ClusterSettings], RenderedEnv]


def render_all(build: Build, inputs: Inputs) -> list[RenderedEnv]:
    envs = [build(inputs.config, cluster) for cluster in inputs.clusters]
    problems = [p for env in envs for p in check_rendered(env, inputs.config)]
    if problems:
        raise OutputError(problems)
    return envs


def run(build: Build, config: Path, clusters: Path, dist: Path) -> int:
    """Synthesize and publish. Returns the process exit code; never raises for bad input."""
    staging = os.environ.get("CDK8S_OUTDIR")
    try:
        inputs = load_inputs(config, clusters)
        envs = render_all(build, inputs)
        publish(envs, dist, Path(staging).resolve() if staging else None)
    except ConfigError as exc:
        _report(exc.problems)
        return 1
    except OutputError as exc:
        _report(exc.problems)
        return 1
    except OSError as exc:
        _report([f"{exc.filename or dist}: {exc.strerror}"])
        return 1
    names = ", ".join(e.name for e in envs)
    count = sum(len(m) for e in envs for m in e.folders.values())
    print(f"synthesized {count} objects for {names} into {_display(dist)}")
    return 0


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _report(problems: list[str]) -> None:
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    print(f"synth failed with {len(problems)} problem(s); dist/ was not changed", file=sys.stderr)


def main(build: Build, argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Render dist/ from config/ and clusters/.")
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="app config file")
    parser.add_argument("--clusters", type=Path, default=DEFAULT_CLUSTERS, help="environments folder")
    parser.add_argument("--output", type=Path, default=DEFAULT_DIST, help="output folder (dist/)")
    args: Any = parser.parse_args(argv)
    return run(build, args.config, args.clusters, args.output)
