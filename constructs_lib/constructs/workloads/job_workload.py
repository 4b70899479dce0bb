"""JobWorkload: one-off work, as a Job."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from constructs_lib.constructs.workloads.workload import Workload, WorkloadProps
from constructs_lib.model.names import SYNC_OPTIONS
from constructs_lib.model.workload_kinds import KINDS, JobOptions

# A Job's pod template is immutable: Argo CD must replace the Job when the template changes.
JOB_SYNC_OPTIONS = {SYNC_OPTIONS: "Force=true,Replace=true"}


@dataclass(frozen=True, kw_only=True)
class JobWorkloadProps(WorkloadProps):
    """Props of JobWorkload."""

    job: JobOptions = field(default_factory=JobOptions)
    """Retries, deadline and restart policy of the pod. @default JobOptions' defaults"""


class JobWorkload(Workload):
    """A Job, with its SecretProviderClass as a child construct. The construct is the Job
    itself; Argo CD replaces it when its pod template changes."""

    KIND = KINDS["Job"]
    PROPS: ClassVar[type[WorkloadProps]] = JobWorkloadProps
    props: JobWorkloadProps

    @property
    def restart_policy(self) -> str | None:
        return self.props.job.restart_policy

    def _spec(self) -> dict[str, Any]:
        options = self.props.job
        spec: dict[str, Any] = {"backoffLimit": options.backoff_limit}
        if options.active_deadline_seconds is not None:
            spec["activeDeadlineSeconds"] = options.active_deadline_seconds
        return spec

    def _annotations(self) -> dict[str, str]:
        return dict(JOB_SYNC_OPTIONS)
