"""The `deployed_apps` payload (v1): what the infra pipeline hands to `gitops-base generate`.

The payload lists the apps to deploy; `to_services` turns each entry into one `services[]`
entry of the config. Every problem is reported as one line that names the entry it is in:
`deployed_apps[3] (name 'api').fqdns[0]: ...`. Reference: docs/reference/deployed-apps.md.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, Field, TypeAdapter, ValidationError, model_validator

from constructs_lib.errors import ProblemsError
from constructs_lib.model.bounded import InputTooLarge, read_bounded
from constructs_lib.model.config import (
    Issuer,
    Model,
    Resources,
    SecretRef,
    check_requests_within_limits,
)
from constructs_lib.model.loading import format_errors
from constructs_lib.model.value_types import (
    AppName,
    AppNamespace,
    CronSchedule,
    DnsLabel,
    EnvName,
    Hostname,
    HttpPath,
    ImageDigest,
    ImageRepository,
    ImageTag,
    SchemaVersion,
)

PAYLOAD_VERSION = 1
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


@dataclass(frozen=True)
class ImageParts:
    repository: str
    tag: str | None
    digest: str | None


def split_image(reference: str) -> ImageParts:
    """`repo:tag`, `repo@sha256:...` or `repo:tag@sha256:...`; a registry port is not a tag."""
    name, at, digest = reference.partition("@")
    last_slash = name.rfind("/")
    colon = name.rfind(":")
    tag = None
    if colon > last_slash:
        name, tag = name[:colon], name[colon + 1 :]
    return ImageParts(name, tag, digest if at else None)


_REPOSITORY = TypeAdapter(ImageRepository)
_TAG = TypeAdapter(ImageTag)
_DIGEST = TypeAdapter(ImageDigest)


def _image_reference(value: str) -> str:
    if any(c.isspace() or not c.isprintable() for c in value):
        raise ValueError(f"'{value}' is not a valid image reference: it contains whitespace")
    parts = split_image(value)
    problems = []
    for adapter, part in (
        (_REPOSITORY, parts.repository),
        (_TAG, parts.tag),
        (_DIGEST, parts.digest),
    ):
        if part is None:
            continue
        try:
            adapter.validate_python(part)
        except ValidationError as exc:
            problems.append(str(exc.errors()[0]["msg"]).removeprefix("Value error, "))
    if problems:
        raise ValueError(f"'{value}' is not a valid image reference: {problems[0]}")
    if parts.tag is None and parts.digest is None:
        raise ValueError(
            f"'{value}' has neither a tag nor a digest: pin one, e.g. '{value}:1.0.0' or "
            f"'{value}@sha256:<64 hex digits>'"
        )
    return value


ImageReference = Annotated[str, AfterValidator(_image_reference)]


class Health(Model):
    """HTTP health check; becomes the readiness and liveness probe of the app."""

    path: HttpPath = Field(description="HTTP path answering 2xx when the app is healthy.")
    port: Port | None = Field(None, description="Port of the check. Default: the app's `port`.")


class PayloadSecret(SecretRef):
    """One Infisical secret: its folder and key, and whether it arrives as env var or file."""


class DeployedApp(Model):
    """One entry of `deployed_apps`: one app, one `services[]` entry of the config."""

    name: DnsLabel = Field(
        min_length=1, description="Unique in the payload; becomes the service name."
    )
    image: ImageReference = Field(
        min_length=1,
        description="Full image reference with a tag, a digest, or both: "
        "'ghcr.io/acme/api:1.2.3', 'ghcr.io/acme/api@sha256:...'.",
    )
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
    schedule: CronSchedule | None = Field(
        None, description="Cron schedule; makes the app a CronJob. Default: a Deployment."
    )
    env: dict[EnvName, str] = Field(
        default_factory=dict, description="Plain environment variables. Default: none."
    )
    secrets: list[PayloadSecret] = Field(
        default_factory=list, description="Secrets from Infisical. Default: none."
    )
    health: Health | None = Field(
        None, description="HTTP readiness and liveness check. Default: no probes."
    )

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
        for i, host in enumerate(self.fqdns or []):
            first = (self.fqdns or []).index(host)
            if first != i:
                raise ValueError(f"fqdns[{i}]: '{host}' is already listed as fqdns[{first}]")
        if self.resources is not None:
            check_requests_within_limits(self.resources)
        env_targets: dict[str, str] = {name: "env" for name in self.env}
        files: dict[str, int] = {}
        for i, secret in enumerate(self.secrets):
            if secret.env is not None:
                if secret.env in env_targets:
                    raise ValueError(
                        f"secrets[{i}].env: '{secret.env}' is already set by "
                        f"{env_targets[secret.env]}"
                    )
                env_targets[secret.env] = f"secrets[{i}]"
            if secret.file is not None:
                if secret.file in files:
                    raise ValueError(
                        f"secrets[{i}].file: '{secret.file}' is already used by "
                        f"secrets[{files[secret.file]}]"
                    )
                files[secret.file] = i
        return self

    @property
    def hosts(self) -> list[str]:
        if self.fqdns is not None:
            return list(self.fqdns)
        return [self.fqdn] if self.fqdn is not None else []


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

    version: SchemaVersion | None = Field(None, description="Payload version. Only 1 exists.")
    deployed_apps: list[DeployedApp] = Field(
        max_length=MAX_APPS, description=f"The apps to deploy, at most {MAX_APPS}."
    )


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


def parse_payload(data: Any) -> Payload:
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
    try:
        payload = Payload.model_validate(data)
    except ValidationError as exc:
        raise PayloadError(
            [_name_entry(line, data) for line in format_errors(exc, Payload)]
        ) from None
    problems = _cross_entry_problems(payload)
    if problems:
        raise PayloadError(problems)
    return payload


def load_payload(path: Path) -> Payload:
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


def _cross_entry_problems(payload: Payload) -> list[str]:
    """Rules across entries: unique names, each hostname served by one app only."""
    problems = []
    data = {"deployed_apps": [{"name": a.name} for a in payload.deployed_apps]}
    names: dict[str, int] = {}
    hosts: dict[str, int] = {}
    for i, app in enumerate(payload.deployed_apps):
        label = entry_label(i, data)
        if app.name in names:
            problems.append(
                f"{label}.name: '{app.name}' is already used by deployed_apps[{names[app.name]}]"
            )
        else:
            names[app.name] = i
        field = "fqdn" if app.fqdn is not None else "fqdns"
        for h, host in enumerate(app.hosts):
            where = f"{label}.{field}" + (f"[{h}]" if field == "fqdns" else "")
            if host in hosts and hosts[host] != i:
                other = entry_label(hosts[host], data)
                problems.append(f"{where}: '{host}' is already served by {other}")
            hosts.setdefault(host, i)
    return problems


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
        service["schedule"] = app.schedule
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
    if app.secrets:
        service["secrets"] = [s.model_dump(exclude_none=True) for s in app.secrets]
    if app.hosts:
        service["ingress"] = {"hosts": app.hosts}
    return service


def to_services(payload: Payload) -> list[dict[str, Any]]:
    return [to_service(app) for app in payload.deployed_apps]
