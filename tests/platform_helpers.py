"""Render K3sPlatform alone, for the unit tests of its parts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cdk8s

from constructs_lib.constructs.kube_object import synthesize
from constructs_lib.constructs.platform.k3s_platform import K3sPlatform, K3sPlatformProps
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


def render_platform(config: AppConfig, cluster: ClusterSettings) -> Rendered:
    app = cdk8s.App()
    platform = K3sPlatform(
        app,
        "platform",
        props=K3sPlatformProps(config=config, cluster=cluster, versions=load_versions()),
    )
    return Rendered(
        synthesize(platform.delivery), synthesize(platform.cluster), synthesize(platform.bootstrap)
    )
