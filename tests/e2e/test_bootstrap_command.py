"""Journey: `gitops-base bootstrap --env dev` on a cluster without Argo CD, as the quickstart
runs it.

The cluster has a real kube-apiserver and controller-manager and no Argo CD objects at all.
bootstrap installs the pinned Argo CD from its checksum-verified install.yaml (CRDs, RBAC,
ConfigMaps, Deployments, ...), the repository Secret from GITOPS_BASE_REPO_TOKEN and
dist/dev/root.yaml. The harness's Argo CD processes (the same pinned release) stand in for the
Pods the cluster cannot run, and read the configuration bootstrap installed. The private
repository is served over HTTP with Basic authentication, so the token matters: a wrong one
is refused by the Git server, and bootstrap reports Argo CD's condition.
"""

from __future__ import annotations

import base64
import os
import re
import subprocess
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from constructs_lib.cli.support.applications import expected_apps
from constructs_lib.model.versions import load_versions
from tests.e2e.harness import Cluster, GitRepo, Timings, Tools
from tests.e2e.harness.base import applications_in, cli_path, gitops_base, is_chart
from tests.e2e.harness.githttp import GitHttpServer
from tests.e2e.harness.tools import REPO_ROOT

ENV = "dev"
TOKEN = "e2e-read-token-1"
APPLICATION = "argoproj.io/v1alpha1"
# Objects no controller writes to: a second bootstrap must leave their resourceVersion alone.
STABLE_KINDS = {
    "ConfigMap",
    "Secret",
    "ServiceAccount",
    "Role",
    "RoleBinding",
    "ClusterRole",
    "ClusterRoleBinding",
    "NetworkPolicy",
    "Service",
    "AppProject",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
}
CLUSTER_SCOPED = {
    "ClusterRole",
    "ClusterRoleBinding",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
}


def pinned_install_manifest(tmp: Path) -> Path:
    """Argo CD's install.yaml of the pinned release, from the Go module zip that
    tests/e2e/build-tools.sh downloaded to build the same release (or
    $GITOPS_BASE_ARGOCD_MANIFEST)."""
    configured = os.environ.get("GITOPS_BASE_ARGOCD_MANIFEST")
    if configured:
        return Path(configured)
    version = load_versions().argocd.version
    gomodcache = subprocess.run(
        ["go", "env", "GOMODCACHE"], capture_output=True, text=True, check=False
    ).stdout.strip() or str(Path.home() / "go" / "pkg" / "mod")
    archive = Path(gomodcache) / f"cache/download/github.com/argoproj/argo-cd/v3/@v/{version}.zip"
    assert archive.is_file(), (
        f"{archive} not found: run `bash tests/e2e/build-tools.sh` (it downloads Argo CD "
        f"{version}), or set GITOPS_BASE_ARGOCD_MANIFEST to that release's install.yaml"
    )
    out = tmp / "install.yaml"
    with zipfile.ZipFile(archive) as z:
        out.write_bytes(z.read(f"github.com/argoproj/argo-cd/v3@{version}/manifests/install.yaml"))
    return out


@pytest.fixture(scope="module")
def bare_cluster(
    e2e_tools: Tools, tmp_path_factory: pytest.TempPathFactory, e2e_timings: Timings
) -> Iterator[Cluster]:
    """A control plane with the add-ons' CRDs and nothing of Argo CD."""
    workdir = tmp_path_factory.mktemp("cluster-bootstrap-command")
    cluster = Cluster(workdir, e2e_tools, argocd=False)
    try:
        cluster.start()
    except Exception as exc:
        pytest.fail(f"e2e cluster failed to start: {exc}", pytrace=False)
    e2e_timings["bootstrap command: control plane up"] = round(cluster.timings["total"], 2)
    yield cluster
    cluster.stop()


def bootstrap(
    checkout: Path, cluster: Cluster, manifest: Path, token: str | None, *extra: str
) -> subprocess.Popen[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("GITOPS_BASE_REPO_") and k.lower() not in ("http_proxy", "https_proxy")
    }
    env["JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"] = "20"
    env["NO_PROXY"] = "*"
    if token is not None:
        env["GITOPS_BASE_REPO_TOKEN"] = token
    argv = [str(cli_path()), "bootstrap", "--env", ENV, "--kubeconfig", str(cluster.kubeconfig)]
    return subprocess.Popen(
        [*argv, "--argocd-manifest", str(manifest), *extra],
        cwd=checkout,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen[str], timeout: float = 400) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def live_versions(cluster: Cluster, objects: list[dict[str, object]]) -> dict[str, str]:
    versions = {}
    for obj in objects:
        meta = obj["metadata"]
        assert isinstance(meta, dict)
        live = cluster.get(
            str(obj["apiVersion"]), str(obj["kind"]), meta["name"], meta.get("namespace")
        )
        assert live is not None, f"{obj['kind']} {meta['name']} is missing"
        versions[f"{obj['kind']} {meta['name']}"] = live["metadata"]["resourceVersion"]
    return versions


def test_bootstrap_installs_argocd_and_syncs_the_base(
    bare_cluster: Cluster, tmp_path: Path, e2e_timings: Timings
) -> None:
    cluster = bare_cluster
    manifest = pinned_install_manifest(tmp_path)

    # The private repository: a copy of the base whose dev environment points at the HTTP
    # server, synthesized and committed as the quickstart does.
    served = tmp_path / "git"
    repo = GitRepo.create(served / "base", source=REPO_ROOT)
    server = GitHttpServer(served, "git", TOKEN).start()
    url = server.url_for(repo.path)
    settings = repo.path / "clusters" / ENV / "cluster.yaml"
    settings.write_text(re.sub(r"(?m)^  url: .*$", f"  url: {url}", settings.read_text()))
    gitops_base(repo.path, "synth")
    repo.commit_all("dev syncs from the HTTP server")
    dist = repo.path / "dist" / ENV
    assert url in (dist / "root.yaml").read_text()
    apps = applications_in(dist / "argocd")
    git_apps = ["root", *(n for n, a in apps.items() if not is_chart(a))]
    chart_apps = [n for n, a in apps.items() if is_chart(a)]
    assert set(git_apps) == {"root", "platform", "shop"}, git_apps

    # bootstrap, while the harness stands in for what a cluster without a kubelet lacks.
    cluster.start_fake_kubelet()
    t0 = time.monotonic()
    proc = bootstrap(repo.path, cluster, manifest, TOKEN, "--wait-for", ",".join(git_apps))
    cluster.wait_for(
        lambda: (
            cluster.get("v1", "ConfigMap", "argocd-cm", "argocd")
            and cluster.get(
                "apiextensions.k8s.io/v1", "CustomResourceDefinition", "applications.argoproj.io"
            )
        ),
        120,
        "bootstrap to install Argo CD's CRDs and argocd-cm",
    )
    t_installed = time.monotonic() - t0
    cluster.start_argocd()
    while proc.poll() is None:
        cluster.stand_in_controllers()
        time.sleep(2)
    code, out, err = finish(proc)
    elapsed = time.monotonic() - t0
    print(f"first bootstrap:\n{out}\n{err}")  # shown with -s: the live progress
    assert code == 0, f"bootstrap exited {code}\nstdout:\n{out}\nstderr:\n{err}"
    e2e_timings["bootstrap command: Argo CD objects installed"] = round(t_installed, 2)
    e2e_timings["bootstrap command: start -> root, platform, shop Synced+Healthy"] = round(
        elapsed, 2
    )
    version = load_versions().argocd.version
    assert f"Argo CD {version} from {manifest} (sha256 verified)" in out
    assert "warning: the cluster has no nodes yet" in out
    assert re.search(r"^Argo CD v[\d.]+: \d+ objects, \d+ changed$", out, re.M), out
    assert "repository credential: token from GITOPS_BASE_REPO_TOKEN" in out
    assert f"{ENV} is Synced and Healthy" in out
    assert TOKEN not in out + err

    # What bootstrap installed: the pinned Argo CD's objects ...
    install = [
        d
        for d in yaml.load_all(manifest.read_text(), Loader=yaml.CSafeLoader)
        if isinstance(d, dict)
    ]
    for kind in ("CustomResourceDefinition", "ClusterRole", "ConfigMap", "StatefulSet"):
        for obj in (d for d in install if d["kind"] == kind):
            ns = None if kind in ("CustomResourceDefinition", "ClusterRole") else "argocd"
            assert cluster.get(obj["apiVersion"], kind, obj["metadata"]["name"], ns), obj
    # ... argocd-cm with install.yaml's labels and root.yaml's health check, side by side ...
    cm = cluster.must_get("v1", "ConfigMap", "argocd-cm", "argocd")
    assert cm["metadata"]["labels"]["app.kubernetes.io/part-of"] == "argocd"
    assert "resource.customizations.health.argoproj.io_Application" in cm["data"]
    managers = {m["manager"] for m in cm["metadata"]["managedFields"]}
    assert {"gitops-base-argocd-install", "gitops-base-root"} <= managers
    # ... and the repository Secret Argo CD used.
    secret = cluster.must_get("v1", "Secret", f"gitops-base-repo-{ENV}", "argocd")
    assert secret["metadata"]["labels"]["argocd.argoproj.io/secret-type"] == "repository"
    data = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    assert data == {"type": "git", "url": url, "username": "git", "password": TOKEN}
    assert any(status == 401 for _, status in server.requests)  # asked, then authenticated
    for app in git_apps:
        st = cluster.app_status(app)
        assert (st["sync"], st["health"]) == ("Synced", "Healthy"), (app, st)
    for app in chart_apps:
        assert cluster.app(app) is not None, f"root did not create Application {app}"
    assert set(expected_apps(dist)) == {*git_apps, *chart_apps}

    # A second run changes nothing.
    root = [o for o in yaml.safe_load_all((dist / "root.yaml").read_text()) if o]
    objects = [
        o for o in [*install, *root, secret] if isinstance(o, dict) and o["kind"] in STABLE_KINDS
    ]
    for o in objects:
        if o["kind"] not in CLUSTER_SCOPED:
            o["metadata"].setdefault("namespace", "argocd")
    before = live_versions(cluster, objects)
    t1 = time.monotonic()
    code, out2, err2 = finish(
        bootstrap(repo.path, cluster, manifest, TOKEN, "--wait-for", ",".join(git_apps))
    )
    e2e_timings["bootstrap command: second run (no-op)"] = round(time.monotonic() - t1, 2)
    assert code == 0, f"second bootstrap exited {code}\n{out2}\n{err2}"
    assert re.search(r"^Argo CD v[\d.]+: \d+ objects, 0 changed$", out2, re.M), out2
    assert "repository credential: 1 objects, 0 changed" in out2
    assert f"root.yaml: {len(root)} objects, 0 changed" in out2
    assert "asked Argo CD to re-read" not in out2
    assert live_versions(cluster, objects) == before

    # A wrong token: the Git server refuses it, Argo CD says so, bootstrap reports it.
    t2 = time.monotonic()
    code, out3, err3 = finish(
        bootstrap(repo.path, cluster, manifest, "wrong-token", "--timeout", "240")
    )
    e2e_timings["bootstrap command: wrong token -> error"] = round(time.monotonic() - t2, 2)
    assert code == 1, f"bootstrap with a wrong token exited {code}\n{out3}\n{err3}"
    assert "asked Argo CD to re-read the repository (new credential)" in out3
    lines = err3.strip().splitlines()
    assert lines[-1].startswith(
        f"error: Argo CD could not read {url} with the repository credential: "
    ), err3
    condition = next(
        c["message"]
        for c in cluster.app_status("root")["conditions"]
        if c["type"].endswith("Error")
    )
    assert condition.strip() in lines[-1]
    assert "Traceback" not in err3 and "wrong-token" not in out3 + err3

    # The right token again: rotation is the same command.
    proc = bootstrap(repo.path, cluster, manifest, TOKEN, "--wait-for", ",".join(git_apps))
    while proc.poll() is None:
        cluster.stand_in_controllers()
        time.sleep(2)
    code, out4, err4 = finish(proc)
    assert code == 0, f"bootstrap with the right token again exited {code}\n{out4}\n{err4}"
    server.stop()
