"""Argo CD Applications as `bootstrap`, `status` and `wait` report them: every Application of an
environment in sync-wave order, with its sync status, health and revision, and for one that is
not Synced and Healthy, why (its conditions, the last sync's message and the resources that
fail).

The functions that read Application objects are pure; `watch()` refreshes them through the
`fetch` it is given until the base is Synced and Healthy.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from constructs_lib.model.names import ROOT_APPLICATION as ROOT
from constructs_lib.model.names import SYNC_WAVE

APPLICATION = ("argoproj.io/v1alpha1", "Application")
REFRESH = "argocd.argoproj.io/refresh"
# Argo CD's messages when the repository refused (or could not be asked for) the credential.
_CREDENTIAL_REJECTED = re.compile(
    r"authentication required|authentication failed|invalid username or password|"
    r"could not read username|permission denied \(publickey|terminal prompts disabled|"
    r"repository not found|401 unauthorized|403 forbidden|unable to authenticate|"
    r"ssh: handshake failed|bad credentials",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class AppState:
    """What one Application reports, reduced to what the operator needs."""

    name: str
    wave: int
    exists: bool = True
    sync: str = "Unknown"
    health: str = "Unknown"
    revision: str = ""
    repo: str = ""
    operation: str = ""
    """Phase of the last sync operation (Running, Succeeded, Failed, Error)."""
    operation_message: str = ""
    conditions: tuple[tuple[str, str], ...] = ()
    """(type, message) of each status condition."""
    failing: tuple[str, ...] = ()
    """`Kind namespace/name: status (message)` of each resource not Synced or not Healthy."""
    refreshing: bool = False
    """A refresh was asked for and Argo CD has not done it yet: the status may be stale."""

    @property
    def done(self) -> bool:
        return (
            self.exists
            and not self.refreshing
            and self.sync == "Synced"
            and self.health == "Healthy"
        )


def _wave(obj: dict[str, Any]) -> int:
    raw = ((obj.get("metadata") or {}).get("annotations") or {}).get(SYNC_WAVE, "0")
    try:
        return int(raw)
    except (TypeError, ValueError):
        return 0


def app_state(obj: dict[str, Any]) -> AppState:
    """An Application object (as the API returns it) -> AppState."""
    status = obj.get("status") or {}
    sync = status.get("sync") or {}
    health = status.get("health") or {}
    op = status.get("operationState") or {}
    failing = []
    for r in status.get("resources") or []:
        r_health = (r.get("health") or {}).get("status")
        if r.get("status") == "Synced" and r_health in (None, "Healthy"):
            continue
        where = f"{r['namespace']}/" if r.get("namespace") else ""
        why = [s for s in (r.get("status"), r_health) if s and s not in ("Synced", "Healthy")]
        msg = (r.get("health") or {}).get("message")
        failing.append(
            f"{r.get('kind')} {where}{r.get('name')}: {', '.join(why)}"
            + (f" ({msg})" if msg else "")
        )
    for r in (op.get("syncResult") or {}).get("resources") or []:
        if r.get("status") in ("SyncFailed", "PruneSkipped") and r.get("message"):
            where = f"{r['namespace']}/" if r.get("namespace") else ""
            failing.append(f"{r.get('kind')} {where}{r.get('name')}: {r['message']}")
    source = (obj.get("spec") or {}).get("source") or {}
    return AppState(
        name=obj["metadata"]["name"],
        wave=_wave(obj),
        sync=sync.get("status") or "Unknown",
        health=health.get("status") or "Unknown",
        revision=str(sync.get("revision") or ""),
        repo=str(source.get("repoURL") or ""),
        operation=op.get("phase") or "",
        operation_message=op.get("message") or "",
        conditions=tuple(
            (c.get("type") or "", c.get("message") or "") for c in status.get("conditions") or []
        ),
        failing=tuple(failing),
        refreshing=REFRESH in ((obj.get("metadata") or {}).get("annotations") or {}),
    )


def rendered_apps(dist_env: Path) -> list[dict[str, Any]]:
    """Every Application the env renders (root included), as written in dist/<env>/."""
    apps: list[dict[str, Any]] = []
    for path in [dist_env / "root.yaml", *sorted((dist_env / "argocd").glob("*.yaml"))]:
        if not path.is_file():
            continue
        for doc in yaml.load_all(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader):
            if isinstance(doc, dict) and doc.get("kind") == "Application":
                apps.append(doc)
    return apps


def expected_apps(dist_env: Path) -> dict[str, int]:
    """Application name -> sync wave of every Application the env renders (root included)."""
    return {doc["metadata"]["name"]: _wave(doc) for doc in rendered_apps(dist_env)}


def merge_states(objs: Iterable[dict[str, Any]], expected: dict[str, int]) -> list[AppState]:
    """The live Applications plus a `missing` entry for each expected one not created yet,
    root first, then by wave and name."""
    states = {s.name: s for s in map(app_state, objs)}
    for name, wave in expected.items():
        states.setdefault(name, AppState(name=name, wave=wave, exists=False, sync="", health=""))
    return sorted(states.values(), key=lambda s: (s.name != ROOT, s.wave, s.name))


def short(revision: str) -> str:
    return revision[:7] if re.fullmatch(r"[0-9a-f]{40}", revision) else revision


def line(state: AppState) -> str:
    """One row of the view: wave, name, sync, health, revision."""
    if not state.exists:
        return f"{state.wave:>4}  {state.name:<26} {'(not created yet)'}"
    op = f"  sync {state.operation}" if state.operation in ("Running", "Failed", "Error") else ""
    return (
        f"{state.wave:>4}  {state.name:<26} {state.sync:<10} {state.health:<12} "
        f"{short(state.revision)}{op}"
    ).rstrip()


def table(states: Sequence[AppState]) -> list[str]:
    return [f"{'WAVE':>4}  {'APPLICATION':<26} {'SYNC':<10} {'HEALTH':<12} REVISION"] + [
        line(s) for s in states
    ]


def why(state: AppState) -> list[str]:
    """Why an Application is not Synced and Healthy: conditions, last sync, failing resources."""
    if not state.exists:
        return [f"{state.name}: not created yet (its parent has not synced it)"]
    out = [f"{state.name}: {kind}: {msg}" for kind, msg in state.conditions]
    if state.operation in ("Failed", "Error") or (
        state.operation == "Running" and state.operation_message
    ):
        out.append(f"{state.name}: last sync {state.operation}: {state.operation_message}")
    out += [f"{state.name}: {f}" for f in state.failing]
    if not out:
        out.append(f"{state.name}: {state.sync or 'Unknown'}, {state.health or 'Unknown'}")
    return out


def credential_rejected(state: AppState) -> str | None:
    """Argo CD's message when it could not read the repository with the credential given
    (not while a refresh is pending: the condition may predate a new credential)."""
    if state.refreshing:
        return None
    for kind, msg in state.conditions:
        if kind.endswith("Error") and _CREDENTIAL_REJECTED.search(msg):
            return msg.strip()
    return None


@dataclass
class WatchResult:
    states: list[AppState]
    done: bool
    rejected: str | None = None
    waited: float = 0.0
    lines: list[str] = field(default_factory=list)


def watch(
    fetch: Callable[[], list[dict[str, Any]]],
    expected: dict[str, int],
    wanted: Sequence[str],
    timeout: float,
    out: Callable[[str], None],
    repo_url: str,
    interval: float = 2.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> WatchResult:
    """Print a line for every change of an Application's sync, health or revision until every
    wanted Application is Synced and Healthy, Argo CD reports the repository refused the
    credential, or `timeout` seconds passed."""
    start = clock()
    seen: dict[str, str] = {}
    while True:
        states = merge_states(fetch(), expected)
        elapsed = clock() - start
        for s in states:
            row = line(s)
            if seen.get(s.name) != row:
                seen[s.name] = row
                out(f"[{elapsed:5.0f}s] {row}")
        by_name = {s.name: s for s in states}
        for s in states:
            message = credential_rejected(s)
            if message and (s.repo == repo_url or s.name == ROOT):
                return WatchResult(states, False, rejected=message, waited=elapsed)
        if all(by_name[n].done for n in wanted if n in by_name):
            return WatchResult(states, True, waited=elapsed)
        if elapsed >= timeout:
            return WatchResult(states, False, waited=elapsed)
        sleep(interval)
