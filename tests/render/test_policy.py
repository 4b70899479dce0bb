"""The trust policy: every escalation an overlay can try is refused by synth, by its message.

Fixtures: tests/fixtures/overlays/policy/<case>/dev/, each one escalation (its first line says
why it is rejected), synthesized through the real entry point against the dev environment.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from constructs_lib.compose.build import build
from constructs_lib.compose.layout import RenderedEnv
from constructs_lib.constructs.workloads import Workload
from constructs_lib.model.addons import ADDONS
from constructs_lib.model.clusters import ClusterSettings
from constructs_lib.model.config import AppConfig
from constructs_lib.model.workload_kinds import KINDS
from constructs_lib.render.overlays import with_overlays
from constructs_lib.render.policy import POD_SPEC_PATHS, violations
from constructs_lib.render.synth import DEFAULT_CLUSTERS, DEFAULT_CONFIG, run
from tests.support import constructs as built
from tests.support.platform import dev_settings

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "overlays" / "policy"
ALLOW = "(exception: tests/fixtures/overlays/policy/{case}/dev/allow.yaml)"
# The dev environment runs the add-ons installed by default, each in its own project.
DEV_PROJECTS = sorted(
    [
        *(f"addon-{name}" for name, a in ADDONS.items() if a.installed(dev_settings())),
        "bootstrap",
        "platform",
        "shop",
    ]
)

REFUSED = {
    "clusterrolebinding": [
        "dist/dev/platform: ClusterRoleBinding 'shop-admin': rbac: "
        "RBAC objects come only from the add-on charts"
    ],
    "hostpid": [
        "dist/dev/platform: DaemonSet 'node-shell': host-access: hostPID: true; "
        "pods get no host access",
        "dist/dev/platform: DaemonSet 'node-shell': host-access: container 'shell' is "
        "privileged; pods get no host access",
        "dist/dev/platform: DaemonSet 'node-shell': host-access: volume 'host' mounts "
        "hostPath '/'; pods get no host access",
    ],
    "podsecurity": [
        "dist/dev/platform: Namespace 'shop': pod-security: enforce lowered from "
        "'restricted' to 'privileged'"
    ],
    "addonpodsecurity": [
        f"dist/dev/argocd: Application 'ingress-nginx': pod-security: {mode} lowered from "
        "'restricted' to 'privileged'"
        for mode in ("enforce", "audit", "warn")
    ],
    "allowall": [
        "dist/dev/platform: NetworkPolicy 'allow-all': default-deny: egress[0] allows every "
        "peer, which undoes default-deny"
    ],
    "defaultdeny": [
        "dist/dev/platform: NetworkPolicy 'default-deny': default-deny: "
        "the default-deny NetworkPolicy was changed"
    ],
    "defaultproject": [
        "dist/dev/argocd: Application 'shop': project: project 'default' is not one of "
        + ", ".join(DEV_PROJECTS)
    ],
    "wildcardproject": [
        "dist/dev/argocd: AppProject 'open': bootstrap: the base renders no AppProject 'open'",
        "dist/dev/argocd: AppProject 'open': project-wildcard: wildcard in sourceRepos '*'",
        "dist/dev/argocd: AppProject 'open': project-wildcard: wildcard in destinations server '*'",
        "dist/dev/argocd: AppProject 'open': project-wildcard: wildcard in destinations "
        "namespace '*'",
        "dist/dev/argocd: AppProject 'open': project-wildcard: wildcard in "
        "clusterResourceWhitelist '*/*'",
    ],
    "widenproject": [
        "dist/dev/argocd: AppProject 'shop': project-wildcard: wildcard in "
        "clusterResourceWhitelist '*/*'"
    ],
    "podsecurityremoved": [
        "dist/dev/platform: Namespace 'shop': pod-security: enforce lowered from "
        "'restricted' to 'privileged'"
    ],
    "sourcenamespaces": [
        "dist/dev/argocd: AppProject 'shop': project-wildcard: wildcard in sourceNamespaces '*'"
    ],
    "anonymous": [
        "dist/dev/root.yaml: ConfigMap 'argocd-cm': argocd-accounts: key "
        "'users.anonymous.enabled' allows anonymous access"
    ],
    "guardchanged": [
        "dist/dev/root.yaml: ValidatingAdmissionPolicyBinding 'gitops-base-default-deny': "
        "admission-policy: the admission guard was changed"
    ],
    "guardproject": [
        "dist/dev/argocd: AppProject 'platform': admission-policy: clusterResourceWhitelist "
        "'admissionregistration.k8s.io/ValidatingAdmissionPolicyBinding' lets Argo CD manage them"
    ],
    "guardadded": [
        "dist/dev/platform: ValidatingAdmissionPolicy 'deny-everything': admission-policy: "
        "admission policies come from the base only"
    ],
    "nonetworkpolicies": [
        "dist/dev/platform: NetworkPolicy 'default-deny': default-deny: the default-deny "
        "NetworkPolicy was removed by the overlay's config.yaml",
        "dist/dev/root.yaml: ValidatingAdmissionPolicy 'gitops-base-default-deny': "
        "admission-policy: the admission guard was removed by the overlay's config.yaml",
        "dist/dev/root.yaml: ValidatingAdmissionPolicyBinding 'gitops-base-default-deny': "
        "admission-policy: the admission guard was removed by the overlay's config.yaml",
    ],
    "rbacadmin": [
        "dist/dev/argocd: ConfigMap 'argocd-rbac-cm': argocd-rbac: policy.default 'role:admin' "
        "is more than role:readonly; grant to named SSO groups or roles",
        "dist/dev/argocd: ConfigMap 'argocd-rbac-cm': argocd-rbac: policy.csv line "
        "'p, role:readonly, applications, sync, */*, allow' grants to '*' or role:readonly; "
        "grant to named SSO groups or roles",
        "dist/dev/argocd: ConfigMap 'argocd-rbac-cm': argocd-rbac: policy.extra.csv line "
        "'g, *, role:admin' grants to '*' or role:readonly; grant to named SSO groups or roles",
    ],
    "enforceversion": [
        "dist/dev/argocd: Application 'ingress-nginx': pod-security: enforce-version pinned to "
        "'v1.25' (the base renders 'latest'); an older version's levels are weaker",
        "dist/dev/platform: Namespace 'shop': pod-security: enforce-version pinned to 'v1.24' "
        "(the base renders 'latest'); an older version's levels are weaker",
    ],
    "accounts": [
        "dist/dev/root.yaml: ConfigMap 'argocd-cm': argocd-accounts: key 'accounts.ops' adds a "
        "local account"
    ],
    "notificationsadded": [
        "dist/dev/argocd: ConfigMap 'argocd-notifications-cm': argocd-notifications: the base "
        "renders none here: clusters/dev/cluster.yaml deploy_status does"
    ],
    "notificationssubscribe": [
        "dist/dev/argocd: Application 'shop': argocd-notifications: annotation "
        "'notifications.argoproj.io/subscribe.on-deployed.slack' is not the base's "
        "(subscriptions come from deploy_status)"
    ],
}


@pytest.fixture(scope="module")
def dev_only(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """clusters/ with the dev environment only: every fixture is a dev overlay."""
    clusters = tmp_path_factory.mktemp("clusters")
    shutil.copytree(DEFAULT_CLUSTERS / "dev", clusters / "dev")
    return clusters


def synth(case: str, clusters: Path, dist: Path) -> int:
    # The shipped config pins prod's images (image.envs.prod); with dev alone, leave them out.
    config = clusters.parent / f"{clusters.name}-app-config.yaml"
    if not config.exists():
        text = re.sub(r"\n +envs:\n +prod: \{[^}]*\}", "", DEFAULT_CONFIG.read_text())
        config.write_text(text)
    return run(with_overlays(build, FIXTURES / case), config, clusters, dist)


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_each_escalation_is_refused_with_its_message(
    case: str, dev_only: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert synth(case, dev_only, tmp_path / "dist") == 1
    err = capsys.readouterr().err.splitlines()
    expected = [f"error: {line} {ALLOW.format(case=case)}" for line in REFUSED[case]]
    problems = [line for line in err if line.startswith("error: ")]
    assert problems == expected
    assert err[-1] == f"synth failed with {len(expected)} problem(s); dist/ was not changed"
    assert not (tmp_path / "dist").exists()


def test_every_fixture_says_why_it_is_rejected() -> None:
    for case in REFUSED:
        files = sorted((FIXTURES / case).rglob("*.yaml"))
        assert files, case
        assert files[0].read_text().startswith("# Rejected because: "), files[0]


def test_a_reviewed_exception_lets_the_object_through(dev_only: Path, tmp_path: Path) -> None:
    assert synth("allowed", dev_only, tmp_path / "dist") == 0
    assert (tmp_path / "dist/dev/platform/clusterrolebinding-shop-admin.yaml").is_file()


def test_an_exception_that_matches_nothing_is_an_error(
    dev_only: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert synth("staleallow", dev_only, tmp_path / "dist") == 1
    assert (
        "error: tests/fixtures/overlays/policy/staleallow/dev/allow.yaml: allow[0]: "
        "no ClusterRoleBinding 'gone' breaks rule 'rbac' in dist/dev; remove the exception"
    ) in capsys.readouterr().err.splitlines()


def test_allow_yaml_is_schema_checked(
    dev_only: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert synth("badallow", dev_only, tmp_path / "dist") == 1
    err = capsys.readouterr().err.splitlines()
    source = "error: tests/fixtures/overlays/policy/badallow/dev/allow.yaml"
    assert err == [
        f"{source}: allow[0].rule: input should be 'rbac', 'host-access', 'bootstrap', "
        "'project', "
        "'project-wildcard', 'pod-security', 'default-deny', 'argocd-accounts', "
        "'argocd-rbac', 'admission-policy' or 'argocd-notifications', "
        "got 'everything'",
        f"{source}: allow[0].reason: required field is missing",
        f"{source}: allow[0].owner: unknown field",
        "synth failed with 3 problem(s); dist/ was not changed",
    ]


def test_the_base_itself_passes_the_policy(tmp_path: Path) -> None:
    """Every environment of the shipped config, with the shipped overlays."""
    assert run(with_overlays(build), DEFAULT_CONFIG, DEFAULT_CLUSTERS, tmp_path / "dist") == 0


def test_a_removed_admission_guard_is_refused(
    example_config: AppConfig, dev_cluster: ClusterSettings
) -> None:
    """Overlays cannot delete an object; a build that drops a guard is refused all the same."""
    base = build(example_config, dev_cluster)
    root = [o for o in base.root if o["metadata"]["name"] != "gitops-base-default-deny"]
    env = RenderedEnv(name=base.name, folders=base.folders, root=root)
    found = [(v.rule, v.kind, v.name, v.message) for v in violations(env, base)]
    assert found == [
        (
            "admission-policy",
            kind,
            "gitops-base-default-deny",
            "the admission guard was removed",
        )
        for kind in ("ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding")
    ]


# Options a kind's section requires (the rest have defaults).
REQUIRED_OPTIONS = {"cronjob": {"schedule": "@daily"}}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_workload_kind_is_under_the_pod_checks(kind: str) -> None:
    """A kind the catalogue adds has its pod spec where the host-access rule looks for it: a
    privileged container in it is refused."""
    construct = Workload.for_kind(kind)
    options = {section: REQUIRED_OPTIONS.get(section, {}) for section in KINDS[kind].options}
    svc = built.service(type=kind, **options)
    props = built.workload_props(construct, svc)
    rendered = built.synth(lambda c: construct(c, "w", props=props))
    [workload] = [o for o in rendered if o["kind"] == kind]
    assert POD_SPEC_PATHS[kind] == KINDS[kind].pod_spec
    pod = workload
    for key in POD_SPEC_PATHS[kind]:
        pod = pod[key]
    pod["containers"][0]["securityContext"]["privileged"] = True
    env = RenderedEnv(name="dev", folders={"app": [workload]}, root=[])
    found = violations(env, RenderedEnv(name="dev", folders={}, root=[]))
    assert [(v.rule, v.kind, v.message) for v in found] == [
        ("host-access", kind, "container 'web' is privileged; pods get no host access")
    ]


def test_a_changed_deploy_status_is_refused(
    example_config: AppConfig, dev_cluster: ClusterSettings
) -> None:
    """With deploy_status on, argocd-notifications-cm and the subscription are the base's."""
    settings = dev_cluster.model_dump(mode="json") | {"deploy_status": {"provider": "github"}}
    cluster = ClusterSettings.model_validate(settings)
    base = build(example_config, cluster)
    assert violations(base, base) == []
    root = [
        o | {"data": o["data"] | {"service.webhook.gitops-base-status": "url: https://x.example"}}
        if o["metadata"]["name"] == "argocd-notifications-cm"
        else o
        for o in base.root
    ]
    env = RenderedEnv(name=base.name, folders=base.folders, root=root)
    found = [(v.rule, v.kind, v.name, v.message) for v in violations(env, base)]
    assert found == [
        (
            "argocd-notifications",
            "ConfigMap",
            "argocd-notifications-cm",
            "changed from what clusters/dev/cluster.yaml deploy_status renders",
        )
    ]
