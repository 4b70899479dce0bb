from __future__ import annotations

from typing import Any

from constructs import Construct

from constructs_lib.compose.workloads import app_kinds
from constructs_lib.constructs.workloads import Workload
from constructs_lib.constructs.workloads.stateful_workload import StatefulWorkload
from constructs_lib.model.addons import Kind
from tests.support import find, kinds
from tests.support.constructs import service, synth, workload_props


def stateful(scope: Construct, svc: Any, **props: Any) -> StatefulWorkload:
    return StatefulWorkload(scope, "db", props=workload_props(StatefulWorkload, svc, **props))


def test_statefulset_with_its_governing_service() -> None:
    out = synth(lambda c: stateful(c, service(name="db", type="StatefulSet", replicas=3)))
    assert sorted(kinds(out)) == [("Service", "db"), ("StatefulSet", "db")]
    spec = find(out, "StatefulSet", "db")["spec"]
    assert spec["replicas"] == 3
    assert spec["serviceName"] == "db"
    assert spec["selector"]["matchLabels"] == find(out, "Service", "db")["spec"]["selector"]
    pod = spec["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["containers"][0]["securityContext"]["readOnlyRootFilesystem"] is True


def test_autoscaler_targets_the_statefulset() -> None:
    svc = service(
        name="db",
        type="StatefulSet",
        resources={"requests": {"cpu": "100m"}},
        autoscaling={"min_replicas": 2, "max_replicas": 4},
    )
    out = synth(lambda c: stateful(c, svc))
    assert "replicas" not in find(out, "StatefulSet", "db")["spec"]
    target = find(out, "HorizontalPodAutoscaler", "db")["spec"]["scaleTargetRef"]
    assert target == {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "db"}


def test_registered_and_allowed_in_the_app_project() -> None:
    assert Workload.for_kind("StatefulSet") is StatefulWorkload
    assert Kind("apps", "StatefulSet") in app_kinds()
