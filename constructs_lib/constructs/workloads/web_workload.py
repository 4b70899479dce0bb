"""WebWorkload: a long-running service, as a Deployment."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from constructs import Construct

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

    def __init__(self, scope: Construct, id: str, *, props: WorkloadProps) -> None:
        super().__init__(scope, id, props=props)
        scaling = self.props.autoscaling
        if (scaling.max_replicas if scaling else self.props.replicas) > 1:
            self.pod_spec["topologySpreadConstraints"] = spread(self.selector)

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


def spread(selector: dict[str, str]) -> list[dict[str, Any]]:
    """Replicas spread over nodes, then zones; a preference, so a one-node cluster still
    schedules them all."""
    return [
        {
            "maxSkew": 1,
            "topologyKey": key,
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {"matchLabels": dict(selector)},
            "matchLabelKeys": ["pod-template-hash"],
        }
        for key in ("kubernetes.io/hostname", "topology.kubernetes.io/zone")
    ]
