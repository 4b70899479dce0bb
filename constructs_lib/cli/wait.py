"""`gitops-base wait --env ENV [--revision SHA] [--timeout D]`: block until the environment's
Applications have synced a Git revision (or a later commit that contains it) and are Healthy.

It reads Application objects through the Kubernetes API with the kubeconfig, as `status` does;
Argo CD's API server need not be reachable. Each Application gets a verdict per poll (`judge`,
pure), and the command prints a line whenever one changes:

    missing      the Application does not exist (yet)
    behind       it reports an older revision, or one this clone does not have
    syncing      a sync is running, it is OutOfSync, or Argo CD has not assessed the sync yet
    progressing  Synced at the revision, not Healthy yet (a rollout in progress)
    healthy      Synced and Healthy at the revision (or a descendant): done
    degraded     Synced at the revision and Degraded: fails at once
    failed       the sync of the revision failed, or was refused (an AppProject, the API
                 server or an admission policy said no): fails at once, without waiting for
                 Argo CD's retries

A revision counts only when it is the one asked for or a descendant of it in Git: an older
revision, or one on another branch, never satisfies the wait. On failure or timeout it prints
the Application's conditions, the failing objects and their last events. Reference:
docs/reference/cli.md.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from constructs_lib.cli.support.applications import (
    APPLICATION,
    REFRESH,
    app_state,
    rendered_apps,
    short,
    why,
)
from constructs_lib.model.durations import format_duration, parse_duration

if TYPE_CHECKING:
    from constructs_lib.cli.support.kube import Kube

DEFAULT_TIMEOUT = "10m"
INTERVAL = 2.0
EVENTS_PER_OBJECT = 5
COMMIT = re.compile(r"[0-9a-f]{40}")
# What no retry fixes: an AppProject, the API server or an admission policy refused an object.
REFUSED = re.compile(
    r"not permitted in project|denied the request|is invalid|is forbidden|"
    r"synchronization tasks are not valid",
    re.IGNORECASE,
)
# Kinds whose pods (and ReplicaSets or Jobs) are named after them: their events explain them.
OWNERS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"})

Phase = Literal["missing", "behind", "syncing", "progressing", "healthy", "degraded", "failed"]
Outcome = Literal["healthy", "degraded", "failed", "timeout"]
Contains = Callable[[str, str], bool | None]
"""contains(revision, wanted): True when `revision` is `wanted` or a descendant of it, False when
it is not, None when Git cannot tell (a commit this clone does not have)."""


@dataclass(frozen=True)
class ObjectRef:
    """An object an Application manages."""

    kind: str
    namespace: str
    name: str

    @classmethod
    def of(cls, resource: dict[str, Any]) -> ObjectRef:
        """An entry of the Application's `status.resources` or of its last sync's results."""
        kind, namespace = str(resource.get("kind")), resource.get("namespace") or ""
        return cls(kind, namespace, str(resource["name"]))

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace + '/' if self.namespace else ''}{self.name}"


@dataclass(frozen=True)
class Verdict:
    """Where one Application stands against the wanted revision."""

    name: str
    phase: Phase
    revision: str
    detail: str
    """One line for the progress log."""
    reasons: tuple[str, ...] = ()
    """Why it is not healthy: conditions, the last sync, failing objects (from `status.why`)."""
    failing: tuple[ObjectRef, ...] = ()


def failing_objects(obj: dict[str, Any]) -> tuple[ObjectRef, ...]:
    """Objects an Application reports not Synced or not Healthy, and those whose sync failed."""
    status = obj.get("status") or {}
    found: list[ObjectRef] = []
    for r in status.get("resources") or []:
        health = (r.get("health") or {}).get("status")
        if r.get("status") != "Synced" or health not in (None, "Healthy"):
            found.append(ObjectRef.of(r))
    results = ((status.get("operationState") or {}).get("syncResult") or {}).get("resources")
    for r in results or []:
        if r.get("status") == "SyncFailed":
            found.append(ObjectRef.of(r))
    return tuple(dict.fromkeys(found))


def _operation_revision(op: dict[str, Any]) -> str:
    synced = (op.get("syncResult") or {}).get("revision")
    asked = ((op.get("operation") or {}).get("sync") or {}).get("revision")
    return str(synced or asked or "")


def _refusals(obj: dict[str, Any], with_operation: bool) -> list[str]:
    """Messages saying an object was refused: conditions, and the last sync's when it synced
    the revision waited for."""
    status = obj.get("status") or {}
    messages = [str(c.get("message") or "") for c in status.get("conditions") or []]
    if with_operation:
        op = status.get("operationState") or {}
        messages.append(str(op.get("message") or ""))
        messages += [
            str(r.get("message") or "")
            for r in (op.get("syncResult") or {}).get("resources") or []
            if r.get("status") == "SyncFailed"
        ]
    return [m for m in messages if REFUSED.search(m)]


def judge(obj: dict[str, Any] | None, name: str, wanted: str, contains: Contains) -> Verdict:
    """The verdict on one Application (None: it does not exist) for revision `wanted`."""
    if obj is None:
        return Verdict(name, "missing", "", "not created yet")
    state = app_state(obj)
    status = obj.get("status") or {}
    op = status.get("operationState") or {}
    rev = state.revision
    if state.refreshing:
        return Verdict(name, "behind", rev, f"refresh asked, at {short(rev) or 'no revision'}")
    if not rev:
        return Verdict(name, "behind", rev, f"{state.sync}, no revision compared yet")
    has = True if rev == wanted else contains(rev, wanted)
    if not has:
        why_not = "not in this clone: git fetch to compare" if has is None else "older"
        return Verdict(name, "behind", rev, f"at {short(rev)} ({why_not}), waiting for it")
    op_rev = _operation_revision(op)
    op_here = bool(op_rev) and (op_rev == rev or contains(op_rev, wanted) is True)
    phase = str(op.get("phase") or "")
    reasons = tuple(why(state))
    failing = failing_objects(obj)
    refused = _refusals(obj, op_here)
    if phase in ("Running", "Terminating"):
        if op_here and int(op.get("retryCount") or 0) > 0 and refused:
            return Verdict(
                name, "failed", rev, f"sync of {short(rev)} refused: {refused[0]}", reasons, failing
            )
        retry = f", retry {op['retryCount']}" if op.get("retryCount") else ""
        return Verdict(name, "syncing", rev, f"syncing {short(op_rev or rev)}{retry}")
    if op_here and phase in ("Failed", "Error"):
        message = str(op.get("message") or "no message")
        return Verdict(
            name, "failed", rev, f"sync of {short(rev)} {phase}: {message}", reasons, failing
        )
    if refused:
        return Verdict(name, "failed", rev, f"{short(rev)} refused: {refused[0]}", reasons, failing)
    if state.sync != "Synced":
        return Verdict(name, "syncing", rev, f"{state.sync}, {state.health} at {short(rev)}")
    finished = str(op.get("finishedAt") or "")
    reconciled = str(status.get("reconciledAt") or "")
    if op_here and finished and reconciled and reconciled < finished:
        # The health in status predates the sync until Argo CD compares again.
        return Verdict(name, "syncing", rev, f"synced {short(rev)}, not assessed yet")
    if state.health == "Healthy":
        return Verdict(name, "healthy", rev, f"Synced, Healthy at {short(rev)}")
    if state.health == "Degraded":
        return Verdict(name, "degraded", rev, f"Synced, Degraded at {short(rev)}", reasons, failing)
    return Verdict(name, "progressing", rev, f"Synced, {state.health} at {short(rev)}")


@dataclass
class WaitResult:
    outcome: Outcome
    verdicts: list[Verdict]
    seconds: float


def wait_for_revision(
    fetch: Callable[[], Iterable[dict[str, Any]]],
    names: Sequence[str],
    wanted: str,
    contains: Contains,
    timeout: float,
    out: Callable[[str], None],
    interval: float = INTERVAL,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> WaitResult:
    """Poll until every named Application is healthy at `wanted`, one is degraded or failed,
    or `timeout` seconds passed; print a line whenever an Application's verdict changes."""
    start = clock()
    seen: dict[str, str] = {}
    while True:
        objs = {o["metadata"]["name"]: o for o in fetch()}
        elapsed = clock() - start
        verdicts = [judge(objs.get(n), n, wanted, contains) for n in names]
        for v in verdicts:
            row = f"{v.name}: {v.detail}"
            if seen.get(v.name) != row:
                seen[v.name] = row
                out(f"[{elapsed:5.0f}s] {row}")
        if any(v.phase == "failed" for v in verdicts):
            return WaitResult("failed", verdicts, elapsed)
        if any(v.phase == "degraded" for v in verdicts):
            return WaitResult("degraded", verdicts, elapsed)
        if all(v.phase == "healthy" for v in verdicts):
            return WaitResult("healthy", verdicts, elapsed)
        if elapsed >= timeout:
            return WaitResult("timeout", verdicts, elapsed)
        sleep(max(0.0, min(interval, timeout - elapsed)))


# --- Git ------------------------------------------------------------------------------------


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-C", str(root), *args], capture_output=True, text=True, check=False
    )


def resolve_revision(revision: str | None, root: Path) -> str:
    """The full commit id of --revision (a commit, tag or branch of the clone; default HEAD)."""
    if revision is not None and COMMIT.fullmatch(revision.lower()):
        return revision.lower()
    ref = revision or "HEAD"
    try:
        proc = _git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except OSError as exc:
        raise ValueError(f"--revision: give a full commit id (git cannot run: {exc})") from None
    commit = proc.stdout.strip()
    if proc.returncode != 0 or not COMMIT.fullmatch(commit):
        if revision is None:
            raise ValueError(f"--revision: {root} is not a Git clone with a commit; give one")
        raise ValueError(f"--revision {revision}: not a commit of the clone at {root}")
    return commit


def git_contains(root: Path) -> Contains:
    """contains() answered by the clone at `root` (`git merge-base --is-ancestor`), cached."""
    known: dict[tuple[str, str], bool | None] = {}

    def contains(revision: str, wanted: str) -> bool | None:
        if revision == wanted:
            return True
        if not (COMMIT.fullmatch(revision) and COMMIT.fullmatch(wanted)):
            return False
        key = (revision, wanted)
        if key not in known:
            try:
                code = _git(root, "merge-base", "--is-ancestor", wanted, revision).returncode
            except OSError:
                code = 128
            known[key] = True if code == 0 else False if code == 1 else None
        return known[key]

    return contains


# --- events of the failing objects ----------------------------------------------------------


def _event_time(event: dict[str, Any]) -> str:
    return str(
        event.get("lastTimestamp")
        or event.get("eventTime")
        or (event.get("metadata") or {}).get("creationTimestamp")
        or ""
    )


def events_of(ref: ObjectRef, events: Iterable[dict[str, Any]]) -> list[str]:
    """The last events of an object and of the ReplicaSets, Jobs and Pods named after it,
    oldest first, one line each."""
    mine = []
    for e in events:
        involved = e.get("involvedObject") or {}
        name = str(involved.get("name") or "")
        itself = name == ref.name and involved.get("kind") == ref.kind
        if itself or (ref.kind in OWNERS and name.startswith(f"{ref.name}-")):
            mine.append(e)
    mine.sort(key=_event_time)
    lines = []
    for e in mine[-EVENTS_PER_OBJECT:]:
        involved = e.get("involvedObject") or {}
        message = " ".join(str(e.get("message") or "").split())
        lines.append(
            f"{_event_time(e)} {e.get('type') or ''} {e.get('reason') or ''} "
            f"{involved.get('kind')}/{involved.get('name')}: {message}"
        )
    return lines


def collect_events(kube: Kube, refs: Iterable[ObjectRef]) -> dict[str, list[str]]:
    """`Kind namespace/name` -> its last events, for the namespaced objects among `refs`."""
    from constructs_lib.cli.support.kube import KubeError

    by_namespace: dict[str, list[dict[str, Any]]] = {}
    found: dict[str, list[str]] = {}
    for ref in refs:
        if not ref.namespace:
            continue
        if ref.namespace not in by_namespace:
            try:
                by_namespace[ref.namespace] = kube.list("v1", "Event", namespace=ref.namespace)
            except KubeError:
                by_namespace[ref.namespace] = []
        found[str(ref)] = events_of(ref, by_namespace[ref.namespace])
    return found


# --- the command ----------------------------------------------------------------------------


def revision_apps(dist_env: Path, repo_url: str) -> list[str]:
    """The Applications an env renders that sync from its own repository (the ones a commit
    moves), root first as status orders them; Helm-chart add-ons follow their chart versions."""
    apps = rendered_apps(dist_env)
    names = [
        a["metadata"]["name"]
        for a in apps
        if ((a.get("spec") or {}).get("source") or {}).get("repoURL") == repo_url
    ]
    return names


def report(
    env: str, wanted: str, result: WaitResult, events: dict[str, list[str]]
) -> dict[str, Any]:
    """The JSON document of `--output json`."""
    apps = []
    for verdict in result.verdicts:
        apps.append(
            {
                "name": verdict.name,
                "phase": verdict.phase,
                "revision": verdict.revision,
                "detail": verdict.detail,
                "reasons": list(verdict.reasons),
                "failing": [
                    {**asdict(ref), "events": events.get(str(ref), [])} for ref in verdict.failing
                ],
            }
        )
    return {
        "env": env,
        "revision": wanted,
        "outcome": result.outcome,
        "seconds": round(result.seconds, 1),
        "applications": apps,
    }


def problem_lines(result: WaitResult, events: dict[str, list[str]]) -> list[str]:
    """What stderr shows when the wait did not end healthy."""
    lines: list[str] = []
    for v in result.verdicts:
        if v.phase == "healthy":
            continue
        lines += list(v.reasons) or [f"{v.name}: {v.detail}"]
        for ref in v.failing:
            shown = events.get(str(ref))
            if shown:
                lines.append(f"{v.name}: last events of {ref}:")
                lines += [f"  {e}" for e in shown]
    return lines


def printer(json_mode: bool) -> Callable[[str], None]:
    """Progress lines: stdout, or stderr when stdout carries the JSON document."""
    stream = sys.stderr if json_mode else sys.stdout
    return lambda text: print(text, file=stream, flush=True)


def run(args: argparse.Namespace) -> int:
    from constructs_lib.cli.support.common import EXIT_OK, EXIT_USAGE, fail, project_root
    from constructs_lib.cli.support.environment import EnvFiles
    from constructs_lib.cli.support.kube import Kube, KubeError

    try:
        timeout = parse_duration(args.timeout)
    except ValueError as exc:
        print(f"usage: --timeout: {exc}", file=sys.stderr)
        return EXIT_USAGE
    root = project_root()
    try:
        env = EnvFiles.load(args.env, root)
        wanted = resolve_revision(args.revision, root)
        rendered = [a["metadata"]["name"] for a in rendered_apps(env.dist)]
        names = list(dict.fromkeys(args.app)) or revision_apps(env.dist, env.cluster.repo.url)
        unknown = [n for n in names if n not in rendered]
        if unknown:
            raise ValueError(
                f"--app {', '.join(unknown)}: no such Application in {env.dist} "
                f"({', '.join(rendered)})"
            )
        kube = Kube(args.kubeconfig, args.context)
    except (KubeError, ValueError) as exc:
        return fail([f"error: {exc}"])
    out = printer(args.output == "json")
    namespace = env.argocd_namespace
    try:
        out(
            f"wait {env.name}: {', '.join(names)} at {short(wanted)} (or a later commit), "
            f"timeout {format_duration(timeout)}"
        )
        if args.refresh:
            present = {o["metadata"]["name"] for o in kube.list(*APPLICATION, namespace=namespace)}
            for name in names:
                if name in present:
                    kube.annotate(*APPLICATION, name, namespace, REFRESH, "normal")
        result = wait_for_revision(
            lambda: kube.list(*APPLICATION, namespace=namespace),
            names,
            wanted,
            git_contains(root),
            timeout,
            out,
        )
        bad = [ref for v in result.verdicts if v.phase != "healthy" for ref in v.failing]
        events = collect_events(kube, bad) if bad else {}
    except KubeError as exc:
        return fail([f"error: {exc}"])
    finally:
        kube.close()
    if args.output == "json":
        print(json.dumps(report(env.name, wanted, result, events), indent=2))
    if result.outcome == "healthy":
        out(f"{env.name}: Synced and Healthy at {short(wanted)} ({result.seconds:.0f}s)")
        return EXIT_OK
    for line in problem_lines(result, events):
        print(line, file=sys.stderr)
    stuck = ", ".join(f"{v.name} {v.phase}" for v in result.verdicts if v.phase != "healthy")
    if result.outcome == "timeout":
        return fail(
            [
                f"error: {env.name}: not Synced and Healthy at {short(wanted)} after "
                f"{format_duration(timeout)}: {stuck}"
            ]
        )
    return fail([f"error: {env.name}: {result.outcome} at {short(wanted)}: {stuck}"])
