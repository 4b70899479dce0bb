"""The trust rule set: every escalation an overlay, a config or a payload can try is refused
by the synth with its exact message, and `validate` refuses what it can see without rendering.

Fixtures: tests/fixtures/overlays/policy/<case>/, each one finding: an overlay for dev
(`dev/`) and, for what the app's config does, the config itself (`app-config.yaml`). The first
file says why it is refused (`# Rejected because: ...`) and each line the synth prints
(`# Expect: ...`, in order); synthesized through the real entry point against dev.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from constructs_lib.cli.validate import check_inputs
from constructs_lib.compose.build import build
from constructs_lib.constructs.trust_rules import POD_SPEC_PATHS
from constructs_lib.constructs.workloads import Workload
from constructs_lib.model.clusters import ClusterSettings
from constructs_lib.model.config import AppConfig
from constructs_lib.model.workload_kinds import KINDS
from constructs_lib.render.overlays import with_overlays
from constructs_lib.render.policy import context_of, findings, object_findings
from constructs_lib.render.synth import DEFAULT_CLUSTERS, DEFAULT_CONFIG, run
from tests.support import constructs as built

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "overlays" / "policy"
ACCEPTED = ("allowed", "configswitchallowed")
CASES = sorted(
    p.name for p in FIXTURES.iterdir() if p.name not in (*ACCEPTED, "staleallow", "badallow")
)


def first_file(case: str) -> Path:
    return sorted(p for p in (FIXTURES / case).rglob("*.yaml"))[0]


def expected(case: str) -> list[str]:
    lines = first_file(case).read_text().splitlines()
    return [line.removeprefix("# Expect: ") for line in lines if line.startswith("# Expect: ")]


@pytest.fixture(scope="module")
def dev_only(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """clusters/ with the dev environment only: every fixture is a dev overlay."""
    clusters = tmp_path_factory.mktemp("clusters")
    shutil.copytree(DEFAULT_CLUSTERS / "dev", clusters / "dev")
    return clusters


def config_of(case: str, clusters: Path) -> Path:
    """The case's own config, or the shipped one without prod's pins (dev alone)."""
    own = FIXTURES / case / "app-config.yaml"
    if own.is_file():
        return own
    config = clusters.parent / f"{clusters.name}-app-config.yaml"
    if not config.exists():
        text = re.sub(r"\n +envs:\n +prod: \{[^}]*\}", "", DEFAULT_CONFIG.read_text())
        config.write_text(text)
    return config


def synth(case: str, clusters: Path, dist: Path) -> int:
    return run(with_overlays(build, FIXTURES / case), config_of(case, clusters), clusters, dist)


@pytest.mark.parametrize("case", CASES)
def test_each_finding_is_refused_with_its_message(
    case: str, dev_only: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert synth(case, dev_only, tmp_path / "dist") == 1
    err = capsys.readouterr().err.splitlines()
    problems = [line.removeprefix("error: ") for line in err if line.startswith("error: ")]
    assert problems == expected(case)
    assert err[-1] == f"synth failed with {len(problems)} problem(s); dist/ was not changed"
    assert not (tmp_path / "dist").exists()


def test_every_fixture_says_why_and_what_is_printed() -> None:
    for case in CASES:
        lines = first_file(case).read_text().splitlines()
        assert lines[0].startswith("# Rejected because: "), case
        assert expected(case), case


def unrendered(case: str) -> bool:
    """The case holds no patch: every finding is the config's or an added manifest's."""
    return not (FIXTURES / case / "dev" / "patches.yaml").exists()


@pytest.mark.parametrize("case", [c for c in CASES if unrendered(c)])
def test_validate_refuses_what_it_sees_without_rendering(case: str, dev_only: Path) -> None:
    """The config's findings and each overlay manifest's, its content included: `validate`
    reads the same rule set and names the same object and field (patches change rendered
    objects: the synth's)."""
    report = check_inputs(config_of(case, dev_only), dev_only, FIXTURES / case)
    lines = [p.line() for p in report.problems]
    checked = 0
    for line in expected(case):
        ref = re.search(r": ([A-Za-z]+ \S+ field '[^']*'): ", line)
        if ref is None:
            if line.startswith("dist/"):  # the synth's check of what it writes
                continue
            assert line in lines  # a file the overlay loader refuses: the same line
            checked += 1
            continue
        source = line.split(": ", 1)[0] if line.startswith("tests/") else ""
        assert any(ref.group(1) in shown and source in shown for shown in lines), (line, lines)
        checked += 1
    assert checked


def test_a_reviewed_exception_lets_the_one_object_through(dev_only: Path, tmp_path: Path) -> None:
    assert synth("allowed", dev_only, tmp_path / "dist") == 0
    assert (tmp_path / "dist/dev/platform/clusterrolebinding-shop-admin.yaml").is_file()


def test_a_safety_switch_needs_an_exception_naming_what_it_drops(
    dev_only: Path, tmp_path: Path
) -> None:
    assert synth("configswitchallowed", dev_only, tmp_path / "dist") == 0
    assert not list((tmp_path / "dist/dev/platform").glob("networkpolicy-*.yaml"))
    assert "gitops-base-default-deny" not in (tmp_path / "dist/dev/root.yaml").read_text()
    report = check_inputs(
        FIXTURES / "configswitchallowed" / "app-config.yaml",
        dev_only,
        FIXTURES / "configswitchallowed",
    )
    assert report.problems == []


def test_an_exception_that_matches_nothing_is_an_error(
    dev_only: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert synth("staleallow", dev_only, tmp_path / "dist") == 1
    assert (
        "error: tests/fixtures/overlays/policy/staleallow/dev/allow.yaml: allow[0]: nothing in "
        "dist/dev needs ClusterRoleBinding gone field ''; remove the exception"
    ) in capsys.readouterr().err.splitlines()


def test_allow_yaml_is_schema_checked(
    dev_only: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Entries of the old format (`rule:`) are refused: each names the field now."""
    assert synth("badallow", dev_only, tmp_path / "dist") == 1
    err = capsys.readouterr().err.splitlines()
    source = "error: tests/fixtures/overlays/policy/badallow/dev/allow.yaml"
    assert err == [
        f"{source}: allow[0].namespace: required field is missing",
        f"{source}: allow[0].field: required field is missing",
        f"{source}: allow[0].reason: required field is missing",
        f"{source}: allow[0].rule: unknown field",
        f"{source}: allow[0].owner: unknown field",
        "synth failed with 5 problem(s); dist/ was not changed",
    ]


def test_the_base_itself_passes_the_policy(tmp_path: Path) -> None:
    """Every environment of the shipped config, with the shipped overlays."""
    assert run(with_overlays(build), DEFAULT_CONFIG, DEFAULT_CLUSTERS, tmp_path / "dist") == 0


# Options a kind's section requires (the rest have defaults).
REQUIRED_OPTIONS = {"cronjob": {"schedule": "@daily"}}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_workload_kind_is_under_the_pod_checks(
    kind: str, example_config: AppConfig, dev_cluster: ClusterSettings
) -> None:
    """A kind the catalogue adds has its pod spec where the pod checks look for it: a
    privileged container in it is refused."""
    construct = Workload.for_kind(kind)
    options = {section: REQUIRED_OPTIONS.get(section, {}) for section in KINDS[kind].options}
    svc = built.service(type=kind, **options)
    props = built.workload_props(construct, svc)
    rendered = built.synth(lambda c: construct(c, "w", props=props))
    [workload] = [o for o in rendered if o["kind"] == kind]
    assert POD_SPEC_PATHS[kind] == KINDS[kind].pod_spec
    ctx = context_of(build(example_config, dev_cluster), example_config, dev_cluster)
    assert object_findings("dist/dev/app", workload, ctx) == []
    pod = workload
    for key in POD_SPEC_PATHS[kind]:
        pod = pod[key]
    pod["containers"][0]["securityContext"]["privileged"] = True
    found = [(f.rule, f.kind, f.field) for f in object_findings("dist/dev/app", workload, ctx)]
    at = "/" + "/".join(POD_SPEC_PATHS[kind])
    assert found == [("pod-security", kind, f"{at}/containers/0/securityContext/privileged")]


def test_the_deploy_status_s_service_and_token_stay_the_base_s(
    example_config: AppConfig, dev_cluster: ClusterSettings
) -> None:
    """With deploy_status on, the argocd-notifications-cm the base renders passes; another key
    naming its service or token, or its service over plain http, is refused (and takes no
    exception: the admission guard refuses the same)."""
    settings = dev_cluster.model_dump(mode="json") | {"deploy_status": {"provider": "github"}}
    cluster = ClusterSettings.model_validate(settings)
    base = build(example_config, cluster)
    ctx = context_of(base, example_config, cluster)
    assert findings(base, [], example_config, ctx) == []
    [cm] = [o for o in base.root if o["metadata"]["name"] == "argocd-notifications-cm"]
    service = "service.webhook.gitops-base-status"
    changed = cm | {
        "data": cm["data"]
        | {
            service: "url: http://collector.example.net\n",
            "service.webhook.collector": "url: https://collector.example.net\nheaders:\n"
            "- name: Authorization\n  value: Bearer $gitops-base-status-token\n",
        }
    }
    found = [(f.rule, f.field, f.exceptable) for f in object_findings("root", changed, ctx)]
    assert found == [
        ("argocd-notifications", "/data/service.webhook.collector", False),
        ("argocd-notifications", f"/data/{service}", False),
    ]
