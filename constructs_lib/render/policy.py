"""The synth-time trust policy: the base owns every object it renders; what an overlay, a config
or a payload may change is the written list of constructs/trust_rules.py, and everything else
is refused unless `overlays/<env>/allow.yaml` names it.

Run on every environment after its overlay and before anything is written; each finding is one
line naming where it comes from, the object, the field (a JSON pointer, '' for the whole
object), the rule and what to do:

    patch           a patch changes a field its kind does not list (trust_rules.PATCHABLE),
                    or anything in root.yaml
    add             a manifest adds a kind its folder does not take (trust_rules.ADDABLE), or
                    puts it outside the app namespace
    safety-switch   the config switches a safety feature off (features.network_policies)
    project         an AppProject with a glob character in a pattern field, without both
                    resource whitelists, with a cluster-scoped entry that names no object or
                    with the admission guards' kinds; an Application outside the base's
                    projects
    network         a NetworkPolicy rule open to every peer, a namespaceSelector that does
                    not name its namespaces, or an ipBlock that reaches the pod, service,
                    node, loopback or link-local ranges
    pod-security    a pod spec outside the restricted Pod Security Standard
    service         a Service with externalIPs or a type other than ClusterIP
    ingress         an Ingress with a snippet annotation
    argocd-accounts an `accounts.*` key or anonymous access in argocd-cm
    argocd-rbac     an argocd-rbac-cm that gives every user more than read access, or holds
                    more policy than the admission guard can read
    argocd-notifications  an argocd-notifications-cm key other than the deploy status's own
                    that names its service or token, or that service not sending over https
                    with TLS verified (clusters/<env>/cluster.yaml `deploy_status` renders it)

The first three are the allowlist; the rest hold every object, the base's own included, so an
exception for one field cannot carry another in with it. An exception names kind, namespace,
name and field exactly, with the reason; one that matches nothing is an error too, so the file
never holds stale exceptions. The admission guards take none. See docs/how-to/overlays.md.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator

from constructs_lib.compose.layout import ROOT_FILE, RenderedEnv
from constructs_lib.constructs.trust_rules import (
    ACCOUNTS_PREFIX,
    ADDABLE,
    ADMISSION_GROUP,
    ADMISSION_KINDS,
    ALLOWED,
    ANONYMOUS,
    APPARMOR_ANNOTATION,
    ARGOCD_CM,
    ARGOCD_RBAC_CM,
    DENIED,
    DEPLOY_STATUS_KEYS,
    DEPLOY_STATUS_SCHEME,
    DEPLOY_STATUS_SERVICE_KEY,
    EXTERNAL_EGRESS_POLICY,
    NAMESPACE_SELECTOR_OPERATORS,
    NEVER_REACHED,
    NOTIFICATIONS_CM,
    POD_SPEC_PATHS,
    PROJECT_GLOB_FIELDS,
    PROJECT_WHITELISTS,
    RBAC_DEFAULT,
    RBAC_DEFAULT_ROLES,
    RBAC_POLICY_MAX_CHARACTERS,
    RBAC_WIDE_LINE,
    RESTRICTED_APPARMOR,
    RESTRICTED_CAPABILITIES,
    RESTRICTED_SECCOMP,
    RESTRICTED_VOLUMES,
    SAFE_SYSCTLS,
    SAFETY_SWITCHES,
    SERVICE_TYPES,
    TRUTHY,
    closed_within,
    has_glob,
    patterns,
    reached,
    verdict,
)
from constructs_lib.model.base import Model
from constructs_lib.model.clusters import ClusterSettings
from constructs_lib.model.config import AppConfig
from constructs_lib.model.loading import ConfigError
from constructs_lib.model.names import DEFAULT_PROJECT, DEPLOY_STATUS_SERVICE
from constructs_lib.paths import ROOT, display
from constructs_lib.render.json_patch import dig
from constructs_lib.render.overlays import (
    OVERLAYS_DIR,
    Change,
    OverlayError,
    WithOverlays,
    load_overlay,
    overlay_config,
    read_overlay_file,
    trace_overlay,
)

ALLOW_FILE = "allow.yaml"
DOCS = "docs/how-to/overlays.md#what-an-overlay-may-change"
GUARDED_RULES = frozenset({"project", "argocd-accounts", "argocd-rbac", "argocd-notifications"})
"""Rules no exception opens: the admission guards (or, for an Application's project, Argo
CD's locked `default` project) refuse the same when Argo CD applies it."""

Build = Callable[[AppConfig, ClusterSettings], RenderedEnv]


class Exception_(Model):
    """One reviewed exception: the one field of the one object it lets through."""

    kind: str = Field(min_length=1, description="Kind of the object.")
    namespace: str | None = Field(
        description="Its namespace; null for a cluster-scoped object. Required, so an entry "
        "never covers a same-named object in another namespace."
    )
    name: str = Field(min_length=1, description="metadata.name of the object.")
    field: str = Field(
        description="The field, as a JSON pointer (RFC 6901, the one the refusal names): "
        "'/spec/replicas', or '' for the whole object."
    )
    reason: str = Field(
        min_length=10, description="Why this is needed and who reviewed it; kept with the code."
    )

    @field_validator("kind")
    @classmethod
    def _not_a_guard(cls, kind: str) -> str:
        if kind in ADMISSION_KINDS:
            raise ValueError(
                "the admission guards take no exception; they change with the base (SECURITY.md)"
            )
        return kind

    @field_validator("field")
    @classmethod
    def _pointer(cls, field: str) -> str:
        if field and not field.startswith("/"):
            raise ValueError(f"'{field}' is not a JSON pointer: '' or starting with '/'")
        return field


class AllowFile(Model):
    """Root of `overlays/<env>/allow.yaml`."""

    allow: list[Exception_] = Field(default_factory=list)


@dataclass(frozen=True)
class Finding:
    """One thing the rule set refuses, and the exception that would let it through."""

    rule: str
    where: str
    """The patch entry, manifest, config key or dist/ folder it comes from."""
    kind: str
    namespace: str | None
    name: str
    field: str
    message: str

    @property
    def exceptable(self) -> bool:
        """What the admission guards refuse too takes no exception: it would pass the synth
        only to be refused when Argo CD applies it."""
        return self.rule not in GUARDED_RULES

    @property
    def key(self) -> tuple[str, str | None, str, str]:
        return (self.kind, self.namespace, self.name, self.field)

    @property
    def ref(self) -> str:
        """`Kind namespace/name field '/x'`, what an exception names."""
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind} {where}{self.name} field '{self.field}'"

    def line(self, source: str) -> str:
        escape = (
            f"exception: {source}"
            if self.exceptable
            else "no exception: the admission guards refuse it too"
        )
        return f"{self.where}: {self.ref}: {self.rule}: {self.message} ({escape})"


@dataclass(frozen=True)
class Context:
    """What the rules compare against in one environment."""

    app_namespace: str
    projects: frozenset[str] | None
    """The AppProjects the base renders, Argo CD's locked `default` aside; None when not
    rendered (`validate`), which then leaves an Application's project unchecked."""
    closed: tuple[tuple[str, str], ...]
    """(range, what it is) no egress reaches: the cluster's and trust_rules.NEVER_REACHED."""


def cluster_closed(cluster: ClusterSettings) -> tuple[tuple[str, str], ...]:
    """(range, what it is) no egress reaches in the environment."""
    pod, service, *nodes = cluster.cluster_ranges()
    ranges = [(pod, "the pod range"), (service, "the service range")]
    ranges += [(node, "a node's address") for node in nodes]
    return (*ranges, *NEVER_REACHED)


def context_of(base: RenderedEnv, config: AppConfig, cluster: ClusterSettings) -> Context:
    projects = {_meta(o)[2] for _, o in _objects(base) if o.get("kind") == "AppProject"} - {
        DEFAULT_PROJECT
    }
    return Context(config.app.namespace, frozenset(projects), cluster_closed(cluster))


def load_allow(directory: Path) -> list[Exception_]:
    """`directory/allow.yaml`, checked strictly; [] when absent."""
    path = directory / ALLOW_FILE
    problems: list[str] = []
    allow = read_overlay_file(path, AllowFile, problems)
    if problems:
        raise OverlayError(display(path, ROOT), problems)
    return list(allow.allow) if allow is not None else []


# --- objects --------------------------------------------------------------------------------


def _objects(env: RenderedEnv) -> Iterator[tuple[str, dict[str, Any]]]:
    for folder, objects in env.folders.items():
        for obj in objects:
            yield folder, obj
    for obj in env.root:
        yield ROOT_FILE, obj


def _meta(obj: Mapping[str, Any]) -> tuple[str, str | None, str]:
    metadata = obj.get("metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    namespace = metadata.get("namespace")
    return str(obj.get("kind")), str(namespace) if namespace else None, str(metadata.get("name"))


def _map(value: Any) -> dict[str, Any]:
    """`value` if it is a mapping, else an empty one: input may be any shape."""
    return value if isinstance(value, dict) else {}


def _items(value: Any) -> list[Any]:
    """`value` if it is a list, else an empty one."""
    return value if isinstance(value, list) else []


def pointer(tokens: Iterable[str]) -> str:
    """The JSON pointer (RFC 6901) of `tokens`; '' for the whole object."""
    return "".join("/" + t.replace("~", "~0").replace("/", "~1") for t in tokens)


def _finding(rule: str, where: str, obj: Mapping[str, Any], field: str, message: str) -> Finding:
    kind, namespace, name = _meta(obj)
    return Finding(rule, where, kind, namespace, name, field, message)


# --- patches and added objects: the allowlist -----------------------------------------------

_MISSING: Any = object()


def denied_changes(
    before: Any, after: Any, allowed: Sequence[tuple[str, ...]], path: tuple[str, ...] = ()
) -> list[tuple[str, ...]]:
    """The fields where `before` becomes `after` outside the `allowed` ones: each change point
    (a value set, replaced or removed, a list resized) that is neither at or below an allowed
    field nor, above one, a change of allowed fields only."""
    if isinstance(before, dict) and isinstance(after, dict):
        keys = [*before, *(k for k in after if k not in before)]
        return [
            p
            for k in keys
            for p in denied_changes(
                before.get(k, _MISSING), after.get(k, _MISSING), allowed, (*path, str(k))
            )
        ]
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        return [
            p
            for i, (b, a) in enumerate(zip(before, after, strict=True))
            for p in denied_changes(b, a, allowed, (*path, str(i)))
        ]
    if type(before) is type(after) and before == after:
        return []
    found = verdict(allowed, path)
    if found == ALLOWED:
        return []
    if found != DENIED and _within(before, allowed, path) and _within(after, allowed, path):
        return []
    return [path]


def _within(value: Any, allowed: Sequence[tuple[str, ...]], path: tuple[str, ...]) -> bool:
    """Whether every value under `path` is at or below an allowed field."""
    if value is _MISSING:
        return True
    found = verdict(allowed, path)
    if found != DENIED and found != ALLOWED:  # above allowed fields: look at what is below
        if isinstance(value, dict):
            return all(_within(v, allowed, (*path, str(k))) for k, v in value.items())
        if isinstance(value, list):
            return all(_within(v, allowed, (*path, str(i))) for i, v in enumerate(value))
        return False
    return found == ALLOWED


def change_findings(change: Change, ctx: Context) -> list[Finding]:
    """What a patch or an added manifest changes outside the allowlist."""
    if change.before is None:
        return added_findings(change.source, change.folder, change.after, ctx)
    kind, _, name = _meta(change.before)
    allowed = [] if change.folder == ROOT_FILE else patterns(kind, name)
    if change.folder == ROOT_FILE:
        why = "root.yaml's objects are base-owned"
    elif not allowed:
        why = f"the base owns every field of this {kind}"
    else:
        why = f"not a field a patch may change on {kind} '{name}' ({DOCS})"
    return [
        _finding("patch", change.source, change.before, pointer(path), why)
        for path in denied_changes(change.before, change.after, allowed)
    ]


def added_findings(where: str, folder: str, obj: Mapping[str, Any], ctx: Context) -> list[Finding]:
    """An added object outside the kinds its folder takes, or outside the app namespace."""
    kind, namespace, _ = _meta(obj)
    takes = ADDABLE.get(folder, ())
    if (obj.get("apiVersion"), kind) not in takes:
        listed = ", ".join(k for _, k in takes)
        takes_what = (
            f"takes {listed} only, in namespace '{ctx.app_namespace}'"
            if takes
            else "takes no added object"
        )
        return [
            _finding(
                "add",
                where,
                obj,
                "",
                f"{folder}/ {takes_what} ({obj.get('apiVersion')} {kind} is not one; {DOCS})",
            )
        ]
    if namespace != ctx.app_namespace:
        return [
            _finding(
                "add",
                where,
                obj,
                "/metadata/namespace",
                f"an added object goes in the app namespace '{ctx.app_namespace}' "
                f"(got {namespace!r})",
            )
        ]
    return []


# --- every object: what no field may hold ---------------------------------------------------


def object_findings(where: str, obj: Mapping[str, Any], ctx: Context) -> list[Finding]:
    """What the object holds that no exception for another field may carry in."""
    kind, _, name = _meta(obj)
    found: list[tuple[str, str, str]] = []  # (rule, field, message)
    spec = _map(obj.get("spec"))
    if kind == "AppProject" and "spec" in obj:
        found += [("project", f, m) for f, m in project_problems(spec)]
    if kind == "Application" and ctx.projects is not None:
        project = dig(obj, ("spec", "project"))
        if project not in ctx.projects:
            found.append(
                ("project", "/spec/project", f"'{project}' is not an AppProject the base renders")
            )
    if kind == "NetworkPolicy":
        found += [("network", f, m) for f, m in network_problems(spec, ctx.closed)]
    if kind in POD_SPEC_PATHS:
        path = POD_SPEC_PATHS[kind]
        pod = dig(obj, path)
        if isinstance(pod, dict):
            found += [("pod-security", f, m) for f, m in pod_problems(pod, pointer(path))]
        meta = (*path[:-1], "metadata")
        annotations = _map(dig(obj, (*meta, "annotations")))
        found += [("pod-security", f, m) for f, m in apparmor_problems(annotations, meta)]
    if kind == "Service":
        found += [("service", f, m) for f, m in service_problems(spec)]
    if kind == "Ingress":
        annotations = _map(dig(obj, ("metadata", "annotations")))
        found += [
            (
                "ingress",
                pointer(("metadata", "annotations", key)),
                "a snippet annotation runs as ingress-nginx configuration",
            )
            for key in annotations
            if str(key).lower().endswith("snippet")
        ]
    data = _map(obj.get("data"))
    if kind == "ConfigMap" and name == ARGOCD_CM:
        found += [("argocd-accounts", f, m) for f, m in accounts_problems(data)]
    if kind == "ConfigMap" and name == ARGOCD_RBAC_CM:
        found += [("argocd-rbac", f, m) for f, m in rbac_problems(data)]
    if kind == "ConfigMap" and name == NOTIFICATIONS_CM:
        found += [("argocd-notifications", f, m) for f, m in notifications_problems(data)]
    return [_finding(rule, where, obj, field, message) for rule, field, message in found]


def project_problems(spec: Mapping[str, Any]) -> list[tuple[str, str]]:
    found = [
        (
            f"/spec/{w}",
            "missing: Argo CD reads no namespaceResourceWhitelist as every namespaced kind; "
            "list the kinds (an empty list allows none)",
        )
        for w in PROJECT_WHITELISTS
        if w not in spec
    ]
    for field, keys in PROJECT_GLOB_FIELDS.items():
        for i, entry in enumerate(_items(spec.get(field))):
            values = [((), entry)] if not keys else [((k,), _map(entry).get(k)) for k in keys]
            for key, value in values:
                if has_glob(value):
                    found.append(
                        (
                            pointer((("spec", field, str(i), *key))),
                            f"'{value}' is a pattern; name each one exactly",
                        )
                    )
    for w in PROJECT_WHITELISTS:
        for i, entry in enumerate(_items(spec.get(w))):
            entry = _map(entry)
            if entry.get("group") == ADMISSION_GROUP and entry.get("kind") in ADMISSION_KINDS:
                found.append(
                    (
                        f"/spec/{w}/{i}",
                        f"{entry.get('kind')} lets Argo CD manage the admission guards",
                    )
                )
            elif w == "clusterResourceWhitelist" and not entry.get("name"):
                found.append(
                    (
                        f"/spec/{w}/{i}",
                        f"names no object: every {entry.get('kind')} would be allowed; add the "
                        "name of each the project needs",
                    )
                )
    return found


def network_problems(
    spec: Mapping[str, Any], closed: Sequence[tuple[str, str]]
) -> list[tuple[str, str]]:
    found = []
    for direction, peers in (("ingress", "from"), ("egress", "to")):
        for i, rule in enumerate(_items(spec.get(direction))):
            rule = _map(rule)
            if not rule.get(peers):
                found.append((f"/spec/{direction}/{i}", "names no peer: open to every peer"))
                continue
            for j, peer in enumerate(_items(rule[peers])):
                at = f"/spec/{direction}/{i}/{peers}/{j}"
                peer = _map(peer)
                selector = peer.get("namespaceSelector")
                if isinstance(selector, dict):
                    found += _namespace_selector_problems(selector, f"{at}/namespaceSelector")
                block = peer.get("ipBlock")
                if isinstance(block, dict):
                    found += _block_problems(block, at, closed)
    return found


def _namespace_selector_problems(selector: Mapping[str, Any], at: str) -> list[tuple[str, str]]:
    """A namespaceSelector that does not name the namespaces it selects."""
    expressions = _items(selector.get("matchExpressions"))
    if not (selector.get("matchLabels") or expressions):
        return [(at, "{} selects every namespace")]
    return [
        (
            f"{at}/matchExpressions/{k}/operator",
            f"{operator} does not name the namespaces it selects (every namespace at worst); "
            f"name them with matchLabels or {' or '.join(NAMESPACE_SELECTOR_OPERATORS)}",
        )
        for k, expression in enumerate(expressions)
        if (operator := _map(expression).get("operator")) not in NAMESPACE_SELECTOR_OPERATORS
    ]


def _block_problems(
    block: Mapping[str, Any], at: str, closed: Sequence[tuple[str, str]]
) -> list[tuple[str, str]]:
    cidr, excepted = block.get("cidr"), _items(block.get("except"))
    try:
        hits = reached(str(cidr), [str(e) for e in excepted], closed)
    except ValueError:
        return [(f"{at}/ipBlock", f"'{cidr}' (or an except) is not an address range")]
    if not hits:
        return []
    return [(f"{at}/ipBlock/cidr", reach_message(str(cidr), hits))]


def reach_message(cidr: str, hits: Sequence[tuple[str, str]]) -> str:
    """What an ipBlock reaches that no egress may, and what to do."""
    inside = [(b, w) for b, w in hits if not closed_within(cidr, [(b, w)])]
    if inside:
        block, what = inside[0]
        where = what if block == cidr else f"inside {block} ({what})"
        return f"{cidr} is {where}, which no egress reaches; pick a range outside it"
    listed = ", ".join(f"{b} ({w})" for b, w in hits)
    return f"{cidr} reaches {listed}; list them in except"


def _containers(pod: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for field in ("initContainers", "containers", "ephemeralContainers"):
        for i, container in enumerate(_items(pod.get(field))):
            if isinstance(container, dict):
                yield f"/{field}/{i}", container


def pod_problems(pod: Mapping[str, Any], at: str) -> list[tuple[str, str]]:
    """Where a pod spec leaves the restricted Pod Security Standard (an allowlist: volume
    types, capabilities, seccomp profiles; host namespaces, privilege and root refused)."""
    found = [
        (f"{at}/{f}", "shares the node's namespaces")
        for f in ("hostNetwork", "hostPID", "hostIPC")
        if pod.get(f) is True
    ]
    context = _map(pod.get("securityContext"))
    for i, volume in enumerate(_items(pod.get("volumes"))):
        kinds = [k for k in _map(volume) if k != "name"]
        for k in kinds:
            if k not in RESTRICTED_VOLUMES:
                found.append((f"{at}/volumes/{i}/{k}", f"volume type {k} is not allowed"))
    for i, sysctl in enumerate(_items(context.get("sysctls"))):
        if _map(sysctl).get("name") not in SAFE_SYSCTLS:
            found.append((f"{at}/securityContext/sysctls/{i}", "not a safe sysctl"))
    found += _context_problems(context, f"{at}/securityContext")
    for where, container in _containers(pod):
        sc = _map(container.get("securityContext"))
        base = f"{at}{where}/securityContext"
        found += _context_problems(sc, base)
        if sc.get("privileged") is True:
            found.append((f"{base}/privileged", "a privileged container"))
        if sc.get("allowPrivilegeEscalation") is not False:
            found.append((f"{base}/allowPrivilegeEscalation", "must be false"))
        caps = _map(sc.get("capabilities"))
        if "ALL" not in _items(caps.get("drop")):
            found.append((f"{base}/capabilities/drop", "must drop ALL"))
        for j, cap in enumerate(_items(caps.get("add"))):
            if cap not in RESTRICTED_CAPABILITIES:
                found.append((f"{base}/capabilities/add/{j}", f"capability {cap} is not allowed"))
        non_root = sc.get("runAsNonRoot", context.get("runAsNonRoot"))
        if non_root is not True:
            found.append((f"{base}/runAsNonRoot", "must be true (here or for the pod)"))
        seccomp = _map(sc.get("seccompProfile") or context.get("seccompProfile"))
        if seccomp.get("type") not in RESTRICTED_SECCOMP:
            found.append((f"{base}/seccompProfile", "must be RuntimeDefault or Localhost"))
        if sc.get("procMount") not in (None, "Default"):
            found.append((f"{base}/procMount", "must be Default"))
        for j, port in enumerate(_items(container.get("ports"))):
            if _map(port).get("hostPort"):
                found.append((f"{at}{where}/ports/{j}/hostPort", "binds a port of the node"))
    return found


def apparmor_problems(annotations: Mapping[str, Any], meta: Sequence[str]) -> list[tuple[str, str]]:
    """A pod template's AppArmor annotation (the field's older form) other than the restricted
    profiles."""
    return [
        (
            pointer((*meta, "annotations", str(key))),
            f"AppArmor profile '{value}': only runtime/default or localhost/<profile>",
        )
        for key, value in annotations.items()
        if str(key).startswith(APPARMOR_ANNOTATION)
        and not (
            str(value) == RESTRICTED_APPARMOR[0] or str(value).startswith(RESTRICTED_APPARMOR[1])
        )
    ]


def _context_problems(context: Mapping[str, Any], at: str) -> list[tuple[str, str]]:
    found = []
    if context.get("runAsUser") == 0:
        found.append((f"{at}/runAsUser", "runs as root"))
    if dig(context, ("windowsOptions", "hostProcess")) is True:
        found.append((f"{at}/windowsOptions/hostProcess", "a host process"))
    if dig(context, ("appArmorProfile", "type")) == "Unconfined":
        found.append((f"{at}/appArmorProfile/type", "must not be Unconfined"))
    if dig(context, ("seccompProfile", "type")) == "Unconfined":
        found.append((f"{at}/seccompProfile/type", "must not be Unconfined"))
    selinux = context.get("seLinuxOptions")
    if isinstance(selinux, dict) and (
        selinux.get("user")
        or selinux.get("role")
        or selinux.get("type")
        not in (None, "", "container_t", "container_init_t", "container_kvm_t")
    ):
        found.append((f"{at}/seLinuxOptions", "only the container SELinux types are allowed"))
    return found


def service_problems(spec: Mapping[str, Any]) -> list[tuple[str, str]]:
    found = []
    if spec.get("type", "ClusterIP") not in SERVICE_TYPES:
        found.append(("/spec/type", f"{spec.get('type')}: reach the app through its Ingress"))
    if spec.get("externalIPs"):
        found.append(("/spec/externalIPs", "captures traffic to those addresses cluster-wide"))
    return found


def accounts_problems(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    found = [
        (pointer(("data", key)), "adds a local Argo CD account")
        for key in sorted(data, key=str)
        if str(key).startswith(ACCOUNTS_PREFIX)
    ]
    if str(data.get(ANONYMOUS)) in TRUTHY:
        found.append((pointer(("data", ANONYMOUS)), "allows anonymous access"))
    return found


def _policy_csv(key: str) -> bool:
    """policy.csv or policy.<name>.csv, as Argo CD joins them."""
    return key.startswith("policy.") and key.endswith(".csv")


def rbac_problems(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """What in argocd-rbac-cm gives every user more than read access."""
    found = []
    if RBAC_DEFAULT in data and str(data[RBAC_DEFAULT]) not in RBAC_DEFAULT_ROLES:
        found.append(
            (
                pointer(("data", RBAC_DEFAULT)),
                f"'{data[RBAC_DEFAULT]}' is more than role:readonly",
            )
        )
    keys = [k for k in sorted(data, key=str) if _policy_csv(str(k))]
    size = sum(len(str(data[k])) for k in keys)  # characters, as CEL's size() counts
    if size > RBAC_POLICY_MAX_CHARACTERS:
        found.append(
            (
                "/data",
                f"{size} characters of policy CSV, more than the admission guard reads "
                f"({RBAC_POLICY_MAX_CHARACTERS}); grant to groups, not to each user",
            )
        )
    for key in keys:
        for line in str(data[key]).split("\n"):  # as Argo CD splits it
            if re.match(RBAC_WIDE_LINE, line):
                found.append(
                    (
                        pointer(("data", key)),
                        f"line '{line.strip()}' grants to '*' or role:readonly; grant to named "
                        "SSO groups or roles",
                    )
                )
    return found


def notifications_problems(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """What in argocd-notifications-cm could send the deploy status's token elsewhere: another
    key naming its service or token, or the service not sending over https with TLS
    verified (the admission guard's checks)."""
    found = [
        (
            pointer(("data", key)),
            f"names {DEPLOY_STATUS_SERVICE}, which only the deploy status's own keys may (its "
            "token would go where this key says); configure it in clusters/<env>/cluster.yaml "
            "deploy_status",
        )
        for key in sorted(data, key=str)
        if str(key) not in DEPLOY_STATUS_KEYS
        and (DEPLOY_STATUS_SERVICE in str(key) or DEPLOY_STATUS_SERVICE in str(data[key]))
    ]
    service = data.get(DEPLOY_STATUS_SERVICE_KEY)
    if service is not None and (
        not re.match(DEPLOY_STATUS_SCHEME, str(service)) or "insecureSkipVerify" in str(service)
    ):
        found.append(
            (
                pointer(("data", DEPLOY_STATUS_SERVICE_KEY)),
                "must send over https (http to 127.0.0.1 or localhost only) and verify TLS; set "
                "deploy_status.url to an https:// URL",
            )
        )
    return found


# --- the config -----------------------------------------------------------------------------


def config_findings(config: AppConfig, ctx: Context) -> list[Finding]:
    """A safety feature switched off, or external egress into a range no egress reaches: what
    the config may not do without an exception (trust_rules.SAFETY_SWITCHES, the ranges)."""
    found = []
    dumped = config.model_dump()
    for key, (off, kind, name) in SAFETY_SWITCHES.items():
        if dig(dumped, key) == off:
            found.append(
                Finding(
                    "safety-switch",
                    f"config {'.'.join(key)}",
                    kind,
                    ctx.app_namespace,
                    name,
                    "",
                    f"{str(off).lower()} would drop {name}, the app's other NetworkPolicies and "
                    "the default-deny admission guard; the safety features stay on",
                )
            )
    for i, service in enumerate(config.services):
        for j, external in enumerate(service.egress.external):
            if external.cidr is None:
                continue
            inside = [
                (block, what)
                for block, what in reached(external.cidr, [], ctx.closed)
                if not closed_within(external.cidr, [(block, what)])
            ]
            if inside:
                found.append(
                    Finding(
                        "network",
                        f"config services[{i}].egress.external[{j}].cidr",
                        "NetworkPolicy",
                        ctx.app_namespace,
                        EXTERNAL_EGRESS_POLICY.format(service=service.name),
                        f"/spec/egress/{j}/to/0/ipBlock/cidr",
                        reach_message(external.cidr, inside),
                    )
                )
    return found


# --- the check ------------------------------------------------------------------------------


def findings(
    env: RenderedEnv, changes: Sequence[Change], config: AppConfig, ctx: Context
) -> list[Finding]:
    """Everything the rule set refuses in `env`: the config's, each change's, then what any
    object holds; one finding per rule, object and field."""
    found = config_findings(config, ctx)
    for change in changes:
        found += change_findings(change, ctx)
    for folder, obj in _objects(env):
        found += object_findings(f"dist/{env.name}/{folder}", obj, ctx)
    unique: dict[tuple[str, tuple[str, str | None, str, str]], Finding] = {}
    for finding in found:
        unique.setdefault((finding.rule, finding.key), finding)
    return list(unique.values())


def check(
    found: Sequence[Finding], allow: Sequence[Exception_], source: str, env: str
) -> list[str]:
    """The findings no exception names, one line each, and each exception that names none."""
    keys = {(e.kind, e.namespace, e.name, e.field): i for i, e in enumerate(allow)}
    used: set[int] = set()
    problems = []
    for finding in found:
        if finding.key in keys:
            used.add(keys[finding.key])
        if finding.key not in keys or not finding.exceptable:
            problems.append(finding.line(source))
    for i, entry in enumerate(allow):
        if i not in used:
            where = f"{entry.namespace}/" if entry.namespace else ""
            problems.append(
                f"{source}: allow[{i}]: nothing in dist/{env} needs {entry.kind} "
                f"{where}{entry.name} field '{entry.field}'; remove the exception"
            )
    return problems


CONFIG = "(config)"
"""In `static_problems`: the problem is the config's, at the path it names."""


def static_problems(
    config: AppConfig, cluster: ClusterSettings, root: Path = OVERLAYS_DIR
) -> list[tuple[str, str]]:
    """What the rule set refuses in one environment without rendering it, as (file, line):
    the config's findings (merged with the overlay's config.yaml; file CONFIG, line
    `path: ...`), the overlay's unreadable files, and each manifest it adds. Patches change
    rendered objects: only `render_checked` sees them."""
    try:
        overlay = load_overlay(root, cluster.name)
        merged = overlay_config(config, overlay) if overlay is not None else config
        allow = load_allow(overlay.directory) if overlay is not None else []
    except ConfigError as exc:
        return [(line.partition(": ")[0], line.partition(": ")[2]) for line in exc.problems]
    ctx = Context(merged.app.namespace, None, cluster_closed(cluster))
    found = config_findings(merged, ctx)
    for folder, documents in (overlay.manifests if overlay is not None else {}).items():
        for where, document in documents:
            found += added_findings(where, folder, document, ctx)
            found += object_findings(where, document, ctx)
    source = display(root / cluster.name / ALLOW_FILE, ROOT)
    excepted = {(e.kind, e.namespace, e.name, e.field) for e in allow}
    problems = []
    for finding in found:
        if finding.key in excepted and finding.exceptable:
            continue
        if finding.where.startswith("config "):
            path = finding.where.removeprefix("config ")
            problems.append(
                (
                    CONFIG,
                    f"{path}: {finding.rule}: in {cluster.name}, {finding.message} "
                    f"(exception: {source} naming {finding.ref})",
                )
            )
        else:
            file = finding.where.partition(": ")[0]
            problems.append((file, finding.line(source).removeprefix(f"{file}: ")))
    return problems


def render_checked(
    build: Build, config: AppConfig, cluster: ClusterSettings
) -> tuple[RenderedEnv, list[str]]:
    """Render one environment (its overlay applied) and check it against the rule set."""
    root = build.root if isinstance(build, WithOverlays) else OVERLAYS_DIR
    source = display(root / cluster.name / ALLOW_FILE, ROOT)
    overlay = load_overlay(build.root, cluster.name) if isinstance(build, WithOverlays) else None
    render = build.build if isinstance(build, WithOverlays) else build
    if overlay is None:
        env = render(config, cluster)
        ctx = context_of(env, config, cluster)
        return env, check(findings(env, [], config, ctx), [], source, cluster.name)
    merged = overlay_config(config, overlay)
    base = render(merged, cluster)
    env, changes = trace_overlay(base, overlay)
    allow = load_allow(overlay.directory)
    ctx = context_of(base, merged, cluster)
    return env, check(findings(env, changes, merged, ctx), allow, source, cluster.name)
