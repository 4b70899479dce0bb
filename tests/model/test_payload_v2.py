"""deployed_apps version 2: every rule's exact message, the mapping, and what `generate` keeps."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from constructs_lib.cli.main import main
from constructs_lib.compose.charts import EnvCharts
from constructs_lib.compose.delivery import add_delivery
from constructs_lib.compose.workloads import add_workloads
from constructs_lib.constructs.kube_object import synthesize
from constructs_lib.model.config import AppConfig
from constructs_lib.model.loading import load_model
from constructs_lib.model.payload import DeployedAppV2, to_service_v2
from tests.support import FIXTURES, ROOT, load_cluster, run_cli
from tests.support.netpol_model import External, Pod, allowed
from tests.support.platform import render_platform

EXAMPLE = FIXTURES / "payloads" / "valid" / "example-v2.json"
BASE = FIXTURES / "configs" / "base.yaml"
GOLDEN = FIXTURES / "configs" / "example-v2.generated.yaml"
INVALID = sorted((FIXTURES / "payloads" / "invalid-v2").glob("*.json"))
TLS_OFF = 'expected false, true or an object {"secret_name": ...}'
OUTSIDE = (
    "'www.acme-shop.com' is not under the base domain 'example.com', so it would be the same "
    "host in every environment; list it under ingress.env_hosts.<env> for the environments "
    "that serve it"
)
WEB = "deployed_apps[0] (name 'web')"
EXPECTED: dict[str, list[str]] = {
    "cronjob_without_schedule": [
        "deployed_apps[0] (name 'report').schedule: required field is missing"
    ],
    "domain_not_the_clusters": [
        "domain: the payload's domain 'acme-shop.io' is not the base domain of the environments "
        "in clusters: dev (dev.example.com), prod (example.com), test (test.example.com) are "
        "not under it, so hosts under it would move onto unrelated domains; send the base "
        "domain they share, 'example.com', or change 'domain' in clusters/<env>/cluster.yaml "
        "first"
    ],
    # The config's rules about calls, on the payload's entry and names.
    "egress_app_itself": [f"{WEB}.egress.apps[0]: service 'web' cannot name itself"],
    "egress_app_unknown": [f"{WEB}.egress.apps[0]: no service named 'payments' to call"],
    "egress_app_without_ports": [
        f"{WEB}.egress.apps[0]: service 'worker' declares no ports to call"
    ],
    "egress_port_undeclared": [
        f"{WEB}.egress.apps[0].ports[0]: service 'api' declares no port 'metrics'"
    ],
    "external_cidr_host_bits": [
        f"{WEB}.egress.external[0].cidr: '10.0.5.7/24' has host bits set: did you mean "
        "'10.0.5.0/24'?"
    ],
    "env_hosts_unknown_env": [
        f"{WEB}.ingress.env_hosts.qa: no environment 'qa' (clusters: dev, prod, test)"
    ],
    "external_cidr_metadata": [
        f"{WEB}.egress.external[0].cidr: network: in {env}, 169.254.169.254/32 is inside "
        "169.254.0.0/16 (link-local, cloud metadata), which no egress reaches; pick a range "
        f"outside it (exception: overlays/{env}/allow.yaml naming NetworkPolicy "
        "shop/allow-external-egress-web field '/spec/egress/0/to/0/ipBlock/cidr')"
        for env in ("dev", "prod", "test")
    ],
    "external_host_and_cidr": [f"{WEB}.egress.external[0]: set exactly one of 'host' or 'cidr'"],
    "external_without_ports": [
        f"{WEB}.egress.external[0].ports: list should have at least 1 item after validation, not 0"
    ],
    "host_duplicate_across_apps": [
        "deployed_apps[1] (name 'api').ingress.hosts[0]: 'shop.example.com' is already served by "
        f"{WEB}"
    ],
    "host_outside_domain": [f"{WEB}.ingress.hosts[0]: {OUTSIDE}"],
    "ingress_on_job": [
        "deployed_apps[0] (name 'migrate').ingress: only for type Deployment or StatefulSet, "
        "not Job"
    ],
    "ingress_tls_invalid": [f"{WEB}.ingress.tls: {TLS_OFF}"],
    "resources_preset_unknown": [
        f"{WEB}.resources: no preset 'huge' in the config's defaults.resource_presets "
        "(known: small)"
    ],
    "v1_field_in_v2": [f"{WEB}.fqdn: unknown field"],
    "version_unknown": ["version: 3 is not a payload version; known: 1, 2"],
    "args_aws_key": [
        "deployed_apps[0] (name 'backup').args[2]: looks like a secret (AWS access key); "
        "deliver it through secrets[] (Infisical), or mark it with not_secret: ['args[2]'] if "
        "it is not one"
    ],
    "command_private_key": [
        "deployed_apps[0] (name 'migrate').command[1]: looks like a secret (private key); "
        "deliver it through secrets[] (Infisical), or mark it with not_secret: ['command[1]'] "
        "if it is not one"
    ],
    "ingress_path_nginx_unsafe": [
        f"{WEB}.ingress.paths[0]: ingress-nginx's strict path validation refuses path "
        "'/api/v1:batch' of service 'web' (pathType Prefix allows only letters, digits, '.', "
        "'_', '-' and '/'), and would reject the whole Ingress"
    ],
    "not_secret_names_nothing": [
        f"{WEB}.not_secret[0]: 'args[0]' names no env var, command, args or exec probe item "
        "of this workload"
    ],
}


@pytest.fixture
def base_copy(tmp_path: Path) -> Path:
    path = tmp_path / "app-config.yaml"
    shutil.copyfile(BASE, path)
    return path


def test_every_invalid_fixture_has_its_expected_message() -> None:
    assert {p.stem for p in INVALID} == set(EXPECTED)


@pytest.mark.parametrize("fixture", INVALID, ids=lambda p: p.stem)
def test_invalid_v2_payload_is_rejected_and_changes_nothing(
    fixture: Path, base_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = base_copy.read_bytes()
    assert main(["generate", "--input", str(fixture), "--output", str(base_copy)]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert lines[:-1] == EXPECTED[fixture.stem]
    assert base_copy.read_bytes() == before


def test_the_v2_example_renders_the_golden_config(base_copy: Path) -> None:
    done = run_cli("generate", "--input", EXAMPLE, "--output", base_copy)
    assert done.returncode == 0, done.stderr
    assert base_copy.read_text() == GOLDEN.read_text()
    again = run_cli("generate", "--input", EXAMPLE, "--output", base_copy)
    assert again.stdout.startswith("unchanged:"), again.stdout + again.stderr


def test_the_v2_example_creates_a_new_config_that_validates_and_synthesizes(
    tmp_path: Path,
) -> None:
    """The payload that uses every field needs nothing else: a new config starts with the
    resource presets small, medium and large, and takes the app, domain and Infisical
    connection from the payload."""
    config = tmp_path / "config" / "app-config.yaml"
    done = run_cli("generate", "--input", EXAMPLE, "--output", config)
    assert done.returncode == 0, done.stderr
    model = load_model(AppConfig, config)
    presets = model.defaults.resource_presets
    assert list(presets) == ["small", "medium", "large"]
    services = {s.name: s for s in model.services}
    assert services["web"].resources == services["worker"].resources == presets["small"]
    assert model.secrets.infisical is not None
    assert model.secrets.infisical.project_id == "6f1a5c1e-8a42-4d0b-9b0e-2f7c4d9e1a10"
    assert model.tls.issuer == "letsencrypt-staging"
    # What `make check` runs: the config and clusters, the synth, the rendered objects' schemas.
    done = run_cli("validate", config)
    assert done.returncode == 0, done.stdout
    done = run_cli("synth", "--config", config, "--output", tmp_path / "dist")
    assert done.returncode == 0, done.stderr
    check = subprocess.run(
        [sys.executable, "-m", "constructs_lib.render.schema_check", str(tmp_path / "dist")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    web = yaml.safe_load((tmp_path / "dist" / "prod" / "app" / "deployment-web.yaml").read_text())
    resources = web["spec"]["template"]["spec"]["containers"][0]["resources"]
    assert resources == {
        "requests": {"cpu": "100m", "memory": "128Mi"},
        "limits": {"cpu": "500m", "memory": "256Mi"},
    }


def test_a_new_config_without_the_infisical_connection_names_what_is_missing(
    tmp_path: Path,
) -> None:
    payload = json.loads(EXAMPLE.read_text())
    del payload["infisical"]
    source = tmp_path / "payload.json"
    source.write_text(json.dumps(payload))
    config = tmp_path / "app-config.yaml"
    done = run_cli("generate", "--input", source, "--output", config)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "deployed_apps[1] (name 'api').secrets: service 'api' declares secrets but "
        "secrets.infisical is not configured; set it in the config, in the payload's "
        "'infisical' or with --infisical-url, --infisical-project-id and --infisical-identity-id",
        f"generate: 1 problem(s); {config} was not changed",
    ]
    assert not config.exists()


def test_the_v2_example_matches_its_json_schema() -> None:
    schema = json.loads((ROOT / "config" / "deployed-apps-v2.schema.json").read_text())
    jsonschema.validate(json.loads(EXAMPLE.read_text()), schema)


def v2(app: dict[str, Any]) -> dict[str, Any]:
    return to_service_v2(DeployedAppV2.model_validate(app))


def test_an_app_without_ports_gets_no_port_and_no_service() -> None:
    service = v2({"name": "worker", "image": "ghcr.io/a/w:1"})
    assert service == {"name": "worker", "image": {"repository": "ghcr.io/a/w", "tag": "1"}}


def test_tls_false_and_a_secret_name_map_onto_the_ingress_tls() -> None:
    port = [{"name": "http", "container_port": 8080}]
    base = {"name": "web", "image": "ghcr.io/a/w:1", "ports": port}
    off = v2({**base, "ingress": {"hosts": ["a.example.com"], "tls": False}})
    assert off["ingress"] == {"hosts": ["a.example.com"], "tls": {"enabled": False}}
    named = v2({**base, "ingress": {"hosts": ["a.example.com"], "tls": {"secret_name": "c"}}})
    assert named["ingress"]["tls"] == {"enabled": True, "secret_name": "c"}


def test_calls_keep_their_ports_and_external_egress_its_ports() -> None:
    service = v2(
        {
            "name": "web",
            "image": "ghcr.io/a/w:1",
            "egress": {
                "apps": [{"name": "api", "ports": ["http"]}, {"name": "cache"}],
                "external": [{"cidr": "10.0.0.0/24", "ports": [5432]}],
            },
        }
    )
    assert service["egress"] == {
        "services": [{"name": "api", "ports": ["http"]}, "cache"],
        "external": [{"cidr": "10.0.0.0/24", "ports": [5432]}],
    }


# --- what generate keeps ---------------------------------------------------------------------


def services_of(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    return {s["name"]: s for s in data["services"]}


def write_payload(tmp_path: Path, apps: list[dict[str, Any]], version: int = 2) -> Path:
    path = tmp_path / "payload.json"
    path.write_text(json.dumps({"version": version, "deployed_apps": apps}))
    return path


def test_keys_set_by_hand_survive_a_payload_that_does_not_carry_them(
    base_copy: Path, tmp_path: Path
) -> None:
    # base.yaml's worker has args, a volume and secrets by hand; the payload says none of them.
    payload = write_payload(
        tmp_path,
        [{"name": "worker", "image": "registry.internal:5000/shop/worker:1", "new_image": True}],
    )
    assert run_cli("generate", "--input", payload, "--output", base_copy).returncode == 0
    worker = services_of(base_copy)["worker"]
    assert worker["args"] == ["--queue", "orders"]
    assert worker["volumes"][0]["name"] == "scratch"
    # Another repository is a new image to every environment: pinned in prod, held back.
    assert worker["image"] == {
        "repository": "registry.internal:5000/shop/worker",
        "tag": "1",
        "envs": {"prod": {"tag": "1"}},
    }


def test_a_v1_payload_replaces_its_services_whole(base_copy: Path, tmp_path: Path) -> None:
    """A v1 app cannot say what it leaves out: its service replaces the config's, as before
    v2 (keeping base.yaml's CPU autoscaling beside a payload without a CPU request would
    break the config). Only the per-environment images are kept."""
    assert (
        run_cli("set-image", "web", "1.9.9", "--env", "prod", "--config", base_copy).returncode == 0
    )
    web = {"name": "web", "image": "ghcr.io/example/shop-web:2.0.0"}
    payload = write_payload(tmp_path, [web], version=1)
    done = run_cli("generate", "--input", payload, "--output", base_copy)
    assert done.returncode == 0, done.stderr
    web = services_of(base_copy)["web"]
    assert "autoscaling" not in web  # by hand in base.yaml, gone with v1
    assert "ingress" not in web  # a v1 app without fqdns has no ingress
    assert web["image"]["tag"] == "2.0.0"  # a v1 image is always new
    assert web["image"]["envs"] == {"prod": {"tag": "1.9.9"}}


def test_generate_does_not_roll_back_an_image_that_ci_moved_on(
    base_copy: Path, tmp_path: Path
) -> None:
    """CI set api to 2.5.0 after the UI last saw it; a payload carrying 2.3.0 keeps 2.5.0."""
    assert run_cli("set-image", "api", "2.5.0", "--config", base_copy).returncode == 0
    stale = {"name": "api", "image": "ghcr.io/example/shop-api:2.3.0"}
    payload = write_payload(tmp_path, [stale])
    done = run_cli("generate", "--input", payload, "--output", base_copy)
    assert done.returncode == 0, done.stderr
    assert services_of(base_copy)["api"]["image"]["tag"] == "2.5.0"
    # Marked as new, the payload's image wins: a deliberate release or roll-back.
    payload = write_payload(tmp_path, [{**stale, "new_image": True}])
    assert run_cli("generate", "--input", payload, "--output", base_copy).returncode == 0
    assert services_of(base_copy)["api"]["image"]["tag"] == "2.3.0"


def test_a_new_repository_is_taken_even_without_new_image(base_copy: Path, tmp_path: Path) -> None:
    payload = write_payload(tmp_path, [{"name": "api", "image": "ghcr.io/other/api:9.0.0"}])
    assert run_cli("generate", "--input", payload, "--output", base_copy).returncode == 0
    assert services_of(base_copy)["api"]["image"] == {
        "repository": "ghcr.io/other/api",
        "tag": "9.0.0",
        "envs": {"prod": {"tag": "9.0.0"}},  # a new image: its first deploy runs everywhere
    }


# --- what the generated config renders -------------------------------------------------------


@pytest.fixture(scope="module")
def golden() -> AppConfig:
    return load_model(AppConfig, GOLDEN)


def app_manifests(config: AppConfig, env: str) -> list[dict[str, Any]]:
    charts = EnvCharts(env)
    add_workloads(charts.workloads, config, load_cluster(env))
    return synthesize(charts.workloads)


def test_outside_hosts_render_only_in_their_environment(golden: AppConfig) -> None:
    def hosts(env: str) -> list[str]:
        ingress = next(
            m
            for m in app_manifests(golden, env)
            if m["kind"] == "Ingress" and m["metadata"]["name"] == "web"
        )
        return [rule["host"] for rule in ingress["spec"]["rules"]]

    assert hosts("dev") == ["shop.dev.example.com"]
    assert hosts("prod") == ["shop.example.com", "www.acme-shop.com"]


def test_pull_secrets_render_as_image_pull_secrets(golden: AppConfig) -> None:
    pods = {
        m["metadata"]["name"]: m["spec"]["template"]["spec"]
        for m in app_manifests(golden, "dev")
        if m["kind"] == "Deployment"
    }
    assert pods["api"]["imagePullSecrets"] == [{"name": "ghcr-pull"}]
    assert "imagePullSecrets" not in pods["web"]


NS = "shop"


def pod(name: str, ports: dict[str, int]) -> Pod:
    labels = {"app.kubernetes.io/instance": "shop", "app.kubernetes.io/name": name}
    return Pod(NS, labels, ports)


def test_network_policies_follow_the_declared_calls_per_port(golden: AppConfig) -> None:
    rendered = [
        m
        for m in render_platform(golden, load_cluster("dev")).cluster
        if m["kind"] == "NetworkPolicy"
    ]
    web = pod("web", {"http": 8080})
    api = pod("api", {"http": 8080, "metrics": 9090})
    worker = pod("worker", {})
    migrate = pod("migrate", {})
    db, db_other = External("10.20.0.7"), External("10.30.0.7")
    public = External("93.184.215.14")
    assert allowed(rendered, web, api, 8080)
    assert not allowed(rendered, web, api, 9090)  # api declares metrics; web calls http only
    assert allowed(rendered, worker, api, 8080)  # by service port 80
    assert not allowed(rendered, worker, web, 8080)  # undeclared
    assert not allowed(rendered, api, web, 8080)  # calls are one way
    assert allowed(rendered, api, db, 5432)
    assert not allowed(rendered, api, db, 5433)
    assert not allowed(rendered, api, db_other, 5432)
    assert allowed(rendered, api, public, 443)  # api.stripe.com: public addresses, port 443
    assert not allowed(rendered, api, public, 80)
    assert not allowed(rendered, api, External("10.0.0.5"), 443)  # a host is never private
    assert allowed(rendered, migrate, db, 5432)
    assert not allowed(rendered, migrate, public, 443)
    assert not allowed(rendered, web, db, 5432)


def test_a_per_env_key_naming_no_environment_is_an_error(tmp_path: Path) -> None:
    config = tmp_path / "app-config.yaml"
    config.write_text(GOLDEN.read_text().replace("env_hosts: {prod:", "env_hosts: {stage:"))
    done = run_cli("validate", config, "--clusters", ROOT / "clusters")
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        f"{config}: services[0].ingress.env_hosts.stage: no environment 'stage' "
        "(clusters: dev, prod, test)"
    ]


@pytest.mark.parametrize(("sealed", "pulls"), [(True, True), (True, False), (False, True)])
def test_the_app_project_allows_sealed_secrets_only_when_pulls_need_them(
    golden: AppConfig, sealed: bool, pulls: bool
) -> None:
    config = golden
    if not pulls:
        data = golden.model_dump(mode="json", exclude_unset=True)
        data["services"][1].pop("image_pull_secrets")
        config = AppConfig.model_validate(data)
    cluster = load_cluster("dev").model_copy(update={"sealed_secrets": sealed})
    charts = EnvCharts("dev")
    add_delivery(charts.delivery, config, cluster)
    project = next(
        m
        for m in synthesize(charts.delivery)
        if m["kind"] == "AppProject" and m["metadata"]["name"] == "shop"
    )
    kinds = {(k["group"], k["kind"]) for k in project["spec"]["namespaceResourceWhitelist"]}
    assert (("bitnami.com", "SealedSecret") in kinds) == (sealed and pulls)
    assert ("", "Secret") not in kinds


def test_callers_of_one_service_on_different_ports_get_only_their_own_ports(
    golden: AppConfig,
) -> None:
    data = golden.model_dump(mode="json", exclude_unset=True)
    data["services"][2]["egress"] = {"services": [{"name": "api", "ports": ["metrics"]}]}
    config = AppConfig.model_validate(data)
    rendered = [
        m
        for m in render_platform(config, load_cluster("dev")).cluster
        if m["kind"] == "NetworkPolicy"
    ]
    names = sorted(
        m["metadata"]["name"] for m in rendered if "egress-to-api" in m["metadata"]["name"]
    )
    assert names == ["allow-egress-to-api.http", "allow-egress-to-api.metrics"]
    web = pod("web", {"http": 8080})
    api = pod("api", {"http": 8080, "metrics": 9090})
    worker = pod("worker", {})
    assert allowed(rendered, web, api, 8080)
    assert not allowed(rendered, web, api, 9090)
    assert allowed(rendered, worker, api, 9090)
    assert not allowed(rendered, worker, api, 8080)


def test_a_service_named_like_another_s_port_group_gets_its_own_policy(
    golden: AppConfig,
) -> None:
    """`api-http` beside `api` with two caller port groups: the groups' policies are named
    with dots, which no service name holds, so the two never collide."""
    data = golden.model_dump(mode="json", exclude_unset=True)
    data["services"][2]["egress"] = {"services": [{"name": "api", "ports": ["metrics"]}]}
    twin = {**data["services"][1], "name": "api-http", "ingress": None, "secrets": []}
    twin.pop("ingress")
    data["services"].append(twin)
    data["services"][0]["egress"] = {"services": [{"name": "api", "ports": ["http"]}, "api-http"]}
    config = AppConfig.model_validate(data)
    rendered = render_platform(config, load_cluster("dev")).cluster
    names = sorted(
        m["metadata"]["name"]
        for m in rendered
        if m["kind"] == "NetworkPolicy" and "egress-to-api" in m["metadata"]["name"]
    )
    assert names == [
        "allow-egress-to-api-http",
        "allow-egress-to-api.http",
        "allow-egress-to-api.metrics",
    ]


def test_an_empty_list_given_on_purpose_clears_the_hand_set_value(
    base_copy: Path, tmp_path: Path
) -> None:
    worker = {"name": "worker", "image": "registry.internal:5000/shop/worker:1", "volumes": []}
    payload = write_payload(tmp_path, [worker])
    assert run_cli("generate", "--input", payload, "--output", base_copy).returncode == 0
    assert services_of(base_copy)["worker"]["volumes"] == []
    assert services_of(base_copy)["worker"]["args"] == ["--queue", "orders"]  # not carried
