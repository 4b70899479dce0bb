"""CronWorkload: scheduled work (a CronJob) or one-off work (a Job)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from constructs_lib.constructs.workloads.workload import Workload, WorkloadProps

# A Job's pod template is immutable: Argo CD must replace the Job when the template changes.
JOB_SYNC_OPTIONS = {"argocd.argoproj.io/sync-options": "Force=true,Replace=true"}


@dataclass(frozen=True, kw_only=True)
class CronWorkloadProps(WorkloadProps):
    """Props of CronWorkload."""

    type: Literal["CronJob", "Job"] = "CronJob"
    """@default CronJob"""
    schedule: str | None = None
    """Cron schedule; required for a CronJob."""
    time_zone: str | None = None
    """IANA time zone of the schedule. @default the controller's (UTC on k3s)"""
    concurrency_policy: str = "Forbid"
    """@default Forbid"""
    successful_jobs_history_limit: int = 3
    failed_jobs_history_limit: int = 1
    starting_deadline_seconds: int | None = None
    """@default no deadline"""
    suspend: bool = False
    backoff_limit: int = 2
    """Retries of a failed Job. @default 2"""
    active_deadline_seconds: int | None = None
    """@default no deadline"""
    restart_policy: Literal["OnFailure", "Never"] = "OnFailure"
    """@default OnFailure"""


class CronWorkload(Workload):
    """A CronJob or a Job, with its SecretProviderClass as a child construct. The construct is
    the CronJob or Job itself."""

    TYPES = ("CronJob", "Job")
    PROPS = CronWorkloadProps
    KINDS = (("batch", "CronJob"), ("batch", "Job"))
    API_VERSION: ClassVar[str] = "batch/v1"
    props: CronWorkloadProps

    @property
    def kind(self) -> str:
        return self.props.type

    @property
    def max_pods(self) -> int:
        return 1

    @property
    def restart_policy(self) -> str | None:
        return self.props.restart_policy

    def _spec(self) -> dict[str, Any]:
        props = self.props
        if props.type not in self.TYPES:
            raise ValueError(
                f"CronWorkload '{props.name}': type is {props.type}, not CronJob or Job"
            )
        if props.type == "CronJob" and not props.schedule:
            raise ValueError(f"CronWorkload '{props.name}': a CronJob needs a schedule")
        self.job_spec: dict[str, Any] = {"backoffLimit": props.backoff_limit}
        if props.active_deadline_seconds is not None:
            self.job_spec["activeDeadlineSeconds"] = props.active_deadline_seconds
        if props.type == "Job":
            return self.job_spec
        spec: dict[str, Any] = {
            "schedule": props.schedule,
            "concurrencyPolicy": props.concurrency_policy,
            "successfulJobsHistoryLimit": props.successful_jobs_history_limit,
            "failedJobsHistoryLimit": props.failed_jobs_history_limit,
            "suspend": props.suspend,
        }
        if props.time_zone:
            spec["timeZone"] = props.time_zone
        if props.starting_deadline_seconds is not None:
            spec["startingDeadlineSeconds"] = props.starting_deadline_seconds
        spec["jobTemplate"] = {"metadata": {"labels": self.labels}, "spec": self.job_spec}
        return spec

    def _template_parent(self) -> dict[str, Any]:
        return self.job_spec

    def _annotations(self) -> dict[str, str]:
        return dict(JOB_SYNC_OPTIONS) if self.props.type == "Job" else {}
