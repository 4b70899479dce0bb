"""Journey: bootstrap an environment from the base's committed dist/.

A git copy of this repository is served to Argo CD over file://; applying
dist/<env>/root.yaml (the bootstrap AppProject + root Application) must be
all a cluster needs: root syncs the AppProjects and Applications; every
Helm-chart add-on syncs from the local Helm repository (hook Jobs completed,
every rendered object in the API server); every git-sourced Application
syncs and, with a stand-in kubelet and ingress controller, becomes Healthy;
no AppProject refuses anything.
"""

from __future__ import annotations

import time

from tests.e2e.harness import Cluster, GitRepo, Timings
from tests.e2e.harness.base import (
    applications_in,
    assert_addon_synced,
    is_chart,
    project_refusals,
    wait_synced_or_refused,
)
from tests.e2e.harness.helmrepo import HelmRepo
from tests.e2e.harness.tools import REPO_ROOT

ENV = "dev"
ROOT = REPO_ROOT / "dist" / ENV / "root.yaml"


def test_bootstrap_from_dist_syncs_and_becomes_healthy(
    isolated_cluster: Cluster, base_repo: GitRepo, helm_repo: HelmRepo, e2e_timings: Timings
) -> None:
    """The Helm-chart add-ons (cert-manager, ingress controller, CSI driver
    and provider) come from the local Helm repository; their admission
    webhooks are answered by the harness's stand-in (webhooks.py)."""
    cluster = isolated_cluster
    assert ROOT.is_file(), f"{ROOT} missing: run `make synth`"
    apps = applications_in(base_repo.path / "dist" / ENV / "argocd")
    git_apps = [n for n, a in apps.items() if n != "root" and not is_chart(a)]
    chart_apps = [n for n, a in apps.items() if is_chart(a)]
    assert git_apps, "dist/<env>/argocd has no git-sourced Applications besides root"
    assert chart_apps, "dist/<env>/argocd has no Helm-chart add-ons"
    for app in chart_apps:  # the copy points every chart at the local Helm repository
        assert apps[app]["spec"]["source"]["repoURL"].startswith(helm_repo.url), apps[app]

    t0 = time.monotonic()
    cluster.start_fake_kubelet()
    cluster.start_webhook_stand_in()
    cluster.apply(base_repo.path / "dist" / ENV / "root.yaml")
    wait_synced_or_refused(cluster, "root")
    for app in git_apps:
        wait_synced_or_refused(cluster, app)
    for app in sorted(chart_apps):
        assert_addon_synced(cluster, helm_repo, apps[app])
    e2e_timings[f"bootstrap {ENV}: apply root.yaml -> add-ons Synced"] = round(
        time.monotonic() - t0, 2
    )
    assert project_refusals(cluster) == []

    # Stand in for the ingress controller, cert-manager and the HPA
    # controller; then the git-sourced apps must be Healthy.
    cluster.stand_in_controllers()
    for app in git_apps:
        cluster.refresh_app(app, hard=False)
        cluster.wait_app(app, sync="Synced", health="Healthy", timeout=120)
    e2e_timings[f"bootstrap {ENV}: apply root.yaml -> git apps Synced+Healthy"] = round(
        time.monotonic() - t0, 2
    )

    # ... and stay so across a few controller resync periods.
    time.sleep(20)
    for app in git_apps:
        cluster.refresh_app(app, hard=False)
        st = cluster.wait_app(app, sync="Synced", timeout=60)
        assert st["health"] == "Healthy", st
