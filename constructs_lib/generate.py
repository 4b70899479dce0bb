"""What `gitops-base generate` and `set-image` do, apart from argument parsing.

Both build the new config text in memory, validate the whole result, and only then replace
the file (temporary file + rename). Any problem leaves the existing file untouched.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from constructs_lib.config import AppConfig
from constructs_lib.config_edit import (
    EditError,
    Globals,
    fill_services,
    set_image,
    with_placeholder,
    write_atomic,
)
from constructs_lib.loading import ConfigError, format_errors, parse_yaml
from constructs_lib.payload import (
    Payload,
    PayloadError,
    entry_label,
    load_payload,
    parse_json,
    parse_payload,
    to_services,
)
from constructs_lib.value_types import ImageDigest, ImageTag


class GenerateError(Exception):
    """Every problem of one run, one `path: message` line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(f"{len(problems)} problem(s)")
        self.problems = problems


@dataclass(frozen=True)
class Result:
    changed: bool
    services: int
    text: str


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _read(path: Path) -> str | None:
    if not path.exists():
        return None
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise GenerateError([f"{_display(path)}: cannot read: {exc.strerror}"]) from None
    except UnicodeDecodeError as exc:
        raise GenerateError([f"{_display(path)}: not UTF-8 text (byte {exc.start})"]) from None


def merge_globals(payload: Payload, flags: Mapping[str, str | None]) -> Globals:
    """Flag > payload > existing config (None keeps what the config has)."""
    infisical = payload.infisical
    from_payload: dict[str, str | None] = {
        "app_name": payload.app_name,
        "namespace": payload.namespace,
        "domain": payload.domain,
        "tls_issuer": payload.tls_issuer,
        "infisical_url": infisical.url if infisical else None,
        "infisical_project_id": infisical.project_id if infisical else None,
        "infisical_identity_id": infisical.identity_id if infisical else None,
    }
    merged = {key: flags.get(key) or value for key, value in from_payload.items()}
    return Globals(**merged)


_SERVICE_LINE = re.compile(r"^services\[(\d+)\]")


def _config_problems(
    exc: ValidationError, output: Path, payload_data: Any, count: int
) -> list[str]:
    """Config errors, with problems inside services[i] named after their payload entry."""
    problems = []
    for line in format_errors(exc, AppConfig):
        match = _SERVICE_LINE.match(line)
        if match and int(match.group(1)) < count:
            line = entry_label(int(match.group(1)), payload_data) + line[match.end() :]
            if line.endswith("secrets.infisical is not configured"):
                line += (
                    "; set it in the config, in the payload's 'infisical' or with "
                    "--infisical-url, --infisical-project-id and --infisical-identity-id"
                )
            problems.append(line)
        else:
            problems.append(f"{_display(output)}: {line}")
    return problems


def generate(
    *,
    payload_path: Path | None,
    payload_text: bytes | None,
    output: Path,
    flags: Mapping[str, str | None],
    allow_empty: bool = False,
    check: bool = False,
) -> Result:
    try:
        if payload_path is not None:
            payload = load_payload(payload_path)
        else:
            payload = parse_payload(parse_json(payload_text or b""))
    except PayloadError as exc:
        raise GenerateError(exc.problems) from None
    if not payload.deployed_apps and not allow_empty:
        raise GenerateError(
            [
                "deployed_apps: is empty, which would remove every service from the config; "
                "pass --allow-empty if that is meant"
            ]
        )
    settings = merge_globals(payload, flags)
    existing = _read(output)
    try:
        skeleton = with_placeholder(existing, settings)
    except EditError as exc:
        raise GenerateError([f"{_display(output)}: {p}" for p in exc.problems]) from None
    services = to_services(payload)
    try:
        data = parse_yaml(skeleton, _display(output))
    except ConfigError as exc:
        raise GenerateError([f"{exc.source}: {p}" for p in exc.problems]) from None
    if not isinstance(data, dict):
        raise GenerateError([f"{_display(output)}: (root): expected a mapping"])
    # The services block is written from exactly this data; tests prove it reads back equal.
    data["services"] = services
    try:
        AppConfig.model_validate(data)
    except ValidationError as exc:
        names = {"deployed_apps": [{"name": s["name"]} for s in services]}
        raise GenerateError(_config_problems(exc, output, names, len(services))) from None
    text = fill_services(skeleton, services)
    changed = text != existing
    if changed and not check:
        try:
            write_atomic(output, text)
        except OSError as exc:
            raise GenerateError([f"{_display(output)}: cannot write: {exc.strerror}"]) from None
    return Result(changed=changed, services=len(services), text=text)


_TAG = TypeAdapter(ImageTag)
_DIGEST = TypeAdapter(ImageDigest)


def set_image_in_file(
    config: Path, service: str, *, tag: str | None, digest: str | None
) -> tuple[bool, str]:
    """Set one service's tag or digest in place. Returns (changed, new image reference)."""
    for name, adapter, value in (("TAG", _TAG, tag), ("DIGEST", _DIGEST, digest)):
        if value is None:
            continue
        try:
            adapter.validate_python(value)
        except ValidationError as exc:
            message = str(exc.errors()[0]["msg"]).removeprefix("Value error, ")
            raise GenerateError([f"{name}: {message}"]) from None
    text = _read(config)
    if text is None:
        raise GenerateError([f"{_display(config)}: no such file"])
    try:
        new = set_image(text, service, tag=tag, digest=digest)
    except EditError as exc:
        raise GenerateError([f"{_display(config)}: {p}" for p in exc.problems]) from None
    try:
        data = parse_yaml(new, _display(config))
        parsed = AppConfig.model_validate(data)
    except ConfigError as exc:
        raise GenerateError([f"{exc.source}: {p}" for p in exc.problems]) from None
    except ValidationError as exc:
        raise GenerateError(
            [f"{_display(config)}: {p}" for p in format_errors(exc, AppConfig)]
        ) from None
    reference = next(s.image.reference for s in parsed.services if s.name == service)
    if new == text:
        return False, reference
    try:
        write_atomic(config, new)
    except OSError as exc:
        raise GenerateError([f"{_display(config)}: cannot write: {exc.strerror}"]) from None
    return True, reference
