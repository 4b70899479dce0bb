"""CronWorkload: scheduled work (CronJob) or one-off work (Job)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from constructs import Construct

from constructs_lib.constructs.infisical_secret_mount import (
    InfisicalSecretMount,
    InfisicalSecretMountProps,
)
from constructs_lib.constructs.kube_object import KubeObject
from constructs_lib.constructs.labels import standard_labels
from constructs_lib.constructs.pod_template import PodTemplateProps, pod_template

# A Job's pod template is immutable: Argo CD must replace the Job when the template changes.
JOB_SYNC_OPTIONS = {"argocd.argoproj.io/sync-options": "Force=true,Replace=true"}


@dataclass(frozen=True)
class CronWorkloadProps:
    """Props of CronWorkload."""

    app: str
    namespace: str
    pod: PodTemplateProps
    secrets: InfisicalSecretMountProps | None = None
    """Mount Infisical secrets. @default no secrets"""


class CronWorkload(KubeObject):
    """A CronJob (service type CronJob) or a Job (service type Job), with its
    SecretProviderClass as a child construct. The construct is the CronJob or Job itself."""

    def __init__(self, scope: Construct, id: str, *, props: CronWorkloadProps) -> None:
        service = props.pod.service
        if service.type not in ("CronJob", "Job"):
            raise ValueError(
                f"CronWorkload '{service.name}': type is {service.type}, not CronJob or Job"
            )
        self.service_name = service.name
        self.labels = standard_labels(props.app, service.name)
        job_spec: dict[str, Any] = {"backoffLimit": service.backoff_limit}
        if service.active_deadline_seconds is not None:
            job_spec["activeDeadlineSeconds"] = service.active_deadline_seconds
        annotations: dict[str, str] = {}
        if service.type == "Job":
            spec = job_spec
            annotations = dict(JOB_SYNC_OPTIONS)
        else:
            spec = {
                "schedule": service.schedule,
                "concurrencyPolicy": service.concurrency_policy,
                "successfulJobsHistoryLimit": service.successful_jobs_history_limit,
                "failedJobsHistoryLimit": service.failed_jobs_history_limit,
                "suspend": service.suspend,
            }
            if service.time_zone:
                spec["timeZone"] = service.time_zone
            if service.starting_deadline_seconds is not None:
                spec["startingDeadlineSeconds"] = service.starting_deadline_seconds
            spec["jobTemplate"] = {"metadata": {"labels": self.labels}, "spec": job_spec}
        super().__init__(
            scope,
            id,
            api_version="batch/v1",
            kind=service.type,
            name=service.name,
            namespace=props.namespace,
            labels=self.labels,
            annotations=annotations,
            body={"spec": spec},
        )
        self.secret_mount = (
            InfisicalSecretMount(self, "Secrets", props=props.secrets) if props.secrets else None
        )
        job_spec["template"] = pod_template(
            props.pod, self.secret_mount, restart_policy=service.restart_policy
        )
