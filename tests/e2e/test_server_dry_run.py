"""What the base renders, the API server admits: every object of every environment in dist/
(root.yaml included) is server-side applied with dryRun=All and strict field validation to a
real kube-apiserver that has the pinned CRDs (platform/crds.yaml), so custom resources are
checked by their real schemas. The Namespaces are created for real first. The options
dist/ does not show (self-managed Argo CD, Sealed Secrets, Traefik) are rendered and checked
the same way, and one test goes past the API server to the StatefulSet controller.

The property test below (tests/e2e/config_strategies.py) closes the loop from the other side:
any config `gitops-base validate` accepts is rendered by `gitops-base synth` and admitted the
same way. See docs/e2e.md, "Server-side dry run".
"""

from __future__ import annotations

import copy
import io
import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, event, given, note, seed, settings

from constructs_lib.cli.main import main
from constructs_lib.compose.build import build
from constructs_lib.model.clusters import ClusterSettings
from constructs_lib.model.config import AppConfig
from constructs_lib.model.kube_rules import STATEFULSET_NAME_MAX
from constructs_lib.model.loading import load_model
from constructs_lib.render.overlays import with_overlays
from constructs_lib.render.schema_check import validate_manifest
from tests.e2e.config_strategies import configs, dump
from tests.e2e.harness import Cluster, Timings, Tools
from tests.e2e.harness.base import cli_path
from tests.e2e.harness.dryrun import Refusal, dry_run
from tests.e2e.harness.kube import load_manifests
from tests.e2e.harness.tools import REPO_ROOT

DIST = REPO_ROOT / "dist"
CLUSTERS = REPO_ROOT / "clusters"
# Examples of the property test: a fixed, small number for `make test`; raise it to search
# longer (docs/e2e.md).
EXAMPLES = int(os.environ.get("GITOPS_BASE_DRY_RUN_EXAMPLES", "50"))
# Unset: the examples are derived from the test itself (derandomized), the same on every run.
SEED = os.environ.get("GITOPS_BASE_DRY_RUN_SEED")
# A failing example is reported as drawn (its whole config is printed); shrinking it to a
# smaller one re-renders and re-checks hundreds of configs (minutes), so only on request.
PHASES = (
    tuple(Phase)
    if os.environ.get("GITOPS_BASE_DRY_RUN_SHRINK") == "1"
    else (Phase.explicit, Phase.generate)
)


def rendered(folder: Path, base: Path) -> list[tuple[str, dict[str, Any]]]:
    """(file relative to `base`, object) of every YAML file under `folder` (dist/ or one
    dist/<env>/, root.yaml included)."""
    out = []
    for path in sorted(folder.rglob("*.yaml")):
        out += [(str(path.relative_to(base)), obj) for obj in load_manifests(path)]
    return out


def envs(dist: Path) -> list[str]:
    return sorted(p.name for p in dist.iterdir() if (p / "root.yaml").is_file())


@pytest.fixture(scope="module")
def apiserver(
    e2e_tools: Tools, tmp_path_factory: pytest.TempPathFactory, e2e_timings: Timings
) -> Iterator[Cluster]:
    """A control plane of its own with every pinned CRD, Argo CD's included, and no Argo CD
    processes and no admission webhooks: what is checked is the API server's own validation
    and admission, and nothing another test left behind."""
    cluster = Cluster(tmp_path_factory.mktemp("cluster-dry-run"), e2e_tools, argocd=False)
    try:
        cluster.start()
        cluster.kube.apply([p for p in cluster.crds if p.name.startswith("argoproj.io_")])
    except Exception as exc:
        cluster.stop()
        pytest.fail(f"e2e cluster failed to start: {exc}", pytrace=False)
    e2e_timings["server dry run: control plane up"] = round(cluster.timings["total"], 2)
    yield cluster
    cluster.stop()


def report(refusals: list[Refusal]) -> str:
    return f"{len(refusals)} object(s) refused by the API server:\n" + "\n".join(
        f"  {r}" for r in refusals
    )


@pytest.mark.parametrize("env", envs(DIST))
def test_every_rendered_object_is_admitted(
    apiserver: Cluster, env: str, e2e_timings: Timings
) -> None:
    objects = rendered(DIST / env, REPO_ROOT)
    kinds = {o["kind"] for _, o in objects}
    # The check covers the custom resources, not only built-in kinds.
    assert {"Application", "AppProject", "ClusterIssuer", "SecretProviderClass"} <= kinds, kinds
    assert any(source.endswith("root.yaml") for source, _ in objects)
    t0 = time.monotonic()
    refusals = dry_run(apiserver.kube, objects)
    e2e_timings[f"server dry run: dist/{env} ({len(objects)} objects)"] = round(
        time.monotonic() - t0, 2
    )
    assert refusals == [], report(refusals)


def _with_every_option(controller: str) -> list[tuple[str, dict[str, Any]]]:
    """dev's objects (with overlays, as synth renders them) with every optional add-on on:
    Argo CD managing itself, Sealed Secrets, and the given ingress controller."""
    config = load_model(AppConfig, REPO_ROOT / "config" / "app-config.yaml")
    cluster = load_model(ClusterSettings, CLUSTERS / "dev" / "cluster.yaml")
    cluster = cluster.model_copy(
        update={
            "sealed_secrets": True,
            "argocd": cluster.argocd.model_copy(update={"self_managed": True}),
            "ingress": cluster.ingress.model_copy(update={"controller": controller}),
        }
    )
    env = with_overlays(build)(config, cluster)
    where = f"dev with every option, {controller}"
    return [(f"{where}: {folder}", o) for folder, objs in env.folders.items() for o in objs]


@pytest.mark.parametrize("controller", ["nginx", "traefik"])
def test_every_object_of_the_optional_addons_is_admitted(
    apiserver: Cluster, controller: str
) -> None:
    """The options dist/ does not show: Argo CD's own Application, Sealed Secrets, Traefik's
    HelmChartConfig instead of ingress-nginx."""
    objects = _with_every_option(controller)
    kinds = {o["kind"] for _, o in objects}
    assert "HelmChartConfig" in kinds if controller == "traefik" else "HelmChartConfig" not in kinds
    names = {o["metadata"]["name"] for _, o in objects if o["kind"] == "Application"}
    assert {"argocd", "sealed-secrets"} <= names, names
    refusals = dry_run(apiserver.kube, objects)
    assert refusals == [], report(refusals)


def _first(kind: str) -> tuple[str, dict[str, Any]]:
    return next(
        (s, copy.deepcopy(o)) for s, o in rendered(DIST / "dev", REPO_ROOT) if o["kind"] == kind
    )


def test_the_check_reports_what_only_the_api_server_refuses(apiserver: Cluster) -> None:
    """Objects the schema check (make check) passes but the API server refuses: each is
    reported with the API server's reason, and the good objects beside them are not."""
    source, deployment = _first("Deployment")
    bad_label = copy.deepcopy(deployment)
    bad_label["metadata"]["name"] = "bad-label"
    bad_label["metadata"]["labels"]["app.kubernetes.io/name"] = "not a label value!"
    long_name = copy.deepcopy(deployment)
    long_name["metadata"]["name"] = "x" * 254
    app_source, application = _first("Application")
    unknown_field = copy.deepcopy(application)
    unknown_field["metadata"]["name"] = "unknown-field"
    unknown_field["spec"]["syncPolicy"]["automatedd"] = {"prune": True}
    _, cronjob = _first("CronJob")
    bad_schedule = copy.deepcopy(cronjob)
    bad_schedule["metadata"]["name"] = "bad-schedule"
    bad_schedule["spec"]["schedule"] = "0 0 L * *"
    ingress_source, ingress = _first("Ingress")
    bad_path = copy.deepcopy(ingress)
    bad_path["metadata"]["name"] = "bad-path"
    bad_path["spec"]["rules"][0]["http"]["paths"][0]["path"] = "/api//v1"
    for obj in (bad_label, long_name, bad_schedule, bad_path):
        assert validate_manifest(obj) == [], obj["metadata"]["name"]

    refusals = dry_run(
        apiserver.kube,
        [
            (source, deployment),
            (source, bad_label),
            (source, long_name),
            (app_source, unknown_field),
            (source, bad_schedule),
            (ingress_source, bad_path),
        ],
    )
    by_name = {r.object.rsplit("/", 1)[-1]: r for r in refusals}
    assert set(by_name) == {
        "bad-label",
        "x" * 254,
        "unknown-field",
        "bad-schedule",
        "bad-path",
    }, report(refusals)
    assert "not a label value!" in by_name["bad-label"].message
    assert "must be no more than 253 characters" in by_name["x" * 254].message
    assert ".spec.syncPolicy.automatedd: field not declared in schema" in (
        by_name["unknown-field"].message
    )
    assert "spec.schedule" in by_name["bad-schedule"].message
    assert "must not contain '//'" in by_name["bad-path"].message
    assert all(r.source == source for r in refusals if r.object.startswith("Deployment"))
    assert "Deployment shop/bad-label: Invalid: " in report(refusals)


# ------------------------------------------------------------------------ property
# How many generated configs `validate` accepted (and so were rendered and dry-run) and
# refused, for the check below that the property was not tested on refusals only.
STATS = {"accepted": 0, "refused": 0}


def _run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    with redirect_stdout(out), redirect_stderr(out):
        code = main(list(argv))
    return code, out.getvalue()


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=SEED is None,
    phases=PHASES,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@seed(int(SEED or 0))
@given(config=configs())
def test_what_validate_accepts_the_api_server_admits(
    apiserver: Cluster, config: dict[str, Any]
) -> None:
    with tempfile.TemporaryDirectory(prefix="dry-run-") as tmp:
        path = Path(tmp) / "app-config.yaml"
        path.write_text(dump(config), encoding="utf-8")
        code, output = _run("validate", str(path), "--clusters", str(CLUSTERS))
        if code != 0:
            event("refused by validate")
            STATS["refused"] += 1
            assert code == 1 and "Traceback" not in output, output
            return
        event("accepted by validate")
        STATS["accepted"] += 1
        note(path.read_text(encoding="utf-8"))
        out = Path(tmp) / "dist"
        synth = subprocess.run(
            [str(cli_path()), "synth", "--config", str(path), "--clusters", str(CLUSTERS),
             "--output", str(out)],
            cwd=REPO_ROOT,
            env={**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )  # fmt: skip
        assert synth.returncode == 0, (
            f"validate accepted, synth failed:\n{synth.stdout}{synth.stderr}"
        )
        refusals = dry_run(apiserver.kube, rendered(out, Path(tmp)))
        assert refusals == [], report(refusals)


def test_the_property_was_checked_on_rendered_configs() -> None:
    """At least a quarter of the generated configs pass `validate` and so were rendered and
    dry-run: the strategies stay on the accepted side of the rules, near their edges."""
    total = STATS["accepted"] + STATS["refused"]
    assert total > 0, "run test_what_validate_accepts_the_api_server_admits first (same module)"
    assert STATS["accepted"] >= max(1, total // 4), STATS


# ------------------------------------------------------------------- controllers
def _statefulset(name: str, namespace: str) -> dict[str, Any]:
    labels = {"app.kubernetes.io/name": "s"}
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "replicas": 1,
            "serviceName": "s",
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "automountServiceAccountToken": False,
                    "containers": [{"name": "s", "image": "registry.k8s.io/pause:3.10"}],
                },
            },
        },
    }


def test_the_statefulset_controller_refuses_names_the_api_server_admits(
    apiserver: Cluster,
) -> None:
    """Beyond the API server: a StatefulSet name of 53 characters is admitted, but the
    StatefulSet controller cannot create its pods (their `controller-revision-hash` label is
    the name plus 11 characters, and a label value fits 63). 52 works. validate refuses
    StatefulSet names over 52 (STATEFULSET_NAME_MAX), like CronJob names."""
    kube = apiserver.kube
    ns = "statefulset-names"
    kube.apply_one({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    apiserver.wait_for(
        lambda: kube.get("v1", "ServiceAccount", "default", ns),
        30,
        f"the default ServiceAccount of {ns}",
        logs=["kube-controller-manager"],
    )
    fits, too_long = "s" * STATEFULSET_NAME_MAX, "s" * (STATEFULSET_NAME_MAX + 1)
    for name in (fits, too_long):
        assert dry_run(kube, [("inline", _statefulset(name, ns))]) == []
        kube.create(_statefulset(name, ns))
    apiserver.wait_for(
        lambda: kube.get("v1", "Pod", f"{fits}-0", ns),
        60,
        f"the pod of StatefulSet {fits}",
        logs=["kube-controller-manager"],
    )

    def refused() -> str | None:
        events = kube.events(ns, involved_name=too_long, involved_kind="StatefulSet")
        return next((e["message"] for e in events if e.get("reason") == "FailedCreate"), None)

    message = apiserver.wait_for(
        refused, 60, f"FailedCreate of StatefulSet {too_long}", logs=["kube-controller-manager"]
    )
    assert f'Invalid value: "{too_long}-' in message and "must be no more than 63" in message, (
        message
    )
    pods = kube.list("v1", "Pod", ns, label_selector="app.kubernetes.io/name=s")
    assert [p["metadata"]["name"] for p in pods] == [f"{fits}-0"]
