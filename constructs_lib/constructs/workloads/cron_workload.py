"""CronWorkload: scheduled work, as a CronJob."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from constructs_lib.constructs.workloads.job_workload import JobWorkload, JobWorkloadProps
from constructs_lib.model.workload_kinds import KINDS, CronJobOptions


@dataclass(frozen=True, kw_only=True)
class CronWorkloadProps(JobWorkloadProps):
    """Props of CronWorkload: the Job it starts (JobWorkloadProps), and when."""

    cronjob: CronJobOptions
    """The schedule, and how runs overlap or start late."""


class CronWorkload(JobWorkload):
    """A CronJob: the Job a JobWorkload renders, as its jobTemplate, started on a schedule;
    with its SecretProviderClass as a child construct. The construct is the CronJob itself."""

    KIND = KINDS["CronJob"]
    PROPS = CronWorkloadProps
    props: CronWorkloadProps

    def _spec(self) -> dict[str, Any]:
        options = self.props.cronjob
        self.job_spec = super()._spec()
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

    def _annotations(self) -> dict[str, str]:
        return {}  # a CronJob's template may change: its next Job takes it
