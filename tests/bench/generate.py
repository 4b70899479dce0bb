"""Generated configs of any size, shaped like real ones, for benchmarks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]


def service(i: int) -> dict[str, Any]:
    """Mix: every service has a Service; 3 in 4 an Ingress; 1 in 4 secrets; 1 in 10 is a CronJob."""
    name = f"svc-{i:04d}"
    image = {"repository": f"ghcr.io/example/{name}", "tag": f"1.{i}.0"}
    resources = {
        "requests": {"cpu": "50m", "memory": "64Mi"},
        "limits": {"cpu": "500m", "memory": "256Mi"},
    }
    if i % 10 == 9:
        return {
            "name": name,
            "type": "CronJob",
            "image": image,
            "cronjob": {"schedule": "0 3 * * *"},
            "resources": resources,
        }
    entry: dict[str, Any] = {
        "name": name,
        "image": image,
        "replicas": 2,
        "ports": [{"name": "http", "container_port": 8080, "service_port": 80}],
        "probes": {"readiness": {"http": {"path": "/healthz", "port": "http"}}},
        "resources": resources,
        "env": {"LOG_LEVEL": "info"},
    }
    if i % 4 != 3:
        entry["ingress"] = {"hosts": [f"{name}.example.com"]}
    if i % 4 == 0:
        entry["secrets"] = [{"key": "DATABASE_URL", "path": f"/{name}", "env": "DATABASE_URL"}]
    return entry


def config(services: int) -> dict[str, Any]:
    base: dict[str, Any] = yaml.safe_load((ROOT / "config" / "app-config.yaml").read_text())
    base["services"] = [service(i) for i in range(services)]
    return base


def write_workspace(path: Path, services: int) -> Path:
    """config/ and clusters/ for a generated app; returns the config file."""
    (path / "config").mkdir(parents=True)
    target = path / "config" / "app-config.yaml"
    target.write_text(yaml.safe_dump(config(services), sort_keys=False))
    clusters = path / "clusters"
    for env_dir in sorted((ROOT / "clusters").glob("*/cluster.yaml")):
        (clusters / env_dir.parent.name).mkdir(parents=True)
        (clusters / env_dir.parent.name / "cluster.yaml").write_text(env_dir.read_text())
    return target
