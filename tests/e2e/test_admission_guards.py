"""The admission guards root.yaml applies (constructs_lib/constructs/admission_guards.py),
against the real kube-apiserver: every object the base renders passes them, each escalation
is refused with its policy's message and leaves the object as it was, objects the policies do
not name are untouched, and deleting the app namespace is not blocked by its default-deny
guard (the namespace controller empties it).

The journeys through Argo CD are in test_trust_boundaries.py; this module writes straight to
the API server, as `gitops-base bootstrap` or someone with kubectl would.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest

from tests.e2e.harness import Cluster, KubeError, load_manifests
from tests.e2e.harness.tools import REPO_ROOT

ENV = "dev"
DIST = REPO_ROOT / "dist" / ENV
ADMISSION = "admissionregistration.k8s.io/v1"
ARGO = "argoproj.io/v1alpha1"
NETPOL = "networking.k8s.io/v1"
ENFORCE = "pod-security.kubernetes.io/enforce"
ENFORCE_VERSION = "pod-security.kubernetes.io/enforce-version"
POLICIES = (
    "gitops-base-appprojects",
    "gitops-base-pod-security",
    "gitops-base-default-deny",
    "gitops-base-argocd-cm",
    "gitops-base-namespaces",
)


def root_objects(*kinds: str) -> list[dict[str, Any]]:
    return [d for d in load_manifests(DIST / "root.yaml") if d["kind"] in kinds]


def refused(action: Callable[[], Any], policy: str, text: str) -> str:
    """Run `action`; it must be refused by `policy` with a message holding `text`."""
    with pytest.raises(KubeError) as caught:
        action()
    message = str(caught.value)
    assert f"ValidatingAdmissionPolicy '{policy}'" in message, message
    assert text in message, message
    print(f"[e2e guards] {message}", flush=True)
    return message


def wildcard_project(name: str, **spec: Any) -> dict[str, Any]:
    base = {
        "sourceRepos": ["https://example.com/repo.git"],
        "destinations": [{"server": "https://kubernetes.default.svc", "namespace": "shop"}],
        "clusterResourceWhitelist": [],
        "namespaceResourceWhitelist": [],
    }
    return {
        "apiVersion": ARGO,
        "kind": "AppProject",
        "metadata": {"name": name, "namespace": "argocd"},
        "spec": {**base, **spec},
    }


@pytest.fixture(scope="module")
def guarded(isolated_cluster: Cluster) -> Cluster:
    """The cluster with root.yaml's policies active and the base's own objects applied."""
    return activate_guards(isolated_cluster)


def activate_guards(cluster: Cluster) -> Cluster:
    """Apply root.yaml's policies and wait until the API server enforces them."""
    cluster.apply(*root_objects("ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"))
    for name in POLICIES:
        policy = cluster.wait_for(
            partial(_checked, cluster, name), 60, f"policy {name} type-checked"
        )
        warnings = (policy.get("status") or {}).get("typeChecking", {}).get(
            "expressionWarnings"
        ) or []
        assert warnings == [], f"{name}: {warnings}"
    # The policies act once the API server's informers have them: wait for the first refusal.
    probe = wildcard_project("probe", sourceRepos=["*"])

    def active() -> bool | None:
        try:
            cluster.kube.request(
                "POST",
                cluster.kube.path(ARGO, "AppProject", namespace="argocd"),
                params={"dryRun": "All"},
                body=probe,
            )
        except KubeError as exc:
            return True if "gitops-base-appprojects" in str(exc) else None
        return None

    cluster.wait_for(active, 60, "the policies to be enforced")
    return cluster


def _checked(cluster: Cluster, name: str) -> dict[str, Any] | None:
    policy = cluster.get(ADMISSION, "ValidatingAdmissionPolicy", name)
    status = (policy or {}).get("status") or {}
    return policy if policy and status.get("observedGeneration") else None


def test_the_base_passes_its_own_guards(guarded: Cluster) -> None:
    cluster = guarded
    # The locked default project replaces the wide one Argo CD starts with: an UPDATE.
    assert "*" in str(cluster.must_get(ARGO, "AppProject", "default", "argocd")["spec"])
    cluster.apply(*root_objects("ConfigMap", "AppProject"))
    cluster.apply(sorted((DIST / "argocd").glob("appproject-*.yaml")))
    cluster.apply(DIST / "platform" / "namespace-shop.yaml")
    cluster.apply(DIST / "platform" / "networkpolicy-default-deny.yaml")
    # The add-on namespaces as Argo CD creates them (managedNamespaceMetadata).
    for app in ("ingress-nginx", "cert-manager"):
        spec = load_manifests(DIST / "argocd" / f"application-{app}.yaml")[0]["spec"]
        labels = spec["syncPolicy"]["managedNamespaceMetadata"]["labels"]
        ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": app, "labels": labels}}
        cluster.apply(ns)
    projects = {p["metadata"]["name"] for p in cluster.kube.list(ARGO, "AppProject", "argocd")}
    assert {"default", "bootstrap", "platform", "shop", "addon-cert-manager"} <= projects
    assert cluster.must_get("v1", "Namespace", "shop")["metadata"]["labels"][ENFORCE] == (
        "restricted"
    )


def test_wide_projects_are_refused(guarded: Cluster) -> None:
    cluster = guarded
    for field, value, text in (
        ("sourceRepos", ["*"], "sourceRepos may not hold a glob character"),
        ("sourceRepos", ["https://github.com/*"], "sourceRepos may not hold a glob character"),
        ("sourceNamespaces", ["*"], "sourceNamespaces may not hold a glob character"),
        ("destinations", [{"server": "*", "namespace": "shop"}], "destinations may not"),
        ("destinations", [{"name": "in-cluster", "namespace": "*"}], "destinations may not"),
        ("clusterResourceWhitelist", [{"group": "*", "kind": "*"}], "clusterResourceWhitelist"),
        ("namespaceResourceWhitelist", [{"group": "", "kind": "*"}], "namespaceResourceWhitelist"),
        (
            "clusterResourceWhitelist",
            [
                {
                    "group": "admissionregistration.k8s.io",
                    "kind": "ValidatingAdmissionPolicy",
                    "name": "gitops-base-appprojects",
                }
            ],
            "may not list admission policies",
        ),
    ):
        project = wildcard_project("wide", **{field: value})
        refused(partial(cluster.kube.create, project), "gitops-base-appprojects", text)
    assert cluster.get(ARGO, "AppProject", "wide", "argocd") is None
    # (e) `*/*` patched into the app's project: refused, the project unchanged.
    before = cluster.must_get(ARGO, "AppProject", "shop", "argocd")["spec"]
    patch = {"spec": {"clusterResourceWhitelist": [{"group": "*", "kind": "*"}]}}
    refused(
        lambda: cluster.kube.patch(ARGO, "AppProject", "shop", patch, "argocd"),
        "gitops-base-appprojects",
        "clusterResourceWhitelist may not hold a glob character",
    )
    assert cluster.must_get(ARGO, "AppProject", "shop", "argocd")["spec"] == before
    # A blacklist wildcard narrows a project: allowed (the locked default project has one).
    narrow = wildcard_project("narrow", namespaceResourceBlacklist=[{"group": "*", "kind": "*"}])
    cluster.kube.create(narrow)
    cluster.kube.delete(ARGO, "AppProject", "narrow", "argocd")


def test_pod_security_downgrades_are_refused(guarded: Cluster) -> None:
    cluster = guarded
    for ns, labels, got in (
        ("shop", {ENFORCE: "privileged"}, 'got "privileged"'),
        ("shop", {ENFORCE: "baseline"}, 'got "baseline"'),
        ("shop", {ENFORCE: None}, 'got ""'),
        ("ingress-nginx", {ENFORCE: "privileged"}, 'got "privileged"'),
        ("cert-manager", {ENFORCE: None}, 'got ""'),
    ):
        patch = {"metadata": {"labels": labels}}
        refused(
            partial(cluster.kube.patch, "v1", "Namespace", ns, patch),
            "gitops-base-pod-security",
            f"namespace {ns} must keep label {ENFORCE}=restricted ({got})",
        )
        assert cluster.must_get("v1", "Namespace", ns)["metadata"]["labels"][ENFORCE] == (
            "restricted"
        )
    # CREATE too: the app namespace cannot be (re)created below its level.
    cluster.kube.delete("v1", "Namespace", "cert-manager")
    cluster.wait_for(
        lambda: cluster.get("v1", "Namespace", "cert-manager") is None or None,
        60,
        "namespace cert-manager to be deleted",
        logs=["kube-controller-manager"],
    )
    unlabelled = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "cert-manager"}}
    refused(
        lambda: cluster.kube.create(unlabelled),
        "gitops-base-pod-security",
        "namespace cert-manager must keep label",
    )
    # Other namespaces are not the base's: any level.
    other = copy.deepcopy(unlabelled)
    other["metadata"] = {"name": "elsewhere", "labels": {ENFORCE: "privileged"}}
    cluster.kube.create(other)
    assert cluster.must_get("v1", "Namespace", "elsewhere")["metadata"]["labels"][ENFORCE] == (
        "privileged"
    )


def test_pod_security_enforce_version_cannot_be_pinned(guarded: Cluster) -> None:
    """A pinned `enforce-version` checks pods against that release's `restricted`."""
    cluster = guarded
    for ns, version in (("shop", "v1.24"), ("shop", "v1.33"), ("ingress-nginx", "v1.22")):
        patch = {"metadata": {"labels": {ENFORCE_VERSION: version}}}
        refused(
            partial(cluster.kube.patch, "v1", "Namespace", ns, patch),
            "gitops-base-pod-security",
            f'namespace {ns} must keep label {ENFORCE_VERSION}=latest (got "{version}")',
        )
        assert cluster.must_get("v1", "Namespace", ns)["metadata"]["labels"][ENFORCE_VERSION] == (
            "latest"
        )
    # Absent is `latest` to the API server: allowed, as is putting the base's label back.
    cluster.kube.patch("v1", "Namespace", "shop", {"metadata": {"labels": {ENFORCE_VERSION: None}}})
    assert ENFORCE_VERSION not in cluster.must_get("v1", "Namespace", "shop")["metadata"]["labels"]
    cluster.apply(DIST / "platform" / "namespace-shop.yaml")
    assert cluster.must_get("v1", "Namespace", "shop")["metadata"]["labels"][ENFORCE_VERSION] == (
        "latest"
    )
    # Other namespaces are not the base's: any version.
    other = {"metadata": {"labels": {ENFORCE_VERSION: "v1.24"}}}
    cluster.kube.patch("v1", "Namespace", "elsewhere", other)


def test_default_deny_cannot_be_removed_or_widened(guarded: Cluster) -> None:
    cluster = guarded
    name = "default-deny"
    before = cluster.must_get(NETPOL, "NetworkPolicy", name, "shop")["spec"]
    refused(
        lambda: cluster.kube.delete(NETPOL, "NetworkPolicy", name, "shop"),
        "gitops-base-default-deny",
        "the default-deny NetworkPolicy may not be deleted",
    )
    for patch, text in (
        ({"spec": {"ingress": [{}]}}, "may not allow any traffic"),
        ({"spec": {"egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}]}}, "any traffic"),
        ({"spec": {"policyTypes": ["Ingress"]}}, "must deny both Ingress and Egress"),
        ({"spec": {"podSelector": {"matchLabels": {"a": "b"}}}}, "must select every pod"),
    ):
        refused(
            partial(cluster.kube.patch, NETPOL, "NetworkPolicy", name, patch, "shop"),
            "gitops-base-default-deny",
            text,
        )
    assert cluster.must_get(NETPOL, "NetworkPolicy", name, "shop")["spec"] == before
    # Any other NetworkPolicy in the app namespace: no rule open to every peer.
    scratch = {
        "apiVersion": NETPOL,
        "kind": "NetworkPolicy",
        "metadata": {"name": "allow-all", "namespace": "shop"},
        "spec": {"podSelector": {}, "ingress": [{}]},
    }
    open_rules: list[dict[str, Any]] = [
        {"podSelector": {}, "ingress": [{}]},
        {"podSelector": {}, "egress": [{}]},
    ]
    for spec in open_rules:
        scratch["spec"] = spec
        refused(
            partial(cluster.kube.create, copy.deepcopy(scratch)),
            "gitops-base-default-deny",
            "a NetworkPolicy rule without from/to admits every peer",
        )
    assert cluster.get(NETPOL, "NetworkPolicy", "allow-all", "shop") is None
    # ... named peers pass, and such a policy may be deleted.
    named = {"from": [{"namespaceSelector": {"matchLabels": {"team": "ops"}}}]}
    scratch["spec"] = {"podSelector": {}, "ingress": [named]}
    cluster.kube.create(copy.deepcopy(scratch))
    assert cluster.kube.delete(NETPOL, "NetworkPolicy", "allow-all", "shop")
    # Namespaces the base does not own: untouched.
    scratch["spec"] = {"podSelector": {}, "ingress": [{}]}
    elsewhere = copy.deepcopy(scratch)
    elsewhere["metadata"] = {"name": name, "namespace": "elsewhere"}
    cluster.kube.create(elsewhere)
    assert cluster.kube.delete(NETPOL, "NetworkPolicy", name, "elsewhere")


def test_argocd_cm_accounts_and_anonymous_access_are_refused(guarded: Cluster) -> None:
    cluster = guarded
    before = cluster.must_get("v1", "ConfigMap", "argocd-cm", "argocd")["data"]
    for data, text in (
        ({"accounts.alice": "apiKey, login"}, "may not define local accounts"),
        ({"accounts.alice.enabled": "true"}, "may not define local accounts"),
        ({"users.anonymous.enabled": "true"}, "may not enable anonymous access"),
        ({"users.anonymous.enabled": "1"}, "may not enable anonymous access"),
    ):
        refused(
            partial(cluster.kube.patch, "v1", "ConfigMap", "argocd-cm", {"data": data}, "argocd"),
            "gitops-base-argocd-cm",
            text,
        )
    assert cluster.must_get("v1", "ConfigMap", "argocd-cm", "argocd")["data"] == before
    # root.yaml changed to add an account, applied as `gitops-base bootstrap` applies it.
    (cm,) = root_objects("ConfigMap")
    cm["data"]["accounts.alice"] = "login"
    refused(lambda: cluster.apply(cm), "gitops-base-argocd-cm", "may not define local accounts")
    # Other keys, and ConfigMaps of that name elsewhere, are not the guard's business.
    cluster.kube.patch("v1", "ConfigMap", "argocd-cm", {"data": {"url": "https://cd"}}, "argocd")
    other = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "argocd-cm", "namespace": "elsewhere"},
        "data": {"accounts.alice": "login"},
    }
    cluster.kube.create(other)


def test_argocd_rbac_cm_cannot_give_every_user_more_than_read(guarded: Cluster) -> None:
    cluster = guarded
    # Argo CD's install manifest creates it without data, as the harness does: that passes,
    # and named groups and roles may get admin.
    installed = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "argocd-rbac-cm", "namespace": "argocd"},
    }
    assert not cluster.must_get("v1", "ConfigMap", "argocd-rbac-cm", "argocd").get("data")
    cluster.apply(installed)
    allowed = {
        "policy.default": "role:readonly",
        "policy.csv": "g, my-org:platform, role:admin\n"
        "p, role:ci, applications, sync, shop/*, allow\n",
        "scopes": "[groups]",
    }
    cluster.kube.patch("v1", "ConfigMap", "argocd-rbac-cm", {"data": allowed}, "argocd")
    for data, text in (
        ({"policy.default": "role:admin"}, "policy.default may only be empty or role:readonly"),
        ({"policy.default": "role:ci"}, "policy.default may only be empty or role:readonly"),
        ({"policy.csv": "g, *, role:admin"}, "may not grant to a '*' subject"),
        ({"policy.csv": 'g, "*", role:admin'}, "may not grant to a '*' subject"),
        ({"policy.csv": "p, *, *, *, *, allow"}, "may not grant to a '*' subject"),
        ({"policy.csv": "g,my-org:*,role:admin"}, "may not grant to a '*' subject"),
        (
            {"policy.csv": "g, my-org:platform, role:admin\np, role:readonly, *, *, */*, allow"},
            "or to role:readonly (the role every user may get)",
        ),
        ({"policy.csv": "g, role:readonly, role:admin"}, "or to role:readonly"),
        ({"policy.overlay.csv": "  g , * , role:admin"}, "may not grant to a '*' subject"),
        # Argo CD trims Unicode spaces and reads CSV quotes: so does the guard.
        ({"policy.csv": '"g", "*", role:admin'}, "may not grant to a '*' subject"),
        ({"policy.csv": "\u00a0g,\u3000role:readonly, role:admin"}, "or to role:readonly"),
    ):
        refused(
            partial(
                cluster.kube.patch, "v1", "ConfigMap", "argocd-rbac-cm", {"data": data}, "argocd"
            ),
            "gitops-base-argocd-cm",
            text,
        )
    assert cluster.must_get("v1", "ConfigMap", "argocd-rbac-cm", "argocd")["data"] == allowed
    # (Re)created wide: refused too.
    assert cluster.kube.delete("v1", "ConfigMap", "argocd-rbac-cm", "argocd")
    wide = {**installed, "data": {"policy.default": "role:admin"}}
    refused(lambda: cluster.kube.create(wide), "gitops-base-argocd-cm", "policy.default")
    assert cluster.get("v1", "ConfigMap", "argocd-rbac-cm", "argocd") is None
    # A ConfigMap of that name elsewhere is not Argo CD's.
    elsewhere = {**wide, "metadata": {"name": "argocd-rbac-cm", "namespace": "elsewhere"}}
    cluster.kube.create(elsewhere)


ARGOCD_CONTROLLER = "system:serviceaccount:argocd:argocd-application-controller"
MANAGED_BY = "app.kubernetes.io/managed-by"
INSTANCE = "app.kubernetes.io/instance"


def test_argo_cd_does_not_take_over_a_namespace_the_base_did_not_create(guarded: Cluster) -> None:
    """The app namespace as rendered, applied by Argo CD's application controller (sent as its
    service account) over namespaces that exist: refused where the base did not create it for
    this app (unlabelled, another tool's, another gitops-base app's), and left as it was;
    admitted once adopted on purpose (`kubectl label`), on creation, and for other labels."""
    cluster = guarded
    cluster.apply(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "e2e-argocd-controller"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "cluster-admin",
            },
            "subjects": [
                {
                    "kind": "ServiceAccount",
                    "name": "argocd-application-controller",
                    "namespace": "argocd",
                }
            ],
        }
    )
    (rendered,) = load_manifests(DIST / "platform" / "namespace-shop.yaml")

    def as_argocd(name: str) -> Any:
        """The app namespace as rendered, written over `name` by Argo CD."""
        live = cluster.must_get("v1", "Namespace", name)
        body = copy.deepcopy(rendered)
        body["metadata"]["name"] = name
        body["metadata"]["resourceVersion"] = live["metadata"]["resourceVersion"]
        path = cluster.kube.path("v1", "Namespace", name)
        return cluster.kube.request("PUT", path, body=body, as_user=ARGOCD_CONTROLLER)

    def namespace(name: str, labels: dict[str, str]) -> dict[str, Any]:
        metadata: dict[str, Any] = {"name": name, **({"labels": labels} if labels else {})}
        return {"apiVersion": "v1", "kind": "Namespace", "metadata": metadata}

    others = {
        "team-plain": {},
        "team-tool": {MANAGED_BY: "Helm"},
        "team-other-app": {MANAGED_BY: "gitops-base", INSTANCE: "payments"},
    }
    for name, labels in others.items():
        cluster.apply(namespace(name, labels))
        before = cluster.must_get("v1", "Namespace", name)["metadata"].get("labels")
        refused(
            partial(as_argocd, name),
            "gitops-base-namespaces",
            f"namespace {name} exists and gitops-base did not create it for shop",
        )
        assert cluster.must_get("v1", "Namespace", name)["metadata"].get("labels") == before
    # Adopted on purpose, by whoever may label namespaces: then Argo CD may apply it.
    cluster.kube.patch(
        "v1",
        "Namespace",
        "team-plain",
        {"metadata": {"labels": {MANAGED_BY: "gitops-base", INSTANCE: "shop"}}},
    )
    as_argocd("team-plain")
    # Created by Argo CD (the usual way), and other labels of one it owns: admitted.
    cluster.kube.request(
        "POST",
        cluster.kube.path("v1", "Namespace"),
        body={**rendered, "metadata": {**rendered["metadata"], "name": "team-new"}},
        as_user=ARGOCD_CONTROLLER,
    )
    as_argocd("team-new")
    # Another user's update of an unlabelled namespace: not this guard's business.
    cluster.kube.patch(
        "v1",
        "Namespace",
        "team-tool",
        {"metadata": {"labels": {MANAGED_BY: "gitops-base", INSTANCE: "shop"}}},
    )


def test_deleting_the_app_namespace_is_not_blocked(guarded: Cluster) -> None:
    """The namespace controller deletes a terminating namespace's NetworkPolicies: the
    default-deny guard lets it (namespaceObject has a deletionTimestamp)."""
    cluster = guarded
    assert cluster.get(NETPOL, "NetworkPolicy", "default-deny", "shop") is not None
    cluster.kube.delete("v1", "Namespace", "shop")
    cluster.wait_for(
        lambda: cluster.get("v1", "Namespace", "shop") is None or None,
        90,
        "namespace shop and its default-deny NetworkPolicy to be deleted",
        logs=["kube-controller-manager", "kube-apiserver"],
    )


def test_argocd_notifications_cm_keeps_the_deploy_status_to_its_own_keys(
    guarded: Cluster,
) -> None:
    from constructs_lib.constructs.argocd.deploy_status import (
        DeployStatusProps,
        notifications_data,
    )

    cluster = guarded

    def patch(data: dict[str, Any]) -> Callable[[], Any]:
        name = "argocd-notifications-cm"
        return partial(cluster.kube.patch, "v1", "ConfigMap", name, {"data": data}, "argocd")

    # The keys root.yaml adds when deploy_status is on pass, as the install's empty ConfigMap
    # (the harness's) did; so does another https endpoint (a changed setting).
    own = notifications_data(
        DeployStatusProps(
            namespace="argocd",
            labels={},
            env="dev",
            app="shop",
            provider="github",
            url="https://api.github.com",
            repository="example-org/shop",
        )
    )
    patch(own)()
    service = "service.webhook.gitops-base-status"
    patch({service: own[service].replace("https://api.github.com", "https://ghe.example.com")})()
    patch({service: own[service]})()
    # Other notification services are the cluster owners' business.
    patch({"service.slack": "token: $slack-token\n"})()
    for data, text in (
        (
            {
                "service.webhook.collector": "url: https://collector.example.net\nheaders:\n"
                "- name: Authorization\n  value: Bearer $gitops-base-status-token\n"
            },
            "only the base's deploy-status keys may name gitops-base-status",
        ),
        (
            {
                "template.mine": "webhook:\n  gitops-base-status:\n    method: POST\n"
                "    path: /repos/someone/else/statuses/x\n"
            },
            "only the base's deploy-status keys may name gitops-base-status",
        ),
        (
            {"subscriptions": "- recipients: [gitops-base-status]\n  triggers: [on-deployed]\n"},
            "only the base's deploy-status keys may name gitops-base-status",
        ),
        (
            {service: own[service].replace("https://api.github.com", "http://collector.example")},
            "must send over https (http to 127.0.0.1 or localhost only) and verify TLS",
        ),
        (
            {service: own[service] + "insecureSkipVerify: true\n"},
            "must send over https (http to 127.0.0.1 or localhost only) and verify TLS",
        ),
    ):
        refused(patch(data), "gitops-base-argocd-cm", text)
    live = cluster.must_get("v1", "ConfigMap", "argocd-notifications-cm", "argocd")["data"]
    assert live == {**own, "service.slack": "token: $slack-token\n"}
    # Turning the deploy status off may leave the keys; removing them is allowed.
    patch(dict.fromkeys(own))()
    live = cluster.must_get("v1", "ConfigMap", "argocd-notifications-cm", "argocd").get("data")
    assert live == {"service.slack": "token: $slack-token\n"}
