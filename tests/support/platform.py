"""Render K3sPlatform alone, for the unit tests of its parts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from constructs_lib.compose.charts import EnvCharts
from constructs_lib.compose.platform import add_platform, platform_settings
from constructs_lib.compose.workloads import add_workloads
from constructs_lib.constructs.kube_object import synthesize
from constructs_lib.constructs.platform.k3s_platform import PlatformScopes
from constructs_lib.constructs.workloads import Workload
from constructs_lib.model.addons import PlatformSettings
from constructs_lib.model.clusters import ClusterSettings
from constructs_lib.model.config import AppConfig
from constructs_lib.model.versions import load_versions

Manifest = dict[str, Any]


@dataclass
class Rendered:
    delivery: list[Manifest]
    cluster: list[Manifest]
    bootstrap: list[Manifest]

    @property
    def all(self) -> list[Manifest]:
        return self.delivery + self.cluster + self.bootstrap

    def find(self, kind: str, name: str) -> Manifest:
        found = [m for m in self.all if m["kind"] == kind and m["metadata"]["name"] == name]
        assert len(found) == 1, f"{len(found)} {kind} '{name}'"
        return found[0]

    def names(self, kind: str) -> list[str]:
        return sorted(m["metadata"]["name"] for m in self.all if m["kind"] == kind)


def dev_settings() -> PlatformSettings:
    """The platform settings of the shipped dev environment, which keeps every default: the
    add-ons every environment installs unless it says otherwise."""
    from tests.support import load_cluster, load_config

    return platform_settings(load_config(), load_cluster("dev"))


def render_workloads(config: AppConfig, cluster: ClusterSettings) -> list[Workload]:
    """The app's workload constructs, as the composition builds them."""
    return add_workloads(EnvCharts(cluster.name).workloads, config, cluster)


def render_platform(config: AppConfig, cluster: ClusterSettings) -> Rendered:
    charts = EnvCharts(cluster.name)
    add_workloads(charts.workloads, config, cluster)
    scopes = PlatformScopes(
        delivery=charts.delivery, cluster=charts.platform, bootstrap=charts.root
    )
    add_platform(charts.app, scopes, config, cluster, load_versions())
    return Rendered(
        synthesize(charts.delivery), synthesize(charts.platform), synthesize(charts.root)
    )
