"""User journeys against the base, in the order an operator lives them.

One git copy of this repository (the module's `shop_repo`) is the GitOps
repository of the `dev` environment, served to Argo CD over file://. Every
change goes through the base's own CLI, as the infra pipeline would run it:

1. bootstrap from a `deployed_apps` payload: `gitops-base generate`,
   `gitops-base synth`, commit, apply dist/dev/root.yaml; the Helm-chart
   add-ons sync from the harness's local Helm repository, and their admission
   webhooks block exactly the objects that need them when nothing answers;
2. add a service, then remove it (Argo CD creates it, then prunes it);
3. roll an image with `gitops-base set-image`;
4. guard rails: an object the app's AppProject does not permit, written
   straight into dist/dev/app/, is refused and never created.

The tests share one cluster and one repository and run in file order: each
journey starts from the state the previous one left.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import Cluster, GitRepo, Timings, load_manifests
from tests.e2e.harness.base import (
    applications_in,
    assert_addon_synced,
    gitops_base,
    is_chart,
    project_refusals,
    wait_synced_or_refused,
)
from tests.e2e.harness.cluster import ARGOCD_NS
from tests.e2e.harness.helmrepo import HelmRepo
from tests.e2e.harness.kube import Manifest
from tests.e2e.harness.tools import REPO_ROOT
from tests.e2e.harness.webhooks import refusals_by_webhooks

ENV = "dev"
NS = "shop"
PAYLOADS = Path(__file__).resolve().parent / "fixtures" / "payloads"
# The Applications of dist/dev/argocd whose source is a Helm chart, served by
# the harness's local Helm repository (the copy's chart repoURLs point at it).
CHART_APPS = {
    "cert-manager",
    "infisical-csi-provider",
    "ingress-nginx",
    "secrets-store-csi-driver",
}
# Argo CD objects of the app's own Applications, which the journeys edit.
GIT_APPS = ("platform", "shop")

RESTRICTED = {
    "pod-security.kubernetes.io/enforce": "restricted",
    "pod-security.kubernetes.io/audit": "restricted",
    "pod-security.kubernetes.io/warn": "restricted",
}


def _say(msg: str) -> None:
    print(f"[e2e journeys] {msg}", flush=True)


@pytest.fixture(scope="module")
def shop_repo(tmp_path_factory: pytest.TempPathFactory, helm_repo: HelmRepo) -> Iterator[GitRepo]:
    """A git copy of the base whose dev environment points at the copy itself
    (clusters/dev/cluster.yaml repo.url = its file:// URL), as an operator
    points the base at their own repository."""
    repo = GitRepo.create(tmp_path_factory.mktemp("journeys") / "shop-gitops", source=REPO_ROOT)
    cluster_yaml = f"clusters/{ENV}/cluster.yaml"
    text = repo.read(cluster_yaml)
    old = "url: https://github.com/example-org/shop-gitops.git"
    assert old in text, f"{cluster_yaml} no longer has {old!r}"
    repo.write(cluster_yaml, text.replace(old, f"url: {repo.url}"))
    repo.rewrite_chart_urls(helm_repo.mapping)
    repo.commit_all(f"{ENV}: sync from this repository")
    yield repo


def synth(repo: GitRepo, charts: HelmRepo) -> None:
    """`gitops-base synth`, then point the rendered chart sources (and the
    projects' sourceRepos) at the local Helm repository again: the base only
    accepts https chart repositories, the harness serves plain HTTP on
    loopback."""
    gitops_base(repo.path, "synth")
    repo.rewrite_chart_urls(charts.mapping)


def deploy_payload(
    repo: GitRepo, charts: HelmRepo, payload: str, message: str
) -> tuple[str, float]:
    """generate + synth + commit, as the pipeline does; (sha, seconds it took)."""
    t0 = time.monotonic()
    gitops_base(repo.path, "generate", "--input", str(PAYLOADS / payload))
    synth(repo, charts)
    sha = repo.commit_all(message)
    return sha, time.monotonic() - t0


def sync_to(cluster: Cluster, sha: str, changed: str = "shop", timeout: float = 120) -> float:
    """Hard-refresh root and the git-sourced apps; wait until all report the
    commit `sha` and `changed` has synced it successfully. Returns the seconds
    from the call (right after the commit) to `changed` Synced."""
    t0 = time.monotonic()
    for app in ("root", *GIT_APPS):
        cluster.refresh_app(app, hard=True)
    cluster.wait_app(
        changed, sync="Synced", revision=sha, operation_phase="Succeeded", timeout=timeout
    )
    elapsed = time.monotonic() - t0
    for app in ("root", *GIT_APPS):
        cluster.wait_app(app, sync="Synced", revision=sha, timeout=timeout)
    return elapsed


def container(obj: Manifest, name: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [c for c in pod_spec(obj)["containers"] if c["name"] == name]
    assert found, f"{obj['metadata']['name']}: no container {name}"
    return found[0]


def pod_spec(obj: Manifest) -> dict[str, Any]:
    spec = obj["spec"]  # (items of a list carry no kind: tell a CronJob by its spec)
    pod = spec["jobTemplate"]["spec"]["template"] if "jobTemplate" in spec else spec["template"]
    result: dict[str, Any] = pod["spec"]
    return result


def assert_restricted_security(obj: Manifest, name: str) -> None:
    pod = pod_spec(obj)
    assert pod["securityContext"]["runAsNonRoot"] is True, pod["securityContext"]
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    sc = container(obj, name)["securityContext"]
    assert sc["allowPrivilegeEscalation"] is False, sc
    assert sc["readOnlyRootFilesystem"] is True, sc
    assert sc["runAsNonRoot"] is True, sc
    assert sc["capabilities"]["drop"] == ["ALL"], sc


def replica_sets_of(cluster: Cluster, deployment: str) -> list[Manifest]:
    return [
        rs
        for rs in cluster.kube.list("apps/v1", "ReplicaSet", NS)
        if any(
            o["kind"] == "Deployment" and o["name"] == deployment
            for o in rs["metadata"].get("ownerReferences", [])
        )
    ]


# ----------------------------------------------------------------- journey 1
def test_bootstrap_from_a_payload(
    isolated_cluster: Cluster, shop_repo: GitRepo, helm_repo: HelmRepo, e2e_timings: Timings
) -> None:
    cluster = isolated_cluster
    sha, took = deploy_payload(
        shop_repo, helm_repo, "shop.json", "deploy web, api and nightly-report"
    )
    e2e_timings["journeys: generate + synth + commit (3 apps)"] = round(took, 2)
    argocd_dir = shop_repo.path / "dist" / ENV / "argocd"
    apps = applications_in(argocd_dir)
    chart_apps = {n for n, a in apps.items() if is_chart(a)}
    git_apps = {n for n, a in apps.items() if not is_chart(a)}
    assert chart_apps == CHART_APPS, (
        "the Helm-chart Applications of dist/dev/argocd changed; update CHART_APPS"
    )
    assert git_apps == set(GIT_APPS), git_apps
    for manifest in apps.values():  # synth pointed every git source at this copy
        sources = [manifest["spec"].get("source") or {}, *(manifest["spec"].get("sources") or [])]
        for src in sources:
            if "chart" not in src and "repoURL" in src:
                assert src["repoURL"] == shop_repo.url, src
            elif "chart" in src:  # and the charts at the local Helm repository
                assert src["repoURL"].startswith(helm_repo.url + "/"), src

    t0 = time.monotonic()
    cluster.start_fake_kubelet()  # all namespaces: the add-ons' hook Jobs too
    cluster.start_webhook_stand_in()
    cluster.apply(shop_repo.path / "dist" / ENV / "root.yaml")
    wait_synced_or_refused(cluster, "root")
    for app in sorted(git_apps):
        st = wait_synced_or_refused(cluster, app)
        assert st["revision"] == sha, st
    bootstrap = time.monotonic() - t0
    e2e_timings["journeys: apply root.yaml -> root, platform, shop Synced"] = round(bootstrap, 2)
    _say(f"bootstrap: apply root.yaml -> root, platform, shop Synced in {bootstrap:.1f}s")

    # Every Helm-chart add-on syncs from the local Helm repository: its hook
    # Jobs completed, every object its chart renders is in the API server.
    for app in sorted(chart_apps):
        counts = assert_addon_synced(cluster, helm_repo, apps[app])
        _say(f"add-on {app}: Synced, {counts['objects']} objects, {counts['hook_jobs']} hook Jobs")
    addons = time.monotonic() - t0
    e2e_timings["journeys: apply root.yaml -> add-ons Synced"] = round(addons, 2)
    _say(f"bootstrap: apply root.yaml -> every add-on Synced in {addons:.1f}s")
    all_apps = cluster.kube.list("argoproj.io/v1alpha1", "Application", ARGOCD_NS)
    not_synced = {
        a["metadata"]["name"]
        for a in all_apps
        if ((a.get("status") or {}).get("sync") or {}).get("status") != "Synced"
    }
    assert not_synced == set(), not_synced
    assert {a["metadata"]["name"] for a in all_apps} == {"root"} | set(apps)
    # ... and the AppProjects refused nothing.
    assert project_refusals(cluster) == []

    # Stand in for the ingress controller and cert-manager (add-ons that
    # cannot run here; a pruning sync waits for the Ingress to be Healthy),
    # then the app's Applications must be Healthy too.
    cluster.stand_in_controllers()
    for app in GIT_APPS:
        cluster.refresh_app(app, hard=False)
        cluster.wait_app(app, sync="Synced", health="Healthy", timeout=120)
    healthy = time.monotonic() - t0
    e2e_timings["journeys: apply root.yaml -> platform, shop Synced + Healthy"] = round(healthy, 2)

    # The platform baseline of the namespace.
    ns = cluster.must_get("v1", "Namespace", NS)
    labels = ns["metadata"]["labels"]
    for k, v in RESTRICTED.items():
        assert labels.get(k) == v, labels
    policies = {
        p["metadata"]["name"]
        for p in cluster.kube.list("networking.k8s.io/v1", "NetworkPolicy", NS)
    }
    assert {"default-deny", "allow-dns", "allow-from-ingress-controller"} <= policies, policies
    deny = cluster.must_get("networking.k8s.io/v1", "NetworkPolicy", "default-deny", NS)
    assert deny["spec"]["podSelector"] == {}, deny["spec"]
    assert set(deny["spec"]["policyTypes"]) == {"Ingress", "Egress"}, deny["spec"]
    assert cluster.must_get("v1", "ResourceQuota", NS, NS)
    assert cluster.must_get("v1", "LimitRange", NS, NS)

    # web: a public Deployment with probes, a Service and an Ingress.
    web = cluster.must_get("apps/v1", "Deployment", "web", NS)
    assert web["spec"]["replicas"] == 2
    c = container(web, "web")
    assert c["image"] == "ghcr.io/example/shop-web:1.9.0"
    assert c["readinessProbe"]["httpGet"]["path"] == "/healthz"
    assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert [p["containerPort"] for p in c["ports"]] == [8080]
    assert_restricted_security(web, "web")
    svc = cluster.must_get("v1", "Service", "web", NS)
    assert [(p["port"], p["targetPort"]) for p in svc["spec"]["ports"]] == [(80, "http")]
    ing = cluster.must_get("networking.k8s.io/v1", "Ingress", "web", NS)
    assert [r["host"] for r in ing["spec"]["rules"]] == ["shop.dev.example.com"]
    assert ing["spec"]["tls"][0]["hosts"] == ["shop.dev.example.com"], ing["spec"]["tls"]
    assert ing["metadata"]["annotations"]["cert-manager.io/cluster-issuer"] == "letsencrypt-staging"

    # api: internal (no Ingress), its secret through the CSI driver.
    api = cluster.must_get("apps/v1", "Deployment", "api", NS)
    assert api["spec"]["replicas"] == 1
    c = container(api, "api")
    assert c["image"] == "ghcr.io/example/shop-api:2.4.0"
    assert [p["containerPort"] for p in c["ports"]] == [9000]
    assert_restricted_security(api, "api")
    env = {e["name"]: e for e in c.get("env", [])}
    assert "DATABASE_URL" in env, env
    assert "value" not in env["DATABASE_URL"], "a secret's value must never be in the manifest"
    csi = [v for v in pod_spec(api)["volumes"] if "csi" in v]
    assert csi and csi[0]["csi"]["driver"] == "secrets-store.csi.k8s.io", csi
    spc_name = csi[0]["csi"]["volumeAttributes"]["secretProviderClass"]
    spc = cluster.must_get("secrets-store.csi.x-k8s.io/v1", "SecretProviderClass", spc_name, NS)
    assert spc["spec"]["provider"] == "infisical", spc["spec"]
    params = spc["spec"]["parameters"]
    assert params["envSlug"] == ENV, params
    assert "secretPath: /api" in params["secrets"], params
    assert "secretKey: DATABASE_URL" in params["secrets"], params
    # The env var reads the Secret the CSI driver syncs from the mounted file.
    ref = env["DATABASE_URL"]["valueFrom"]["secretKeyRef"]
    synced = {o["secretName"]: o for o in spc["spec"]["secretObjects"]}
    assert ref["name"] in synced, (ref, synced)
    assert {"objectName": "DATABASE_URL", "key": ref["key"]} in synced[ref["name"]]["data"]
    assert cluster.must_get("v1", "Service", "api", NS)
    assert cluster.get("networking.k8s.io/v1", "Ingress", "api", NS) is None

    # nightly-report: a CronJob, no Service.
    cron = cluster.must_get("batch/v1", "CronJob", "nightly-report", NS)
    assert cron["spec"]["schedule"] == "30 2 * * *"
    assert container(cron, "nightly-report")["image"] == "ghcr.io/example/shop-reports:0.9.1"
    assert_restricted_security(cron, "nightly-report")
    assert cluster.get("v1", "Service", "nightly-report", NS) is None
    assert cluster.get("apps/v1", "Deployment", "nightly-report", NS) is None


# ---------------------------------------------------------------- journey 1b
# What the add-ons' admission webhooks (failurePolicy: Fail) gate: every
# object of the platform and shop Applications is server-side applied with
# dryRun=All (admission runs, nothing is stored). With the stand-in answering,
# the API server sends exactly these objects to the webhooks and accepts all;
# with nothing answering (as on a cluster whose ingress controller or
# cert-manager webhook is down), it refuses exactly these.
WEBHOOK_GATED = {
    "ClusterIssuer letsencrypt-production": "webhook.cert-manager.io",
    "ClusterIssuer letsencrypt-staging": "webhook.cert-manager.io",
    f"Ingress {NS}/web": "validate.nginx.ingress.kubernetes.io",
}


def test_admission_webhooks_gate_exactly_the_ingress_and_the_issuers(
    isolated_cluster: Cluster, shop_repo: GitRepo
) -> None:
    cluster = isolated_cluster
    stand_in = cluster.webhooks
    assert stand_in is not None, "journey 1 starts the webhook stand-in"
    objects = load_manifests(
        shop_repo.path / "dist" / ENV / "platform", shop_repo.path / "dist" / ENV / "app"
    )
    assert len(objects) > 10, objects

    before = len(stand_in.calls)
    assert refusals_by_webhooks(cluster.kube, objects) == {}
    seen = {
        f"{c.kind} {c.namespace + '/' if c.namespace else ''}{c.name}": c.service
        for c in stand_in.calls_since(before)
        if c.dry_run
    }
    assert seen == {
        "ClusterIssuer letsencrypt-production": "cert-manager/cert-manager-webhook",
        "ClusterIssuer letsencrypt-staging": "cert-manager/cert-manager-webhook",
        f"Ingress {NS}/web": "ingress-nginx/ingress-nginx-controller-admission",
    }, seen

    stand_in.pause()
    try:
        refused = refusals_by_webhooks(cluster.kube, objects)
    finally:
        stand_in.resume()
    _say("webhooks without a server refuse: " + "; ".join(f"{k}: {v}" for k, v in refused.items()))
    assert set(refused) == set(WEBHOOK_GATED), refused
    for obj, webhook in WEBHOOK_GATED.items():
        assert f'"{webhook}"' in refused[obj], (obj, refused[obj])
    # Nothing was stored by the dry runs: the objects are Argo CD's, unchanged.
    cluster.refresh_app("platform", hard=False)
    cluster.refresh_app("shop", hard=False)
    cluster.wait_app("platform", sync="Synced", health="Healthy", timeout=60)
    cluster.wait_app("shop", sync="Synced", health="Healthy", timeout=60)


# ----------------------------------------------------------------- journey 2
def test_add_then_remove_a_service(
    isolated_cluster: Cluster, shop_repo: GitRepo, helm_repo: HelmRepo, e2e_timings: Timings
) -> None:
    cluster = isolated_cluster
    assert cluster.get("apps/v1", "Deployment", "search", NS) is None

    sha, _ = deploy_payload(shop_repo, helm_repo, "shop-plus-search.json", "add search")
    took = sync_to(cluster, sha)
    e2e_timings["journeys: add a service: commit -> Synced"] = round(took, 2)
    _say(f"add a service: commit -> Synced in {took:.1f}s")
    search = cluster.must_get("apps/v1", "Deployment", "search", NS)
    assert container(search, "search")["image"] == "ghcr.io/example/shop-search:1.0.0"
    assert cluster.must_get("v1", "Service", "search", NS)
    cluster.wait_for(
        lambda: replica_sets_of(cluster, "search"),
        60,
        "kube-controller-manager to create a ReplicaSet for search",
        logs=["kube-controller-manager"],
    )

    sha, _ = deploy_payload(shop_repo, helm_repo, "shop.json", "remove search")
    t0 = time.monotonic()
    took = sync_to(cluster, sha)
    cluster.wait_for(
        lambda: (
            cluster.get("apps/v1", "Deployment", "search", NS) is None
            and cluster.get("v1", "Service", "search", NS) is None
        ),
        120,
        "Argo CD to prune the search Deployment and Service",
    )
    gone = time.monotonic() - t0
    e2e_timings["journeys: remove a service: commit -> Synced"] = round(took, 2)
    e2e_timings["journeys: remove a service: commit -> objects gone"] = round(gone, 2)
    _say(f"remove a service: commit -> Synced in {took:.1f}s, objects gone after {gone:.1f}s")
    # The other services were left alone.
    for name in ("web", "api"):
        assert cluster.must_get("apps/v1", "Deployment", name, NS)
    assert cluster.must_get("batch/v1", "CronJob", "nightly-report", NS)


# ----------------------------------------------------------------- journey 3
def test_roll_an_image(
    isolated_cluster: Cluster, shop_repo: GitRepo, helm_repo: HelmRepo, e2e_timings: Timings
) -> None:
    cluster = isolated_cluster
    new_image = "ghcr.io/example/shop-web:1.9.1"
    before = {rs["metadata"]["name"] for rs in replica_sets_of(cluster, "web")}
    assert before, "web has no ReplicaSet before the roll"

    gitops_base(shop_repo.path, "set-image", "web", "1.9.1")
    synth(shop_repo, helm_repo)
    changed = set(shop_repo.git("status", "--porcelain").splitlines())
    assert any("config/app-config.yaml" in line for line in changed), changed
    assert any(f"dist/{ENV}/app/deployment-web.yaml" in line for line in changed), changed
    sha = shop_repo.commit_all("roll web to 1.9.1")
    t_commit = time.monotonic()
    took = sync_to(cluster, sha)
    e2e_timings["journeys: roll an image: commit -> Synced"] = round(took, 2)

    web = cluster.must_get("apps/v1", "Deployment", "web", NS)
    assert container(web, "web")["image"] == new_image

    def new_rs() -> Manifest | None:
        for rs in replica_sets_of(cluster, "web"):
            if rs["metadata"]["name"] not in before and container(rs, "web")["image"] == new_image:
                return rs
        return None

    t1 = time.monotonic()
    rs = cluster.wait_for(
        new_rs, 60, f"a ReplicaSet of web with {new_image}", logs=["kube-controller-manager"]
    )
    _say(
        f"roll an image: commit -> Synced in {took:.1f}s; new ReplicaSet "
        f"{rs['metadata']['name']} {time.monotonic() - t1:.1f}s later"
    )

    # With the stand-in kubelet the rollout completes: every replica runs the
    # new image and the old ReplicaSets are scaled to zero.
    def rolled_out() -> bool:
        d = cluster.must_get("apps/v1", "Deployment", "web", NS)
        st = d.get("status") or {}
        olds = [r for r in replica_sets_of(cluster, "web") if r["metadata"]["name"] in before]
        return bool(
            st.get("observedGeneration") == d["metadata"]["generation"]
            and st.get("updatedReplicas") == st.get("availableReplicas") == 2
            and st.get("replicas") == 2
            and all(r["spec"]["replicas"] == 0 for r in olds)
        )

    cluster.wait_for(rolled_out, 90, "web to roll out 1.9.1", logs=["kube-controller-manager"])
    e2e_timings["journeys: roll an image: commit -> rolled out"] = round(
        time.monotonic() - t_commit, 2
    )
    cluster.wait_app("shop", sync="Synced", health="Healthy", timeout=60)
    # Only web rolled.
    api = cluster.must_get("apps/v1", "Deployment", "api", NS)
    assert container(api, "api")["image"] == "ghcr.io/example/shop-api:2.4.0"


# ----------------------------------------------------------------- journey 4
BAD_OVERLAY: dict[str, Manifest] = {
    "clusterrole-sneaky.yaml": {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": "sneaky"},
        "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list"]}],
    },
    "configmap-sneaky.yaml": {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "sneaky", "namespace": "kube-system"},
        "data": {"k": "v"},
    },
}


def test_guard_rails_refuse_objects_outside_the_project(
    isolated_cluster: Cluster, shop_repo: GitRepo
) -> None:
    cluster = isolated_cluster
    for name, obj in BAD_OVERLAY.items():
        shop_repo.write(f"dist/{ENV}/app/{name}", obj)
    sha = shop_repo.commit_all("a bad overlay: a ClusterRole and an object in kube-system")
    cluster.refresh_app("shop", hard=True)

    hits = cluster.wait_app_condition(
        "shop",
        lambda c: "not permitted in project" in (c.get("message") or ""),
        timeout=120,
        description="a message saying a resource is not permitted in project shop",
    )
    text = "\n".join(c["message"] for c in hits)
    _say(f"guard rails: shop reports: {text}")
    # Argo CD v3.5 words them "resource rbac.authorization.k8s.io:ClusterRole
    # is not permitted in project shop" and "namespace kube-system is not
    # permitted in project 'shop'".
    assert re.search(r"ClusterRole is not permitted in project '?shop'?", text), text
    assert re.search(r"namespace kube-system is not permitted in project '?shop'?", text), text
    st = cluster.app_status("shop")
    assert st["sync"] != "Synced", st
    assert cluster.get("rbac.authorization.k8s.io/v1", "ClusterRole", "sneaky") is None
    assert cluster.get("v1", "ConfigMap", "sneaky", "kube-system") is None
    assert st["revision"] == sha, st  # Argo CD saw the bad commit, and refused it

    # Removing the bad files (and stopping the retrying sync) recovers the app.
    for name in BAD_OVERLAY:
        shop_repo.remove(f"dist/{ENV}/app/{name}")
    sha = shop_repo.commit_all("drop the bad overlay")
    cluster.terminate_operation("shop")
    cluster.refresh_app("shop", hard=True)
    cluster.wait_app("shop", sync="Synced", revision=sha, timeout=120)
    assert cluster.get("rbac.authorization.k8s.io/v1", "ClusterRole", "sneaky") is None
