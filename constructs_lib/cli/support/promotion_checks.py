"""Promotion that checks: what `promote --from A --to B` verifies in A before it writes anything.

In A's cluster (read through the kubeconfig, as `status` and `wait` do):

1. the service's workload (its Deployment, StatefulSet, CronJob or Job, as dist/<A>/app/
   renders it) runs the image the promotion would write: the live spec, not the config;
2. the app's Application is Synced and Healthy, at a commit whose config gives A that image;
3. it has been so for the soak time: since the later of the Application turning Healthy and
   the first sync, in its history, of a commit that gave A that image. The soak time is
   `--soak`, else `promotion.soak` in clusters/<A>/cluster.yaml (default 5 minutes).

Any problem refuses the promotion (one line each); `--force --reason TEXT` skips the checks
and records the reason. Without access to A's cluster the command says so and needs --force.
The pure functions take the objects as the API server returns them. Reference:
docs/reference/cli.md, docs/how-to/image-updates.md.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from constructs_lib.cli.support.applications import APPLICATION, short
from constructs_lib.model.durations import format_duration, parse_duration
from constructs_lib.model.workload_kinds import KINDS
from constructs_lib.render.json_patch import dig

if TYPE_CHECKING:
    from constructs_lib.cli.support.kube import Kube

DEFAULT_SOAK = 300
# Each kind a service renders as (the catalogue of kinds): the API version to read it with,
# and where its pod spec is (a CronJob's is in its Job template).
_POD_SPEC = ("spec", "template", "spec")
_NESTED_POD_SPEC = {"CronJob": ("spec", "jobTemplate", "spec", "template", "spec")}
WORKLOADS: dict[str, tuple[str, tuple[str, ...]]] = {
    name: (kind.api_version, _NESTED_POD_SPEC.get(name, _POD_SPEC)) for name, kind in KINDS.items()
}
ContainsImage = Callable[[str], bool | None]
"""contains_image(commit): whether the config at that commit gives the source env the image;
None when this clone does not have the commit."""


class CheckError(Exception):
    """The checks could not run (no access to the cluster); the message is one line."""


@dataclass(frozen=True)
class Workload:
    """The object that runs a service, as dist/<env>/app/ renders it."""

    api_version: str
    kind: str
    namespace: str
    name: str
    container: str

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}"


def rendered_workload(app_dir: Path, service: str) -> Workload | None:
    """The service's workload among the files of dist/<env>/app/."""
    for path in sorted(app_dir.glob("*.yaml")):
        for doc in yaml.load_all(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader):
            if not isinstance(doc, dict) or doc.get("kind") not in WORKLOADS:
                continue
            meta = doc.get("metadata") or {}
            if meta.get("name") != service:
                continue
            api_version, spec_path = WORKLOADS[doc["kind"]]
            names = [c.get("name") for c in dig(doc, (*spec_path, "containers")) or []]
            container = service if service in names else str(names[0] if names else service)
            return Workload(
                api_version, doc["kind"], meta.get("namespace") or "", service, container
            )
    return None


def live_image(workload: Workload, obj: dict[str, Any]) -> str | None:
    """The image of the workload's container in the live object's spec."""
    spec_path = WORKLOADS[workload.kind][1]
    for container in dig(obj, (*spec_path, "containers")) or []:
        if container.get("name") == workload.container:
            return str(container.get("image") or "")
    return None


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def image_since(app: dict[str, Any], contains_image: ContainsImage) -> datetime | None:
    """When the source first synced a commit with the image, of the run of syncs (newest
    back) that all had it; None when the last sync did not."""
    since = None
    for entry in reversed((app.get("status") or {}).get("history") or []):
        if contains_image(str(entry.get("revision") or "")) is not True:
            break
        since = _time(entry.get("deployedAt")) or since
    return since


def source_problems(
    env: str,
    workload: Workload,
    image: str,
    live: dict[str, Any] | None,
    app_name: str,
    app: dict[str, Any] | None,
    contains_image: ContainsImage,
    soak: int,
    now: datetime,
) -> list[str]:
    """Why the source env does not (yet) qualify its image for promotion; [] when it does."""
    problems: list[str] = []
    wait_hint = f"(gitops-base wait --env {env})"
    if live is None:
        problems.append(f"{env}: {workload} does not exist in the cluster")
    else:
        running = live_image(workload, live)
        if running != image:
            problems.append(
                f"{env}: {workload} runs {running or 'no container ' + workload.container}, not "
                f"{image}, the image the promotion would take: wait until {env} synced it "
                f"{wait_hint}"
            )
    if app is None:
        problems.append(f"{env}: Application {app_name} does not exist")
        return problems
    status = app.get("status") or {}
    sync = (status.get("sync") or {}).get("status") or "Unknown"
    revision = str((status.get("sync") or {}).get("revision") or "")
    health = status.get("health") or {}
    state = health.get("status") or "Unknown"
    if (sync, state) != ("Synced", "Healthy"):
        problems.append(
            f"{env}: Application {app_name} is {sync}, {state} at {short(revision) or 'no commit'}"
            f"; it must be Synced and Healthy {wait_hint}"
        )
        return problems
    has = contains_image(revision)
    if has is None:
        problems.append(
            f"{env}: Application {app_name} is at {short(revision)}, a commit this clone does not "
            "have: git fetch, then promote again"
        )
        return problems
    if not has:
        problems.append(
            f"{env}: Application {app_name} is at {short(revision)}, whose config does not give "
            f"{env} {image}"
        )
        return problems
    healthy_since = _time(health.get("lastTransitionTime"))
    starts = [t for t in (healthy_since, image_since(app, contains_image)) if t is not None]
    if not starts:
        problems.append(
            f"{env}: Application {app_name} has no sync history with {image}: cannot tell how "
            "long it has run"
        )
        return problems
    since = max(starts)
    ran = (now - since).total_seconds()
    if ran < soak:
        ready = datetime.fromtimestamp(since.timestamp() + soak, UTC)
        problems.append(
            f"{env}: {image} has run Synced and Healthy for {format_duration(max(ran, 0))}, less "
            f"than the soak time {format_duration(soak)}: promote again after "
            f"{ready:%Y-%m-%d %H:%M:%S} UTC"
        )
    return problems


# --- reading Git and the cluster ------------------------------------------------------------


def config_image_at(root: Path, config: Path, env: str, service: str, image: str) -> ContainsImage:
    """contains_image() from the clone at `root`: the config file at a commit, parsed."""
    from pydantic import ValidationError

    from constructs_lib.model.config import AppConfig
    from constructs_lib.model.loading import ConfigError, parse_yaml

    try:
        relative = config.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        relative = config.as_posix()
    known: dict[str, bool | None] = {}

    def contains_image(commit: str) -> bool | None:
        if not commit:
            return False
        if commit not in known:
            try:
                shown = subprocess.run(
                    ["git", "-C", str(root), "show", f"{commit}:{relative}"],
                    capture_output=True,
                    text=True,
                    check=False,
                )
            except OSError:
                known[commit] = None
                return None
            if shown.returncode != 0:
                # An unknown commit, or one without the config file.
                exists = subprocess.run(
                    ["git", "-C", str(root), "cat-file", "-e", f"{commit}^{{commit}}"],
                    capture_output=True,
                    check=False,
                )
                known[commit] = False if exists.returncode == 0 else None
            else:
                try:
                    config_then = AppConfig.model_validate(parse_yaml(shown.stdout, relative))
                except (ConfigError, ValidationError):
                    known[commit] = False
                else:
                    refs = [
                        s.image.reference_in(env) for s in config_then.services if s.name == service
                    ]
                    known[commit] = refs == [image]
        return known[commit]

    return contains_image


@dataclass(frozen=True)
class SourceCheck:
    """What the checks need to know about the source environment."""

    env: str
    service: str
    image: str
    app_name: str
    argocd_namespace: str
    workload: Workload
    soak: int


def read_source(
    check: SourceCheck, kube: Kube
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(the live workload, the app's Application) in the source's cluster."""
    w = check.workload
    live = kube.get(w.api_version, w.kind, w.name, w.namespace)
    app = kube.get(*APPLICATION, check.app_name, check.argocd_namespace)
    return live, app


def soak_of(flag: str | None, setting: int | None) -> int:
    """--soak, else the source env's promotion.soak, else DEFAULT_SOAK; ValueError on a bad flag."""
    if flag is not None:
        return parse_duration(flag)
    return DEFAULT_SOAK if setting is None else setting


def check_source(args: Any, image: str) -> tuple[list[str], str]:
    """Run the checks for `promote` (args: service, source, config, soak, kubeconfig,
    context): (problems, a one-line summary when there are none). CheckError when the source's
    cluster cannot be read: the checks then need --force."""
    from constructs_lib.cli.support.common import project_root
    from constructs_lib.cli.support.config_file import load_config_text, parse_config
    from constructs_lib.cli.support.environment import EnvFiles
    from constructs_lib.cli.support.kube import Kube, KubeError

    env_name: str = args.source
    root = project_root()
    try:
        env = EnvFiles.load(env_name, root)
        soak = soak_of(args.soak, env.cluster.promotion.soak)
    except ValueError as exc:
        return [str(exc)], ""
    workload = rendered_workload(env.dist / "app", args.service)
    if workload is None:
        kinds = list(WORKLOADS)
        return [
            f"{env.dist}/app: no {', '.join(kinds[:-1])} or {kinds[-1]} named {args.service} "
            "(run `gitops-base synth` and commit dist/)"
        ], ""
    app_name = parse_config(load_config_text(args.config), args.config).app.name
    offline = (
        "to promote without them: --force --reason TEXT (docs/how-to/image-updates.md"
        "#promotion-checks)"
    )
    try:
        kube = Kube(args.kubeconfig, args.context)
    except KubeError as exc:
        raise CheckError(f"cannot check {env_name}'s cluster: {exc}; {offline}") from None
    try:
        check = SourceCheck(
            env_name, args.service, image, app_name, env.argocd_namespace, workload, soak
        )
        live, app = read_source(check, kube)
    except KubeError as exc:
        raise CheckError(f"cannot check {env_name}'s cluster: {exc}; {offline}") from None
    finally:
        kube.close()
    contains_image = config_image_at(root, args.config, env_name, args.service, image)
    problems = source_problems(
        env_name, workload, image, live, app_name, app, contains_image, soak, datetime.now(UTC)
    )
    revision = str((((app or {}).get("status") or {}).get("sync") or {}).get("revision") or "")
    summary = (
        f"checked {env_name}: {workload} runs {image}; Application {app_name} Synced and "
        f"Healthy at {short(revision)} for at least the soak time {format_duration(soak)}"
    )
    return problems, summary
