"""CronWorkload: scheduled work, as a CronJob."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from constructs_lib.constructs.workloads.job_workload import job_spec
from constructs_lib.constructs.workloads.workload import Workload, WorkloadProps
from constructs_lib.model.workload_kinds import KINDS, CronJobOptions, JobOptions


@dataclass(frozen=True, kw_only=True)
class CronWorkloadProps(WorkloadProps):
    """Props of CronWorkload."""

    cronjob: CronJobOptions
    """The schedule, and how runs overlap or start late."""
    job: JobOptions = field(default_factory=JobOptions)
    """How each Job it starts runs its pod. @default JobOptions' defaults"""


class CronWorkload(Workload):
    """A CronJob, with its SecretProviderClass as a child construct. The construct is the
    CronJob itself."""

    KIND = KINDS["CronJob"]
    PROPS = CronWorkloadProps
    props: CronWorkloadProps

    @property
    def restart_policy(self) -> str | None:
        return self.props.job.restart_policy

    def _spec(self) -> dict[str, Any]:
        options = self.props.cronjob
        self.job_spec = job_spec(self.props.job)
        spec: dict[str, Any] = {
            "schedule": options.schedule,
            "concurrencyPolicy": options.concurrency_policy,
            "successfulJobsHistoryLimit": options.successful_jobs_history_limit,
            "failedJobsHistoryLimit": options.failed_jobs_history_limit,
            "suspend": options.suspend,
        }
        if options.time_zone:
            spec["timeZone"] = options.time_zone
        if options.starting_deadline_seconds is not None:
            spec["startingDeadlineSeconds"] = options.starting_deadline_seconds
        spec["jobTemplate"] = {"metadata": {"labels": self.labels}, "spec": self.job_spec}
        return spec

    def _template_parent(self) -> dict[str, Any]:
        return self.job_spec
