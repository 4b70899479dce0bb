"""`gitops-base generate`: one invalid fixture per rule, asserted on its exact message."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from constructs_lib.cli.main import main
from constructs_lib.model.config import AppConfig
from constructs_lib.model.loading import load_model
from constructs_lib.model.payload import MAX_APPS, MAX_PAYLOAD_BYTES
from tests.support import CLI, CONFIG, FIXTURES, ROOT, cli_env, run_cli

INVALID = sorted((FIXTURES / "payloads" / "invalid").glob("*.json"))
EXAMPLE = FIXTURES / "payloads" / "valid" / "example.json"

EXPECTED: dict[str, list[str]] = {
    "cron_invalid": [
        (
            "deployed_apps[0] (name 'api').schedule: '61 * * * *' is not a valid cron schedule: "
            "'61' is outside 0-59 in the minute field (Kubernetes' cron takes numbers, month "
            "and day names, '*', '?', '-', ',' and '/'; not 'L', 'W' or '#')"
        ),
    ],
    "cron_too_few_fields": [
        (
            "deployed_apps[0] (name 'api').schedule: '* * *' is not a valid cron schedule "
            "(five fields 'minute hour day-of-month month day-of-week', or a macro such as "
            "'@daily')"
        ),
    ],
    "deployed_apps_empty": [
        (
            "deployed_apps: is empty, which would remove every service from the config; pass "
            "--allow-empty if that is meant"
        ),
    ],
    "deployed_apps_missing": [
        "deployed_apps: required field is missing",
    ],
    "deployed_apps_not_an_array": [
        "deployed_apps: expected an array of apps, got an object",
    ],
    "duplicate_json_key": [
        "invalid JSON: duplicate key 'name' in an object",
    ],
    "entry_not_an_object": [
        "deployed_apps[0]: expected an object",
    ],
    "env_name_invalid": [
        (
            "deployed_apps[0] (name 'api').env.1ST: '1ST' is not a valid environment variable "
            "name (letters, digits and '_', not starting with a digit)"
        ),
    ],
    "env_value_not_string": [
        "deployed_apps[0] (name 'api').env.WORKERS: input should be a valid string",
    ],
    "fqdn_and_fqdns": [
        "deployed_apps[0] (name 'api'): give either 'fqdns' or 'fqdn', not both",
    ],
    "health_path_relative": [
        (
            "deployed_apps[0] (name 'api').health.path: 'healthz' is not a valid HTTP path "
            "(must start with '/', no spaces)"
        ),
    ],
    "health_port_out_of_range": [
        "deployed_apps[0] (name 'api').health.port: input should be less than or equal to 65535",
    ],
    "hostname_duplicate_across_apps": [
        (
            "deployed_apps[1] (name 'web').fqdns[1]: 'api.example.com' is already served by "
            "deployed_apps[0] (name 'api')"
        ),
    ],
    "hostname_duplicate_in_app": [
        "deployed_apps[0] (name 'api').fqdns[1]: 'api.example.com' is already listed as fqdns[0]",
    ],
    "hostname_invalid": [
        (
            "deployed_apps[0] (name 'api').fqdns[0]: 'api_v1.example.com' is not a fully "
            "qualified hostname (at least two dot-separated labels of lowercase letters, "
            "digits and '-', not an IP address)"
        ),
    ],
    "hostname_ip_address": [
        (
            "deployed_apps[0] (name 'api').fqdn: '10.0.0.1' is not a fully qualified hostname "
            "(at least two dot-separated labels of lowercase letters, digits and '-', not an "
            "IP address)"
        ),
    ],
    "hostname_is_url": [
        (
            "deployed_apps[0] (name 'api').fqdns[0]: 'https://api.example.com/v1' is a URL, "
            "not a hostname: give only the host, e.g. 'shop.example.com'"
        ),
    ],
    "hostname_single_label": [
        (
            "deployed_apps[0] (name 'api').fqdn: 'localhost' is not a fully qualified hostname "
            "(at least two dot-separated labels of lowercase letters, digits and '-', not an "
            "IP address)"
        ),
    ],
    "hostname_uppercase": [
        "deployed_apps[0] (name 'api').fqdn: 'API.example.com' must be lowercase",
    ],
    "hostname_wildcard": [
        (
            "deployed_apps[0] (name 'api').fqdns[0]: '*.example.com' is a wildcard: Let's "
            "Encrypt HTTP-01 cannot issue wildcard certificates"
        ),
    ],
    "image_bad_digest": [
        (
            "deployed_apps[0] (name 'api').image: 'ghcr.io/acme/api@sha256:1234' is not a "
            "valid image reference: 'sha256:1234' is not a valid digest (expected 'sha256:' "
            "and 64 hex digits)"
        ),
    ],
    "image_bad_repository": [
        (
            "deployed_apps[0] (name 'api').image: 'ghcr.io/Acme/API:1.0' is not a valid image "
            "reference: 'ghcr.io/Acme/API' is not a valid image repository (e.g. "
            "'ghcr.io/acme/web')"
        ),
    ],
    "image_bad_tag": [
        (
            "deployed_apps[0] (name 'api').image: 'ghcr.io/acme/api:-latest' is not a valid "
            "image reference: '-latest' is not a valid image tag (letters, digits, '_', '.', "
            "'-', at most 128 characters, not starting with '.' or '-')"
        ),
    ],
    "image_empty": [
        "deployed_apps[0] (name 'api').image: string should have at least 1 character",
    ],
    "image_missing": [
        "deployed_apps[0] (name 'api').image: required field is missing",
    ],
    "image_without_tag": [
        (
            "deployed_apps[0] (name 'api').image: 'ghcr.io/acme/api' has neither a tag nor a "
            "digest: pin one, e.g. 'ghcr.io/acme/api:1.0.0' or 'ghcr.io/acme/api@sha256:<64 "
            "hex digits>'"
        ),
    ],
    "lone_surrogate": [
        "deployed_apps[0].env.A: contains an unpaired UTF-16 surrogate",
    ],
    "malformed_json": [
        "line 2 column 53: invalid JSON: Expecting property name enclosed in double quotes",
    ],
    "name_duplicate": [
        "deployed_apps[1] (name 'api').name: 'api' is already used by deployed_apps[0]",
    ],
    "name_empty": [
        "deployed_apps[0].name: string should have at least 1 character",
    ],
    "name_trailing_newline": [
        (
            "deployed_apps[0].name: 'api\\n' is not a valid DNS label (lowercase letters, digits "
            "and '-', starting with a letter, ending with a letter or digit, at most 63 characters)"
        ),
    ],
    "hostname_trailing_newline": [
        (
            "deployed_apps[0] (name 'api').fqdn: 'api.example.com\\n' is not a fully qualified "
            "hostname (at least two dot-separated labels of lowercase letters, digits and '-', "
            "not an IP address)"
        ),
    ],
    "name_invalid": [
        (
            "deployed_apps[0] (name 'Api_Server').name: 'Api_Server' is not a valid DNS label "
            "(lowercase letters, digits and '-', starting with a letter, ending with a letter "
            "or digit, at most 63 characters)"
        ),
    ],
    "name_missing": [
        "deployed_apps[0].name: required field is missing",
    ],
    "name_null": [
        "deployed_apps[0].name: input should be a valid string",
    ],
    "not_utf8": [
        "payload is not UTF-8 text (byte 80)",
    ],
    "port_too_high": [
        "deployed_apps[0] (name 'api').port: input should be less than or equal to 65535",
    ],
    "port_zero": [
        "deployed_apps[0] (name 'api').port: input should be greater than or equal to 1",
    ],
    "quantity_invalid": [
        (
            "deployed_apps[0] (name 'api').resources.requests.cpu: '100 m' is not a valid "
            "Kubernetes quantity (e.g. '250m', '0.5', '128Mi', '1Gi')"
        ),
        (
            "deployed_apps[0] (name 'api').resources.requests.memory: 'lots' is not a valid "
            "Kubernetes quantity (e.g. '250m', '0.5', '128Mi', '1Gi')"
        ),
    ],
    "replicas_boolean": [
        "deployed_apps[0] (name 'api').replicas: input should be a valid integer",
    ],
    "replicas_negative": [
        "deployed_apps[0] (name 'api').replicas: input should be greater than or equal to 0",
    ],
    "replicas_not_integer": [
        "deployed_apps[0] (name 'api').replicas: input should be a valid integer",
    ],
    "replicas_string": [
        "deployed_apps[0] (name 'api').replicas: input should be a valid integer",
    ],
    "requests_above_limits": [
        "deployed_apps[0] (name 'api').resources: cpu request 2 is above its limit 500m",
    ],
    "schedule_with_fqdns": [
        (
            "deployed_apps[0] (name 'api').fqdns: a scheduled app (with 'schedule') serves no "
            "traffic; remove 'fqdns'"
        ),
    ],
    "schedule_with_health": [
        (
            "deployed_apps[0] (name 'api').health: a scheduled app (with 'schedule') serves no "
            "traffic; remove 'health'"
        ),
    ],
    "secret_env_and_file": [
        "deployed_apps[0] (name 'api').secrets[0]: set exactly one of 'env' or 'file'",
    ],
    "secret_env_clashes_with_env": [  # the config's rule, on the payload's entry
        "deployed_apps[0] (name 'api').secrets[0].env: 'DB' is also set in env; a container "
        "with two variables of one name keeps only the last (server-side apply refuses it): set "
        "it in one place",
    ],
    "secret_path_relative": [
        "deployed_apps[0] (name 'api').secrets[0].path: 'api' is not an absolute path",
    ],
    "several_problems": [
        "deployed_apps[0] (name 'api').replicas: input should be greater than or equal to 0",
        (
            "deployed_apps[1] (name 'web').image: 'web' has neither a tag nor a digest: pin "
            "one, e.g. 'web:1.0.0' or 'web@sha256:<64 hex digits>'"
        ),
        (
            "deployed_apps[1] (name 'web').fqdns[0]: '*.example.com' is a wildcard: Let's "
            "Encrypt HTTP-01 cannot issue wildcard certificates"
        ),
    ],
    "tls_issuer_unknown": [
        (
            "tls_issuer: input should be 'letsencrypt-staging' or 'letsencrypt-production', "
            "got 'letsencrypt'"
        ),
    ],
    "unknown_field": [
        "deployed_apps[0] (name 'api').replica: unknown field; did you mean 'replicas'?",
    ],
    "unknown_top_level_field": [
        "domian: unknown field; did you mean 'domain'?",
    ],
    "wrong_top_level_shape": [
        (
            "(payload): expected an object with a 'deployed_apps' array (or a bare array), got "
            "a string"
        ),
    ],
    "yaml_in_hostname": [
        (
            "deployed_apps[0] (name 'api').fqdn: 'api.example.com\\n- evil.example.com' is not "
            "a fully qualified hostname (at least two dot-separated labels of lowercase "
            "letters, digits and '-', not an IP address)"
        ),
    ],
    "yaml_in_image": [
        (
            "deployed_apps[0] (name 'api').image: 'ghcr.io/acme/api:1\\nkind: Secret' is not a "
            "valid image reference: it contains whitespace"
        ),
    ],
    "yaml_in_name": [
        (
            "deployed_apps[0].name: 'api\\n---\\nkind: Secret' is not a valid DNS label "
            "(lowercase letters, digits and '-', starting with a letter, ending with a letter "
            "or digit, at most 63 characters)"
        ),
    ],
    "namespace_reserved": [
        (
            "namespace: 'kube-system' is reserved: it holds the cluster's system components "
            "(DNS, the API server's add-ons), and the app namespace gets default-deny network "
            "policies, restricted Pod Security and a quota; choose a namespace of the app's own"
        ),
    ],
    "app_name_reserved": [
        (
            "app_name: 'bootstrap' is reserved: the base names the AppProject of the root "
            "Application so, and the app's Application and AppProject would overwrite it; "
            "choose another name"
        ),
    ],
    "image_latest": [
        (
            "deployed_apps[0] (name 'api').image: tag 'latest' is mutable: the same config could "
            "deploy a different image tomorrow; pin a digest (digest: sha256:<64 hex>, e.g. with "
            "`gitops-base set-image SERVICE@sha256:...`) or a release tag, or set "
            "allow_mutable_tag: true on this image"
        ),
    ],
    "version_float": [
        "version: input should be the integer 1, got 1.0",
    ],
    "env_url_with_password": [
        "deployed_apps[0] (name 'api').env.DATABASE_URL: looks like a secret (URL with a "
        "password); deliver it through secrets[] (Infisical), or mark it with "
        "not_secret: [DATABASE_URL] if it is not one",
    ],
    "env_named_token": [
        "deployed_apps[0] (name 'api').env.SENTRY_TOKEN: looks like a secret (a literal value "
        "in a *TOKEN variable); deliver it through secrets[] (Infisical), or mark it with "
        "not_secret: [SENTRY_TOKEN] if it is not one",
    ],
    "yaml_object_as_value": [
        "deployed_apps[0] (name 'api').image: input should be a valid string",
    ],
}


def test_every_invalid_fixture_has_its_expected_message() -> None:
    assert {p.stem for p in INVALID} == set(EXPECTED)


@pytest.mark.parametrize("fixture", INVALID, ids=lambda p: p.stem)
def test_invalid_payload_is_rejected_and_changes_nothing(
    fixture: Path, config_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # In-process for speed; an exception would fail the test, and the subprocess test below
    # proves the installed script prints no traceback.
    before = config_copy.read_bytes()
    code = main(["generate", "--input", str(fixture), "--output", str(config_copy)])
    assert code == 1
    lines = capsys.readouterr().err.splitlines()
    assert lines[:-1] == EXPECTED[fixture.stem]
    assert lines[-1].startswith(f"generate: {len(EXPECTED[fixture.stem])} problem(s);")
    assert config_copy.read_bytes() == before
    assert [p.name for p in config_copy.parent.iterdir()] == [config_copy.name]


@pytest.mark.parametrize(
    "stem", ["malformed_json", "not_utf8", "several_problems", "yaml_in_name", "name_null"]
)
def test_the_installed_script_prints_the_same_lines_and_no_traceback(
    stem: str, config_copy: Path
) -> None:
    before = config_copy.read_bytes()
    fixture = FIXTURES / "payloads" / "invalid" / f"{stem}.json"
    done = run_cli("generate", "--input", fixture, "--output", config_copy)
    assert done.returncode == 1
    assert done.stderr.splitlines()[:-1] == EXPECTED[stem]
    assert config_copy.read_bytes() == before


def test_invalid_payload_creates_no_config(tmp_path: Path) -> None:
    output = tmp_path / "app-config.yaml"
    done = run_cli("generate", "--input", INVALID[0], "--output", output, "--app-name", "shop")
    assert done.returncode == 1
    assert list(tmp_path.iterdir()) == []


def test_example_payload_becomes_the_services(config_copy: Path) -> None:
    done = run_cli("generate", "--input", EXAMPLE, "--output", config_copy)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"wrote {config_copy} (4 services)\n"
    config = load_model(AppConfig, config_copy)
    assert [s.name for s in config.services] == ["web", "api", "worker", "nightly-report"]
    web, api, worker, report = config.services
    assert web.image.reference == "ghcr.io/example/shop-web:1.9.0"
    assert [(p.name, p.container_port, p.service_port) for p in web.ports] == [("http", 8080, 80)]
    assert web.ingress is not None and web.ingress.hosts == [
        "shop.example.com",
        "www.shop.example.com",
    ]
    assert web.probes.readiness is not None and web.probes.readiness.http is not None
    assert web.probes.readiness.http.path == "/healthz"
    assert api.image.tag == "2.4.0" and api.image.digest is not None
    assert [s.file or s.env for s in api.secrets] == ["DATABASE_URL", "jwt.pem"]
    assert worker.image.repository == "registry.internal:5000/shop/worker"
    assert worker.ingress is None and worker.ports[0].container_port == 9090
    assert report.type == "CronJob" and not report.ports
    assert report.cronjob is not None and report.cronjob.schedule == "30 2 * * *"


def test_globals_and_comments_of_the_existing_config_survive(config_copy: Path) -> None:
    original = CONFIG.read_text()
    run_cli("generate", "--input", EXAMPLE, "--output", config_copy)
    text = config_copy.read_text()
    head = original[: original.index("\nservices:")]
    assert text.startswith(head)
    assert text.splitlines()[0] == "# yaml-language-server: $schema=./app-config.schema.json"


def test_same_input_gives_byte_identical_output(config_copy: Path) -> None:
    run_cli("generate", "--input", EXAMPLE, "--output", config_copy)
    first = config_copy.read_bytes()
    done = run_cli("generate", "--input", EXAMPLE, "--output", config_copy)
    assert done.returncode == 0
    assert done.stdout.startswith("unchanged:")
    assert config_copy.read_bytes() == first


def test_check_reports_a_stale_config_without_writing(config_copy: Path) -> None:
    before = config_copy.read_bytes()
    done = run_cli("generate", "--input", EXAMPLE, "--output", config_copy, "--check")
    assert done.returncode == 1
    assert "is not up to date with the payload" in done.stderr
    assert config_copy.read_bytes() == before


def test_flag_beats_payload_beats_config(config_copy: Path, tmp_path: Path) -> None:
    payload = json.loads(EXAMPLE.read_text())
    for app in payload["deployed_apps"]:  # hosts under example.com would be outside the domain
        app.pop("fqdn", None)
        app.pop("fqdns", None)
    payload |= {
        "domain": "example.org",
        "app_name": "store",
        "tls_issuer": "letsencrypt-production",
    }
    path = tmp_path / "payload.json"
    path.write_text(json.dumps(payload))
    clusters = clusters_under(tmp_path, "example.org")
    done = run_cli(
        "generate", "--input", path, "--output", config_copy, "--app-name", "boutique",
        "--clusters", clusters,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    config = load_model(AppConfig, config_copy)
    assert config.app.name == "boutique"
    assert config.app.namespace == "shop"
    assert config.domain == "example.org"
    assert config.tls.issuer == "letsencrypt-production"
    assert "domain: example.org\n" in config_copy.read_text()


def clusters_under(tmp_path: Path, domain: str) -> Path:
    """A clusters/ folder whose environments' domains are under `domain`."""
    clusters = tmp_path / "clusters"
    for env in ("dev", "prod"):
        text = (ROOT / "clusters" / env / "cluster.yaml").read_text()
        text = text.replace("example.com", domain)
        (clusters / env).mkdir(parents=True)
        (clusters / env / "cluster.yaml").write_text(text)
    return clusters


def test_a_domain_the_environments_are_not_under_is_refused(
    config_copy: Path, tmp_path: Path
) -> None:
    """Hosts under the base domain move onto each environment's domain: a base domain the
    environments are not under would move them onto unrelated domains."""
    before = config_copy.read_bytes()
    done = run_cli(
        "generate", "--input", EXAMPLE, "--output", config_copy, "--domain", "example.org"
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "domain: --domain 'example.org' is not the base domain of the environments in "
        "clusters: dev (dev.example.com), prod (example.com), test (test.example.com) are not "
        "under it, so hosts under it would move onto unrelated domains; send the base domain "
        "they share, 'example.com', or change 'domain' in clusters/<env>/cluster.yaml first",
        f"generate: 1 problem(s); {config_copy} was not changed",
    ]
    assert config_copy.read_bytes() == before
    # One environment outside: named alone; the shared domain is the longest common one.
    clusters = clusters_under(tmp_path, "shop.example.com")
    (clusters / "dev" / "cluster.yaml").write_text(
        (clusters / "dev" / "cluster.yaml").read_text().replace("dev.shop.", "dev.")
    )
    done = run_cli(
        "generate", "--input", EXAMPLE, "--output", config_copy,
        "--domain", "shop.example.com", "--clusters", clusters,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.splitlines()[0] == (
        "domain: --domain 'shop.example.com' is not the base domain of the environments in "
        f"{clusters}: dev (dev.example.com) is not under it, so hosts under it would move "
        "onto unrelated domains; send the base domain they share, 'example.com', or change "
        f"'domain' in {clusters}/<env>/cluster.yaml first"
    )
    assert config_copy.read_bytes() == before


def test_a_domain_the_environments_are_under_is_accepted(config_copy: Path, tmp_path: Path) -> None:
    # Unchanged domain: no check (the config and clusters are what they were).
    assert run_cli("generate", "--input", EXAMPLE, "--output", config_copy).returncode == 0
    # A parent of every environment's domain: hosts still move onto each env's domain.
    payload = json.loads(EXAMPLE.read_text())
    for app in payload["deployed_apps"]:
        app.pop("fqdn", None)
        app.pop("fqdns", None)
    path = tmp_path / "payload.json"
    path.write_text(json.dumps(payload | {"domain": "dev.example.com"}))
    done = run_cli(
        "generate", "--input", path, "--output", config_copy,
        "--clusters", clusters_under(tmp_path, "dev.example.com"),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert load_model(AppConfig, config_copy).domain == "dev.example.com"
    # No clusters folder: nothing to compare with.
    path.write_text(json.dumps(payload | {"domain": "example.net"}))
    done = run_cli(
        "generate", "--input", path, "--output", config_copy,
        "--clusters", tmp_path / "no-clusters",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def test_a_new_config_needs_the_app_and_domain(tmp_path: Path) -> None:
    output = tmp_path / "app-config.yaml"
    done = run_cli("generate", "--input", EXAMPLE, "--output", output)
    assert done.returncode == 1
    assert done.stderr.splitlines()[:-1] == [
        f"{output}: app.name: required for a new config; set 'app_name' in the payload or "
        "--app-name",
        f"{output}: app.namespace: required for a new config; set 'namespace' in the payload or "
        "--namespace",
        f"{output}: domain: required for a new config; set 'domain' in the payload or --domain",
    ]
    assert not output.exists()


def test_a_new_config_from_flags(tmp_path: Path) -> None:
    output = tmp_path / "app-config.yaml"
    payload = tmp_path / "payload.json"
    payload.write_text(json.dumps([{"name": "api", "image": "ghcr.io/acme/api:1.0.0"}]))
    done = run_cli(
        "generate", "--input", payload, "--output", output,
        "--app-name", "acme", "--namespace", "acme", "--domain", "acme.example.com",
        "--clusters", clusters_under(tmp_path, "acme.example.com"),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    text = output.read_text()
    assert text.startswith("# yaml-language-server: $schema=./app-config.schema.json\n")
    config = load_model(AppConfig, output)
    assert (config.app.name, config.domain) == ("acme", "acme.example.com")
    assert [s.name for s in config.services] == ["api"]


def test_secrets_need_an_infisical_connection(tmp_path: Path) -> None:
    output = tmp_path / "app-config.yaml"
    output.write_text("version: 2\napp: {name: shop, namespace: shop}\ndomain: example.com\n")
    payload = tmp_path / "payload.json"
    secret = {"key": "DB", "env": "DATABASE_URL"}
    payload.write_text(json.dumps([{"name": "api", "image": "a/b:1", "secrets": [secret]}]))
    before = output.read_bytes()
    done = run_cli("generate", "--input", payload, "--output", output)
    assert done.returncode == 1
    assert done.stderr.splitlines()[0] == (
        "deployed_apps[0] (name 'api').secrets: service 'api' declares secrets but "
        "secrets.infisical is not configured; set it in the config, in the payload's "
        "'infisical' or with --infisical-url, --infisical-project-id and --infisical-identity-id"
    )
    assert output.read_bytes() == before


def test_payload_from_stdin_as_a_bare_array(config_copy: Path) -> None:
    payload = json.dumps([{"name": "api", "image": "ghcr.io/acme/api:1.0.0"}]).encode()
    done = run_cli("generate", "--input", "-", "--output", config_copy, stdin=payload)
    assert done.returncode == 0, done.stderr
    assert [s.name for s in load_model(AppConfig, config_copy).services] == ["api"]


INJECTIONS = [
    "x\n---\napiVersion: v1\nkind: Secret\n",
    "*alias",
    "&anchor value",
    "!!python/object/apply:os.system ['id']",
    "{a: 1}",
    "[1, 2]",
    "- item",
    "key: value",
    "# not a comment",
    "yes",
    "null",
    "1.0",
    "0o17",
    "1e3",
    "'single' \"double\" \\back",
    "tab\there",
    "\u2028line separator",
    "emoji \U0001f680 and \x85 and \x7f",
    "",
]


def test_values_that_look_like_yaml_arrive_as_literal_strings(config_copy: Path) -> None:
    env = {f"V{i}": value for i, value in enumerate(INJECTIONS)}
    payload = config_copy.parent / "payload.json"
    payload.write_text(json.dumps([{"name": "api", "image": "ghcr.io/acme/api:1", "env": env}]))
    done = run_cli("generate", "--input", payload, "--output", config_copy)
    assert done.returncode == 0, done.stderr
    documents = list(yaml.safe_load_all(config_copy.read_text()))
    assert len(documents) == 1
    assert documents[0]["services"][0]["env"] == env
    assert load_model(AppConfig, config_copy).services[0].env == env


def test_a_payload_above_the_size_limit_is_refused(config_copy: Path) -> None:
    payload = config_copy.parent / "payload.json"
    payload.write_text(
        json.dumps([{"name": "a", "image": "a:1", "env": {"X": "x" * MAX_PAYLOAD_BYTES}}])
    )
    done = run_cli("generate", "--input", payload, "--output", config_copy)
    assert done.returncode == 1
    assert done.stderr.splitlines()[0] == (
        f"payload is larger than the limit of {MAX_PAYLOAD_BYTES} bytes"
    )


def test_a_payload_with_too_many_apps_is_refused(config_copy: Path) -> None:
    payload = config_copy.parent / "payload.json"
    apps = [{"name": f"a{i}", "image": "a:1"} for i in range(MAX_APPS + 1)]
    payload.write_text(json.dumps(apps))
    done = run_cli("generate", "--input", payload, "--output", config_copy)
    assert done.returncode == 1
    assert done.stderr.splitlines()[0] == (
        f"deployed_apps: list should have at most {MAX_APPS} items after validation, "
        f"not {MAX_APPS + 1}"
    )


def test_a_deeply_nested_payload_is_refused(config_copy: Path) -> None:
    payload = config_copy.parent / "payload.json"
    payload.write_text("[" * 100_000 + "]" * 100_000)
    done = run_cli("generate", "--input", payload, "--output", config_copy)
    assert done.returncode == 1
    assert done.stderr.splitlines()[0] == "invalid JSON: nested deeper than 32 levels"


def test_an_invalid_existing_config_is_reported_and_kept(config_copy: Path) -> None:
    text = config_copy.read_text().replace("namespace: shop ", "namespace: Shop ")
    config_copy.write_text(text)
    done = run_cli("generate", "--input", EXAMPLE, "--output", config_copy)
    assert done.returncode == 1
    assert done.stderr.splitlines()[0] == (
        f"{config_copy}: app.namespace: 'Shop' is not a valid DNS label (lowercase letters, "
        "digits and '-', starting with a letter, ending with a letter or digit, at most 63 "
        "characters)"
    )
    assert config_copy.read_text() == text


def test_an_invalid_flag_is_reported_on_the_config_path(config_copy: Path) -> None:
    done = run_cli("generate", "--input", EXAMPLE, "--output", config_copy, "--domain", "x")
    assert done.returncode == 1
    assert done.stderr.splitlines()[0].startswith(
        f"{config_copy}: domain: 'x' is not a fully qualified hostname"
    )
    assert config_copy.read_text() == CONFIG.read_text()


def test_keys_after_the_services_block_stay_where_they_are(tmp_path: Path) -> None:
    config = tmp_path / "app-config.yaml"
    original = CONFIG.read_text()
    features = original[original.index("features:") : original.index("\nservices:")]
    moved = original.replace(features, "").rstrip("\n") + "\n\n# toggles\n" + features
    config.write_text(moved)
    done = run_cli("generate", "--input", EXAMPLE, "--output", config)
    assert done.returncode == 0, done.stderr
    text = config.read_text()
    assert text.endswith("\n# toggles\n" + features)
    assert run_cli("generate", "--input", EXAMPLE, "--output", config).stdout.startswith(
        "unchanged:"
    )
    assert config.read_text() == text
    assert load_model(AppConfig, config).features.ingresses is True


def test_a_missing_payload_file_is_reported(config_copy: Path) -> None:
    missing = config_copy.parent / "nope.json"
    done = run_cli("generate", "--input", missing, "--output", config_copy)
    assert done.returncode == 1
    assert done.stderr.splitlines()[0] == f"cannot read {missing}: No such file or directory"


def test_the_example_payload_renders_the_golden_config(tmp_path: Path) -> None:
    """Golden file: base.yaml + example.json -> example.generated.yaml, byte for byte."""
    output = tmp_path / "app-config.yaml"
    output.write_bytes((FIXTURES / "configs" / "base.yaml").read_bytes())
    done = run_cli("generate", "--input", EXAMPLE, "--output", output)
    assert done.returncode == 0, done.stderr
    golden = FIXTURES / "configs" / "example.generated.yaml"
    assert output.read_text() == golden.read_text()


def test_infisical_flags_complete_a_new_config(tmp_path: Path) -> None:
    output = tmp_path / "app-config.yaml"
    done = run_cli(
        "generate", "--input", EXAMPLE, "--output", output,
        "--app-name", "shop", "--namespace", "shop", "--domain", "example.com",
        "--infisical-url", "https://app.infisical.com",
        "--infisical-project-id", "p-1", "--infisical-identity-id", "i-1",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    first = output.read_bytes()
    assert b"\n\nservices:\n" in first
    again = run_cli("generate", "--input", EXAMPLE, "--output", output)
    assert again.stdout.startswith("unchanged:"), again.stdout + again.stderr
    assert output.read_bytes() == first
    infisical = load_model(AppConfig, output).secrets.infisical
    assert infisical is not None
    assert (infisical.url, infisical.project_id, infisical.auth.identity_id) == (
        "https://app.infisical.com",
        "p-1",
        "i-1",
    )


def test_a_payload_may_allow_a_mutable_tag_per_app(tmp_path: Path) -> None:
    payload = tmp_path / "payload.json"
    app = {"name": "api", "image": "ghcr.io/acme/api:latest", "allow_mutable_tag": True}
    payload.write_text(json.dumps({"deployed_apps": [app]}))
    output = tmp_path / "app-config.yaml"
    flags = ["--app-name", "shop", "--namespace", "shop", "--domain", "example.com"]
    code = main(["generate", "--input", str(payload), "--output", str(output), *flags])
    assert code == 0
    image = load_model(AppConfig, output).services[0].image
    assert (image.tag, image.allow_mutable_tag) == ("latest", True)


def test_an_endless_input_is_refused_after_the_limit(config_copy: Path) -> None:
    before = config_copy.read_bytes()
    done = run_cli("generate", "--input", "/dev/zero", "--output", config_copy)
    assert done.returncode == 1
    assert done.stderr.splitlines()[0] == (
        f"payload is larger than the limit of {MAX_PAYLOAD_BYTES} bytes"
    )
    assert config_copy.read_bytes() == before


def test_an_endless_stdin_is_refused_after_the_limit(config_copy: Path) -> None:
    with open("/dev/zero", "rb") as zero:
        done = subprocess.run(
            [str(CLI), "generate", "--input", "-", "--output", str(config_copy)],
            stdin=zero,
            capture_output=True,
            text=True,
            env=cli_env(),
            check=False,
            timeout=120,
        )
    assert done.returncode == 1
    assert done.stderr.splitlines()[0] == (
        f"payload is larger than the limit of {MAX_PAYLOAD_BYTES} bytes"
    )


def test_a_version_1_config_is_merged_into_and_written_as_version_2(tmp_path: Path) -> None:
    output = tmp_path / "app-config.yaml"
    output.write_bytes((FIXTURES / "configs" / "v1" / "app-config.yaml").read_bytes())
    done = run_cli("generate", "--input", EXAMPLE, "--output", output)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"migrated {output} to version 2\nwrote {output} (4 services)\n"
    text = output.read_text()
    assert "\nversion: 2  # REQUIRED. Schema version of this file.\n" in text
    assert '    cronjob:\n      schedule: "30 2 * * *"\n' in text
