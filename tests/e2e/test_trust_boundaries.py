"""Journeys: escalations committed straight into dist/ (bypassing the synth's policy) are
refused by the real Argo CD, nothing reaches the API server, and removing them recovers.

The synth refuses each of these first (tests/render/test_policy.py); these show the second line of
defence, the AppProjects, for the boundaries an AppProject can enforce:

1. a ClusterRoleBinding to cluster-admin in dist/dev/platform/ (the baseline project allows
   no RBAC);
2. a privileged hostPID DaemonSet mounting / in kube-system, in dist/dev/platform/ (no
   DaemonSet, no kube-system in the baseline project);
3. Applications in dist/dev/argocd/ that the root creates (its project cannot restrict names)
   but whose own project refuses them: one in Argo CD's `default` project, emptied by
   root.yaml, and one in an add-on's project sourcing the git repository instead of the
   add-on's chart repository.

What an AppProject cannot refuse (a wider AppProject, a lowered Pod Security label, a removed
default-deny) the API server's admission guards refuse: test_admission_journeys.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from tests.e2e.harness import Cluster, GitRepo
from tests.e2e.harness.base import wait_synced_or_refused

ENV = "dev"
PLATFORM = f"dist/{ENV}/platform"
ARGOCD = f"dist/{ENV}/argocd"

CLUSTER_ADMIN = {
    "apiVersion": "rbac.authorization.k8s.io/v1",
    "kind": "ClusterRoleBinding",
    "metadata": {"name": "shop-admin"},
    "roleRef": {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": "cluster-admin",
    },
    "subjects": [{"kind": "ServiceAccount", "name": "shop", "namespace": "shop"}],
}
NODE_SHELL = {
    "apiVersion": "apps/v1",
    "kind": "DaemonSet",
    "metadata": {"name": "node-shell", "namespace": "kube-system"},
    "spec": {
        "selector": {"matchLabels": {"app": "node-shell"}},
        "template": {
            "metadata": {"labels": {"app": "node-shell"}},
            "spec": {
                "hostPID": True,
                "containers": [
                    {
                        "name": "shell",
                        "image": "busybox:1.37",
                        "securityContext": {"privileged": True},
                        "volumeMounts": [{"name": "host", "mountPath": "/host"}],
                    }
                ],
                "volumes": [{"name": "host", "hostPath": {"path": "/"}}],
            },
        },
    },
}


def application(name: str, project: str, repo: str) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "namespace": "argocd"},
        "spec": {
            "project": project,
            "source": {"repoURL": repo, "path": PLATFORM, "targetRevision": "HEAD"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "shop"},
            "syncPolicy": {"automated": {"prune": True, "selfHeal": True}},
        },
    }


def bootstrap(cluster: Cluster, repo: GitRepo) -> None:
    """As tests/e2e/test_base_bootstrap.py: the root's waves wait for each child to be
    Healthy, so stand-in controllers make the git-sourced ones Healthy."""
    cluster.start_fake_kubelet()
    # The add-ons sync from the harness's Helm repository (base_repo points them at it); their
    # admission webhooks are answered by the harness's stand-in (webhooks.py).
    cluster.start_webhook_stand_in()
    cluster.apply(repo.path / "dist" / ENV / "root.yaml")
    wait_synced_or_refused(cluster, "root")
    wait_synced_or_refused(cluster, "platform")
    wait_synced_or_refused(cluster, "shop")
    cluster.stand_in_controllers()
    for app in ("platform", "shop"):
        cluster.refresh_app(app, hard=False)
        cluster.wait_app(app, sync="Synced", health="Healthy", timeout=120)


def refusal(cluster: Cluster, app: str, pattern: str) -> str:
    hits = cluster.wait_app_condition(
        app,
        lambda c: re.search(pattern, c.get("message") or "") is not None,
        timeout=120,
        description=f"a message matching {pattern!r}",
    )
    text = "\n".join(c["message"] for c in hits)
    print(f"[e2e trust] {app}: {text}", flush=True)
    return text


def recover(cluster: Cluster, repo: GitRepo, app: str, paths: list[str]) -> None:
    for path in paths:
        repo.remove(path)
    sha = repo.commit_all("drop the escalation")
    cluster.terminate_operation(app)
    cluster.refresh_app(app, hard=True)
    cluster.wait_app(app, sync="Synced", revision=sha, timeout=120)


def test_argo_cd_refuses_escalations_committed_into_dist(
    isolated_cluster: Cluster, base_repo: GitRepo
) -> None:
    cluster, repo = isolated_cluster, base_repo
    bootstrap(cluster, repo)

    # 1 and 2: cluster-admin for the app, and a node shell, in the baseline's folder.
    paths = [
        f"{PLATFORM}/clusterrolebinding-shop-admin.yaml",
        f"{PLATFORM}/daemonset-node-shell.yaml",
    ]
    repo.write(paths[0], CLUSTER_ADMIN)
    repo.write(paths[1], NODE_SHELL)
    sha = repo.commit_all("escalation: cluster-admin binding and a node shell in platform/")
    cluster.refresh_app("platform", hard=True)
    text = refusal(cluster, "platform", r"ClusterRoleBinding is not permitted in project")
    text += "\n" + refusal(cluster, "platform", r"DaemonSet is not permitted in project")
    assert re.search(r"ClusterRoleBinding is not permitted in project '?platform'?", text), text
    assert re.search(r"DaemonSet is not permitted in project '?platform'?", text), text
    status = cluster.app_status("platform")
    assert status["revision"] == sha and status["sync"] != "Synced", status
    assert cluster.get("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "shop-admin") is None
    assert cluster.get("apps/v1", "DaemonSet", "node-shell", "kube-system") is None
    recover(cluster, repo, "platform", paths)
    assert cluster.get("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "shop-admin") is None

    # 3: Applications the root creates, refused by their own projects.
    paths = [f"{ARGOCD}/application-elsewhere.yaml", f"{ARGOCD}/application-sidecar.yaml"]
    repo.write(paths[0], application("elsewhere", "default", repo.url))
    repo.write(paths[1], application("sidecar", "addon-cert-manager", repo.url))
    repo.commit_all("escalation: Applications in the default project and an add-on's project")
    cluster.refresh_app("root", hard=True)
    for app, project in (("elsewhere", "default"), ("sidecar", "addon-cert-manager")):
        text = refusal(cluster, app, rf"not permitted in project '?{project}'?")
        assert "not permitted" in text, text
        status = cluster.app_status(app)
        assert status["sync"] != "Synced", status
    # Both would deploy dist/dev/platform: its objects stay owned by `platform` alone.
    quota = cluster.get("v1", "ResourceQuota", "shop", "shop")
    assert quota is not None
    tracking = (quota["metadata"].get("annotations") or {}).get("argocd.argoproj.io/tracking-id")
    assert tracking is not None and tracking.startswith("platform:"), tracking
    recover(cluster, repo, "root", paths)
    for app in ("elsewhere", "sidecar"):
        cluster.wait_for(pruned(cluster, app), 120, f"the root to prune {app}")


def pruned(cluster: Cluster, app: str) -> Callable[[], bool | None]:
    return lambda: True if cluster.app(app) is None else None
