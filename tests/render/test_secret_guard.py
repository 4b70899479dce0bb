"""No Secret is ever rendered: not by a construct, not into root.yaml, not by an overlay that
adds one or turns an object into one, nor as an item of a List.

Fixtures: tests/fixtures/overlays/secret/<case>/dev/, each one way in (its first line says why
it is rejected), synthesized through the real entry point against the dev environment.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from constructs_lib.compose.build import build
from constructs_lib.compose.layout import RenderedEnv
from constructs_lib.render.overlays import with_overlays
from constructs_lib.render.synth import DEFAULT_CLUSTERS, DEFAULT_CONFIG, check_rendered, run
from tests.support import load_config

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "overlays" / "secret"
NEVER = "kind Secret must never be rendered; use Infisical"
ADDED = "tests/fixtures/overlays/secret/addedsecret/dev/manifests/app/secret-db.yaml"
ROOT_PATCH = "tests/fixtures/overlays/secret/rootsecret/dev/patches.yaml"
REFUSED = {
    "rootsecret": [
        f"dist/dev/root.yaml: Secret 'argocd-cm': {NEVER}",
        # The trust rule set refuses each field the patch changes: root.yaml is the base's.
        *(
            f"{ROOT_PATCH}: patches[0]: ConfigMap argocd/argocd-cm field '{field}': patch: "
            "root.yaml's objects are base-owned (exception: "
            "tests/fixtures/overlays/secret/rootsecret/dev/allow.yaml)"
            for field in ("/kind", "/data", "/stringData")
        ),
    ],
    "addedsecret": [
        f"dist/dev/app: Secret 'db': {NEVER}",
        # The trust rule set refuses it too: app/ takes no Secret.
        f"{ADDED}: Secret shop/db field '': add: app/ takes Deployment, StatefulSet, Job, "
        "CronJob, Service, ConfigMap, ServiceAccount, Ingress, PodDisruptionBudget, "
        "HorizontalPodAutoscaler, SecretProviderClass only, in namespace 'shop' (v1 Secret is "
        "not one; docs/how-to/overlays.md#what-an-overlay-may-change) (exception: "
        "tests/fixtures/overlays/secret/addedsecret/dev/allow.yaml)",
    ],
}


@pytest.fixture(scope="module")
def dev_only(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """clusters/ with the dev environment only: every fixture is a dev overlay."""
    clusters = tmp_path_factory.mktemp("clusters")
    shutil.copytree(DEFAULT_CLUSTERS / "dev", clusters / "dev")
    return clusters


def test_every_fixture_has_its_message() -> None:
    assert {p.name for p in FIXTURES.iterdir()} == set(REFUSED)
    for case in REFUSED:
        first = next((FIXTURES / case / "dev").rglob("*.yaml")).read_text().splitlines()[0]
        assert first.startswith("# Rejected because: "), case


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_a_secret_from_an_overlay_is_refused(
    case: str, dev_only: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The shipped config pins prod's images (image.envs.prod); with dev alone, leave them out.
    config = tmp_path / "app-config.yaml"
    config.write_text(re.sub(r"\n +envs:\n +prod: \{[^}]*\}", "", DEFAULT_CONFIG.read_text()))
    dist = tmp_path / "dist"
    assert run(with_overlays(build, FIXTURES / case), config, dev_only, dist) == 1
    err = capsys.readouterr().err.splitlines()
    assert [line for line in err if line.startswith("error: ")] == [
        f"error: {line}" for line in REFUSED[case]
    ]
    assert not dist.exists()


def test_the_guard_reads_root_yaml_and_list_items() -> None:
    """Without an overlay too: whatever builds root.yaml is held to the same rule."""
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "leak"}}
    env = RenderedEnv(
        name="dev",
        folders={"argocd": [{"apiVersion": "v1", "kind": "List", "items": [secret]}]},
        root=[secret],
    )
    assert check_rendered(env, load_config()) == [
        f"dist/dev/argocd: List 'None': item Secret 'leak': {NEVER}",
        f"dist/dev/root.yaml: Secret 'leak': {NEVER}",
    ]
