"""Journey: bootstrap an environment from the base's committed dist/.

A git copy of this repository is served to Argo CD over file://; applying
dist/<env>/root.yaml (the bootstrap AppProject + root Application) must be
all a cluster needs: root syncs the AppProjects and Applications, and every
git-sourced Application syncs and, with a stand-in kubelet and ingress
controller, becomes Healthy.
"""

from __future__ import annotations

import time

from tests.e2e.harness import Cluster, GitRepo, Timings
from tests.e2e.harness.base import applications_in, is_chart, wait_synced_or_refused
from tests.e2e.harness.tools import REPO_ROOT

ENV = "dev"
ROOT = REPO_ROOT / "dist" / ENV / "root.yaml"


def test_bootstrap_from_dist_syncs_and_becomes_healthy(
    isolated_cluster: Cluster, base_repo: GitRepo, e2e_timings: Timings
) -> None:
    """Helm-chart add-ons (cert-manager, ingress controller, CSI driver...)
    cannot be fetched here (no network, no helm); they must exist, but only
    the git-sourced Applications are required to sync and become Healthy."""
    cluster = isolated_cluster
    assert ROOT.is_file(), f"{ROOT} missing: run `make synth`"
    apps = applications_in(base_repo.path / "dist" / ENV / "argocd")
    git_apps = [n for n, a in apps.items() if n != "root" and not is_chart(a)]
    chart_apps = [n for n, a in apps.items() if is_chart(a)]
    assert git_apps, "dist/<env>/argocd has no git-sourced Applications besides root"

    t0 = time.monotonic()
    cluster.start_fake_kubelet()
    cluster.apply(base_repo.path / "dist" / ENV / "root.yaml")
    wait_synced_or_refused(cluster, "root")
    for app in git_apps:
        wait_synced_or_refused(cluster, app)
    for app in chart_apps:
        assert cluster.app(app) is not None, f"root did not create Application {app}"

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
