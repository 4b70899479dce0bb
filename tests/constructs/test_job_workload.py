from __future__ import annotations

from typing import Any

from constructs import Construct

from constructs_lib.constructs.workloads.job_workload import JobWorkload
from constructs_lib.constructs.workloads.workload import Workload
from tests.support import find, kinds
from tests.support.constructs import service, synth, workload_props


def job(scope: Construct, svc: Any) -> JobWorkload:
    return JobWorkload(scope, "j", props=workload_props(JobWorkload, svc))


def test_job_is_replaced_when_its_template_changes() -> None:
    svc = service(
        name="migrate", type="Job", ports=[], job={"restart_policy": "Never", "backoff_limit": 0}
    )
    out = synth(lambda c: job(c, svc))
    assert kinds(out) == [("Job", "migrate")]
    rendered = find(out, "Job", "migrate")
    assert rendered["metadata"]["annotations"] == {
        "argocd.argoproj.io/sync-options": "Force=true,Replace=true"
    }
    assert rendered["spec"]["backoffLimit"] == 0
    assert "activeDeadlineSeconds" not in rendered["spec"]
    assert rendered["spec"]["template"]["spec"]["restartPolicy"] == "Never"


def test_the_job_options_default_to_theirs() -> None:
    spec = find(
        synth(lambda c: job(c, service(name="migrate", type="Job", ports=[]))), "Job", "migrate"
    )["spec"]
    assert spec["backoffLimit"] == 2
    assert spec["template"]["spec"]["restartPolicy"] == "OnFailure"


def test_a_job_gets_no_service_for_its_ports() -> None:
    out = synth(lambda c: job(c, service(name="migrate", type="Job")))
    assert kinds(out) == [("Job", "migrate")]


def test_renders_the_job_kind() -> None:
    assert Workload.for_kind("Job") is JobWorkload
