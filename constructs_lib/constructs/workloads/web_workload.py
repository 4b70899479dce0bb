"""WebWorkload: a long-running service, as a Deployment."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from constructs_lib.constructs.workloads.workload import Workload, WorkloadProps, surge


@dataclass(frozen=True, kw_only=True)
class WebWorkloadProps(WorkloadProps):
    """Props of WebWorkload."""

    replicas: int = 1
    """Pods when there is no autoscaler. @default 1"""


class WebWorkload(Workload):
    """A Deployment, with the Service, TlsIngress, HorizontalPodAutoscaler, PodDisruptionBudget
    and SecretProviderClass its props ask for as child constructs. The construct is the
    Deployment itself: one construct less per service keeps synth within budget at a thousand
    services."""

    TYPES = ("Deployment",)
    PROPS = WebWorkloadProps
    KINDS = (("apps", "Deployment"),)
    SCALABLE = True
    SERVES = True
    API_VERSION: ClassVar[str] = "apps/v1"
    props: WebWorkloadProps

    @property
    def kind(self) -> str:
        return "Deployment"

    @property
    def max_pods(self) -> int:
        """Full autoscale plus a rolling update's surge."""
        scaling = self.props.autoscaling
        replicas = scaling.max_replicas if scaling else self.props.replicas
        return replicas + surge(replicas)

    def _spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = {}
        # With an autoscaler, the HPA owns the replica count; Git must not fight it.
        if self.props.autoscaling is None:
            spec["replicas"] = self.props.replicas
        spec["revisionHistoryLimit"] = 3
        spec["selector"] = {"matchLabels": self.selector}
        return spec
