"""`config/app-config.yaml` as the commands that edit it read, check and write it back.

An edit is made on the text in memory (`config_edit`), the whole result is validated, and only
then is the file replaced (temporary file + rename): any problem leaves it untouched.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pydantic import TypeAdapter, ValidationError

from constructs_lib.cli.support.config_edit import EditError, set_env_image, write_atomic
from constructs_lib.errors import ProblemsError
from constructs_lib.model.bounded import MAX_YAML_BYTES, InputTooLarge, read_bounded
from constructs_lib.model.clusters import cluster_dirs
from constructs_lib.model.config import AppConfig
from constructs_lib.model.loading import ConfigError, format_errors, parse_yaml
from constructs_lib.model.service import Service
from constructs_lib.model.value_types import ImageDigest, ImageTag
from constructs_lib.paths import display

_TAG = TypeAdapter(ImageTag)
_DIGEST = TypeAdapter(ImageDigest)


class GenerateError(ProblemsError):
    """Every problem of one run, one `path: message` line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(problems, message=f"{len(problems)} problem(s)")


def read_text(path: Path) -> str | None:
    """The config's text as it is on disk (a BOM and CRLF line ends kept), at most
    MAX_YAML_BYTES; None if there is no file."""
    if not path.exists():
        return None
    try:
        return read_bounded(path, MAX_YAML_BYTES).decode("utf-8")
    except OSError as exc:
        raise GenerateError([f"{display(path)}: cannot read: {exc.strerror}"]) from None
    except InputTooLarge as exc:
        raise GenerateError([f"{display(path)}: {exc}"]) from None
    except UnicodeDecodeError as exc:
        raise GenerateError([f"{display(path)}: not UTF-8 text (byte {exc.start})"]) from None


def check_env(env: str, clusters: Path, flag: str) -> None:
    known = [p.name for p in cluster_dirs(clusters)] if clusters.is_dir() else []
    if env not in known:
        raise GenerateError(
            [f"{flag}: no environment '{env}' ({display(clusters)}: {', '.join(known) or 'none'})"]
        )


def check_pins(tag: str | None, digest: str | None) -> None:
    for name, adapter, value in (("TAG", _TAG, tag), ("DIGEST", _DIGEST, digest)):
        if value is None:
            continue
        try:
            adapter.validate_python(value)
        except ValidationError as exc:
            message = str(exc.errors()[0]["msg"]).removeprefix("Value error, ")
            raise GenerateError([f"{name}: {message}"]) from None


def load_config_text(config: Path) -> str:
    text = read_text(config)
    if text is None:
        raise GenerateError([f"{display(config)}: no such file"])
    return text


def parse_config(text: str, config: Path) -> AppConfig:
    try:
        return AppConfig.model_validate(parse_yaml(text, display(config)))
    except ConfigError as exc:
        raise GenerateError([f"{exc.source}: {p}" for p in exc.problems]) from None
    except ValidationError as exc:
        raise GenerateError(
            [f"{display(config)}: {p}" for p in format_errors(exc, AppConfig)]
        ) from None


def find_service(config: AppConfig, name: str, path: Path) -> Service:
    for service in config.services:
        if service.name == name:
            return service
    known = ", ".join(s.name for s in config.services) or "none"
    raise GenerateError(
        [f"{display(path)}: services: no service named '{name}' (services: {known})"]
    )


def edit_config_file(config: Path, edit: Callable[[str], str]) -> tuple[bool, AppConfig]:
    """Apply `edit` to the config's text, validate the whole result, and replace the file if
    the text changed. Returns (changed, the config as edited)."""
    text = load_config_text(config)
    try:
        new = edit(text)
    except EditError as exc:
        raise GenerateError([f"{display(config)}: {p}" for p in exc.problems]) from None
    edited = parse_config(new, config)
    if new == text:
        return False, edited
    try:
        write_atomic(config, new)
    except OSError as exc:
        raise GenerateError([f"{display(config)}: cannot write: {exc.strerror}"]) from None
    return True, edited


def pin_env_in_file(
    config: Path, service: str, env: str, *, tag: str | None, digest: str | None
) -> tuple[bool, str]:
    """Pin one service's image in one environment. Returns (changed, the env's reference)."""

    def edit(text: str) -> str:
        find_service(parse_config(text, config), service, config)
        return set_env_image(text, service, env, tag=tag, digest=digest)

    changed, edited = edit_config_file(config, edit)
    return changed, find_service(edited, service, config).image.reference_in(env)
