"""StatefulWorkload: a service whose pods keep their identity, as a StatefulSet."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from constructs_lib.constructs.workloads.workload import ReplicatedProps, Workload
from constructs_lib.model.workload_kinds import KINDS


@dataclass(frozen=True, kw_only=True)
class StatefulWorkloadProps(ReplicatedProps):
    """Props of StatefulWorkload."""


class StatefulWorkload(Workload):
    """A StatefulSet whose `serviceName` is its own Service (pods get stable DNS names
    `<name>-0.<name>`), with the same children as WebWorkload. Pods are replaced one at a time
    (RollingUpdate), so it never runs more than its replica count."""

    KIND = KINDS["StatefulSet"]
    PROPS = StatefulWorkloadProps
    props: StatefulWorkloadProps

    def _spec(self) -> dict[str, Any]:
        return {
            **self._replicas(),
            "revisionHistoryLimit": 3,
            "serviceName": self.props.name,
            "selector": {"matchLabels": self.selector},
        }
