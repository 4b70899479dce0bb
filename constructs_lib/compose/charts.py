"""The cdk8s charts of one environment, one per place its objects are delivered from."""

from __future__ import annotations

import cdk8s

from constructs_lib.compose.layout import APP, ARGOCD, PLATFORM, ROOT_ORDER, RenderedEnv
from constructs_lib.constructs.kube_object import synthesize


class EnvCharts:
    """One cdk8s chart per place an object is delivered from: a dist/ folder or root.yaml."""

    def __init__(self, env: str) -> None:
        self.env = env
        self.app = cdk8s.App()
        self.workloads = self._chart(APP)
        self.root = self._chart("bootstrap")
        self.delivery = self._chart(ARGOCD)
        self.platform = self._chart(PLATFORM)

    def _chart(self, id: str) -> cdk8s.Chart:
        return cdk8s.Chart(self.app, id, disable_resource_name_hashes=True)

    def render(self) -> RenderedEnv:
        return RenderedEnv(
            name=self.env,
            folders={
                APP: synthesize(self.workloads),
                ARGOCD: synthesize(self.delivery),
                PLATFORM: synthesize(self.platform),
            },
            root=sorted(synthesize(self.root), key=lambda m: ROOT_ORDER.index(m["kind"])),
        )
