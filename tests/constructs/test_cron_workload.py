from __future__ import annotations

from typing import Any

import pytest
from constructs import Construct

from constructs_lib.constructs.workloads.cron_workload import CronWorkload
from tests.support import find, kinds
from tests.support.constructs import service, synth, workload_props


def cron(scope: Construct, svc: Any) -> CronWorkload:
    return CronWorkload(scope, "c", props=workload_props(CronWorkload, svc))


def test_cronjob_schedule_concurrency_and_history() -> None:
    svc = service(
        name="report",
        type="CronJob",
        schedule="30 2 * * *",
        ports=[],
        time_zone="Europe/Paris",
        concurrency_policy="Replace",
        successful_jobs_history_limit=1,
        failed_jobs_history_limit=2,
        starting_deadline_seconds=300,
    )
    job = find(synth(lambda c: cron(c, svc)), "CronJob", "report")
    spec = job["spec"]
    assert spec["schedule"] == "30 2 * * *"
    assert spec["timeZone"] == "Europe/Paris"
    assert spec["concurrencyPolicy"] == "Replace"
    assert (spec["successfulJobsHistoryLimit"], spec["failedJobsHistoryLimit"]) == (1, 2)
    assert spec["startingDeadlineSeconds"] == 300
    assert spec["suspend"] is False
    pod = spec["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "OnFailure"
    assert pod["securityContext"]["runAsNonRoot"] is True


def test_job_is_replaced_when_its_template_changes() -> None:
    svc = service(name="migrate", type="Job", ports=[], restart_policy="Never", backoff_limit=0)
    out = synth(lambda c: cron(c, svc))
    assert kinds(out) == [("Job", "migrate")]
    job = find(out, "Job", "migrate")
    assert job["metadata"]["annotations"] == {
        "argocd.argoproj.io/sync-options": "Force=true,Replace=true"
    }
    assert job["spec"]["backoffLimit"] == 0
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"


def test_rejects_deployments() -> None:
    with pytest.raises(
        ValueError, match="CronWorkload 'web': type is Deployment, not CronJob or Job"
    ):
        synth(lambda c: cron(c, service()))
