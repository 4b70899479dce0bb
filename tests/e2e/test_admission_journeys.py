"""Journeys: what an AppProject cannot refuse, because the kinds are allowed and only their
content is wrong, committed straight into dist/ (bypassing the synth's policy) and refused by
the API server's admission guards (root.yaml's ValidatingAdmissionPolicies) when the real
Argo CD syncs it. Each shows the sync failing with the policy's message, nothing changed in
the API server, and the Application syncing again once the commit is reverted:

(a) a wildcard AppProject created by the root;
(b) the app namespace's Pod Security lowered to privileged;
(c) the default-deny NetworkPolicy removed (pruned), then widened, and an allow-all
    NetworkPolicy added beside it;
(d) a local account in argocd-cm: committed into dist/<env>/argocd/ the root's project
    refuses the kind; the path that can write argocd-cm is root.yaml, applied by
    `gitops-base bootstrap`, which the API server refuses;
(e) `*/*` patched into the app's project.

The synth refuses each of these first (tests/render/test_policy.py); the guards themselves are
checked call by call in test_admission_guards.py.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import yaml

from tests.e2e.harness import Cluster, GitRepo, KubeError, Timings
from tests.e2e.test_trust_boundaries import bootstrap, refusal

ENV = "dev"
PLATFORM = f"dist/{ENV}/platform"
ARGOCD = f"dist/{ENV}/argocd"
ARGO = "argoproj.io/v1alpha1"
ENFORCE = "pod-security.kubernetes.io/enforce"


def revert(cluster: Cluster, repo: GitRepo, app: str, sha: str) -> str:
    """Revert commit `sha`: the Application is Synced at the revert (the refused change never
    reached the API server, so the live objects already match it)."""
    repo.git("revert", "--no-edit", sha)
    head = repo.head()
    cluster.terminate_operation(app)
    cluster.refresh_app(app, hard=True)
    cluster.wait_app(app, sync="Synced", revision=head, timeout=180)
    return head


def refused_sync(cluster: Cluster, repo: GitRepo, app: str, message: str, policy: str) -> str:
    """Commit what the test wrote; `app`'s sync of that commit must fail with `policy`'s
    message."""
    sha = repo.commit_all(message)
    cluster.refresh_app(app, hard=True)
    pattern = rf"ValidatingAdmissionPolicy '{policy}' with binding '{policy}' denied request"

    def refused() -> dict[str, Any] | None:
        status = cluster.app_status(app)
        operation = status["operation"]
        if operation["revision"] == sha and re.search(pattern, operation["message"] or ""):
            return status
        return None

    status = cluster.wait_for(refused, 120, f"{app}'s sync of {sha[:8]} to be refused by {policy}")
    print(f"[e2e guards] {app}: {status['operation']['message']}", flush=True)
    assert status["revision"] == sha and status["sync"] != "Synced", status
    return sha


@contextmanager
def timed(timings: Timings, name: str) -> Iterator[None]:
    t0 = time.monotonic()
    yield
    timings[f"admission journey: {name}"] = round(time.monotonic() - t0, 1)


def edit(repo: GitRepo, path: str) -> dict[str, Any]:
    doc = yaml.safe_load(repo.read(path))
    assert isinstance(doc, dict)
    return doc


def test_argo_cd_syncs_are_refused_by_the_admission_guards(
    isolated_cluster: Cluster, base_repo: GitRepo, e2e_timings: Timings
) -> None:
    cluster, repo = isolated_cluster, base_repo
    with timed(e2e_timings, "bootstrap"):
        bootstrap(cluster, repo)
    for name in ("gitops-base-appprojects", "gitops-base-default-deny"):
        assert cluster.get("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy", name)

    with timed(e2e_timings, "(a) wildcard AppProject"):
        path = f"{ARGOCD}/appproject-everything.yaml"
        repo.write(
            path,
            {
                "apiVersion": ARGO,
                "kind": "AppProject",
                "metadata": {"name": "everything", "namespace": "argocd"},
                "spec": {
                    "sourceRepos": ["*"],
                    "destinations": [{"server": "*", "namespace": "*"}],
                    "clusterResourceWhitelist": [{"group": "*", "kind": "*"}],
                },
            },
        )
        sha = refused_sync(
            cluster, repo, "root", "a project for everything", "gitops-base-appprojects"
        )
        assert cluster.get(ARGO, "AppProject", "everything", "argocd") is None
        revert(cluster, repo, "root", sha)
        assert cluster.get(ARGO, "AppProject", "everything", "argocd") is None

    with timed(e2e_timings, "(e) */* in the app's project"):
        path = f"{ARGOCD}/appproject-shop.yaml"
        before = cluster.must_get(ARGO, "AppProject", "shop", "argocd")["spec"]
        project = edit(repo, path)
        project["spec"]["clusterResourceWhitelist"] = [{"group": "*", "kind": "*"}]
        repo.write(path, project)
        sha = refused_sync(cluster, repo, "root", "shop may do anything", "gitops-base-appprojects")
        assert cluster.must_get(ARGO, "AppProject", "shop", "argocd")["spec"] == before
        revert(cluster, repo, "root", sha)

    with timed(e2e_timings, "(b) Pod Security downgrade"):
        path = f"{PLATFORM}/namespace-shop.yaml"
        namespace = edit(repo, path)
        namespace["metadata"]["labels"][ENFORCE] = "privileged"
        repo.write(path, namespace)
        sha = refused_sync(
            cluster, repo, "platform", "privileged app namespace", "gitops-base-pod-security"
        )
        live = cluster.must_get("v1", "Namespace", "shop")["metadata"]["labels"]
        assert live[ENFORCE] == "restricted", live
        revert(cluster, repo, "platform", sha)

    with timed(e2e_timings, "(c) default-deny removed"):
        path = f"{PLATFORM}/networkpolicy-default-deny.yaml"
        original = edit(repo, path)
        repo.remove(path)
        sha = refused_sync(cluster, repo, "platform", "no default-deny", "gitops-base-default-deny")
        live = cluster.must_get("networking.k8s.io/v1", "NetworkPolicy", "default-deny", "shop")
        assert live["spec"] == original["spec"], live["spec"]
        revert(cluster, repo, "platform", sha)

    with timed(e2e_timings, "(c) default-deny widened"):
        widened = edit(repo, path)
        widened["spec"]["ingress"] = [{}]
        repo.write(path, widened)
        sha = refused_sync(
            cluster, repo, "platform", "default-deny admits all", "gitops-base-default-deny"
        )
        live = cluster.must_get("networking.k8s.io/v1", "NetworkPolicy", "default-deny", "shop")
        assert live["spec"] == original["spec"], live["spec"]
        revert(cluster, repo, "platform", sha)

    with timed(e2e_timings, "(c) allow-all NetworkPolicy added"):
        added = f"{PLATFORM}/networkpolicy-allow-all.yaml"
        repo.write(
            added,
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "NetworkPolicy",
                "metadata": {"name": "allow-all", "namespace": "shop"},
                "spec": {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{}]},
            },
        )
        sha = refused_sync(
            cluster, repo, "platform", "allow all egress", "gitops-base-default-deny"
        )
        assert cluster.get("networking.k8s.io/v1", "NetworkPolicy", "allow-all", "shop") is None
        revert(cluster, repo, "platform", sha)

    with timed(e2e_timings, "(d) local account in argocd-cm"):
        before_cm = cluster.must_get("v1", "ConfigMap", "argocd-cm", "argocd")["data"]
        # Through the root: its project allows Applications and AppProjects only.
        path = f"{ARGOCD}/configmap-argocd-cm.yaml"
        cm = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "argocd-cm", "namespace": "argocd"},
            "data": {"accounts.mallory": "apiKey, login"},
        }
        repo.write(path, cm)
        sha = repo.commit_all("a local account")
        cluster.refresh_app("root", hard=True)
        text = refusal(cluster, "root", r"ConfigMap is not permitted in project '?bootstrap'?")
        assert re.search(r"not permitted in project '?bootstrap'?", text), text
        revert(cluster, repo, "root", sha)
        # Through root.yaml, applied as `gitops-base bootstrap` applies it (server-side).
        root = list(yaml.safe_load_all(repo.read(f"dist/{ENV}/root.yaml")))
        (argocd_cm,) = [d for d in root if d["kind"] == "ConfigMap"]
        argocd_cm["data"]["accounts.mallory"] = "apiKey, login"
        with pytest.raises(KubeError, match=r"ValidatingAdmissionPolicy 'gitops-base-argocd-cm'"):
            cluster.kube.apply_one(argocd_cm, field_manager="gitops-base-root")
        assert cluster.must_get("v1", "ConfigMap", "argocd-cm", "argocd")["data"] == before_cm
    # Every Application synced again: the base is as it was.
    for app in ("root", "platform", "shop"):
        cluster.wait_app(app, sync="Synced", timeout=120)
