"""The synth-time trust policy: what no overlay (or construct) may render without saying why.

Everything an environment renders, overlays included, is checked before anything is written.
Each rule has an id; a violation is one line naming the dist/ folder, the object and the rule:

    rbac              no ClusterRole, ClusterRoleBinding, Role or RoleBinding in any dist/
                      folder (the add-on charts bring their own RBAC, from their own project)
    host-access       no privileged container, hostPID, hostIPC, hostNetwork or hostPath volume
    bootstrap         no Application or AppProject other than those the base renders (the
                      root's project cannot restrict names, see SECURITY.md)
    project           every Application uses one of the AppProjects the base renders, never
                      Argo CD's `default` (root.yaml locks it)
    project-wildcard  no `*` in an AppProject's sourceRepos, sourceNamespaces, destinations or
                      resource whitelists
    pod-security      no Namespace's Pod Security level lower than the base renders it, and
                      no `enforce-version` other than `latest` or the base's
    default-deny      the base's default-deny NetworkPolicy stays, unchanged (an overlay's
                      config.yaml may not drop it either: features.network_policies), and no
                      added or changed NetworkPolicy has a rule open to every peer
    argocd-accounts   no `accounts.*` key in argocd-cm (local Argo CD users), no anonymous
                      access (`users.anonymous.enabled`)
    argocd-rbac       nothing in argocd-rbac-cm that gives every user more than read access:
                      `policy.default` other than none or role:readonly, a policy line
                      (policy.csv, policy.<name>.csv) for a `*` subject or for role:readonly
    admission-policy  the admission guards root.yaml applies stay as the base renders them:
                      no ValidatingAdmissionPolicy or binding added, changed or removed, and
                      no AppProject whitelists their kinds (no synced commit may touch them)
    argocd-notifications  argocd-notifications-cm and the `notifications.argoproj.io/`
                      annotations of Applications and AppProjects stay as the base renders
                      them from clusters/<env>/cluster.yaml `deploy_status`: no webhook, trigger
                      or subscription of an overlay's own (a notification service can send the
                      token the cluster holds for it anywhere its config says)

The escape is `overlays/<env>/allow.yaml`, reviewed like code: each entry names the rule, the
object and the reason. An entry that matches no violation is an error too, so the file never
holds stale exceptions. See docs/how-to/overlays.md.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import Field

from constructs_lib.compose.layout import RenderedEnv
from constructs_lib.constructs import trust_rules
from constructs_lib.model.base import Model
from constructs_lib.model.clusters import ClusterSettings
from constructs_lib.model.config import AppConfig
from constructs_lib.model.names import DEFAULT_PROJECT
from constructs_lib.model.workload_kinds import KINDS
from constructs_lib.paths import ROOT, display
from constructs_lib.render.overlays import (
    CONFIG_FILE,
    OVERLAYS_DIR,
    OverlayError,
    WithOverlays,
    apply_overlay,
    load_overlay,
    overlay_config,
    read_overlay_file,
)

ALLOW_FILE = "allow.yaml"

Rule = Literal[
    "rbac",
    "host-access",
    "bootstrap",
    "project",
    "project-wildcard",
    "pod-security",
    "default-deny",
    "argocd-accounts",
    "argocd-rbac",
    "admission-policy",
    "argocd-notifications",
]
RULES: tuple[str, ...] = get_args(Rule)

POD_TEMPLATE_KINDS = ("DaemonSet", "ReplicaSet", "ReplicationController")
"""Kinds with a pod template that no service renders."""
RBAC_KINDS = frozenset({"ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"})
# Kinds whose pod spec is at this path: the workload kinds' (their catalogue), and those an
# overlay could add besides.
POD_SPEC_PATHS: Mapping[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    **{kind: ("spec", "template", "spec") for kind in POD_TEMPLATE_KINDS},
    **{name: kind.pod_spec for name, kind in KINDS.items()},
}
HOST_FIELDS = ("hostPID", "hostIPC", "hostNetwork")
MANAGED_NAMESPACE_LABELS = ("spec", "syncPolicy", "managedNamespaceMetadata", "labels")
ADMISSION_KINDS = frozenset(trust_rules.ADMISSION_KINDS)
NOTIFICATIONS_PREFIX = "notifications.argoproj.io/"

Build = Callable[[AppConfig, ClusterSettings], RenderedEnv]


class Exception_(Model):
    """One reviewed exception to a rule, for one object."""

    rule: Rule = Field(description="The rule the object may break.")
    kind: str = Field(min_length=1, description="Kind of the object.")
    name: str = Field(min_length=1, description="metadata.name of the object.")
    namespace: str | None = Field(None, description="Its namespace, when the name is ambiguous.")
    reason: str = Field(
        min_length=10, description="Why this is needed and who reviewed it; kept with the code."
    )


class AllowFile(Model):
    """Root of `overlays/<env>/allow.yaml`."""

    allow: list[Exception_] = Field(default_factory=list)


@dataclass(frozen=True)
class Violation:
    rule: str
    folder: str
    kind: str
    name: str
    namespace: str | None
    message: str

    def line(self, env: str) -> str:
        return f"dist/{env}/{self.folder}: {self.kind} '{self.name}': {self.rule}: {self.message}"


def load_allow(directory: Path) -> list[Exception_]:
    """`directory/allow.yaml`, checked strictly; [] when absent."""
    path = directory / ALLOW_FILE
    problems: list[str] = []
    allow = read_overlay_file(path, AllowFile, problems)
    if problems:
        raise OverlayError(display(path, ROOT), problems)
    return list(allow.allow) if allow is not None else []


# --- rules -----------------------------------------------------------------------------------


def _objects(env: RenderedEnv) -> Iterator[tuple[str, dict[str, Any]]]:
    for folder, objects in env.folders.items():
        for obj in objects:
            yield folder, obj
    for obj in env.root:
        yield "root.yaml", obj


def _meta(obj: Mapping[str, Any]) -> tuple[str, str, str | None]:
    metadata = obj.get("metadata") or {}
    return str(obj.get("kind")), str(metadata.get("name")), metadata.get("namespace")


def _dig(obj: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _host_access(spec: Mapping[str, Any]) -> list[str]:
    found = [f"{field}: true" for field in HOST_FIELDS if spec.get(field) is True]
    containers = [
        *(spec.get("initContainers") or []),
        *(spec.get("containers") or []),
        *(spec.get("ephemeralContainers") or []),
    ]
    for container in containers:
        context = container.get("securityContext") or {}
        if context.get("privileged") is True:
            found.append(f"container '{container.get('name')}' is privileged")
    for volume in spec.get("volumes") or []:
        if "hostPath" in volume:
            path = (volume.get("hostPath") or {}).get("path")
            found.append(f"volume '{volume.get('name')}' mounts hostPath '{path}'")
    return found


def _wildcards(spec: Mapping[str, Any]) -> list[str]:
    found = [f"sourceRepos '{r}'" for r in spec.get("sourceRepos") or [] if "*" in str(r)]
    found += [
        f"sourceNamespaces '{n}'" for n in spec.get("sourceNamespaces") or [] if "*" in str(n)
    ]
    for destination in spec.get("destinations") or []:
        for key in ("server", "name", "namespace"):
            if "*" in str(destination.get(key, "")):
                found.append(f"destinations {key} '{destination[key]}'")
    for field in ("clusterResourceWhitelist", "namespaceResourceWhitelist"):
        for entry in spec.get(field) or []:
            group, kind = entry.get("group", ""), entry.get("kind", "")
            if "*" in str(group) or "*" in str(kind):
                found.append(f"{field} '{group}/{kind}'")
    return found


def _admission_kinds(spec: Mapping[str, Any]) -> list[str]:
    """Whitelist entries of an AppProject that let it manage the admission guards."""
    return [
        f"{field} '{entry.get('group')}/{entry.get('kind')}'"
        for field in ("clusterResourceWhitelist", "namespaceResourceWhitelist")
        for entry in spec.get(field) or []
        if entry.get("group") == trust_rules.ADMISSION_GROUP
        and entry.get("kind") in ADMISSION_KINDS
    ]


def _open_rules(spec: Mapping[str, Any]) -> list[str]:
    """Rules of a NetworkPolicy that admit every peer (no `from` / `to`)."""
    found = []
    for direction, peers in (("ingress", "from"), ("egress", "to")):
        for i, rule in enumerate(spec.get(direction) or []):
            if not (rule or {}).get(peers):
                found.append(f"{direction}[{i}] allows every peer")
    return found


def _psa(obj: Mapping[str, Any]) -> dict[str, str]:
    """Pod Security levels of a Namespace, or of the namespace an Application creates
    (`managedNamespaceMetadata`); a missing label is the API server's default, privileged."""
    if obj.get("kind") == "Application":
        labels = _dig(obj, MANAGED_NAMESPACE_LABELS) or {}
    else:
        labels = (obj.get("metadata") or {}).get("labels") or {}
    return {m: labels.get(trust_rules.psa_label(m), "privileged") for m in trust_rules.PSA_MODES}


def _enforce_version(obj: Mapping[str, Any]) -> str:
    """`enforce-version` of a Namespace or of the namespace an Application creates; absent is
    `latest` to the API server."""
    if obj.get("kind") == "Application":
        labels = _dig(obj, MANAGED_NAMESPACE_LABELS) or {}
    else:
        labels = (obj.get("metadata") or {}).get("labels") or {}
    return str(labels.get(trust_rules.PSA_ENFORCE_VERSION, trust_rules.PSA_LATEST))


def _wide_rbac(data: Mapping[str, Any]) -> list[str]:
    """What in argocd-rbac-cm's data gives every user more than read access."""
    found = []
    default = trust_rules.RBAC_DEFAULT
    if default in data and str(data[default]) not in trust_rules.RBAC_DEFAULT_ROLES:
        found.append(f"{default} '{data[default]}' is more than role:readonly")
    for key in sorted(data):
        if key.startswith("policy.") and key.endswith(".csv"):
            for line in str(data[key]).split("\n"):  # as Argo CD splits it
                if re.match(trust_rules.RBAC_WIDE_LINE, line):
                    found.append(f"{key} line '{line.strip()}' grants to '*' or role:readonly")
    return found


def _notification_annotations(obj: Mapping[str, Any]) -> dict[str, str]:
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    return {k: v for k, v in annotations.items() if str(k).startswith(NOTIFICATIONS_PREFIX)}


def _notification_problems(
    kind: str, obj: Mapping[str, Any], base: Mapping[tuple[str, str, str | None], Any], env: str
) -> list[str]:
    """How an object departs from the base's notifications (argocd-notifications-cm's data,
    the notifications.argoproj.io annotations), given the base's by (kind, name, namespace)."""
    key = _meta(obj)
    if kind == "ConfigMap":
        if key not in base:
            return [f"the base renders none here: clusters/{env}/cluster.yaml deploy_status does"]
        if base[key] != (obj.get("data") or {}):
            return [f"changed from what clusters/{env}/cluster.yaml deploy_status renders"]
        return []
    mine, theirs = _notification_annotations(obj), base.get(key) or {}
    return [
        f"annotation '{k}' is not the base's (subscriptions come from deploy_status)"
        for k in sorted(set(mine) | set(theirs))
        if mine.get(k) != theirs.get(k)
    ]


def violations(
    env: RenderedEnv, base: RenderedEnv, pristine: RenderedEnv | None = None
) -> list[Violation]:
    """Every rule broken by `env`; `base` is the same environment without its overlay's
    patches and manifests, `pristine` without its overlay's config either (when it has one):
    a config overlay may change what the base renders, but not drop the default-deny
    NetworkPolicy or an admission guard (`features.network_policies: false` would do both)."""
    found: list[Violation] = []

    def add(rule: str, folder: str, obj: Mapping[str, Any], message: str) -> None:
        kind, name, namespace = _meta(obj)
        found.append(Violation(rule, folder, kind, name, namespace, message))

    # root.yaml locks Argo CD's built-in project: no Application may use it.
    projects = {_meta(o)[1] for _, o in _objects(base) if o.get("kind") == "AppProject"} - {
        DEFAULT_PROJECT
    }
    named = {
        _meta(o)[:2] for _, o in _objects(base) if o.get("kind") in ("Application", "AppProject")
    }
    base_policies = {
        (_meta(o)[0], _meta(o)[1], _meta(o)[2]): o.get("spec")
        for _, o in _objects(base)
        if o.get("kind") == "NetworkPolicy"
    }
    base_guards = {_meta(o)[:2]: o for _, o in _objects(base) if o.get("kind") in ADMISSION_KINDS}
    base_notifications: dict[tuple[str, str, str | None], Any] = {
        _meta(o): (o.get("data") or {})
        if o.get("kind") == "ConfigMap"
        else _notification_annotations(o)
        for _, o in _objects(base)
        if (o.get("kind") == "ConfigMap" and _meta(o)[1] == trust_rules.NOTIFICATIONS_CM)
        or o.get("kind") in ("Application", "AppProject")
    }
    for folder, obj in _objects(env):
        kind, name, _ = _meta(obj)
        if kind in RBAC_KINDS:
            add("rbac", folder, obj, "RBAC objects come only from the add-on charts")
        if kind in POD_SPEC_PATHS:
            spec = _dig(obj, POD_SPEC_PATHS[kind])
            for problem in _host_access(spec if isinstance(spec, dict) else {}):
                add("host-access", folder, obj, f"{problem}; pods get no host access")
        if kind in ("Application", "AppProject") and (kind, name) not in named:
            add("bootstrap", folder, obj, f"the base renders no {kind} '{name}'")
        if kind == "Application":
            project = _dig(obj, ("spec", "project"))
            if project not in projects:
                known = ", ".join(sorted(projects))
                add("project", folder, obj, f"project '{project}' is not one of {known}")
        if kind == "AppProject":
            for problem in _wildcards(obj.get("spec") or {}):
                add("project-wildcard", folder, obj, f"wildcard in {problem}")
            for problem in _admission_kinds(obj.get("spec") or {}):
                add("admission-policy", folder, obj, f"{problem} lets Argo CD manage them")
        if kind in ADMISSION_KINDS and (kind, name) not in base_guards:
            add("admission-policy", folder, obj, "admission policies come from the base only")
        elif kind in ADMISSION_KINDS and base_guards[(kind, name)] != obj:
            add("admission-policy", folder, obj, "the admission guard was changed")
        if kind == "NetworkPolicy" and (kind, name, _meta(obj)[2]) not in base_policies:
            for problem in _open_rules(obj.get("spec") or {}):
                add("default-deny", folder, obj, f"{problem}, which undoes default-deny")
        if kind == "ConfigMap" and name == trust_rules.ARGOCD_CM:
            data = obj.get("data") or {}
            for key in sorted(data):
                if key.startswith(trust_rules.ACCOUNTS_PREFIX):
                    add("argocd-accounts", folder, obj, f"key '{key}' adds a local account")
            if str(data.get(anonymous := trust_rules.ANONYMOUS)) in trust_rules.TRUTHY:
                add("argocd-accounts", folder, obj, f"key '{anonymous}' allows anonymous access")
        if kind == "ConfigMap" and name == trust_rules.ARGOCD_RBAC_CM:
            for problem in _wide_rbac(obj.get("data") or {}):
                add("argocd-rbac", folder, obj, f"{problem}; grant to named SSO groups or roles")
        if (kind == "ConfigMap" and name == trust_rules.NOTIFICATIONS_CM) or kind in (
            "Application",
            "AppProject",
        ):
            for problem in _notification_problems(kind, obj, base_notifications, env.name):
                add("argocd-notifications", folder, obj, problem)
    rendered = {(_meta(o)[0], _meta(o)[1], _meta(o)[2]): (folder, o) for folder, o in _objects(env)}
    for folder, obj in _objects(base):
        kind, name, namespace = _meta(obj)
        now = rendered.get((kind, name, namespace))
        if now is not None and (kind == "Namespace" or _dig(obj, MANAGED_NAMESPACE_LABELS)):
            before, after = _psa(obj), _psa(now[1])
            rank = trust_rules.PSA_RANK
            for mode in trust_rules.PSA_MODES:
                if rank.get(after[mode], 0) < rank.get(before[mode], 0):
                    add(
                        "pod-security",
                        folder,
                        obj,
                        f"{mode} lowered from '{before[mode]}' to '{after[mode]}'",
                    )
            pinned, rendered_version = _enforce_version(now[1]), _enforce_version(obj)
            if pinned not in (trust_rules.PSA_LATEST, rendered_version):
                add(
                    "pod-security",
                    folder,
                    obj,
                    f"enforce-version pinned to '{pinned}' (the base renders "
                    f"'{rendered_version}'); an older version's levels are weaker",
                )
        if kind in ADMISSION_KINDS and now is None:
            add("admission-policy", folder, obj, "the admission guard was removed")
        if kind == "NetworkPolicy" and name == trust_rules.DEFAULT_DENY:
            if now is None:
                add("default-deny", folder, obj, "the default-deny NetworkPolicy was removed")
            elif now[1].get("spec") != obj.get("spec"):
                add("default-deny", folder, obj, "the default-deny NetworkPolicy was changed")
    in_base = {(_meta(o)[0], _meta(o)[1], _meta(o)[2]) for _, o in _objects(base)}
    for folder, obj in _objects(pristine) if pristine is not None else ():
        kind, name, namespace = _meta(obj)
        if (kind, name, namespace) in in_base:
            continue
        by = f"by the overlay's {CONFIG_FILE}"
        if kind in ADMISSION_KINDS:
            add("admission-policy", folder, obj, f"the admission guard was removed {by}")
        if kind == "NetworkPolicy" and name == trust_rules.DEFAULT_DENY:
            add("default-deny", folder, obj, f"the default-deny NetworkPolicy was removed {by}")
    return found


def check(
    env: RenderedEnv,
    base: RenderedEnv,
    allow: list[Exception_],
    source: str,
    pristine: RenderedEnv | None = None,
) -> list[str]:
    """The policy's problems, one line each, after the reviewed exceptions in `allow`."""
    used: set[int] = set()
    problems: list[str] = []
    for violation in violations(env, base, pristine):
        match = next(
            (
                i
                for i, e in enumerate(allow)
                if e.rule == violation.rule
                and e.kind == violation.kind
                and e.name == violation.name
                and (e.namespace is None or e.namespace == violation.namespace)
            ),
            None,
        )
        if match is None:
            problems.append(f"{violation.line(env.name)} (exception: {source})")
        else:
            used.add(match)
    for i, entry in enumerate(allow):
        if i not in used:
            problems.append(
                f"{source}: allow[{i}]: no {entry.kind} '{entry.name}' breaks rule "
                f"'{entry.rule}' in dist/{env.name}; remove the exception"
            )
    return problems


def render_checked(
    build: Build, config: AppConfig, cluster: ClusterSettings
) -> tuple[RenderedEnv, list[str]]:
    """Render one environment (its overlay applied) and check it against the policy."""
    root = build.root if isinstance(build, WithOverlays) else OVERLAYS_DIR
    source = display(root / cluster.name / ALLOW_FILE, ROOT)
    if isinstance(build, WithOverlays):
        overlay = load_overlay(build.root, cluster.name)
        if overlay is not None:
            base = build.build(overlay_config(config, overlay), cluster)
            pristine = build.build(config, cluster) if overlay.config is not None else None
            env = apply_overlay(base, overlay)
            allow = load_allow(overlay.directory)
            return env, check(env, base, allow, source, pristine)
        build = build.build
    env = build(config, cluster)
    return env, check(env, env, [], source)
