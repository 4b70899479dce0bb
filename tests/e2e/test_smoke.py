"""Smoke test of the e2e harness itself, independent of the GitOps base:
Argo CD syncs a fixture repository over file://, the controller-manager turns
Deployments into ReplicaSets and Pods, PodSecurity admission is enforced, and
AppProject guard rails refuse what they should."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import Cluster, GitRepo, Timings
from tests.e2e.harness.cluster import ARGOCD_NS, IN_CLUSTER
from tests.e2e.harness.kube import Manifest

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "smoke-repo"

PSS_VIOLATING_DEPLOYMENT = """\
# Violates `restricted`: no runAsNonRoot, no seccompProfile, privilege
# escalation allowed, capabilities not dropped.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: rootful
  namespace: demo
spec:
  replicas: 1
  selector:
    matchLabels: {app.kubernetes.io/name: rootful}
  template:
    metadata:
      labels: {app.kubernetes.io/name: rootful}
    spec:
      containers:
        - name: rootful
          image: registry.k8s.io/pause:3.10
"""


def application(
    name: str, repo_url: str, path: str, namespace: str, project: str = "default"
) -> Manifest:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "namespace": ARGOCD_NS},
        "spec": {
            "project": project,
            "source": {"repoURL": repo_url, "targetRevision": "main", "path": path},
            "destination": {"server": IN_CLUSTER, "namespace": namespace},
            "syncPolicy": {"automated": {"prune": True, "selfHeal": True}},
        },
    }


def owned_by(obj: Manifest, kind: str, name: str) -> bool:
    return any(
        o["kind"] == kind and o["name"] == name for o in obj["metadata"].get("ownerReferences", [])
    )


@pytest.fixture(scope="module")
def smoke_repo(tmp_path_factory: pytest.TempPathFactory) -> GitRepo:
    return GitRepo.create(tmp_path_factory.mktemp("smoke") / "repo", source=FIXTURE)


@pytest.fixture(scope="module")
def demo_app(cluster: Cluster, smoke_repo: GitRepo) -> str:
    cluster.apply(application("demo", smoke_repo.url, "apps/demo", "demo"))
    return "demo"


def test_application_syncs_and_controller_manager_creates_pods(
    cluster: Cluster, smoke_repo: GitRepo, demo_app: str, e2e_timings: Timings
) -> None:
    t0 = time.monotonic()
    cluster.wait_app(
        demo_app,
        sync="Synced",
        revision=smoke_repo.head(),
        operation_phase="Succeeded",
        timeout=180,
    )
    e2e_timings["first sync of demo app (apply -> Synced)"] = round(time.monotonic() - t0, 2)

    dep = cluster.get("apps/v1", "Deployment", "web", "demo")
    assert dep is not None, "Deployment demo/web was not created by Argo CD"
    assert cluster.get("v1", "Service", "web", "demo") is not None

    rs = cluster.wait_for(
        lambda: [
            r
            for r in cluster.kube.list("apps/v1", "ReplicaSet", "demo")
            if owned_by(r, "Deployment", "web")
        ],
        60,
        "kube-controller-manager to create a ReplicaSet for demo/web",
        logs=["kube-controller-manager"],
    )[0]
    pods = cluster.wait_for(
        lambda: [
            p
            for p in cluster.kube.list("v1", "Pod", "demo")
            if owned_by(p, "ReplicaSet", rs["metadata"]["name"])
        ],
        60,
        "kube-controller-manager to create a Pod for the web ReplicaSet",
        logs=["kube-controller-manager"],
    )
    assert pods[0]["status"].get("phase") == "Pending"  # no scheduler, no kubelet

    # Standing in for a kubelet makes the Deployment Available and the app Healthy.
    assert cluster.mark_pods_ready("demo", "app.kubernetes.io/name=web") == 1
    cluster.wait_for(
        lambda: (
            (cluster.must_get("apps/v1", "Deployment", "web", "demo").get("status") or {}).get(
                "availableReplicas"
            )
            == 1
        ),
        60,
        "Deployment demo/web to become available",
        logs=["kube-controller-manager"],
    )
    cluster.refresh_app(demo_app, hard=False)
    cluster.wait_app(demo_app, sync="Synced", health="Healthy", timeout=60)


def test_commit_and_hard_refresh_reaches_synced(
    cluster: Cluster, smoke_repo: GitRepo, demo_app: str, e2e_timings: Timings
) -> None:
    cluster.wait_app(demo_app, sync="Synced", timeout=120)
    smoke_repo.write(
        "apps/demo/configmap.yaml",
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "settings", "namespace": "demo"},
            "data": {"greeting": "hello"},
        },
    )
    sha = smoke_repo.commit_all("add a ConfigMap")
    t0 = time.monotonic()
    cluster.refresh_app(demo_app, hard=True)
    cluster.wait_app(
        demo_app, sync="Synced", revision=sha, operation_phase="Succeeded", timeout=120
    )
    e2e_timings["commit + hard refresh -> Synced (ConfigMap added)"] = round(
        time.monotonic() - t0, 2
    )
    cm = cluster.get("v1", "ConfigMap", "settings", "demo")
    assert cm is not None and cm["data"] == {"greeting": "hello"}

    smoke_repo.remove("apps/demo/configmap.yaml")
    sha = smoke_repo.commit_all("remove the ConfigMap")
    t0 = time.monotonic()
    cluster.refresh_app(demo_app, hard=True)
    cluster.wait_app(
        demo_app, sync="Synced", revision=sha, operation_phase="Succeeded", timeout=120
    )
    cluster.wait_for(
        lambda: cluster.get("v1", "ConfigMap", "settings", "demo") is None,
        60,
        "Argo CD to prune ConfigMap demo/settings",
    )
    e2e_timings["commit + hard refresh -> Synced + pruned (ConfigMap removed)"] = round(
        time.monotonic() - t0, 2
    )


def test_image_rollout_completes_with_fake_kubelet(
    cluster: Cluster, smoke_repo: GitRepo, demo_app: str, e2e_timings: Timings
) -> None:
    before = cluster.must_get("apps/v1", "Deployment", "web", "demo")
    old_rs = {
        r["metadata"]["name"]
        for r in cluster.kube.list("apps/v1", "ReplicaSet", "demo")
        if owned_by(r, "Deployment", "web")
    }
    cluster.start_fake_kubelet(["demo"])
    try:
        text = smoke_repo.read("apps/demo/deployment.yaml")
        smoke_repo.write("apps/demo/deployment.yaml", text.replace("pause:3.10", "pause:3.9"))
        sha = smoke_repo.commit_all("roll web to pause:3.9")
        t0 = time.monotonic()
        cluster.refresh_app(demo_app, hard=True)
        cluster.wait_app(demo_app, sync="Synced", revision=sha, operation_phase="Succeeded")

        def rolled_out() -> Manifest | None:
            d = cluster.must_get("apps/v1", "Deployment", "web", "demo")
            st = d.get("status") or {}
            done = (
                d["metadata"]["generation"] > before["metadata"]["generation"]
                and st.get("observedGeneration") == d["metadata"]["generation"]
                and st.get("updatedReplicas") == st.get("availableReplicas") == 1
                and st.get("replicas") == 1
            )
            return d if done else None

        dep = cluster.wait_for(rolled_out, 90, "Deployment demo/web to roll out pause:3.9")
        cluster.wait_app(demo_app, sync="Synced", health="Healthy", timeout=60)
        e2e_timings["commit + hard refresh -> rolled out + Healthy (image change)"] = round(
            time.monotonic() - t0, 2
        )
    finally:
        cluster.stop_fake_kubelet()
    assert dep["spec"]["template"]["spec"]["containers"][0]["image"].endswith("pause:3.9")
    for rs in cluster.kube.list("apps/v1", "ReplicaSet", "demo"):
        if rs["metadata"]["name"] in old_rs:
            assert rs["spec"]["replicas"] == 0, rs["metadata"]["name"]


def test_pod_security_admission_rejects_non_compliant_pods(
    cluster: Cluster, smoke_repo: GitRepo, demo_app: str
) -> None:
    smoke_repo.write("apps/demo/rootful.yaml", PSS_VIOLATING_DEPLOYMENT)
    sha = smoke_repo.commit_all("add a Deployment violating the restricted PSS")
    cluster.refresh_app(demo_app, hard=True)
    cluster.wait_app(
        demo_app, sync="Synced", revision=sha, operation_phase="Succeeded", timeout=120
    )
    # The Deployment itself is admitted; its Pods are not.
    assert cluster.get("apps/v1", "Deployment", "rootful", "demo") is not None

    def failed_create() -> tuple[Manifest, dict[str, Any]] | None:
        for rs in cluster.kube.list("apps/v1", "ReplicaSet", "demo"):
            if owned_by(rs, "Deployment", "rootful"):
                for c in (rs.get("status") or {}).get("conditions", []):
                    if c["type"] == "ReplicaFailure" and c.get("reason") == "FailedCreate":
                        return rs, c
        return None

    rs, cond = cluster.wait_for(
        failed_create,
        60,
        "ReplicaSet of demo/rootful to report FailedCreate",
        logs=["kube-controller-manager"],
    )
    assert "PodSecurity" in cond["message"] and "restricted" in cond["message"], cond
    events = cluster.events_text("demo", rs["metadata"]["name"])
    assert "FailedCreate" in events and "PodSecurity" in events, events
    assert not [
        p
        for p in cluster.kube.list("v1", "Pod", "demo")
        if owned_by(p, "ReplicaSet", rs["metadata"]["name"])
    ]


def test_appproject_refuses_other_namespaces_and_cluster_scoped_kinds(
    cluster: Cluster, smoke_repo: GitRepo
) -> None:
    cluster.apply(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "guarded"}},
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "other"}},
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "AppProject",
            "metadata": {"name": "guarded-only", "namespace": ARGOCD_NS},
            "spec": {
                "sourceRepos": [smoke_repo.url],
                "destinations": [{"server": IN_CLUSTER, "namespace": "guarded"}],
                # No clusterResourceWhitelist: no cluster-scoped kinds at all.
            },
        },
        application("guarded", smoke_repo.url, "apps/guardrail", "guarded", project="guarded-only"),
    )
    hits = cluster.wait_app_condition(
        "guarded",
        lambda c: "not permitted" in (c.get("message") or ""),
        timeout=120,
        description="a condition or sync message saying a resource is not permitted in the project",
    )
    text = "\n".join(c["message"] for c in hits)
    st = cluster.app_status("guarded")
    assert st["sync"] != "Synced", st
    assert "namespace other is not permitted in project" in text, text
    assert "ClusterRole is not permitted in project" in text, text
    # The sync was refused as a whole: nothing was created, not even the
    # ConfigMap that is inside the guard rails.
    assert cluster.get("rbac.authorization.k8s.io/v1", "ClusterRole", "sneaky") is None
    assert cluster.get("v1", "ConfigMap", "sneaky", "other") is None
    assert cluster.get("v1", "ConfigMap", "allowed", "guarded") is None
