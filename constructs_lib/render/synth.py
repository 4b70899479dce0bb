"""The synth job: read config/ and clusters/, render every environment, publish dist/.

`app.py` says what to build; this module does the plumbing around it (loading, checking,
writing) so that `python app.py`, `cdk8s synth` and `gitops-base synth` behave the same.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from constructs_lib.compose.layout import APP, RenderedEnv
from constructs_lib.errors import ProblemsError
from constructs_lib.locking import checkout_lock
from constructs_lib.model.clusters import CLUSTER_FILE, ClusterSettings, cluster_dirs
from constructs_lib.model.config import AppConfig, unknown_envs
from constructs_lib.model.cross_checks import cluster_problems, config_domain_problems
from constructs_lib.model.loading import ConfigError, load_model
from constructs_lib.paths import ROOT, display
from constructs_lib.render.ownership import check_output_folder
from constructs_lib.render.policy import render_checked
from constructs_lib.render.publish import (
    OutputError,
    Staged,
    commit,
    copy_tree,
    discard,
    recover,
    render_files,
    stage,
    stage_folder,
)

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
                problems.append(
                    f"{path}: name: '{cluster.name}' must equal the folder name '{env_dir.name}'"
                )
            if config is not None:
                problems += [f"{path}: {p}" for p in cluster_problems(config, cluster)]
            clusters.append(cluster)
        if not clusters and not problems:
            problems.append(f"{clusters_path}: no environments (expected <env>/{CLUSTER_FILE})")
    if config is not None and clusters:
        names = [c.name for c in clusters]
        lines = config_domain_problems(config, clusters, display(clusters_path))
        problems += [f"{config_path}: {p}" for p in lines + unknown_envs(config, names)]
    if problems or config is None:
        raise ConfigError("inputs", problems)
    return Inputs(config, clusters)


def check_rendered(env: RenderedEnv, config: AppConfig) -> list[str]:
    """Guards no construct and no overlay may break: no Secret objects anywhere (the env's
    folders, root.yaml, items of a List), app objects in the app namespace. Runs on the env with
    its overlay applied, so an added manifest or a patch that turns an object into a Secret is
    caught like a rendered one."""
    problems = []
    placed: list[tuple[str, str | None, dict[str, Any]]] = [
        (f"dist/{env.name}/{folder}", folder, m) for folder, ms in env.folders.items() for m in ms
    ]
    placed += [(f"dist/{env.name}/root.yaml", None, m) for m in env.root]
    for prefix, folder, manifest in placed:
        where = f"{prefix}: {manifest.get('kind')} '{_name(manifest)}'"
        for secret in _secrets_in(manifest):
            what = where if secret is manifest else f"{where}: item Secret '{_name(secret)}'"
            problems.append(f"{what}: kind Secret must never be rendered; use Infisical")
        metadata = manifest.get("metadata")
        namespace = metadata.get("namespace") if isinstance(metadata, dict) else None
        if folder == APP and namespace != config.app.namespace:
            problems.append(f"{where}: not in the app namespace '{config.app.namespace}'")
    return problems


def _secrets_in(manifest: Any, depth: int = 0) -> list[dict[str, Any]]:
    """The Secret objects in `manifest`: itself, or the items of a List (`kind: List`,
    `SecretList`...), which kubectl and Argo CD apply one by one."""
    if not isinstance(manifest, dict):
        return []
    kind = manifest.get("kind")
    if kind == "Secret":
        return [manifest]
    items = manifest.get("items")
    if isinstance(items, list) and depth < 8:  # any object with items is a List to kubectl
        return [s for item in items for s in _secrets_in(item, depth + 1)]
    return []


def _name(manifest: dict[str, Any]) -> Any:
    metadata = manifest.get("metadata")
    return metadata.get("name") if isinstance(metadata, dict) else None


Build = Callable[[AppConfig, ClusterSettings], RenderedEnv]
# Below this many services x environments, one process is faster than starting workers (each
# pays about a second to import and start its own cdk8s runtime). Measured on 2 CPUs with 3
# environments: 300 services take 5.0-6.0 s in one process and 5.6-6.4 s in three; 600 take
# 8.9-10.0 s in one and 8.3 s in three.
PARALLEL_THRESHOLD = 1200


def check_schemas(env: RenderedEnv) -> list[str]:
    """Every object against its schema: the newest supported Kubernetes minor for built-in
    kinds (`make check` checks every supported minor), the pinned CRD for custom resources.
    Most bodies are plain data, so this is where a construct's or an overlay's mistake is
    caught before dist/ changes."""
    from constructs_lib.render.schema_check import NEWEST, validate_manifest

    problems = []
    where = [(f"dist/{env.name}/{folder}", objects) for folder, objects in env.folders.items()]
    for prefix, objects in [*where, (f"dist/{env.name}/root.yaml", env.root)]:
        for manifest in objects:
            for problem in validate_manifest(manifest, NEWEST):
                name = manifest.get("metadata", {}).get("name")
                problems.append(f"{prefix}: {manifest.get('kind')} '{name}': {problem}")
    return problems


def render_env(build: Build, config: AppConfig, cluster: ClusterSettings) -> dict[str, str]:
    """Build one environment, check it, and turn it into files (path -> YAML text)."""
    env, policy = render_checked(build, config, cluster)  # the trust policy (policy.py)
    problems = (check_rendered(env, config) + policy) or check_schemas(env)
    if problems:
        raise OutputError(problems)
    return render_files(env)


def jobs_for(inputs: Inputs, requested: int | None) -> int:
    """Processes to render with, this one included. Environments are independent, so large
    apps render them in parallel, one cdk8s runtime per process; small ones stay in one
    process, where starting workers would cost more than it saves."""
    if requested is not None:
        return max(1, min(requested, len(inputs.clusters)))
    if len(inputs.config.services) * len(inputs.clusters) < PARALLEL_THRESHOLD:
        return 1
    return max(1, min(len(inputs.clusters), (os.cpu_count() or 1) + 1))


def write_env(build: Build, config: AppConfig, cluster: ClusterSettings, dist: Path) -> Staged:
    """Render one environment and stage what changed in `dist`/<env>/ (see `stage`)."""
    return stage(render_env(build, config, cluster), dist)


def render_all(build: Build, inputs: Inputs, dist: Path, jobs: int = 1) -> list[Staged]:
    """Render every environment and stage the changes in `dist`. If anything fails (an
    OutputError, a ValueError from a construct, an OSError), everything staged is undone
    before the error propagates, so `dist` is as it was."""
    staged = [stage_folder(dist)]
    try:
        first, *rest = inputs.clusters
        if jobs <= 1 or not rest:
            for cluster in inputs.clusters:
                staged.append(write_env(build, inputs.config, cluster, dist))
            return staged
        # Workers render the other environments while this process, whose cdk8s runtime is
        # already loaded, does the first. spawn, not fork: a forked child would share this
        # process's jsii runtime pipes.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=min(jobs - 1, len(rest)), mp_context=context) as pool:
            futures = [pool.submit(write_env, build, inputs.config, c, dist) for c in rest]
            try:
                staged.append(write_env(build, inputs.config, first, dist))
            finally:  # wait for every worker: what succeeded must be undone if anything failed
                done, error = _collect(futures)
                staged += done
            if error is not None:
                raise error
        return staged
    except BaseException:
        discard(staged)
        raise


def _collect(futures: list[Future[Staged]]) -> tuple[list[Staged], BaseException | None]:
    """The results that succeeded, and the first error."""
    done: list[Staged] = []
    error: BaseException | None = None
    for future in futures:
        try:
            done.append(future.result())
        except BaseException as exc:
            error = error or exc
    return done, error


def run(build: Build, config: Path, clusters: Path, dist: Path, jobs: int | None = None) -> int:
    """Synthesize and publish. Returns the process exit code; never raises for bad input."""
    staging = os.environ.get("CDK8S_OUTDIR")
    dist = dist.resolve()
    try:
        with checkout_lock(ROOT):
            # Before anything else: refuse a folder that is not ours, then make ours whole
            # again if a synth was killed in it (old tree or new tree, never a mix).
            check_output_folder(dist)
            recovered = recover(dist) if os.path.isdir(dist) else None
            if recovered is not None:
                print(
                    f"{display(dist)}: cleaned up after an interrupted synth: it holds the "
                    f"{recovered} tree again",
                    file=sys.stderr,
                )
            inputs = load_inputs(config, clusters)
            staged = render_all(build, inputs, dist, jobs_for(inputs, jobs))
            removed = commit(staged, dist)
            if staging:
                copy_tree(dist, Path(staging).resolve())
    except ProblemsError as exc:  # bad input, refused output, missing pinned CRDs, the lock
        _report(exc.problems)
        return 1
    except ValueError as exc:  # a construct refusing its props
        _report([str(exc)])
        return 1
    except OSError as exc:
        reason = exc.strerror or str(exc)  # a FileNotFoundError of ours carries a message
        _report([f"{exc.filename}: {reason}" if exc.filename else reason])
        return 1
    names = ", ".join(c.name for c in inputs.clusters)
    count = sum(len(s.paths) for s in staged)
    changed = sum(s.changed for s in staged)
    try:
        print(
            f"synthesized {count} files for {names} into {display(dist)} "
            f"({changed} written, {removed} removed)",
            flush=True,
        )
    except BrokenPipeError:  # `... | head -0`: the synth itself succeeded
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def _report(problems: list[str]) -> None:
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    print(f"synth failed with {len(problems)} problem(s); dist/ was not changed", file=sys.stderr)


def main(build: Build, argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Render dist/ from config/ and clusters/.")
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="app config file")
    parser.add_argument(
        "--clusters", type=Path, default=DEFAULT_CLUSTERS, help="environments folder"
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_DIST, help="output folder (dist/)")
    parser.add_argument(
        "--jobs", type=int, default=None, help="worker processes (default: by size of the app)"
    )
    args: Any = parser.parse_args(argv)
    # SIGTERM and SIGHUP (a runner stopping the job, `gitops-base synth` passing it on) stop
    # the synth like Ctrl-C does: what was staged is undone and the lock released.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _interrupt)
    try:
        return run(build, args.config, args.clusters, args.output, args.jobs)
    except KeyboardInterrupt:  # what was staged is already undone (render_all)
        print("synth interrupted", file=sys.stderr)
        return 130


def _interrupt(signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")
