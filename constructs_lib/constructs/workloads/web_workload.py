"""WebWorkload: a long-running service, as a Deployment."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from constructs import Construct

from constructs_lib.constructs.workloads.workload import ReplicatedProps, Workload, WorkloadProps
from constructs_lib.model.workload_kinds import KINDS


@dataclass(frozen=True, kw_only=True)
class WebWorkloadProps(ReplicatedProps):
    """Props of WebWorkload."""


class WebWorkload(Workload):
    """A Deployment, with the Service, TlsIngress, HorizontalPodAutoscaler, PodDisruptionBudget
    and SecretProviderClass its props ask for as child constructs. The construct is the
    Deployment itself: one construct less per service keeps synth within budget at a thousand
    services."""

    KIND = KINDS["Deployment"]
    PROPS = WebWorkloadProps
    props: WebWorkloadProps

    def __init__(self, scope: Construct, id: str, *, props: WorkloadProps) -> None:
        super().__init__(scope, id, props=props)
        scaling = self.props.autoscaling
        if (scaling.max_replicas if scaling else self.props.replicas) > 1:
            self.pod_spec["topologySpreadConstraints"] = spread(self.selector)

    def _spec(self) -> dict[str, Any]:
        return {
            **self._replicas(),
            "revisionHistoryLimit": 3,
            "selector": {"matchLabels": self.selector},
        }


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
