from __future__ import annotations

from typing import Any

from constructs import Construct

from constructs_lib.constructs.workloads.cron_workload import CronWorkload
from constructs_lib.constructs.workloads.workload import Workload
from tests.support import find
from tests.support.constructs import service, synth, workload_props


def cron(scope: Construct, svc: Any) -> CronWorkload:
    return CronWorkload(scope, "c", props=workload_props(CronWorkload, svc))


def test_cronjob_schedule_concurrency_and_history() -> None:
    svc = service(
        name="report",
        type="CronJob",
        ports=[],
        cronjob={
            "schedule": "30 2 * * *",
            "time_zone": "Europe/Paris",
            "concurrency_policy": "Replace",
            "successful_jobs_history_limit": 1,
            "failed_jobs_history_limit": 2,
        },
    )
    job = find(synth(lambda c: cron(c, svc)), "CronJob", "report")
    spec = job["spec"]
    assert spec["schedule"] == "30 2 * * *"
    assert spec["timeZone"] == "Europe/Paris"
    assert spec["concurrencyPolicy"] == "Replace"
    assert (spec["successfulJobsHistoryLimit"], spec["failedJobsHistoryLimit"]) == (1, 2)
    assert spec["startingDeadlineSeconds"] == 300  # the option's default
    assert spec["suspend"] is False
    pod = spec["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "OnFailure"
    assert pod["securityContext"]["runAsNonRoot"] is True


def test_its_jobs_take_the_job_options() -> None:
    svc = service(
        name="report",
        type="CronJob",
        ports=[],
        cronjob={"schedule": "@daily", "starting_deadline_seconds": None},
        job={"backoff_limit": 0, "active_deadline_seconds": 600, "restart_policy": "Never"},
    )
    spec = find(synth(lambda c: cron(c, svc)), "CronJob", "report")["spec"]
    assert "startingDeadlineSeconds" not in spec
    job = spec["jobTemplate"]["spec"]
    assert (job["backoffLimit"], job["activeDeadlineSeconds"]) == (0, 600)
    assert job["template"]["spec"]["restartPolicy"] == "Never"


def test_renders_the_cronjob_kind() -> None:
    assert Workload.for_kind("CronJob") is CronWorkload
