"""The `deployed_apps` payload (v1): what the infra pipeline hands to `gitops-base generate`.

The payload lists the apps to deploy; `to_services` turns each entry into one `services[]`
entry of the config. Every problem is reported as one line that names the entry it is in:
`deployed_apps[3] (name 'api').fqdns[0]: ...`. Reference: docs/reference/deployed-apps.md.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    StrictBool,
    ValidationError,
    field_validator,
    model_validator,
)

from constructs_lib.errors import ProblemsError
from constructs_lib.model.base import Model
from constructs_lib.model.bounded import InputTooLarge, read_bounded
from constructs_lib.model.config import Issuer
from constructs_lib.model.loading import format_errors
from constructs_lib.model.migration import v1_line
from constructs_lib.model.names import AppName, AppNamespace
from constructs_lib.model.service import (
    Autoscaling,
    DisruptionBudget,
    ExternalEgress,
    NotSecretEntry,
    PortRef,
    Probes,
    Resources,
    SecretRef,
    Security,
    Volume,
)
from constructs_lib.model.service import Port as ConfigPort
from constructs_lib.model.value_types import (
    CronSchedule,
    DnsLabel,
    DnsSubdomain,
    EnvName,
    Hostname,
    HttpPath,
    ImageReference,
    SchemaVersion,
    split_image,
)
from constructs_lib.model.workload_kinds import DEFAULT_KIND, WorkloadType

PAYLOAD_VERSION = 2
PAYLOAD_VERSIONS = (1, 2)
# A payload above these limits is refused before parsing: a pipeline bug, not a real app list.
MAX_PAYLOAD_BYTES = 8 * 2**20
MAX_APPS = 2000
MAX_DEPTH = 32
DEFAULT_PORT = 8080
SERVICE_PORT = 80
PORT_NAME = "http"

Port = Annotated[int, Field(ge=1, le=65535, strict=True)]


class PayloadError(ProblemsError):
    """A payload that cannot be used. `problems` holds one `path: message` line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(problems, message=f"{len(problems)} problem(s)")


class Health(Model):
    """HTTP health check; becomes the readiness and liveness probe of the app."""

    path: HttpPath = Field(description="HTTP path answering 2xx when the app is healthy.")
    port: Port | None = Field(None, description="Port of the check. Default: the app's `port`.")


class PayloadSecret(SecretRef):
    """One Infisical secret: its folder and key, and whether it arrives as env var or file."""


class AppEntry(Model):
    """What an entry of `deployed_apps` has in both payload versions. Everything about the
    service it becomes is checked once, by the config's service model, and a problem is
    reported on the entry, under the payload's names."""

    name: DnsLabel = Field(
        min_length=1, description="Unique in the payload; becomes the service name."
    )
    image: ImageReference = Field(
        min_length=1,
        description="Full image reference with a tag, a digest, or both: "
        "'ghcr.io/acme/api:1.2.3', 'ghcr.io/acme/api@sha256:...'.",
    )
    env: dict[EnvName, str] = Field(
        default_factory=dict,
        description="Plain environment variables, never secrets: a secret-looking value here "
        "(or in command, args or an exec probe's command) is refused unless named in "
        "`not_secret`. Default: none.",
    )
    not_secret: list[NotSecretEntry] = Field(
        default_factory=list,
        description="Values that look like secrets but are not: env var names, 'command[N]', "
        "'args[N]' or 'probes.<probe>.exec.command[N]' (the config's not_secret). "
        "Default: none.",
    )
    secrets: list[PayloadSecret] = Field(
        default_factory=list, description="Secrets from Infisical. Default: none."
    )


class DeployedApp(AppEntry):
    """One entry of `deployed_apps`: one app, one `services[]` entry of the config."""

    fqdns: list[Hostname] | None = Field(
        None, description="Public hostnames; none means internal only (no Ingress)."
    )
    fqdn: Hostname | None = Field(None, description="One public hostname; same as `fqdns: [x]`.")
    allow_mutable_tag: bool = Field(
        False,
        description="Accept a 'latest' tag without a digest (the config's "
        "image.allow_mutable_tag). Default: false.",
    )
    replicas: int = Field(1, ge=0, strict=True, description="Replicas. Default: 1.")
    port: Port | None = Field(
        None, description=f"Container port the app listens on. Default: {DEFAULT_PORT}."
    )
    resources: Resources | None = Field(
        None, description="Requests and limits. Default: the config's defaults.resources."
    )
    schedule: CronSchedule | None = Field(None, description="Makes the app a CronJob.")
    health: Health | None = Field(None, description="Readiness and liveness. Default: none.")

    @model_validator(mode="after")
    def _rules(self) -> DeployedApp:
        if self.fqdns is not None and self.fqdn is not None:
            raise ValueError("give either 'fqdns' or 'fqdn', not both")
        if self.schedule is not None:
            for field in ("fqdns", "fqdn", "health", "port"):
                if getattr(self, field) is not None:
                    raise ValueError(
                        f"{field}: a scheduled app (with 'schedule') serves no traffic; "
                        f"remove '{field}'"
                    )
        return self

    @property
    def hosts(self) -> list[str]:
        if self.fqdns is not None:
            return list(self.fqdns)
        return [self.fqdn] if self.fqdn is not None else []

    def listed_hosts(self) -> list[tuple[str, str, str]]:
        """(environment, where, host) of each host it serves; "" for every environment."""
        if self.fqdn is not None:
            return [("", "fqdn", self.fqdn)]
        return [("", f"fqdns[{h}]", host) for h, host in enumerate(self.fqdns or [])]


class PayloadInfisical(Model):
    """Connection to Infisical; the config's secrets.infisical."""

    url: str | None = Field(None, description="secrets.infisical.url")
    project_id: str | None = Field(None, description="secrets.infisical.project_id")
    identity_id: str | None = Field(None, description="secrets.infisical.auth.identity_id")


class GlobalSettings(Model):
    """Optional global settings a payload may set; each one wins over the existing config."""

    app_name: AppName | None = Field(None, description="The config's app.name.")
    namespace: AppNamespace | None = Field(None, description="The config's app.namespace.")
    domain: Hostname | None = Field(None, description="The config's base domain.")
    tls_issuer: Issuer | None = Field(None, description="The config's tls.issuer.")
    infisical: PayloadInfisical | None = Field(
        None, description="The config's Infisical connection (secrets.infisical)."
    )


class Payload(GlobalSettings):
    """The whole payload: `{"deployed_apps": [...]}`; a bare array is read as the same."""

    version: SchemaVersion | None = Field(
        None, description="Payload version: 1 (this form, the default) or 2."
    )
    deployed_apps: list[DeployedApp] = Field(
        max_length=MAX_APPS, description=f"The apps to deploy, at most {MAX_APPS}."
    )


# --- version 2 -------------------------------------------------------------------------------


class IngressTlsV2(Model):
    """TLS of an app's Ingress, when it is not the config's default."""

    secret_name: DnsSubdomain | None = Field(
        None, description="Secret the certificate is written to. Default: <name>-tls."
    )


class IngressV2(Model):
    """Public HTTP(S) access to an app with ports."""

    hosts: list[Hostname] = Field(
        default_factory=list,
        description="Hostnames under the config's domain; each environment gets them on its "
        "own domain.",
    )
    env_hosts: dict[DnsLabel, list[Hostname]] = Field(
        default_factory=dict,
        description="Hostnames outside the config's domain, per environment that serves them.",
    )
    paths: list[HttpPath] | None = Field(None, description="Path prefixes. Default: ['/'].")
    port: PortRef | None = Field(None, description="Port to route to. Default: the first.")
    tls: StrictBool | IngressTlsV2 | None = Field(
        None,
        description="false: plain HTTP; {secret_name}: TLS into that Secret. Default: the "
        "config's tls.enabled.",
    )

    @field_validator("tls", mode="before")
    @classmethod
    def _tls_shape(cls, value: Any) -> Any:
        if value is not None and not isinstance(value, bool | dict):
            raise ValueError('expected false, true or an object {"secret_name": ...}')
        return value


class AppCall(Model):
    """A call to another app of the payload."""

    name: DnsLabel = Field(description="The called app.")
    ports: list[PortRef] | None = Field(
        None, min_length=1, description="Its ports, by name or service port. Default: all."
    )


class EgressV2(Model):
    """Where the app may connect besides DNS. Default: nowhere."""

    apps: list[AppCall] = Field(default_factory=list, description="Other apps it calls.")
    external: list[ExternalEgress] = Field(
        default_factory=list,
        description="Hosts or address ranges outside the cluster, with their ports.",
    )
    internet: bool = Field(False, description="Any public address on any port. Default: false.")


class DeployedAppV2(AppEntry):
    """One entry of a version 2 payload: one `services[]` entry of the config."""

    type: WorkloadType = Field(DEFAULT_KIND, description="Deployment, CronJob or Job.")
    new_image: bool = Field(
        False,
        description="The image is a new release to deploy. Default: false: an app already in "
        "the config keeps the image it runs (set-image and promote own it).",
    )
    replicas: int | None = Field(None, ge=0, strict=True, description="Default: 1.")
    command: list[str] | None = Field(None, description="Entrypoint. Default: the image's.")
    args: list[str] | None = Field(None, description="Arguments. Default: the image's.")
    ports: list[ConfigPort] = Field(
        default_factory=list, description="Ports, each with its service port. Default: none."
    )
    probes: Probes | None = Field(None, description="readiness, liveness, startup probes.")
    resources: Resources | DnsLabel | None = Field(
        None,
        description="Requests and limits, or the name of a preset in the config's "
        "defaults.resource_presets. Default: the config's defaults.resources.",
    )
    volumes: list[Volume] = Field(default_factory=list, description="Writable volumes.")
    ingress: IngressV2 | None = Field(None, description="Public access. Default: none.")
    autoscaling: Autoscaling | None = Field(None, description="A HorizontalPodAutoscaler.")
    disruption_budget: DisruptionBudget | None = Field(None, description="A PodDisruptionBudget.")
    security: Security | None = Field(None, description="Loosens the restricted defaults.")
    egress: EgressV2 | None = Field(None, description="Declared calls. Default: none.")
    image_pull_secrets: list[DnsSubdomain] | None = Field(
        None, description="Pull secrets. Default: the config's defaults.image_pull_secrets."
    )
    schedule: CronSchedule | None = Field(None, description="Cron schedule of a CronJob.")

    def listed_hosts(self) -> list[tuple[str, str, str]]:
        """(environment, where, host) of each host it serves; "" for every environment."""
        if self.ingress is None:
            return []
        return [("", f"ingress.hosts[{h}]", host) for h, host in enumerate(self.ingress.hosts)] + [
            (env, f"ingress.env_hosts.{env}[{h}]", host)
            for env, hosts in self.ingress.env_hosts.items()
            for h, host in enumerate(hosts)
        ]


class PayloadV2(GlobalSettings):
    """A version 2 payload: `{"version": 2, "deployed_apps": [...]}`."""

    version: Literal[2] = Field(description="2.")
    deployed_apps: list[DeployedAppV2] = Field(
        max_length=MAX_APPS, description=f"The apps to deploy, at most {MAX_APPS}."
    )


AnyPayload = Payload | PayloadV2


# --- reading ---------------------------------------------------------------------------------


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def parse_json(text: str | bytes) -> Any:
    """Parse payload JSON; every failure becomes a PayloadError with one readable line."""
    if len(text) > MAX_PAYLOAD_BYTES:
        raise PayloadError([f"payload is larger than the limit of {MAX_PAYLOAD_BYTES} bytes"])
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise PayloadError([f"payload is not UTF-8 text (byte {exc.start})"]) from None
    try:
        data = json.loads(text, object_pairs_hook=_reject_duplicates)
    except _DuplicateKey as exc:
        raise PayloadError([f"invalid JSON: duplicate key '{exc.key}' in an object"]) from None
    except json.JSONDecodeError as exc:
        raise PayloadError(
            [f"line {exc.lineno} column {exc.colno}: invalid JSON: {exc.msg}"]
        ) from None
    except RecursionError:
        raise PayloadError([f"invalid JSON: nested deeper than {MAX_DEPTH} levels"]) from None
    problems: list[str] = []
    _check_text(data, [], problems, 0)
    if problems:
        raise PayloadError(problems)
    return data


_BAD_TEXT = re.compile(r"[\ud800-\udfff]")


def _check_text(value: Any, path: list[str | int], problems: list[str], depth: int) -> None:
    """Reject what JSON can carry but a config file cannot: lone surrogates, deep nesting."""
    if depth > MAX_DEPTH:
        problems.append(f"invalid JSON: nested deeper than {MAX_DEPTH} levels")
        raise PayloadError(problems)
    if isinstance(value, str):
        if _BAD_TEXT.search(value):
            problems.append(f"{_plain_path(path)}: contains an unpaired UTF-16 surrogate")
    elif isinstance(value, dict):
        for key, item in value.items():
            if _BAD_TEXT.search(key):
                problems.append(f"{_plain_path(path)}: a key contains an unpaired UTF-16 surrogate")
            _check_text(item, [*path, key], problems, depth + 1)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_text(item, [*path, i], problems, depth + 1)


def _plain_path(path: list[str | int]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out or "(payload)"


def parse_payload(data: Any) -> AnyPayload:
    """Validate parsed JSON; every problem becomes a line that names its entry."""
    if isinstance(data, list):
        data = {"deployed_apps": data}
    if not isinstance(data, dict):
        raise PayloadError(
            [
                "(payload): expected an object with a 'deployed_apps' array (or a bare array), "
                f"got {_json_type(data)}"
            ]
        )
    if "deployed_apps" not in data:
        raise PayloadError(["deployed_apps: required field is missing"])
    if not isinstance(data["deployed_apps"], list):
        raise PayloadError(
            [f"deployed_apps: expected an array of apps, got {_json_type(data['deployed_apps'])}"]
        )
    version = data.get("version")
    if version is not None and (isinstance(version, bool) or version not in PAYLOAD_VERSIONS):
        raise PayloadError(
            [f"version: {json.dumps(version)} is not a payload version; known: 1, 2"]
        )
    model: type[Payload] | type[PayloadV2] = PayloadV2 if version == 2 else Payload
    try:
        payload = model.model_validate(data)
    except ValidationError as exc:
        raise PayloadError(
            [_name_entry(line, data) for line in format_errors(exc, model)]
        ) from None
    problems = _cross_entry_problems(payload)
    if problems:
        raise PayloadError(problems)
    return payload


def load_payload(path: Path) -> AnyPayload:
    try:
        raw = read_bounded(path, MAX_PAYLOAD_BYTES)
    except InputTooLarge:
        raise PayloadError(
            [f"payload is larger than the limit of {MAX_PAYLOAD_BYTES} bytes"]
        ) from None
    except OSError as exc:
        raise PayloadError([f"cannot read {path}: {exc.strerror}"]) from None
    return parse_payload(parse_json(raw))


_ENTRY = re.compile(r"^deployed_apps\[(\d+)\]")


def entry_label(index: int, data: Any) -> str:
    """`deployed_apps[3] (name 'api')`, or without the name when it is not a usable string."""
    label = f"deployed_apps[{index}]"
    apps = data.get("deployed_apps") if isinstance(data, dict) else None
    if isinstance(apps, list) and index < len(apps) and isinstance(apps[index], dict):
        name = apps[index].get("name")
        if isinstance(name, str) and name and len(name) <= 80 and name.isprintable():
            label += f" (name {name!r})"
    return label


_NOT_OBJECT = re.compile(r"input should be a valid dictionary( or instance of \w+)?$")


def _name_entry(line: str, data: Any) -> str:
    line = _NOT_OBJECT.sub("expected an object", line)
    match = _ENTRY.match(line)
    if not match:
        return line
    return entry_label(int(match.group(1)), data) + line[match.end() :]


def _cross_entry_problems(payload: AnyPayload) -> list[str]:
    """Rules across entries, every problem at once: unique names, and each hostname served by
    one app only (per environment for a version 2 `env_hosts`), listed once."""
    problems = []
    apps: list[DeployedApp | DeployedAppV2] = list(payload.deployed_apps)
    data = {"deployed_apps": [{"name": a.name} for a in apps]}
    names: dict[str, int] = {}
    hosts: dict[tuple[str, str], tuple[int, str]] = {}
    for i, app in enumerate(apps):
        label = entry_label(i, data)
        if app.name in names:
            problems.append(
                f"{label}.name: '{app.name}' is already used by deployed_apps[{names[app.name]}]"
            )
        else:
            names[app.name] = i
        for env, where, host in app.listed_hosts():
            first, first_where = hosts.setdefault((env, host), (i, where))
            if first != i:
                other = entry_label(first, data)
                problems.append(f"{label}.{where}: '{host}' is already served by {other}")
            elif first_where != where:
                problems.append(f"{label}.{where}: '{host}' is already listed as {first_where}")
    return problems


_SERVICE = re.compile(r"^services\[(\d+)\]")
_SERVICE_REF = re.compile(r"\bservices\[(\d+)\]")


def entry_problem(line: str, payload: AnyPayload, data: Any) -> str | None:
    """A config problem about `services[i]` (the service entry i became) as a problem of that
    entry, under the payload's names: `deployed_apps[0] (name 'web').schedule`, `.fqdns[1]`,
    `.egress.apps[0]`; `services[j]` in the message is `deployed_apps[j]`. None when the line
    is not about an entry. `data` is the payload as given, for the entry's label."""
    line = v1_line(line)  # the payload's option names: `schedule`, not `cronjob.schedule`
    match = _SERVICE.match(line)
    if match is None or int(match.group(1)) >= len(payload.deployed_apps):
        return None
    index = int(match.group(1))
    path, colon, message = line[match.end() :].partition(": ")
    rest = path + colon + _SERVICE_REF.sub(r"deployed_apps[\1]", message)
    app = payload.deployed_apps[index]
    renames: tuple[tuple[str, str], ...] = (
        (".cronjob:", ".schedule:"),  # a payload gives a CronJob's schedule, and no option else
        ((".ingress.hosts[", ".fqdns[") if app.fqdn is None else (".ingress.hosts[0]", ".fqdn"))
        if isinstance(app, DeployedApp)
        else (".egress.services[", ".egress.apps["),
    )
    for old, new in renames:
        if rest.startswith(old):
            rest = new + rest[len(old) :]
    return entry_label(index, data) + rest


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


# --- mapping to the config -------------------------------------------------------------------


def to_service(app: DeployedApp) -> dict[str, Any]:
    """The `services[]` entry of one app, as plain data in the config's key order."""
    image = split_image(app.image)
    service: dict[str, Any] = {"name": app.name}
    if app.schedule is not None:
        service["type"] = "CronJob"
    service["image"] = {
        "repository": image.repository,
        **({"tag": image.tag} if image.tag else {}),
        **({"digest": image.digest} if image.digest else {}),
        **({"allow_mutable_tag": True} if app.allow_mutable_tag else {}),
    }
    if app.schedule is not None:
        service["cronjob"] = {"schedule": app.schedule}
    else:
        service["replicas"] = app.replicas
        port = app.port or DEFAULT_PORT
        service["ports"] = [
            {"name": PORT_NAME, "container_port": port, "service_port": SERVICE_PORT}
        ]
        if app.health is not None:
            probe_port: int | str = PORT_NAME
            if app.health.port is not None and app.health.port != port:
                probe_port = app.health.port
            check = {"http": {"path": app.health.path, "port": probe_port}}
            service["probes"] = {"readiness": check, "liveness": dict(check)}
    if app.resources is not None:
        service["resources"] = app.resources.model_dump(exclude_none=True)
    if app.env:
        service["env"] = dict(app.env)
    if app.not_secret:
        service["not_secret"] = list(app.not_secret)
    if app.secrets:
        service["secrets"] = [s.model_dump(exclude_none=True) for s in app.secrets]
    if app.hosts:
        service["ingress"] = {"hosts": app.hosts}
    return service


def to_service_v2(
    app: DeployedAppV2, presets: Mapping[str, Resources] | None = None
) -> dict[str, Any]:
    """The `services[]` entry of one version 2 app; keys the app leaves out are left out, so
    `generate` keeps what the config has for them. `presets` resolves a resources name."""

    def dump(model: Model) -> dict[str, Any]:
        return model.model_dump(mode="json", exclude_unset=True)

    image = split_image(app.image)
    service: dict[str, Any] = {"name": app.name}
    if app.type != DEFAULT_KIND:
        service["type"] = app.type
    service["image"] = {
        "repository": image.repository,
        **({"tag": image.tag} if image.tag else {}),
        **({"digest": image.digest} if image.digest else {}),
    }
    if app.schedule is not None:
        service["cronjob"] = {"schedule": app.schedule}
    if app.replicas is not None:
        service["replicas"] = app.replicas
    for key in ("command", "args"):
        value = getattr(app, key)
        if value is not None:
            service[key] = list(value)
    given = app.model_fields_set  # an empty list given on purpose clears the config's value
    if "ports" in given:
        service["ports"] = [dump(p) for p in app.ports]
    if app.probes is not None:
        service["probes"] = dump(app.probes)
    if isinstance(app.resources, Resources):
        service["resources"] = app.resources.model_dump(exclude_none=True)
    elif app.resources is not None:
        preset = (presets or {}).get(app.resources)
        if preset is None:
            raise ValueError(
                f"resources: no preset '{app.resources}' in the config's "
                f"defaults.resource_presets (known: {', '.join(sorted(presets or {})) or 'none'})"
            )
        service["resources"] = preset.model_dump(exclude_none=True)
    if "env" in given:
        service["env"] = dict(app.env)
    if "not_secret" in given:
        service["not_secret"] = list(app.not_secret)
    if "secrets" in given:
        service["secrets"] = [s.model_dump(exclude_none=True) for s in app.secrets]
    if "volumes" in given:
        service["volumes"] = [dump(v) for v in app.volumes]
    if app.ingress is not None:
        ingress: dict[str, Any] = {"hosts": list(app.ingress.hosts)}
        if app.ingress.env_hosts:
            ingress["env_hosts"] = {k: list(v) for k, v in app.ingress.env_hosts.items()}
        if app.ingress.paths is not None:
            ingress["paths"] = list(app.ingress.paths)
        if app.ingress.port is not None:
            ingress["port"] = app.ingress.port
        if app.ingress.tls is False:
            ingress["tls"] = {"enabled": False}
        elif app.ingress.tls is True:
            ingress["tls"] = {"enabled": True}
        elif app.ingress.tls is not None:
            ingress["tls"] = {"enabled": True, **dump(app.ingress.tls)}
        service["ingress"] = ingress
    for key in ("autoscaling", "disruption_budget", "security"):
        value = getattr(app, key)
        if value is not None:
            service[key] = dump(value)
    if app.egress is not None:
        egress: dict[str, Any] = {}
        if app.egress.internet:
            egress["internet"] = True
        if app.egress.apps:
            egress["services"] = [
                c.name if c.ports is None else {"name": c.name, "ports": list(c.ports)}
                for c in app.egress.apps
            ]
        if app.egress.external:
            egress["external"] = [dump(e) for e in app.egress.external]
        service["egress"] = egress
    if app.image_pull_secrets is not None:
        service["image_pull_secrets"] = list(app.image_pull_secrets)
    return service


def to_services(
    payload: AnyPayload, presets: Mapping[str, Resources] | None = None
) -> list[dict[str, Any]]:
    """The services of a payload; a version 2 app naming an unknown preset is a PayloadError."""
    if isinstance(payload, Payload):
        return [to_service(app) for app in payload.deployed_apps]
    services, problems = [], []
    data = {"deployed_apps": [{"name": a.name} for a in payload.deployed_apps]}
    for i, app in enumerate(payload.deployed_apps):
        try:
            services.append(to_service_v2(app, presets))
        except ValueError as exc:
            problems.append(f"{entry_label(i, data)}.{exc}")
    if problems:
        raise PayloadError(problems)
    return services
