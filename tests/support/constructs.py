"""Build a construct in a throwaway chart and return what cdk8s synthesizes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import cdk8s
from constructs import Construct

from constructs_lib.compose.workloads import pod_fields
from constructs_lib.constructs.kube_object import synthesize
from constructs_lib.constructs.workloads import Workload, WorkloadProps
from constructs_lib.model.service import Service


def synth(build: Callable[[Construct], object]) -> list[dict[str, Any]]:
    app = cdk8s.App()
    chart = cdk8s.Chart(app, "test", disable_resource_name_hashes=True)
    build(chart)
    return synthesize(chart)


def service(**fields: Any) -> Service:
    data: dict[str, Any] = {
        "name": "web",
        "image": {"repository": "ghcr.io/example/web", "tag": "1.0.0"},
        "ports": [{"name": "http", "container_port": 8080, "service_port": 80}],
    }
    data.update(fields)
    return Service.model_validate(data)


def workload_props(construct: type[Workload], svc: Service, **props: Any) -> WorkloadProps:
    """Props of `construct` for a service of the app 'shop', as the composition builds them."""
    fields = pod_fields(construct, svc, None)
    fields.update(app="shop", namespace="shop", service_account_name="shop", create_service=True)
    fields.update(props)
    return construct.PROPS(**fields)
