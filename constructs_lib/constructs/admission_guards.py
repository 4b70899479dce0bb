"""AdmissionGuards: the API server's own refusal of the escalations an AppProject cannot refuse.

An AppProject says which kinds an Application may manage, not what they may say: the root may
create AppProjects, so it may create a wide one; the baseline project may update the app
namespace, so it may lower its Pod Security level or prune its default-deny NetworkPolicy.
These ValidatingAdmissionPolicies (admissionregistration.k8s.io/v1, CEL, Kubernetes >= 1.30)
refuse such writes whoever sends them, Argo CD included, each bound with `validationActions:
[Deny]` and `failurePolicy: Fail`:

    gitops-base-appprojects     AppProjects in Argo CD's namespace: both resource whitelists
                                present, no glob character (`*?[]{}!\\`) in sourceRepos,
                                sourceNamespaces, destinations or the whitelists, a name on
                                every cluster-scoped entry, no whitelisted admission policy
                                kinds
    gitops-base-pod-security    the namespaces the base labels: Pod Security `enforce` stays at
                                (or above) the level the base sets and cannot be removed;
                                `enforce-version` stays `latest` (or the base's version); the
                                namespaces/status and /finalize subresources too
    gitops-base-default-deny    NetworkPolicies named default-deny* in the app namespace: not
                                deleted (unless the namespace itself is being deleted), and
                                kept to an empty pod selector, both policy types, no rules;
                                no NetworkPolicy there with a rule open to every peer
    gitops-base-argocd-cm       argocd-cm: no `accounts.*` keys, no anonymous access;
                                argocd-rbac-cm: nothing that widens what every user may do
                                (`policy.default` other than none or role:readonly, a policy
                                line for a `*` subject or for role:readonly), and no more
                                policy than the guard can read (RBAC_POLICY_MAX_CHARACTERS);
                                argocd-notifications-cm: only the base's deploy-status keys
                                name its service or token (no other service may send the
                                token, no other template or subscription may use the service),
                                and the service sends over https (http to loopback only) with
                                TLS verified
    gitops-base-namespaces      any namespace, written by Argo CD's application controller:
                                no taking over one the base did not create for this app (its
                                `managed-by` and `instance` labels set where they were not)

Every policy matches only the objects it names (namespace names, resource names), or, for
gitops-base-namespaces, only Argo CD's writes of labels the base sets, so nothing else in the
cluster is affected. They are delivered in root.yaml, applied by `gitops-base
bootstrap`: no AppProject the base renders may manage admission policies, so no commit Argo CD
syncs can change or remove them (SECURITY.md#trust-model).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from constructs import Construct

from constructs_lib.constructs import trust_rules
from constructs_lib.constructs.argocd import deploy_status
from constructs_lib.constructs.kube_object import Gvk, KubeObject, ObjectMeta
from constructs_lib.model.names import INSTANCE, MANAGED_BY, MANAGER, NAMESPACE_NAME

POLICY, BINDING = (Gvk(f"{trust_rules.ADMISSION_GROUP}/v1", k) for k in trust_rules.ADMISSION_KINDS)
PREFIX = "gitops-base-"
APPPROJECTS = f"{PREFIX}appprojects"
POD_SECURITY = f"{PREFIX}pod-security"
DEFAULT_DENY = f"{PREFIX}default-deny"
ARGOCD_CM = f"{PREFIX}argocd-cm"
NAMESPACES = f"{PREFIX}namespaces"
ARGOCD_CONTROLLER = "argocd-application-controller"
"""The service account Argo CD's application controller writes with (upstream's install)."""
DOCS = "see SECURITY.md#trust-model"
# Any glob character, as an RE2 (and Python) character class.
GLOB_CLASS = "[" + "".join("\\" + c for c in trust_rules.GLOB_CHARACTERS) + "]"
# What an update of a namespace's labels may go through: the object and its subresources
# (the API server keeps the labels a status or finalize write sends).
NAMESPACE_RESOURCES = ("namespaces", "namespaces/finalize", "namespaces/status")


@dataclass(frozen=True)
class AdmissionGuardsProps:
    """Props of AdmissionGuards."""

    labels: dict[str, str]
    argocd_namespace: str
    """Namespace of Argo CD: its AppProjects and argocd-cm."""
    pod_security: Mapping[str, str] = field(default_factory=dict)
    """Namespace -> the Pod Security `enforce` level the base sets on it."""
    pod_security_versions: Mapping[str, str] = field(default_factory=dict)
    """Namespace -> the `enforce-version` the base sets on it. @default latest"""
    default_deny_namespaces: tuple[str, ...] = ()
    """Namespaces holding the base's default-deny NetworkPolicy. @default none"""


def _cel(value: Any) -> str:
    """A CEL literal of a string, list or map of strings (JSON is valid CEL for these)."""
    return json.dumps(value, sort_keys=True)


def _none_of(path: str, item: str, test: str) -> str:
    """`path` absent, or no element `item` of it satisfies `test`."""
    return f"!has({path}) || !{path}.exists({item}, {test})"


def _glob(expr: str, field_: str | None = None) -> str:
    """A string (or a string field of `expr`) that is present and holds a glob character."""
    if field_ is None:
        return f"{expr}.matches({_cel(GLOB_CLASS)})"
    return f"(has({expr}.{field_}) && {expr}.{field_}.matches({_cel(GLOB_CLASS)}))"


def _message(policy: str, what: str, fix: str) -> str:
    return f"{policy}: {what}; {fix} ({DOCS})"


def _validation(expression: str, message: str) -> dict[str, str]:
    return {"expression": expression, "message": message}


class AdmissionGuards(Construct):
    """The five policies and their bindings (see the module docstring)."""

    def __init__(self, scope: Construct, id: str, *, props: AdmissionGuardsProps) -> None:
        super().__init__(scope, id)
        self.props = props
        self.policies: dict[str, KubeObject] = {}
        self._policy(APPPROJECTS, self._appprojects())
        if props.pod_security:
            self._policy(POD_SECURITY, self._pod_security())
        if props.default_deny_namespaces:
            self._policy(DEFAULT_DENY, self._default_deny())
        self._policy(ARGOCD_CM, self._argocd_cm())
        self._policy(NAMESPACES, self._namespaces())

    def _policy(self, name: str, spec: dict[str, Any]) -> None:
        meta = ObjectMeta(name=name, labels=self.props.labels)
        policy = {"spec": {"failurePolicy": "Fail", **spec}}
        self.policies[name] = KubeObject(self, f"Policy-{name}", POLICY, meta, body=policy)
        binding = {"spec": {"policyName": name, "validationActions": ["Deny"]}}
        KubeObject(self, f"Binding-{name}", BINDING, meta, body=binding)

    def _in_namespaces(self, *names: str) -> dict[str, Any]:
        return {
            "matchExpressions": [{"key": NAMESPACE_NAME, "operator": "In", "values": sorted(names)}]
        }

    def _appprojects(self) -> dict[str, Any]:
        o = "object.spec"
        fix = "name each repository, namespace, kind and object the project needs exactly"
        glob = "a glob character (" + " ".join(trust_rules.GLOB_CHARACTERS) + ")"
        validations = [
            _validation(
                " && ".join(f"has({o}.{w})" for w in trust_rules.PROJECT_WHITELISTS),
                _message(
                    APPPROJECTS,
                    "an AppProject needs clusterResourceWhitelist and namespaceResourceWhitelist "
                    "(Argo CD reads a missing namespaceResourceWhitelist as every namespaced "
                    "kind)",
                    "list the kinds; an empty list allows none",
                ),
            )
        ]
        for field_, keys in trust_rules.PROJECT_GLOB_FIELDS.items():
            test = " || ".join(_glob("e", k) for k in keys) if keys else _glob("e")
            validations.append(
                _validation(
                    _none_of(f"{o}.{field_}", "e", test),
                    _message(APPPROJECTS, f"{field_} may not hold {glob}", fix),
                )
            )
        validations.append(
            _validation(
                f"!has({o}.clusterResourceWhitelist) || "
                f"{o}.clusterResourceWhitelist.all(e, has(e.name) && e.name != '')",
                _message(
                    APPPROJECTS,
                    "every clusterResourceWhitelist entry needs a name (without one it allows "
                    "every object of the kind)",
                    "name each object the project needs",
                ),
            )
        )
        for whitelist in trust_rules.PROJECT_WHITELISTS:
            validations.append(
                _validation(
                    _none_of(
                        f"{o}.{whitelist}",
                        "k",
                        f"has(k.group) && k.group == '{trust_rules.ADMISSION_GROUP}' && "
                        f"has(k.kind) && k.kind in {_cel(list(trust_rules.ADMISSION_KINDS))}",
                    ),
                    _message(
                        APPPROJECTS,
                        f"{whitelist} may not list admission policies",
                        "they are applied with root.yaml by gitops-base bootstrap only",
                    ),
                )
            )
        # An AppProject may have no spec at all: nothing to refuse then.
        for validation in validations:
            validation["expression"] = f"!has(object.spec) || ({validation['expression']})"
        return {
            "matchConstraints": {
                "namespaceSelector": self._in_namespaces(self.props.argocd_namespace),
                "resourceRules": [
                    {
                        "apiGroups": ["argoproj.io"],
                        "apiVersions": ["*"],
                        "operations": ["CREATE", "UPDATE"],
                        "resources": ["appprojects"],
                    }
                ],
            },
            "validations": validations,
        }

    def _pod_security(self) -> dict[str, Any]:
        enforce, pinned, latest = (
            trust_rules.PSA_ENFORCE,
            trust_rules.PSA_ENFORCE_VERSION,
            trust_rules.PSA_LATEST,
        )
        rank = _cel(trust_rules.PSA_RANK)
        levels = dict(self.props.pod_security)
        versions = {ns: self.props.pod_security_versions.get(ns, latest) for ns in levels}
        labels = "object.metadata.labels"
        return {
            "matchConstraints": {
                "resourceRules": [
                    {
                        "apiGroups": [""],
                        "apiVersions": ["v1"],
                        "operations": ["CREATE", "UPDATE"],
                        "resources": list(NAMESPACE_RESOURCES),
                        "resourceNames": sorted(levels),
                    }
                ]
            },
            "variables": [
                {"name": "required", "expression": f"{_cel(levels)}[object.metadata.name]"},
                {
                    "name": "enforce",
                    "expression": f"has(object.metadata.labels) && '{enforce}' in "
                    f"object.metadata.labels ? object.metadata.labels['{enforce}'] : ''",
                },
                {"name": "version", "expression": f"{_cel(versions)}[object.metadata.name]"},
            ],
            "validations": [
                {
                    "expression": f"variables.enforce in {rank} && "
                    f"{rank}[variables.enforce] >= {rank}[variables.required]",
                    "messageExpression": (
                        f"'{POD_SECURITY}: namespace ' + object.metadata.name + ' must keep "
                        f"label {enforce}=' + variables.required + ' (got \"' + "
                        "variables.enforce + '\"); restore the label the base renders "
                        f"({DOCS})'"
                    ),
                },
                # An absent enforce-version is `latest`; a pinned older one checks pods
                # against that release's, weaker, definition of the level.
                {
                    "expression": f"!has({labels}) || !('{pinned}' in {labels}) || "
                    f"{labels}['{pinned}'] in ['{latest}', variables.version]",
                    "messageExpression": (
                        f"'{POD_SECURITY}: namespace ' + object.metadata.name + ' must keep "
                        f"label {pinned}=' + variables.version + ' (got \"' + "
                        f"{labels}['{pinned}'] + '\"); a pinned version checks "
                        f"pods against an older, weaker policy ({DOCS})'"
                    ),
                },
            ],
        }

    def _default_deny(self) -> dict[str, Any]:
        o = "object.spec"
        empty_rules = (
            f"(!has({o}.ingress) || size({o}.ingress) == 0) && "
            f"(!has({o}.egress) || size({o}.egress) == 0)"
        )
        empty_selector = (
            f"(!has({o}.podSelector.matchLabels) || size({o}.podSelector.matchLabels) == 0) && "
            f"(!has({o}.podSelector.matchExpressions) || "
            f"size({o}.podSelector.matchExpressions) == 0)"
        )
        both_types = (
            f"has({o}.policyTypes) && 'Ingress' in {o}.policyTypes && 'Egress' in {o}.policyTypes"
        )
        # A rule without peers admits every peer: no policy in the namespace may have one.
        peers = (
            f"(!has({o}.ingress) || {o}.ingress.all(r, has(r.from) && size(r.from) > 0)) && "
            f"(!has({o}.egress) || {o}.egress.all(r, has(r.to) && size(r.to) > 0))"
        )
        written = "request.operation == 'DELETE' || !variables.defaultDeny"
        return {
            "matchConstraints": {
                "namespaceSelector": self._in_namespaces(*self.props.default_deny_namespaces),
                "resourceRules": [
                    {
                        "apiGroups": ["networking.k8s.io"],
                        "apiVersions": ["v1"],
                        "operations": ["CREATE", "UPDATE", "DELETE"],
                        "resources": ["networkpolicies"],
                    }
                ],
            },
            "variables": [
                {
                    "name": "defaultDeny",
                    "expression": "(request.operation == 'DELETE' ? oldObject : object)"
                    f".metadata.name.startsWith('{trust_rules.DEFAULT_DENY}')",
                }
            ],
            "validations": [
                # The namespace controller empties a namespace being deleted: let it.
                _validation(
                    "request.operation != 'DELETE' || !variables.defaultDeny || "
                    "has(namespaceObject.metadata.deletionTimestamp)",
                    _message(
                        DEFAULT_DENY,
                        "the default-deny NetworkPolicy may not be deleted",
                        "restore its file in dist/ (it goes only with its namespace)",
                    ),
                ),
                _validation(
                    f"{written} || ({empty_selector})",
                    _message(
                        DEFAULT_DENY,
                        "the default-deny NetworkPolicy must select every pod (podSelector: {})",
                        "restore the policy the base renders",
                    ),
                ),
                _validation(
                    f"{written} || ({both_types})",
                    _message(
                        DEFAULT_DENY,
                        "the default-deny NetworkPolicy must deny both Ingress and Egress",
                        "restore the policy the base renders",
                    ),
                ),
                _validation(
                    f"{written} || ({empty_rules})",
                    _message(
                        DEFAULT_DENY,
                        "the default-deny NetworkPolicy may not allow any traffic",
                        "declare the calls in the config; they become their own policies",
                    ),
                ),
                _validation(
                    f"request.operation == 'DELETE' || ({peers})",
                    _message(
                        DEFAULT_DENY,
                        "a NetworkPolicy rule without from/to admits every peer and undoes "
                        "default-deny",
                        "name the peers (pods, namespaces or address ranges)",
                    ),
                ),
            ],
        }

    def _argocd_cm(self) -> dict[str, Any]:
        data = "object.data"
        anonymous, accounts = trust_rules.ANONYMOUS, trust_rules.ACCOUNTS_PREFIX
        default, roles = trust_rules.RBAC_DEFAULT, _cel(list(trust_rules.RBAC_DEFAULT_ROLES))
        limit = trust_rules.RBAC_POLICY_MAX_CHARACTERS
        # Argo CD joins policy.csv and every policy.<name>.csv into one policy.
        csv_key = "k.startsWith('policy.') && k.endsWith('.csv')"
        validations = [
            (
                trust_rules.ARGOCD_CM,
                f"!has({data}) || !{data}.exists(k, k.startsWith('{accounts}'))",
                _message(
                    ARGOCD_CM,
                    "argocd-cm may not define local accounts (accounts.*)",
                    "sign in through SSO, or the admin account the base leaves as installed",
                ),
            ),
            (
                trust_rules.ARGOCD_CM,
                f"!has({data}) || !('{anonymous}' in {data}) || "
                f"!({data}['{anonymous}'] in {_cel(list(trust_rules.TRUTHY))})",
                _message(
                    ARGOCD_CM,
                    "argocd-cm may not enable anonymous access (users.anonymous.enabled)",
                    "remove the key",
                ),
            ),
            (
                trust_rules.ARGOCD_RBAC_CM,
                f"!has({data}) || !('{default}' in {data}) || {data}['{default}'] in {roles}",
                _message(
                    ARGOCD_CM,
                    f"argocd-rbac-cm {default} may only be empty or role:readonly",
                    "grant more to named SSO groups in policy.csv",
                ),
            ),
            (
                trust_rules.ARGOCD_RBAC_CM,
                f"variables.policySize <= {limit}",
                _message(
                    ARGOCD_CM,
                    f"argocd-rbac-cm may hold at most {limit} characters of policy CSV "
                    "(policy.csv and every policy.<name>.csv)",
                    "grant to groups rather than to each user",
                ),
            ),
            # Read only within the size above: a larger policy would exceed the API server's
            # CEL cost limit and be refused with an opaque error instead of the line above.
            (
                trust_rules.ARGOCD_RBAC_CM,
                f"!has({data}) || variables.policySize > {limit} || "
                f"!{data}.exists(k, {csv_key} && "
                f"{data}[k].matches({_cel('(?m)' + trust_rules.RBAC_WIDE_LINE)}))",
                _message(
                    ARGOCD_CM,
                    "argocd-rbac-cm policy lines may not grant to a '*' subject or to "
                    "role:readonly (the role every user may get)",
                    "grant to named SSO groups or roles",
                ),
            ),
        ]
        marker, service = deploy_status.SERVICE, trust_rules.DEPLOY_STATUS_SERVICE_KEY
        own = list(trust_rules.DEPLOY_STATUS_KEYS)
        validations += [
            (
                deploy_status.CONFIGMAP,
                f"!has({data}) || {data}.all(k, k in {_cel(own)} || "
                f"!(k.contains('{marker}') || {data}[k].contains('{marker}')))",
                _message(
                    ARGOCD_CM,
                    f"argocd-notifications-cm: only the base's deploy-status keys may name "
                    f"{marker} (its service, its token, its templates)",
                    "configure the deploy status in clusters/<env>/cluster.yaml deploy_status",
                ),
            ),
            (
                deploy_status.CONFIGMAP,
                f"!has({data}) || !('{service}' in {data}) || "
                f"({data}['{service}'].matches({_cel(trust_rules.DEPLOY_STATUS_SCHEME)}) && "
                f"!{data}['{service}'].contains('insecureSkipVerify'))",
                _message(
                    ARGOCD_CM,
                    f"argocd-notifications-cm: {service} must send over https (http to "
                    "127.0.0.1 or localhost only) and verify TLS",
                    "set deploy_status.url to an https:// URL",
                ),
            ),
        ]
        return {
            "matchConstraints": {
                "namespaceSelector": self._in_namespaces(self.props.argocd_namespace),
                "resourceRules": [
                    {
                        "apiGroups": [""],
                        "apiVersions": ["v1"],
                        "operations": ["CREATE", "UPDATE"],
                        "resources": ["configmaps"],
                        "resourceNames": [
                            trust_rules.ARGOCD_CM,
                            trust_rules.ARGOCD_RBAC_CM,
                            deploy_status.CONFIGMAP,
                        ],
                    }
                ],
            },
            "variables": [
                {
                    "name": "policySize",
                    "expression": f"!has({data}) ? 0 : "
                    f"{data}.filter(k, {csv_key}).map(k, size({data}[k])).sum()",
                }
            ],
            # Each check applies to the ConfigMap it is about.
            "validations": [
                _validation(f"object.metadata.name != '{name}' || ({test})", text)
                for name, test, text in validations
            ],
        }

    def _namespaces(self) -> dict[str, Any]:
        """Argo CD applies the app namespace as rendered; over a namespace that exists it would
        take it over (its labels, so restricted Pod Security and default-deny). `gitops-base
        bootstrap` refuses one it did not create; this refuses the same when a later commit
        names one."""
        account = f"system:serviceaccount:{self.props.argocd_namespace}:{ARGOCD_CONTROLLER}"

        def label(obj: str, key: str) -> str:
            return (
                f"has({obj}.metadata.labels) && '{key}' in {obj}.metadata.labels ? "
                f"{obj}.metadata.labels['{key}'] : ''"
            )

        return {
            "matchConstraints": {
                "resourceRules": [
                    {
                        "apiGroups": [""],
                        "apiVersions": ["v1"],
                        "operations": ["UPDATE"],
                        "resources": ["namespaces"],
                    }
                ]
            },
            "matchConditions": [
                {"name": "argocd", "expression": f"request.userInfo.username == {_cel(account)}"}
            ],
            "variables": [
                {"name": "owner", "expression": label("object", MANAGED_BY)},
                {"name": "wasOwner", "expression": label("oldObject", MANAGED_BY)},
                {"name": "instance", "expression": label("object", INSTANCE)},
                {"name": "wasInstance", "expression": label("oldObject", INSTANCE)},
            ],
            "validations": [
                {
                    "expression": f"variables.owner != '{MANAGER}' || "
                    f"(variables.wasOwner == '{MANAGER}' && "
                    "variables.wasInstance == variables.instance)",
                    "messageExpression": (
                        f"'{NAMESPACES}: namespace ' + object.metadata.name + ' exists and "
                        f"{MANAGER} did not create it for ' + variables.instance + ' ({MANAGED_BY}="
                        f"' + variables.wasOwner + ', {INSTANCE}=' + variables.wasInstance + '): "
                        "Argo CD would take it over (restricted Pod Security, default-deny); "
                        "choose another namespace, or adopt it on purpose: kubectl label "
                        f"namespace ' + object.metadata.name + ' {MANAGED_BY}={MANAGER} "
                        f"{INSTANCE}=' + variables.instance + ' ({DOCS})'"
                    ),
                }
            ],
        }
