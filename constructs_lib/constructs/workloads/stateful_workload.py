"""StatefulWorkload: a service whose pods keep their identity, as a StatefulSet."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from constructs_lib.constructs.workloads.workload import Workload, WorkloadProps


@dataclass(frozen=True, kw_only=True)
class StatefulWorkloadProps(WorkloadProps):
    """Props of StatefulWorkload."""

    replicas: int = 1
    """Pods when there is no autoscaler. @default 1"""


class StatefulWorkload(Workload):
    """A StatefulSet whose `serviceName` is its own Service (pods get stable DNS names
    `<name>-0.<name>`), with the same children as WebWorkload. Pods are replaced one at a time
    (RollingUpdate), so it never runs more than its replica count."""

    TYPES = ("StatefulSet",)
    PROPS = StatefulWorkloadProps
    KINDS = (("apps", "StatefulSet"),)
    SCALABLE = True
    SERVES = True
    API_VERSION: ClassVar[str] = "apps/v1"
    props: StatefulWorkloadProps

    @property
    def kind(self) -> str:
        return "StatefulSet"

    @property
    def max_pods(self) -> int:
        scaling = self.props.autoscaling
        return scaling.max_replicas if scaling else self.props.replicas

    def _spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = {}
        if self.props.autoscaling is None:
            spec["replicas"] = self.props.replicas
        spec["revisionHistoryLimit"] = 3
        spec["serviceName"] = self.props.name
        spec["selector"] = {"matchLabels": self.selector}
        return spec
