"""`gitops-base bootstrap` does not take over a namespace the base did not create, on a real
API server: the app's namespace existing for another app, or an Argo CD namespace it did not
create, is refused before anything is applied; once labelled (adopted on purpose) it passes
that check."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import Cluster, GitRepo, Timings, Tools
from tests.e2e.harness.base import cli_path, gitops_base
from tests.e2e.harness.tools import REPO_ROOT
from tests.e2e.test_bootstrap_command import pinned_install_manifest

MANAGED_BY = "app.kubernetes.io/managed-by"
INSTANCE = "app.kubernetes.io/instance"


@pytest.fixture(scope="module")
def bare_cluster(
    e2e_tools: Tools, tmp_path_factory: pytest.TempPathFactory, e2e_timings: Timings
) -> Iterator[Cluster]:
    workdir = tmp_path_factory.mktemp("cluster-bootstrap-adoption")
    cluster = Cluster(workdir, e2e_tools, argocd=False)
    try:
        cluster.start()
    except Exception as exc:
        pytest.fail(f"e2e cluster failed to start: {exc}", pytrace=False)
    yield cluster
    cluster.stop()


@pytest.fixture(scope="module")
def base_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the base whose dev contact is one Let's Encrypt accepts: bootstrap refuses
    the shipped placeholder before it reads the cluster."""
    repo = GitRepo.create(tmp_path_factory.mktemp("adoption") / "base", source=REPO_ROOT)
    settings = repo.path / "clusters" / "dev" / "cluster.yaml"
    text = settings.read_text()
    assert "platform@example.com" in text
    settings.write_text(text.replace("platform@example.com", "platform@acme-shop.io"))
    gitops_base(repo.path, "synth")
    return repo.path


def bootstrap(cluster: Cluster, manifest: Path, base: Path) -> subprocess.CompletedProcess[str]:
    argv = [str(cli_path()), "bootstrap", "--env", "dev", "--kubeconfig", str(cluster.kubeconfig)]
    return subprocess.run(
        [*argv, "--argocd-manifest", str(manifest), "--dry-run"],
        cwd=base,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("GITOPS_BASE_REPO_")},
            "NO_PROXY": "*",
            "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        },
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def namespace(name: str, labels: dict[str, str]) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def test_another_apps_namespace_is_not_taken_over(
    bare_cluster: Cluster, base_copy: Path, tmp_path: Path
) -> None:
    cluster = bare_cluster
    manifest = pinned_install_manifest(tmp_path)
    cluster.apply(namespace("shop", {MANAGED_BY: "gitops-base", INSTANCE: "crm"}))
    done = bootstrap(cluster, manifest, base_copy)
    assert done.returncode == 1, done.stdout + done.stderr
    assert (
        "error: namespace shop exists and gitops-base did not create it "
        "(app.kubernetes.io/instance is 'crm', not 'shop')"
    ) in done.stderr
    assert "would apply" not in done.stdout  # refused before any step
    assert cluster.get("v1", "Namespace", "argocd") is None
    # Adopted on purpose (the label the refusal names): the check passes.
    cluster.apply(namespace("shop", {MANAGED_BY: "gitops-base", INSTANCE: "shop"}))
    done = bootstrap(cluster, manifest, base_copy)
    assert "namespace shop exists" not in done.stderr, done.stderr
    assert done.returncode == 0, done.stdout + done.stderr


def test_an_argo_cd_namespace_bootstrap_did_not_create_is_not_taken_over(
    bare_cluster: Cluster, base_copy: Path, tmp_path: Path
) -> None:
    cluster = bare_cluster
    manifest = pinned_install_manifest(tmp_path)
    cluster.apply(namespace("argocd", {"team": "platform"}))
    done = bootstrap(cluster, manifest, base_copy)
    assert done.returncode == 1, done.stdout + done.stderr
    assert (
        "error: namespace argocd exists and gitops-base did not create it "
        "(app.kubernetes.io/managed-by is missing, not 'gitops-base')"
    ) in done.stderr
    cluster.apply(namespace("argocd", {MANAGED_BY: "gitops-base"}))
    done = bootstrap(cluster, manifest, base_copy)
    assert done.returncode == 0, done.stdout + done.stderr
