"""AdmissionGuards: four ValidatingAdmissionPolicies, each bound to deny, each scoped to the
objects it names (their behaviour against a real API server: tests/e2e/test_admission_guards.py)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from constructs_lib.constructs.admission_guards import (
    GLOB_CLASS,
    AdmissionGuards,
    AdmissionGuardsProps,
)
from constructs_lib.constructs.trust_rules import GLOB_CHARACTERS, RBAC_WIDE_LINE, has_glob
from tests.support.constructs import synth

LABELS = {"app.kubernetes.io/managed-by": "gitops-base"}


def render(**props: Any) -> dict[tuple[str, str], dict[str, Any]]:
    fields: dict[str, Any] = {"labels": LABELS, "argocd_namespace": "argocd"} | props
    objects = synth(lambda s: AdmissionGuards(s, "guards", props=AdmissionGuardsProps(**fields)))
    return {(o["kind"], o["metadata"]["name"]): o for o in objects}


def test_every_policy_fails_closed_and_is_bound_to_deny() -> None:
    rendered = render(pod_security={"shop": "restricted"}, default_deny_namespaces=("shop",))
    names = [n for kind, n in rendered if kind == "ValidatingAdmissionPolicy"]
    assert names == [
        "gitops-base-appprojects",
        "gitops-base-pod-security",
        "gitops-base-default-deny",
        "gitops-base-argocd-cm",
        "gitops-base-namespaces",
    ]
    for name in names:
        policy = rendered[("ValidatingAdmissionPolicy", name)]
        assert policy["apiVersion"] == "admissionregistration.k8s.io/v1"
        assert policy["spec"]["failurePolicy"] == "Fail"
        assert policy["metadata"]["labels"] == LABELS
        binding = rendered[("ValidatingAdmissionPolicyBinding", name)]
        assert binding["spec"] == {"policyName": name, "validationActions": ["Deny"]}
        # Every message names its policy and where the trust model is described.
        for validation in policy["spec"]["validations"]:
            text = validation.get("message") or validation["messageExpression"]
            assert name in text and "SECURITY.md#trust-model" in text, text


def test_each_policy_matches_only_what_it_names() -> None:
    rendered = render(
        argocd_namespace="cd",
        pod_security={"shop": "restricted"},
        default_deny_namespaces=("shop",),
    )

    def constraints(name: str) -> dict[str, Any]:
        spec = rendered[("ValidatingAdmissionPolicy", name)]["spec"]
        result: dict[str, Any] = spec["matchConstraints"]
        return result

    def namespaces(name: str) -> list[str]:
        (expression,) = constraints(name)["namespaceSelector"]["matchExpressions"]
        assert (expression["key"], expression["operator"]) == ("kubernetes.io/metadata.name", "In")
        values: list[str] = expression["values"]
        return values

    assert namespaces("gitops-base-appprojects") == ["cd"]
    assert constraints("gitops-base-appprojects")["resourceRules"][0]["resources"] == [
        "appprojects"
    ]
    assert namespaces("gitops-base-argocd-cm") == ["cd"]
    assert constraints("gitops-base-argocd-cm")["resourceRules"][0]["resourceNames"] == [
        "argocd-cm",
        "argocd-rbac-cm",
        "argocd-notifications-cm",
    ]
    assert namespaces("gitops-base-default-deny") == ["shop"]
    (variable,) = rendered[("ValidatingAdmissionPolicy", "gitops-base-default-deny")]["spec"][
        "variables"
    ]
    assert "startsWith('default-deny')" in variable["expression"]
    (rule,) = constraints("gitops-base-pod-security")["resourceRules"]
    # The subresources too: a status or finalize write keeps the labels it sends.
    assert (rule["resources"], rule["resourceNames"]) == (
        ["namespaces", "namespaces/finalize", "namespaces/status"],
        ["shop"],
    )


def test_deleting_default_deny_is_allowed_only_while_its_namespace_terminates() -> None:
    spec = render(default_deny_namespaces=("shop",))[
        ("ValidatingAdmissionPolicy", "gitops-base-default-deny")
    ]["spec"]
    assert spec["matchConstraints"]["resourceRules"][0]["operations"] == [
        "CREATE",
        "UPDATE",
        "DELETE",
    ]
    assert spec["validations"][0]["expression"] == (
        "request.operation != 'DELETE' || !variables.defaultDeny || "
        "has(namespaceObject.metadata.deletionTimestamp)"
    )
    # Only that check applies to a DELETE: every other one starts by letting it through.
    for validation in spec["validations"][1:]:
        assert validation["expression"].startswith("request.operation == 'DELETE' || ")


def test_the_pod_security_levels_are_the_ones_given() -> None:
    spec = render(pod_security={"shop": "restricted", "tools": "baseline"})[
        ("ValidatingAdmissionPolicy", "gitops-base-pod-security")
    ]["spec"]
    assert spec["matchConstraints"]["resourceRules"][0]["resourceNames"] == ["shop", "tools"]
    required = {v["name"]: v["expression"] for v in spec["variables"]}["required"]
    assert required == '{"shop": "restricted", "tools": "baseline"}[object.metadata.name]'


def test_the_enforce_version_is_latest_or_the_one_given() -> None:
    spec = render(
        pod_security={"shop": "restricted", "tools": "baseline"},
        pod_security_versions={"tools": "v1.31"},
    )[("ValidatingAdmissionPolicy", "gitops-base-pod-security")]["spec"]
    version = {v["name"]: v["expression"] for v in spec["variables"]}["version"]
    assert version == '{"shop": "latest", "tools": "v1.31"}[object.metadata.name]'
    check = spec["validations"][1]["expression"]
    assert check.endswith("in ['latest', variables.version]"), check


def test_each_argocd_config_map_check_applies_to_its_own_config_map() -> None:
    spec = render()[("ValidatingAdmissionPolicy", "gitops-base-argocd-cm")]["spec"]
    names = [v["expression"].split(" || ")[0] for v in spec["validations"]]
    assert names == [
        "object.metadata.name != 'argocd-cm'",
        "object.metadata.name != 'argocd-cm'",
        "object.metadata.name != 'argocd-rbac-cm'",
        "object.metadata.name != 'argocd-rbac-cm'",
        "object.metadata.name != 'argocd-rbac-cm'",
        "object.metadata.name != 'argocd-notifications-cm'",
        "object.metadata.name != 'argocd-notifications-cm'",
    ]
    # The size check comes first; the line check reads only what is within it, so it never
    # reaches the API server's CEL cost limit.
    assert "variables.policySize <= 131072" in spec["validations"][3]["expression"]
    assert "variables.policySize > 131072 || " in spec["validations"][4]["expression"]


def test_only_the_base_s_notification_keys_name_the_deploy_status_service() -> None:
    """The key list the guard allows is the construct's own, and the scheme check reads the
    first line the construct writes (their behaviour: tests/e2e/test_admission_guards.py)."""
    from constructs_lib.constructs.argocd.deploy_status import (
        DeployStatusProps,
        notifications_data,
        own_key,
    )

    spec = render()[("ValidatingAdmissionPolicy", "gitops-base-argocd-cm")]["spec"]
    keys_check, scheme_check = (v["expression"] for v in spec["validations"][-2:])
    props = DeployStatusProps(
        namespace="argocd",
        labels=LABELS,
        env="dev",
        app="shop",
        provider="github",
        url="https://api.github.com",
        repository="owner/repo",
    )
    data = notifications_data(props)
    assert all(own_key(k) for k in data)
    decode = json.JSONDecoder().raw_decode
    allowed, _ = decode(keys_check[keys_check.index("k in ") + len("k in ") :])
    assert sorted(allowed) == sorted(data)
    regex, _ = decode(scheme_check[scheme_check.index("matches(") + len("matches(") :])
    assert re.match(regex, data["service.webhook.gitops-base-status"])
    assert re.match(regex, "url: http://127.0.0.1:8080\nheaders: []")
    assert not re.match(regex, "url: http://collector.example.net\nheaders: []")
    assert not re.match(regex, "url: http://localhost.example.net/")


@pytest.mark.parametrize(
    ("line", "wide"),
    [
        ("g, *, role:admin", True),
        ('g, "*", role:admin', True),
        ("  p , * , *, *, */*, allow", True),
        ("g,my-org:*,role:admin", True),
        ("p, role:readonly, applications, sync, */*, allow", True),
        ("g, role:readonly, role:admin", True),
        ('"g", *, role:admin', True),
        ("\u00a0g,\u3000*, role:admin", True),
        ("\vp,\x85role:readonly , applications, get, */*, allow", True),
        ("g, role:readonly\r", True),
        ('g, "role:readonly", role:admin', True),
        ("g, my-org:platform, role:admin", False),
        ("p, role:ci, applications, sync, shop/*, allow", False),
        ("g, my-org:viewers, role:readonly", False),
        ("p, role:readonly-plus, applications, get, */*, allow", False),
        ("# g, *, role:admin", False),
    ],
)
def test_a_policy_line_for_every_user_is_recognised(line: str, wide: bool) -> None:
    """The pattern the guard runs as RE2 and the synth policy as Python (same syntax)."""
    assert bool(re.match(RBAC_WIDE_LINE, line)) is wide


def test_without_labelled_namespaces_or_default_deny_those_policies_are_not_rendered() -> None:
    rendered = render()
    assert sorted(rendered) == [
        ("ValidatingAdmissionPolicy", "gitops-base-appprojects"),
        ("ValidatingAdmissionPolicy", "gitops-base-argocd-cm"),
        ("ValidatingAdmissionPolicy", "gitops-base-namespaces"),
        ("ValidatingAdmissionPolicyBinding", "gitops-base-appprojects"),
        ("ValidatingAdmissionPolicyBinding", "gitops-base-argocd-cm"),
        ("ValidatingAdmissionPolicyBinding", "gitops-base-namespaces"),
    ]


def test_the_namespace_guard_judges_only_argo_cds_updates_of_the_base_s_labels() -> None:
    """Any namespace (its name is the config's, which a commit may change), only updates, only
    those Argo CD's application controller sends; refused when they set the base's labels
    where they were not (the namespace is someone else's)."""
    spec = render(argocd_namespace="cd")[("ValidatingAdmissionPolicy", "gitops-base-namespaces")][
        "spec"
    ]
    (rule,) = spec["matchConstraints"]["resourceRules"]
    assert rule == {
        "apiGroups": [""],
        "apiVersions": ["v1"],
        "operations": ["UPDATE"],
        "resources": ["namespaces"],
    }
    assert "namespaceSelector" not in spec["matchConstraints"]
    assert spec["matchConditions"] == [
        {
            "name": "argocd",
            "expression": "request.userInfo.username == "
            '"system:serviceaccount:cd:argocd-application-controller"',
        }
    ]
    (validation,) = spec["validations"]
    assert validation["expression"] == (
        "variables.owner != 'gitops-base' || (variables.wasOwner == 'gitops-base' && "
        "variables.wasInstance == variables.instance)"
    )


def test_the_glob_class_the_guard_matches_is_the_synths() -> None:
    """The guard's RE2 class and the synth's `has_glob` find the same characters."""
    for c in GLOB_CHARACTERS:
        assert re.search(GLOB_CLASS, f"Cluster{c}Role") and has_glob(f"Cluster{c}Role")
    for plain in ("ClusterRoleBinding", "rbac.authorization.k8s.io", "https://x.example/a.git"):
        assert not re.search(GLOB_CLASS, plain) and not has_glob(plain)


def test_every_appproject_pattern_field_is_checked_for_glob_characters() -> None:
    validations = render()[("ValidatingAdmissionPolicy", "gitops-base-appprojects")]["spec"][
        "validations"
    ]
    text = " ".join(v["expression"] for v in validations)
    for field in ("sourceRepos", "sourceNamespaces", "destinations"):
        assert f"object.spec.{field}.exists(e, " in text
    for key in ("e.group", "e.kind", "e.name", "e.server", "e.namespace"):
        assert f"{key}.matches(" in text
    assert (
        "has(object.spec.clusterResourceWhitelist) && has(object.spec.namespaceResourceWhitelist)"
        in text
    )
    assert "clusterResourceWhitelist.all(e, has(e.name) && e.name != '')" in text
