"""Per-environment images in `config/app-config.yaml`: the line `set-image --env` and `promote`
edit, under the service's `image.envs`:

    image:
      repository: ghcr.io/acme/web
      tag: "1.9.0"            # what an environment without an override runs
      envs:
        prod: {tag: "1.8.0"}  # one line per environment; a change is a one-line diff

The first override of a service adds the `envs:` line too. Every edit is checked by the caller
(the whole config is validated before the file is replaced).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import TypeAdapter, ValidationError
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import YAMLError as RuamelError

from constructs_lib.cli.config_edit import EditError, _round_trip, pin_text, scalar, write_atomic
from constructs_lib.cli.generate import GenerateError, read_text
from constructs_lib.model.clusters import cluster_dirs
from constructs_lib.model.config import AppConfig
from constructs_lib.model.loading import ConfigError, format_errors, parse_yaml
from constructs_lib.model.service import Service
from constructs_lib.model.value_types import ImageDigest, ImageTag
from constructs_lib.paths import display

_TAG = TypeAdapter(ImageTag)
_DIGEST = TypeAdapter(ImageDigest)


def set_env_image(text: str, service: str, env: str, *, tag: str | None, digest: str | None) -> str:
    """The config text with `env`'s image of `service` pinned to tag and/or digest."""
    if tag is None and digest is None:
        raise ValueError("give a tag, a digest or both")
    try:
        doc = _round_trip().load(text)
    except RuamelError as exc:
        raise EditError([f"invalid YAML: {str(exc).splitlines()[0]}"]) from None
    services = doc.get("services") if isinstance(doc, CommentedMap) else None
    if not isinstance(services, list):
        raise EditError(["services: no services in this config"])
    index = next(
        (
            i
            for i, s in enumerate(services)
            if isinstance(s, CommentedMap) and s.get("name") == service
        ),
        None,
    )
    if index is None:
        known = ", ".join(str(s.get("name")) for s in services if isinstance(s, CommentedMap))
        raise EditError([f"services: no service named '{service}' (services: {known or 'none'})"])
    image = services[index].get("image")
    where = f"services[{index}].image"
    if not isinstance(image, CommentedMap) or image.fa.flow_style():
        raise EditError(
            [
                f"{where}: write the image as a block mapping (one key a line) to pin it per "
                "environment"
            ]
        )
    lines = text.splitlines(keepends=True)
    pin = pin_text(tag, digest)
    envs = image.get("envs")
    if isinstance(envs, CommentedMap) and envs and not envs.fa.flow_style():
        if env in envs:
            key_line = envs.lc.key(env)[0]
            value_line, value_col = envs.lc.value(env)
            if key_line != value_line:
                raise EditError([f"{where}.envs.{env}: the value must be on the key's line"])
            line = lines[key_line]
            comment = line.find("#", value_col)
            tail = line[comment:] if comment >= 0 else "\n"
            if comment >= 0:
                tail = "  " + tail.lstrip()
            lines[key_line] = line[:value_col] + pin + tail
            return "".join(lines)
        last = list(envs)[-1]
        last_line, col = envs.lc.key(last)
        lines.insert(last_line + 1, f"{' ' * col}{scalar(env)}: {pin}\n")
        return "".join(lines)
    if "envs" in image:
        raise EditError([f"{where}.envs: write it as a block mapping (one environment a line)"])
    last = list(image)[-1]
    last_line, col = image.lc.key(last)
    if image.lc.value(last)[0] != last_line:
        raise EditError([f"{where}.{last}: the value must be on the key's line"])
    indent = " " * col
    lines[last_line + 1 : last_line + 1] = [
        f"{indent}envs:\n",
        f"{indent}  {scalar(env)}: {pin}\n",
    ]
    return "".join(lines)


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


def pin_env_in_file(
    config: Path, service: str, env: str, *, tag: str | None, digest: str | None
) -> tuple[bool, str]:
    """Pin one service's image in one environment. Returns (changed, the env's reference)."""
    text = load_config_text(config)
    find_service(parse_config(text, config), service, config)
    try:
        new = set_env_image(text, service, env, tag=tag, digest=digest)
    except EditError as exc:
        raise GenerateError([f"{display(config)}: {p}" for p in exc.problems]) from None
    parsed = parse_config(new, config)
    reference = find_service(parsed, service, config).image.reference_in(env)
    if new == text:
        return False, reference
    try:
        write_atomic(config, new)
    except OSError as exc:
        raise GenerateError([f"{display(config)}: cannot write: {exc.strerror}"]) from None
    return True, reference
