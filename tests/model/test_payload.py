"""The deployed_apps payload model and its mapping onto config services."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from constructs_lib.cli.support.config_edit import services_block
from constructs_lib.model.payload import (
    Payload,
    PayloadError,
    entry_problem,
    parse_json,
    parse_payload,
    to_service,
)
from constructs_lib.model.value_types import ImageParts, split_image
from constructs_lib.tools.schema import SCHEMAS, schema_text
from tests.support import FIXTURES, ROOT

EXAMPLE = FIXTURES / "payloads" / "valid" / "example.json"
DIGEST = "sha256:" + "0" * 64


@pytest.mark.parametrize(
    ("reference", "parts"),
    [
        ("nginx:1.27", ImageParts("nginx", "1.27", None)),
        ("ghcr.io/acme/api:1.2.3", ImageParts("ghcr.io/acme/api", "1.2.3", None)),
        ("localhost:5000/x:1", ImageParts("localhost:5000/x", "1", None)),
        ("localhost:5000/x", ImageParts("localhost:5000/x", None, None)),
        (f"localhost:5000/x@{DIGEST}", ImageParts("localhost:5000/x", None, DIGEST)),
        (f"ghcr.io/a/b:2@{DIGEST}", ImageParts("ghcr.io/a/b", "2", DIGEST)),
    ],
)
def test_image_references_split_into_repository_tag_and_digest(
    reference: str, parts: ImageParts
) -> None:
    assert split_image(reference) == parts


def app(**fields: object) -> dict[str, object]:
    return {"name": "api", "image": "ghcr.io/acme/api:1.0.0", **fields}


def service(**fields: object) -> dict[str, Any]:
    payload = parse_payload({"deployed_apps": [app(**fields)]})
    assert isinstance(payload, Payload)
    return to_service(payload.deployed_apps[0])


def test_defaults_give_an_internal_deployment_on_8080_behind_service_port_80() -> None:
    assert service() == {
        "name": "api",
        "image": {"repository": "ghcr.io/acme/api", "tag": "1.0.0"},
        "replicas": 1,
        "ports": [{"name": "http", "container_port": 8080, "service_port": 80}],
    }


def test_health_becomes_readiness_and_liveness_on_the_named_port() -> None:
    probes = service(health={"path": "/healthz"})["probes"]
    assert probes == {
        "readiness": {"http": {"path": "/healthz", "port": "http"}},
        "liveness": {"http": {"path": "/healthz", "port": "http"}},
    }


def test_a_health_port_other_than_the_app_port_is_used_as_a_number() -> None:
    probes = service(port=8000, health={"path": "/h", "port": 9000})["probes"]
    assert probes["readiness"] == {"http": {"path": "/h", "port": 9000}}


def test_fqdn_and_fqdns_become_ingress_hosts() -> None:
    assert service(fqdn="a.example.com")["ingress"] == {"hosts": ["a.example.com"]}
    hosts = ["a.example.com", "b.example.com"]
    assert service(fqdns=hosts)["ingress"] == {"hosts": hosts}
    assert "ingress" not in service(fqdns=[])


def test_a_schedule_makes_a_cronjob_without_ports_or_replicas() -> None:
    cron = service(schedule="*/5 * * * *")
    assert cron["type"] == "CronJob"
    assert cron["cronjob"] == {"schedule": "*/5 * * * *"}
    assert "ports" not in cron and "replicas" not in cron


def test_secrets_map_to_secret_refs_with_default_path() -> None:
    secrets = [{"key": "DB", "env": "DATABASE_URL"}, {"key": "tls", "path": "/x", "file": "t.pem"}]
    assert service(secrets=secrets)["secrets"] == [
        {"key": "DB", "path": "/", "env": "DATABASE_URL"},
        {"key": "tls", "path": "/x", "file": "t.pem"},
    ]


def test_a_bare_array_is_the_same_payload() -> None:
    assert parse_payload([app()]) == parse_payload({"deployed_apps": [app()]})


def test_errors_name_the_entry() -> None:
    with pytest.raises(PayloadError) as caught:
        parse_payload([app(), app(name="web", fqdns=["ok.example.com", "x_y.example.com"])])
    assert caught.value.problems == [
        "deployed_apps[1] (name 'web').fqdns[1]: 'x_y.example.com' is not a fully qualified "
        "hostname (at least two dot-separated labels of lowercase letters, digits and '-', not "
        "an IP address)"
    ]


def test_generated_services_read_back_as_the_same_data() -> None:
    import yaml

    payload = parse_payload(parse_json(EXAMPLE.read_bytes()))
    assert isinstance(payload, Payload)
    services = [to_service(a) for a in payload.deployed_apps]
    assert yaml.safe_load(services_block(services)) == {"services": services}


def test_the_committed_schemas_are_current() -> None:
    for path, model in SCHEMAS.items():
        assert path.read_text() == schema_text(model), f"{path} is stale; run 'make schema'"


def test_the_payload_schema_is_committed_where_documented() -> None:
    assert (ROOT / "config" / "deployed-apps.schema.json") in SCHEMAS
    assert SCHEMAS[ROOT / "config" / "deployed-apps.schema.json"] is Payload


def test_the_example_payload_matches_the_json_schema() -> None:
    schema = json.loads((ROOT / "config" / "deployed-apps.schema.json").read_text())
    jsonschema.validate(json.loads(EXAMPLE.read_text()), schema)


def test_the_json_schema_rejects_unknown_fields() -> None:
    schema = json.loads((ROOT / "config" / "deployed-apps.schema.json").read_text())
    with pytest.raises(jsonschema.ValidationError, match="replica"):
        jsonschema.validate({"deployed_apps": [app(replica=2)]}, schema)


def test_a_config_problem_is_named_on_its_entry_under_the_payloads_names() -> None:
    """Rules about a service are the config's, written once; the payload names where."""
    apps = [app(fqdns=["a.example.com", "b.example.org"]), app(name="web", fqdn="w.example.org")]
    payload = parse_payload(apps)
    data = {"deployed_apps": apps}
    problem = "'b.example.org' is not under the base domain 'example.com'"
    assert entry_problem(f"services[0].ingress.hosts[1]: {problem}", payload, data) == (
        f"deployed_apps[0] (name 'api').fqdns[1]: {problem}"
    )
    assert entry_problem("services[1].ingress.hosts[0]: x", payload, data) == (
        "deployed_apps[1] (name 'web').fqdn: x"
    )
    assert entry_problem("services[1].cronjob.schedule: required", payload, data) == (
        "deployed_apps[1] (name 'web').schedule: required"
    )
    assert entry_problem("services[1].name: 'x' is already used by services[0]", payload, data) == (
        "deployed_apps[1] (name 'web').name: 'x' is already used by deployed_apps[0]"
    )
    assert entry_problem("platform.quota: too much", payload, data) is None
