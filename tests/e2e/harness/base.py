"""Helpers for journeys against the GitOps base itself: read the rendered
Applications of an environment, run the `gitops-base` CLI in a copy of the
base, and wait for Applications to sync (or be refused by a guard rail)."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from .cluster import ARGOCD_NS, Cluster
from .helmrepo import HelmRepo
from .kube import Manifest
from .tools import REPO_ROOT


class RefusedByProject(AssertionError):
    """An AppProject guard rail refused a sync."""


def applications_in(path: Path) -> dict[str, Manifest]:
    """The Application objects of the YAML files in `path`, by name."""
    apps: dict[str, Manifest] = {}
    for p in sorted(path.glob("*.yaml")):
        for doc in yaml.safe_load_all(p.read_text()):
            if isinstance(doc, dict) and doc.get("kind") == "Application":
                apps[doc["metadata"]["name"]] = doc
    return apps


def is_chart(app: Manifest) -> bool:
    """Whether any source of the Application is a Helm chart (served to Argo
    CD from the harness's local Helm repository, see helmrepo.py)."""
    spec = app["spec"]
    return any("chart" in s for s in [spec.get("source") or {}, *(spec.get("sources") or [])])


def wait_synced_or_refused(cluster: Cluster, app: str, timeout: float = 180) -> dict[str, Any]:
    """Return as soon as the app is Synced by a successful sync, or its sync
    is refused by a guard rail (so a refusal fails fast, not at the timeout)."""

    def check() -> dict[str, Any] | None:
        st = cluster.app_status(app)
        msg = st.get("operation", {}).get("message") or ""
        if "not permitted" in msg or "is not valid" in msg:
            return st
        if st.get("sync") == "Synced" and st["operation"]["phase"] == "Succeeded":
            return st
        return None

    st = cluster.wait_for(check, timeout, f"Application {app} to sync (or be refused)")
    if st["sync"] != "Synced":
        raise RefusedByProject(f"Application {app} was refused: {st['operation']['message']}")
    return st


def cli_path() -> Path:
    """The `gitops-base` console script of the Python running the tests (or
    of the repository's .venv). AssertionError naming the fix when absent."""
    for candidate in (
        Path(sys.executable).parent / "gitops-base",
        REPO_ROOT / ".venv" / "bin" / "gitops-base",
    ):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which("gitops-base")
    assert found, "the gitops-base CLI is not installed: run `make install` (creates .venv)"
    return Path(found)


def gitops_base(checkout: Path, *args: str) -> str:
    """Run `gitops-base ARGS` with the checkout as working directory (synth
    renders the checkout it runs in); returns stdout, fails with its output."""
    env = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    proc = subprocess.run(
        [str(cli_path()), *args],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, (
        f"gitops-base {' '.join(args)} exited {proc.returncode}\n"
        f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    )
    return proc.stdout


HELM_HOOKS_RUN_BY_SYNC = ("pre-install", "pre-upgrade", "post-install", "post-upgrade")


def _hooks(obj: Manifest) -> list[str]:
    ann = (obj.get("metadata") or {}).get("annotations") or {}
    text = ann.get("helm.sh/hook") or ann.get("argocd.argoproj.io/hook") or ""
    return [h.strip() for h in str(text).split(",") if h.strip()]


def _job_completed(cluster: Cluster, namespace: str, job: str) -> bool:
    """Whether the Job controller reported Job `job` Completed (an Event,
    which outlives the Job)."""
    events = cluster.kube.events(namespace, job, involved_kind="Job")
    return any(e.get("reason") == "Completed" for e in events)


def _job_gone(cluster: Cluster, namespace: str, job: str) -> bool:
    return cluster.get("batch/v1", "Job", job, namespace) is None


def project_refusals(cluster: Cluster) -> list[str]:
    """Every message of every Application (conditions, last operation, per
    resource results) saying an AppProject did not permit something."""
    found = []
    for app in cluster.kube.list("argoproj.io/v1alpha1", "Application", ARGOCD_NS):
        name = app["metadata"]["name"]
        st = app.get("status") or {}
        op = st.get("operationState") or {}
        messages = [c.get("message") or "" for c in st.get("conditions") or []]
        messages.append(op.get("message") or "")
        messages += [
            r.get("message") or "" for r in (op.get("syncResult") or {}).get("resources") or []
        ]
        found += [f"{name}: {m}" for m in messages if "not permitted" in m]
    return found


def assert_addon_synced(
    cluster: Cluster, charts: HelmRepo, app: Manifest, timeout: float = 300
) -> dict[str, int]:
    """A Helm-chart add-on Application, served from the local Helm
    repository: its sync succeeded, every hook Job its chart runs on install
    (Argo CD: PreSync / PostSync) completed, and every object its chart
    renders (helm template with the Application's values, hooks aside) exists
    in the API server. Returns counts for the journey's log."""
    name = app["metadata"]["name"]
    cluster.wait_app(name, sync="Synced", operation_phase="Succeeded", timeout=timeout)
    live = cluster.app(name) or {}
    op = (live.get("status") or {}).get("operationState") or {}
    results = (op.get("syncResult") or {}).get("resources") or []
    assert all(r.get("status") != "SyncFailed" for r in results), results

    rendered = charts.template(app, kube_version=cluster.tools.kubernetes_version)
    dest_ns = app["spec"]["destination"].get("namespace")
    want_jobs = {
        o["metadata"]["name"]
        for o in rendered
        if o["kind"] == "Job" and set(_hooks(o)) & set(HELM_HOOKS_RUN_BY_SYNC)
    }
    # The last operation may be a self-heal of a few resources, which runs no
    # hooks; the Job controller's events outlive the Jobs (deleted by Argo CD
    # once they succeed, as their hook-delete-policy says).
    for r in results:
        if r.get("hookType") and r.get("kind") == "Job":
            assert r.get("hookPhase") == "Succeeded", f"{name}: hook Job did not complete: {r}"
    by_name = {o["metadata"]["name"]: o for o in rendered if o["metadata"]["name"] in want_jobs}
    for job in sorted(want_jobs):
        ns = by_name[job]["metadata"].get("namespace") or dest_ns or "default"
        cluster.wait_for(
            functools.partial(_job_completed, cluster, ns, job),
            60,
            f"{name}: the Job controller to report hook Job {ns}/{job} Completed",
            logs=["kube-controller-manager", "argocd-application-controller"],
        )
        policy = (by_name[job]["metadata"].get("annotations") or {}).get(
            "helm.sh/hook-delete-policy", ""
        )
        if "hook-succeeded" in policy:
            cluster.wait_for(
                functools.partial(_job_gone, cluster, ns, job),
                60,
                f"{name}: Argo CD to delete the succeeded hook Job {ns}/{job}",
            )

    objects = [o for o in rendered if not _hooks(o)]
    missing = []
    for o in objects:
        ns = None
        if cluster.kube.namespaced(o["apiVersion"], o["kind"]):
            ns = o["metadata"].get("namespace") or dest_ns
        if cluster.get(o["apiVersion"], o["kind"], o["metadata"]["name"], ns) is None:
            missing.append(f"{o['kind']} {ns + '/' if ns else ''}{o['metadata']['name']}")
    assert not missing, f"{name}: rendered but not in the API server: {missing}"
    return {"objects": len(objects), "hook_jobs": len(want_jobs)}
