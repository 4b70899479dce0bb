"""Property: any payload either becomes a config that synthesizes and validates, or is
rejected with `path: message` lines, and the existing config is never left half-written."""

from __future__ import annotations

import io
import json
import runpy
import tempfile
from contextlib import redirect_stderr, redirect_stdout
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from constructs_lib.cli.main import main
from constructs_lib.model.clusters import ClusterSettings
from constructs_lib.model.config import AppConfig
from constructs_lib.model.loading import load_model
from constructs_lib.model.payload import parse_json, parse_payload, to_services
from constructs_lib.render.schema_check import (
    validate_manifest,
)
from tests.support import CONFIG, ROOT

NAMES = st.one_of(
    st.sampled_from(["api", "web", "worker", "report", "API", "bad_name", "", "-x", "a" * 64]),
    st.from_regex(r"\A[a-z][a-z0-9-]{0,10}[a-z0-9]\Z"),
)
IMAGES = st.one_of(
    st.sampled_from(
        [
            "ghcr.io/acme/api:1.2.3",
            "localhost:5000/team/app:v2",
            "nginx@sha256:" + "a" * 64,
            "ghcr.io/a/b:1@sha256:" + "b" * 64,
            "nginx",
            "ghcr.io/Acme/x:1",
            "x:1\n---\nkind: Secret",
            "",
        ]
    ),
    st.builds(lambda r, t: f"ghcr.io/acme/{r}:{t}", st.from_regex(r"\A[a-z0-9]{1,8}\Z"),
              st.from_regex(r"\A[A-Za-z0-9_][A-Za-z0-9_.-]{0,8}\Z")),
)  # fmt: skip
HOSTS = st.sampled_from(
    ["shop.example.com", "api.example.com", "x.example.org", "*.example.com",
     "https://a.example.com", "bad_host.example.com", "localhost", "UP.example.com"]
)  # fmt: skip
QUANTITIES = st.sampled_from(["100m", "1", "0.5", "128Mi", "1Gi", "2", "lots", "-1", "1e3"])
SCHEDULES = st.sampled_from(["*/5 * * * *", "@daily", "0 3 * * 1", "61 * * * *", "* *"])
ENV_NAMES = st.one_of(st.from_regex(r"\A[A-Z_][A-Z0-9_]{0,8}\Z"), st.sampled_from(["1X", "a-b"]))
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.floats(allow_nan=False))

RESOURCE_LIST = st.fixed_dictionaries({}, optional={"cpu": QUANTITIES, "memory": QUANTITIES})
SECRET = st.fixed_dictionaries(
    {"key": st.sampled_from(["DB", "TOKEN", "bad key"])},
    optional={
        "env": ENV_NAMES,
        "file": st.sampled_from(["a.pem", "b"]),
        "path": st.sampled_from(["/", "/api", "rel"]),
    },
)


APP = st.fixed_dictionaries(
    {"name": NAMES, "image": IMAGES},
    optional={
        "fqdns": st.lists(HOSTS, max_size=3),
        "fqdn": HOSTS,
        "replicas": st.one_of(st.integers(-1, 4), SCALARS, st.text(max_size=3)),
        "port": st.integers(-1, 70_000),
        "resources": st.fixed_dictionaries(
            {},
            optional={
                "requests": RESOURCE_LIST,
                "limits": RESOURCE_LIST,
            },
        ),
        "schedule": SCHEDULES,
        "env": st.dictionaries(ENV_NAMES, st.one_of(st.text(max_size=20), SCALARS), max_size=3),
        "secrets": st.lists(SECRET, max_size=2),
        "health": st.fixed_dictionaries({"path": st.sampled_from(["/healthz", "/", "no"])},
                                        optional={"port": st.integers(0, 70_000)}),
        "replica": st.integers(0, 3),
    },
)  # fmt: skip
# Apps built from valid parts only, so that a good share of examples really synthesize.
VALID_APP = st.fixed_dictionaries(
    {
        "name": st.from_regex(r"\A[a-z][a-z0-9]{0,8}\Z"),
        "image": st.sampled_from(["ghcr.io/acme/api:1.2.3", "localhost:5000/t/app:v2",
                                  "nginx@sha256:" + "a" * 64]),
    },
    optional={
        "fqdns": st.lists(st.from_regex(r"\A[a-z]{1,8}\.example\.com\Z"), max_size=2, unique=True),
        "replicas": st.integers(0, 4),
        "port": st.integers(1, 65_535),
        "env": st.dictionaries(st.from_regex(r"\A[A-Z_][A-Z0-9_]{0,8}\Z"), st.text(max_size=30),
                               max_size=3),
        "health": st.fixed_dictionaries({"path": st.sampled_from(["/healthz", "/"])}),
        "resources": st.just({"requests": {"cpu": "100m", "memory": "64Mi"},
                              "limits": {"cpu": "1", "memory": "128Mi"}}),
    },
)  # fmt: skip
PAYLOADS = st.one_of(
    st.lists(VALID_APP, min_size=1, max_size=4, unique_by=lambda a: a["name"]),
    st.fixed_dictionaries(
        {
            "deployed_apps": st.lists(
                VALID_APP, min_size=1, max_size=4, unique_by=lambda a: a["name"]
            )
        }
    ),
    st.lists(APP, max_size=4),
    st.fixed_dictionaries({"deployed_apps": st.lists(APP, max_size=4)}),
    st.one_of(SCALARS, st.text(max_size=5), st.dictionaries(st.text(max_size=3), SCALARS)),
)


@cache
def build_env() -> tuple[Any, ClusterSettings]:
    app = runpy.run_path(str(ROOT / "app.py"), run_name="gitops_app")
    return app["build"], load_model(ClusterSettings, ROOT / "clusters" / "dev" / "cluster.yaml")


def synthesize_and_validate(config: AppConfig) -> None:
    build, cluster = build_env()
    env = build(config, cluster)
    manifests = [m for folder in env.folders.values() for m in folder]
    assert any(m["kind"] in ("Deployment", "CronJob") for m in manifests)
    for manifest in manifests:
        assert validate_manifest(manifest) == [], manifest["metadata"]["name"]


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(payload=PAYLOADS)
def test_generate_writes_a_valid_config_or_rejects_cleanly(payload: Any) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        config = folder / "app-config.yaml"
        # No services to start from: generate keeps hand-set keys of apps already in the
        # config (docs/reference/deployed-apps.md), so only a fresh config's services are
        # exactly the payload's.
        fresh = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
        fresh["services"] = []
        config.write_text(yaml.safe_dump(fresh, sort_keys=False), encoding="utf-8")
        before = config.read_bytes()
        source = folder / "payload.json"
        source.write_text(json.dumps(payload), encoding="utf-8")
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            code = main(["generate", "--input", str(source), "--output", str(config)])
        assert sorted(p.name for p in folder.iterdir()) == ["app-config.yaml", "payload.json"]
        event("rejected" if code == 1 else "written")
        if code == 1:
            problems = err.getvalue().splitlines()[:-1]
            assert problems, err.getvalue()
            assert all(": " in line for line in problems)
            assert config.read_bytes() == before
            return
        assert code == 0, err.getvalue()
        written = load_model(AppConfig, config)
        expected = to_services(parse_payload(parse_json(source.read_bytes())))
        for service in expected:  # new to the config: pinned in prod, the held environment
            image = service["image"]
            image["envs"] = {"prod": {k: image[k] for k in ("tag", "digest") if k in image}}
        assert [s.model_dump(exclude_defaults=True) for s in written.services] == [
            AppConfig.model_validate({**written.model_dump(), "services": [s]})
            .services[0]
            .model_dump(exclude_defaults=True)
            for s in expected
        ]
        synthesize_and_validate(written)
