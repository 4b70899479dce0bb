"""Compose one environment: the only code that reads the config and builds constructs' props.

config/app-config.yaml + clusters/<env>/cluster.yaml + platform/versions.yaml
    -> workloads (dist/<env>/app/), Argo CD objects (argocd/, root.yaml), K3sPlatform,
       the admission guards (root.yaml)
"""

from __future__ import annotations

from functools import cache

from constructs_lib.compose.charts import EnvCharts
from constructs_lib.compose.delivery import add_bootstrap, add_delivery
from constructs_lib.compose.deploy_status import add_deploy_status
from constructs_lib.compose.guards import add_guards
from constructs_lib.compose.layout import RenderedEnv
from constructs_lib.compose.platform import add_platform
from constructs_lib.compose.workloads import add_workloads
from constructs_lib.constructs.platform.k3s_platform import PlatformScopes
from constructs_lib.model.clusters import ClusterSettings
from constructs_lib.model.config import AppConfig
from constructs_lib.model.versions import Versions, load_versions


@cache
def versions() -> Versions:
    """platform/versions.yaml, read once per synth."""
    return load_versions()


def build(config: AppConfig, cluster: ClusterSettings) -> RenderedEnv:
    """Render one environment."""
    charts = EnvCharts(cluster.name)
    add_workloads(charts.workloads, config, cluster)
    add_bootstrap(charts.root, config, cluster)
    add_delivery(charts.delivery, config, cluster)
    add_deploy_status(charts.root, config, cluster)
    scopes = PlatformScopes(
        delivery=charts.delivery, cluster=charts.platform, bootstrap=charts.root
    )
    platform = add_platform(charts.app, scopes, config, cluster, versions())
    add_guards(charts.root, config, cluster, platform)
    return charts.render()
