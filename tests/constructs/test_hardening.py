"""Hardening the Kubernetes linters flag, each with its effect on the rendered objects."""

from __future__ import annotations

from typing import Any

from constructs_lib.compose.build import build
from constructs_lib.model.clusters import ClusterSettings
from constructs_lib.model.config import AppConfig
from constructs_lib.render.schema_check import validate_manifest
from tests.support import with_changes


def app_objects(config: AppConfig, cluster: ClusterSettings) -> dict[tuple[str, str], Any]:
    env = build(config, cluster)
    return {(m["kind"], m["metadata"]["name"]): m for m in env.folders["app"]}


def pod_spec(obj: dict[str, Any]) -> dict[str, Any]:
    if obj["kind"] == "CronJob":
        spec: dict[str, Any] = obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    else:
        spec = obj["spec"]["template"]["spec"]
    return spec


def test_disruption_budgets_never_block_a_drain_on_unhealthy_pods(
    config: AppConfig, cluster: ClusterSettings
) -> None:
    objects = app_objects(config, cluster)
    budgets = [m for (kind, _), m in objects.items() if kind == "PodDisruptionBudget"]
    assert len(budgets) == 2
    for budget in budgets:
        assert budget["spec"]["unhealthyPodEvictionPolicy"] == "AlwaysAllow"
        assert validate_manifest(budget) == []


def test_tmp_is_size_limited_and_containers_get_ephemeral_storage_defaults(
    config: AppConfig, cluster: ClusterSettings
) -> None:
    objects = app_objects(config, cluster)
    for key in [("Deployment", "web"), ("Deployment", "worker"), ("CronJob", "nightly-report")]:
        volumes = {v["name"]: v for v in pod_spec(objects[key])["volumes"]}
        assert volumes["tmp"] == {"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}}, key
    limits = build(config, cluster).folders["platform"]
    limit_range = next(m for m in limits if m["kind"] == "LimitRange")["spec"]["limits"][0]
    assert limit_range["defaultRequest"]["ephemeral-storage"] == "64Mi"
    assert limit_range["default"]["ephemeral-storage"] == "1Gi"


def test_cron_jobs_skip_runs_that_cannot_start_in_time(
    config: AppConfig, cluster: ClusterSettings
) -> None:
    job = app_objects(config, cluster)[("CronJob", "nightly-report")]
    assert job["spec"]["startingDeadlineSeconds"] == 300
    index = next(i for i, s in enumerate(config.services) if s.name == "nightly-report")
    no_deadline = with_changes(config, **{"services": _set(config, index, None)})
    job = app_objects(no_deadline, cluster)[("CronJob", "nightly-report")]
    assert "startingDeadlineSeconds" not in job["spec"]


def _set(config: AppConfig, index: int, value: int | None) -> list[dict[str, Any]]:
    services: list[dict[str, Any]] = config.model_dump(mode="json")["services"]
    services[index]["cronjob"]["starting_deadline_seconds"] = value
    return services


def test_multi_replica_deployments_spread_over_nodes_and_zones(
    config: AppConfig, cluster: ClusterSettings
) -> None:
    objects = app_objects(config, cluster)
    web = pod_spec(objects[("Deployment", "web")])  # autoscaled 2..6
    keys = [c["topologyKey"] for c in web["topologySpreadConstraints"]]
    assert keys == ["kubernetes.io/hostname", "topology.kubernetes.io/zone"]
    for constraint in web["topologySpreadConstraints"]:
        assert constraint["whenUnsatisfiable"] == "ScheduleAnyway"  # one-node k3s still works
        assert (
            constraint["labelSelector"]["matchLabels"]
            == (objects[("Deployment", "web")]["spec"]["selector"]["matchLabels"])
        )
    assert "topologySpreadConstraints" in pod_spec(objects[("Deployment", "api")])  # 2 replicas
    worker = pod_spec(objects[("Deployment", "worker")])  # 1 replica
    assert "topologySpreadConstraints" not in worker
    assert validate_manifest(objects[("Deployment", "web")]) == []
