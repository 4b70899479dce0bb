from __future__ import annotations

from typing import Any

from constructs import Construct

from constructs_lib.constructs.workloads import Workload
from constructs_lib.constructs.workloads.web_workload import WebWorkload
from constructs_lib.constructs.workloads.workload import IngressProps
from tests.support import find, kinds
from tests.support.constructs import service, synth, workload_props


def web(scope: Construct, svc: Any, **props: Any) -> WebWorkload:
    return WebWorkload(
        scope,
        "web",
        props=workload_props(WebWorkload, svc, **props),
    )


def container(deployment: dict[str, Any]) -> dict[str, Any]:
    containers: list[dict[str, Any]] = deployment["spec"]["template"]["spec"]["containers"]
    return containers[0]


def test_deployment_and_service_by_default() -> None:
    out = synth(lambda c: web(c, service()))
    assert kinds(out) == [("Deployment", "web"), ("Service", "web")]
    svc = find(out, "Service", "web")
    assert svc["spec"]["ports"] == [
        {"name": "http", "port": 80, "protocol": "TCP", "targetPort": "http"}
    ]
    assert (
        svc["spec"]["selector"] == find(out, "Deployment", "web")["spec"]["selector"]["matchLabels"]
    )


def test_pods_are_restricted_by_default() -> None:
    deployment = find(synth(lambda c: web(c, service())), "Deployment", "web")
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"] == {
        "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert pod["automountServiceAccountToken"] is False
    assert container(deployment)["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "privileged": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert {"name": "tmp", "mountPath": "/tmp"} in container(deployment)["volumeMounts"]


def test_explicit_fields_loosen_security() -> None:
    svc = service(
        security={
            "read_only_root_filesystem": False,
            "automount_service_account_token": True,
            "add_capabilities": ["NET_BIND_SERVICE"],
            "run_as_user": 1000,
        }
    )
    deployment = find(synth(lambda c: web(c, svc)), "Deployment", "web")
    pod = deployment["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is True
    assert pod["securityContext"]["runAsUser"] == 1000
    context = container(deployment)["securityContext"]
    assert context["readOnlyRootFilesystem"] is False
    assert context["capabilities"] == {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}


def test_selector_uses_stable_labels_only() -> None:
    deployment = find(synth(lambda c: web(c, service())), "Deployment", "web")
    assert deployment["spec"]["selector"] == {
        "matchLabels": {"app.kubernetes.io/name": "web", "app.kubernetes.io/instance": "shop"}
    }
    assert deployment["metadata"]["labels"] == {
        "app.kubernetes.io/name": "web",
        "app.kubernetes.io/instance": "shop",
        "app.kubernetes.io/part-of": "shop",
        "app.kubernetes.io/managed-by": "gitops-base",
    }


def test_moving_the_construct_changes_nothing() -> None:
    flat = synth(lambda c: web(c, service()))
    nested = synth(lambda c: web(Construct(Construct(c, "team"), "refactored"), service()))
    assert flat == nested


def test_autoscaler_owns_replicas() -> None:
    svc = service(
        resources={"requests": {"cpu": "100m"}}, autoscaling={"min_replicas": 2, "max_replicas": 5}
    )
    out = synth(lambda c: web(c, svc))
    assert "replicas" not in find(out, "Deployment", "web")["spec"]
    hpa = find(out, "HorizontalPodAutoscaler", "web")
    assert hpa["spec"]["minReplicas"] == 2
    assert hpa["spec"]["maxReplicas"] == 5
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "web",
    }
    assert hpa["spec"]["metrics"][0]["resource"] == {
        "name": "cpu",
        "target": {"type": "Utilization", "averageUtilization": 80},
    }


def test_replicas_from_config_without_autoscaler() -> None:
    deployment = find(synth(lambda c: web(c, service(replicas=3))), "Deployment", "web")
    assert deployment["spec"]["replicas"] == 3


def test_disruption_budget_selects_the_pods() -> None:
    out = synth(lambda c: web(c, service(disruption_budget={"max_unavailable": "25%"})))
    pdb = find(out, "PodDisruptionBudget", "web")
    assert pdb["spec"] == {
        "maxUnavailable": "25%",
        "selector": find(out, "Deployment", "web")["spec"]["selector"],
        "unhealthyPodEvictionPolicy": "AlwaysAllow",
    }


def test_no_service_without_ports_or_when_disabled() -> None:
    assert kinds(synth(lambda c: web(c, service(ports=[])))) == [("Deployment", "web")]
    assert kinds(synth(lambda c: web(c, service(), create_service=False))) == [
        ("Deployment", "web")
    ]


def test_ingress_routes_to_the_service() -> None:
    svc = service(ingress={"hosts": ["shop.example.com"]})
    ingress = IngressProps(
        hosts=("shop.dev.example.com",),
        tls=True,
        cluster_issuer="letsencrypt-staging",
        ingress_class_name="nginx",
        paths=("/",),
        tls_secret_name="web-tls",  # pragma: allowlist secret
    )
    out = synth(lambda c: web(c, svc, ingress=ingress))
    rule = find(out, "Ingress", "web")["spec"]["rules"][0]
    assert rule["host"] == "shop.dev.example.com"
    assert rule["http"]["paths"][0]["backend"] == {
        "service": {"name": "web", "port": {"name": "http"}}
    }


def test_expose_via_service_returns_the_service() -> None:
    created: list[Any] = []
    synth(lambda c: created.append(web(c, service(), create_service=False).expose_via_service()))
    assert created[0].kind == "Service"
    assert created[0].name == "web"


def test_probes_resources_and_env() -> None:
    svc = service(
        probes={"readiness": {"http": {"path": "/healthz", "port": "http"}, "period_seconds": 5}},
        resources={"requests": {"cpu": "100m"}, "limits": {"memory": "128Mi"}},
        env={"B": "2", "A": "1"},
        command=["/bin/web"],
    )
    c = container(find(synth(lambda s: web(s, svc)), "Deployment", "web"))
    assert c["readinessProbe"] == {
        "httpGet": {"path": "/healthz", "port": "http"},
        "periodSeconds": 5,
    }
    assert c["resources"] == {"requests": {"cpu": "100m"}, "limits": {"memory": "128Mi"}}
    assert c["env"] == [{"name": "B", "value": "2"}, {"name": "A", "value": "1"}]
    assert c["command"] == ["/bin/web"]


def test_renders_the_deployment_kind() -> None:
    assert Workload.for_kind("Deployment") is WebWorkload
