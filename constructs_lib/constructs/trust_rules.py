"""The trust boundary's one rule set: what an overlay, a config or a payload may change.

The base owns every object it renders. What others may change is written here, as data, and
everything else is refused unless `overlays/<env>/allow.yaml` names the object (kind,
namespace, name) and the field exactly:

- `PATCHABLE`: per kind, the fields a patch may touch (and what is below them); an add-on's
  Application also takes the Helm values its catalogue entry lists (`overlay_values`);
- `ADDABLE`: per dist/ folder, the kinds a manifest may add, in the app namespace;
- `SAFETY_SWITCHES`: config keys that would drop a safety feature;
- the ranges external egress never reaches, and what the admission guards and the synth's
  policy both compare AppProjects, Pod Security labels and Argo CD's RBAC against.

Read by the synth's policy (render/policy.py), `gitops-base validate`, the admission guards
(CEL, admission_guards.py), so the two lines refuse the same things, and the docs: the table
in docs/how-to/overlays.md is generated from this module (`make schema`). The constructs that
render these objects name them from here too. Plain values and small pure functions only: the
synth imports this without loading cdk8s.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

from constructs_lib.model.addons import ADDONS
from constructs_lib.model.names import DEPLOY_STATUS_SERVICE
from constructs_lib.model.workload_kinds import KINDS

# --- what the admission guards and the synth's policy both check ----------------------------

PSA_MODES = ("enforce", "audit", "warn")
"""The modes of Pod Security admission, one namespace label each."""
PSA_RANK = {"privileged": 0, "baseline": 1, "restricted": 2}
"""The Pod Security levels, weakest first; a missing label is `privileged`."""


def psa_label(mode: str) -> str:
    """The namespace label of one Pod Security mode: pod-security.kubernetes.io/enforce."""
    return f"pod-security.kubernetes.io/{mode}"


PSA_ENFORCE = psa_label("enforce")
PSA_ENFORCE_VERSION = psa_label("enforce-version")
PSA_LATEST = "latest"
DEFAULT_DENY = "default-deny"
"""The app namespace's NetworkPolicy that denies all traffic but what others allow."""
ARGOCD_CM = "argocd-cm"
ARGOCD_RBAC_CM = "argocd-rbac-cm"
NOTIFICATIONS_CM = "argocd-notifications-cm"
DEPLOY_STATUS_STATES = ("deployed", "degraded", "failed")
"""The states the deploy status reports (constructs/argocd/deploy_status.py), one template each."""


def deploy_status_template(state: str) -> str:
    """The argocd-notifications-cm template of one deploy status state."""
    return f"gitops-base-{state}"


DEPLOY_STATUS_SERVICE_KEY = f"service.webhook.{DEPLOY_STATUS_SERVICE}"
DEPLOY_STATUS_KEYS = (
    DEPLOY_STATUS_SERVICE_KEY,
    f"trigger.{DEPLOY_STATUS_SERVICE}",
    *(f"template.{deploy_status_template(s)}" for s in DEPLOY_STATUS_STATES),
)
"""The argocd-notifications-cm keys the deploy status renders: its service, its trigger (named
like it) and its templates; no other key may name the service or its token."""
DEPLOY_STATUS_SCHEME = r"^url: (https://|http://(127[.]0[.]0[.]1|localhost)[:/\n])"
"""What the service's first line, which the base writes as `url: ...`, must match (RE2 and
Python): https, or http to loopback only."""
ACCOUNTS_PREFIX = "accounts."
"""argocd-cm keys that define local Argo CD users."""
ANONYMOUS = "users.anonymous.enabled"
TRUTHY = ("1", "t", "T", "true", "TRUE", "True")
"""What Argo CD reads as true (Go's strconv.ParseBool)."""
RBAC_DEFAULT = "policy.default"
RBAC_DEFAULT_ROLES = ("", "role:readonly")
"""The `policy.default` values that give every user no more than read access."""
# What Argo CD trims around a policy line and before each CSV field (Go's unicode.IsSpace),
# as literal characters: RE2 and Python read a character class of them the same way.
_SPACE = "\t\v\f\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
RBAC_WIDE_LINE = (
    f'^[{_SPACE}]*"?[pg]"?[{_SPACE}]*,[{_SPACE}]*("?role:readonly"?[{_SPACE}]*(,|$)|[^,\n]*\\*)'
)
"""A line of an Argo CD policy CSV (RE2 and Python; lines split on newlines only, as Argo CD
does) that reads as, or is, a grant to every user: a `p` or `g` line whose subject holds `*`
(Argo CD matches subjects exactly, so today it names no one, but it is never what a reviewer
should accept), or whose subject is role:readonly, the role `policy.default` may give
everyone (a permission added to it, or a role it inherits, is everyone's)."""
RBAC_POLICY_MAX_CHARACTERS = 128 * 1024
"""The most policy CSV (policy.csv and every policy.<name>.csv together, in characters, as
CEL's size() counts them) argocd-rbac-cm may hold: the guard reads every line of it, and
above this its CEL would hit the API server's cost limit with an opaque error instead of
naming the problem."""

GLOB_CHARACTERS = "*?[]{}!\\"
"""Characters Argo CD reads as a pattern in an AppProject (gobwas/glob in sourceRepos,
sourceNamespaces and destinations; filepath.Match in a whitelist's name; `!` negates). None
may appear there: every entry names one repository, namespace, kind or object."""
PROJECT_WHITELISTS = ("clusterResourceWhitelist", "namespaceResourceWhitelist")
"""Both required in an AppProject with a spec: Argo CD reads a missing
namespaceResourceWhitelist as every namespaced kind."""
PROJECT_GLOB_FIELDS = {
    "sourceRepos": (),
    "sourceNamespaces": (),
    "destinations": ("server", "name", "namespace"),
    "clusterResourceWhitelist": ("group", "kind", "name"),
    "namespaceResourceWhitelist": ("group", "kind"),
}
"""The AppProject fields Argo CD matches as patterns, and for lists of objects their keys."""
ADMISSION_GROUP = "admissionregistration.k8s.io"
ADMISSION_KINDS = ("ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding")
"""The admission guards' kinds: no AppProject may whitelist them, and no allow.yaml entry
may except them (a guard changes with the base, never with an overlay)."""


def has_glob(value: object) -> bool:
    """Whether Argo CD would read `value` as a pattern."""
    return isinstance(value, str) and any(c in value for c in GLOB_CHARACTERS)


# --- what an overlay may patch --------------------------------------------------------------

ANNOTATION = "<annotation>"
"""In a pattern: one key of SAFE_ANNOTATIONS."""
INDEX = "*"
"""In a pattern: any array index."""
CHART_VALUE = "<chart value>"
"""In a pattern: a Helm value the add-on's catalogue entry lists in `overlay_values`."""
SAFE_ANNOTATIONS = (
    "description",
    "owner",
    "team",
    "contact",
    "a8r.io/owner",
    "a8r.io/description",
    "a8r.io/documentation",
    "a8r.io/runbook",
    "a8r.io/chat",
    "prometheus.io/scrape",
    "prometheus.io/port",
    "prometheus.io/path",
    "prometheus.io/scheme",
    "kubectl.kubernetes.io/default-container",
    "cluster-autoscaler.kubernetes.io/safe-to-evict",
)
"""Annotations a patch may set: descriptions and scraping or eviction hints. Not Argo CD's
(hooks, sync options), an ingress controller's (snippets) or anything a controller acts on."""
SCHEDULING_HINTS = (
    "nodeSelector",
    "affinity",
    "tolerations",
    "topologySpreadConstraints",
)
"""Where a pod may run. Not priorityClassName: a high priority lets the app's pods preempt
other workloads (system-node-critical is usable in any namespace), which needs an exception."""
HELM_VALUES = "/spec/source/helm/valuesObject"
METADATA = (f"/metadata/annotations/{ANNOTATION}",)


def _workload(pod_spec: tuple[str, ...], replicas: bool) -> tuple[str, ...]:
    """What a patch may change in a workload whose pod spec is at `pod_spec`: its replicas
    (when it takes them), its pod template's safe annotations, its containers' resources and
    scheduling hints."""
    template, spec = "".join(f"/{t}" for t in pod_spec[:-1]), "".join(f"/{t}" for t in pod_spec)
    return (
        *METADATA,
        *(("/spec/replicas",) if replicas else ()),
        f"{template}/metadata/annotations/{ANNOTATION}",
        f"{spec}/containers/{INDEX}/resources",
        f"{spec}/initContainers/{INDEX}/resources",
        *(f"{spec}/{hint}" for hint in SCHEDULING_HINTS),
    )


PATCHABLE: dict[str, tuple[str, ...]] = {
    **{name: _workload(kind.pod_spec, kind.replicas) for name, kind in KINDS.items()},
    "HorizontalPodAutoscaler": (*METADATA, "/spec/minReplicas", "/spec/maxReplicas"),
    "PodDisruptionBudget": (*METADATA, "/spec/minAvailable", "/spec/maxUnavailable"),
    "Service": METADATA,
    "Ingress": METADATA,
    "ServiceAccount": METADATA,
    "SecretProviderClass": METADATA,
    "NetworkPolicy": METADATA,
    "ResourceQuota": METADATA,
    "LimitRange": METADATA,
    "ClusterIssuer": METADATA,
    "Application": (f"{HELM_VALUES}/{CHART_VALUE}",),
}
"""Per kind, the fields (JSON pointers, with everything below them) a patch may change in an
object the base renders in app/, platform/ or argocd/. A kind not listed takes no patch;
root.yaml's objects take none either. An Application takes only its add-on's Helm values."""
BASE_OWNED = (
    "Application",
    "AppProject",
    "Namespace",
    *ADMISSION_KINDS,
)
"""Kinds only the base renders and changes (an add-on's Application: its Helm values aside),
with everything in root.yaml."""

ALLOWED, PREFIX, DENIED = "allowed", "prefix", "denied"


def chart_values(application: str) -> tuple[str, ...]:
    """The Helm value keys an overlay may set on the add-on Application `application`."""
    addon = ADDONS.get(application)
    return addon.overlay_values if addon is not None else ()


def patterns(kind: str, name: str) -> list[tuple[str, ...]]:
    """The fields a patch may change on the object, as tuples of pointer tokens."""
    found = []
    for pattern in PATCHABLE.get(kind, ()):
        tokens = tuple(pattern.split("/")[1:])
        if tokens[-1] == CHART_VALUE:
            found += [(*tokens[:-1], *key.split(".")) for key in chart_values(name)]
        else:
            found.append(tokens)
    return found


def _token(pattern: str, token: str) -> bool:
    if pattern == INDEX:
        return token.isdigit()
    if pattern == ANNOTATION:
        return token in SAFE_ANNOTATIONS
    return pattern == token


def verdict(allowed: Iterable[tuple[str, ...]], tokens: Sequence[str]) -> str:
    """ALLOWED when `tokens` is at or below an allowed field, PREFIX when above one (a change
    there is allowed only as far as it stays within the fields below), else DENIED."""
    result = DENIED
    for pattern in allowed:
        common = min(len(pattern), len(tokens))
        if all(_token(p, t) for p, t in zip(pattern[:common], tokens[:common], strict=True)):
            if len(tokens) >= len(pattern):
                return ALLOWED
            result = PREFIX
    return result


# --- what an overlay may add ----------------------------------------------------------------

ADDABLE: dict[str, tuple[tuple[str, str], ...]] = {
    "app": (
        ("apps/v1", "Deployment"),
        ("apps/v1", "StatefulSet"),
        ("batch/v1", "Job"),
        ("batch/v1", "CronJob"),
        ("v1", "Service"),
        ("v1", "ConfigMap"),
        ("v1", "ServiceAccount"),
        ("networking.k8s.io/v1", "Ingress"),
        ("policy/v1", "PodDisruptionBudget"),
        ("autoscaling/v2", "HorizontalPodAutoscaler"),
        ("secrets-store.csi.x-k8s.io/v1", "SecretProviderClass"),
    ),
    "platform": (
        ("networking.k8s.io/v1", "NetworkPolicy"),
        ("v1", "ResourceQuota"),
        ("v1", "LimitRange"),
    ),
    "argocd": (),
}
"""Per dist/ folder, the kinds (apiVersion and kind, exactly) a manifest may add, each in the
app namespace; every other kind, version and namespace needs an exception. The app's and the
baseline project allow these kinds, so Argo CD syncs what passes here."""

POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    **{
        k: ("spec", "template", "spec")
        for k in ("DaemonSet", "ReplicaSet", "ReplicationController")
    },
    **{name: kind.pod_spec for name, kind in KINDS.items()},
}
"""Kinds with a pod spec, and where (the workload kinds' from their catalogue): each is held to
the restricted Pod Security Standard."""
# The restricted Pod Security Standard, as an allowlist (k8s.io/pod-security-admission).
RESTRICTED_VOLUMES = (
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
)
RESTRICTED_CAPABILITIES = ("NET_BIND_SERVICE",)
RESTRICTED_SECCOMP = ("RuntimeDefault", "Localhost")
SAFE_SYSCTLS = (
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.ping_group_range",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
)
NAMESPACE_SELECTOR_OPERATORS = ("In",)
"""The matchExpressions operators a NetworkPolicy peer's namespaceSelector may use, besides
matchLabels: each names the namespaces it selects. Exists, DoesNotExist and NotIn select
namespaces by a label they merely carry or lack, every namespace at worst."""
APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"
"""The prefix of the AppArmor annotations of a pod (before its securityContext field), per
container; the restricted Pod Security Standard takes runtime/default and localhost/* only."""
RESTRICTED_APPARMOR = ("runtime/default", "localhost/")
SERVICE_TYPES = ("ClusterIP",)
"""Service types a Service may have: reached from outside only through the ingress."""

# --- config and payload ---------------------------------------------------------------------

SAFETY_SWITCHES: dict[tuple[str, ...], tuple[object, str, str]] = {
    ("features", "network_policies"): (False, "NetworkPolicy", "default-deny"),
}
"""Config keys that would switch a safety feature off: key -> (the value that does, and the
kind and name of the object it drops from the app namespace). Refused unless allow.yaml names
that object (field '')."""
EXTERNAL_EGRESS_POLICY = "allow-external-egress-{service}"
"""The NetworkPolicy of a service's `egress.external` entries; entry N is its egress rule N."""
NEVER_REACHED = (
    ("127.0.0.0/8", "loopback"),
    ("::1/128", "loopback"),
    ("169.254.0.0/16", "link-local, cloud metadata"),
    ("fe80::/10", "link-local"),
)
"""Ranges no egress rule reaches, besides the cluster's pod and service ranges and its nodes'
addresses (clusters/<env>/cluster.yaml `network:`)."""


def closed_ranges(cluster_ranges: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Every (range, what it is) egress never reaches in an environment."""
    return [*cluster_ranges, *NEVER_REACHED]


def closed_within(cidr: str, closed: Iterable[tuple[str, str]]) -> list[str]:
    """The closed ranges strictly inside `cidr`, to list in its ipBlock's `except`."""
    network = ipaddress.ip_network(cidr, strict=False)
    inside = []
    for block, _ in closed:
        other = ipaddress.ip_network(block, strict=False)
        if (
            other.version == network.version and other != network and other.subnet_of(network)  # type: ignore[arg-type]
        ):
            inside.append(str(other))
    return sorted(set(inside), key=inside.index)


def reached(
    cidr: str, excepted: Sequence[str], closed: Iterable[tuple[str, str]]
) -> list[tuple[str, str]]:
    """The closed ranges an ipBlock (`cidr` minus `excepted`) still reaches."""
    network = ipaddress.ip_network(cidr, strict=False)
    holes = [ipaddress.ip_network(e, strict=False) for e in excepted]
    found = []
    for block, what in closed:
        other = ipaddress.ip_network(block, strict=False)
        if other.version != network.version or not other.overlaps(network):
            continue
        inside = network.subnet_of(other)  # type: ignore[arg-type]
        if inside or not any(
            h.version == other.version and other.subnet_of(h)  # type: ignore[arg-type]
            for h in holes
        ):
            found.append((block, what))
    return found
