"""`gitops-base generate`: the services of the config from a deployed_apps payload.

It builds the new config text in memory, validates the whole result, and only then replaces
the file (temporary file + rename). Any problem leaves the existing file untouched.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from constructs_lib.cli.support.common import EXIT_INVALID, EXIT_OK, EXIT_USAGE, fail, project_root
from constructs_lib.cli.support.config_edit import (
    EditError,
    Globals,
    fill_services,
    migrate_services,
    with_placeholder,
    write_atomic,
)
from constructs_lib.cli.support.config_file import GenerateError, read_text
from constructs_lib.cli.support.generate_merge import merge_services
from constructs_lib.locking import LockError, checkout_lock
from constructs_lib.model.bounded import MAX_YAML_BYTES, InputTooLarge, read_bounded
from constructs_lib.model.clusters import CLUSTER_FILE, cluster_dirs
from constructs_lib.model.config import AppConfig, unknown_envs
from constructs_lib.model.cross_checks import base_domain_problem
from constructs_lib.model.loading import ConfigError, format_errors, parse_yaml
from constructs_lib.model.migration import CONFIG_VERSION, is_v1
from constructs_lib.model.payload import (
    MAX_PAYLOAD_BYTES,
    AnyPayload,
    PayloadError,
    entry_problem,
    load_payload,
    parse_json,
    parse_payload,
    to_services,
)
from constructs_lib.model.service import Resources
from constructs_lib.model.value_types import Hostname
from constructs_lib.paths import display

_HOSTNAME: TypeAdapter[str] = TypeAdapter(Hostname)


@dataclass(frozen=True)
class Result:
    changed: bool
    services: int
    text: str
    migrated: bool = False  # the config was version 1, and is written as version 2


def version_2(text: str, path: Path) -> str:
    """The config text as version 2: a version 1 config is migrated (`gitops-base migrate`
    does the same), so the services generate writes are version 2 and so is the file."""
    try:
        data = parse_yaml(text.removeprefix("\ufeff"), display(path))
    except ConfigError:
        return text  # reported with the rest below
    if not is_v1(data):
        return text
    try:
        return migrate_services(text)[0]
    except EditError as exc:
        raise GenerateError([f"{display(path)}: {p}" for p in exc.problems]) from None


def resource_presets(data: Mapping[str, Any]) -> dict[str, Resources]:
    """The config's defaults.resource_presets; an invalid one is reported by validation."""
    defaults = data.get("defaults")
    raw = defaults.get("resource_presets") if isinstance(defaults, Mapping) else None
    presets = {}
    for name, value in (raw or {}).items() if isinstance(raw, Mapping) else ():
        try:
            presets[str(name)] = Resources.model_validate(value)
        except ValidationError:
            continue
    return presets


def held_envs(data: Mapping[str, Any], clusters: Path | None) -> list[str]:
    """The config's promotion.held (default [prod]) that clusters/ has (all of them without a
    clusters folder); an invalid value is reported by validation."""
    promotion = data.get("promotion")
    raw = promotion.get("held", ["prod"]) if isinstance(promotion, Mapping) else ["prod"]
    held = [env for env in raw if isinstance(env, str)] if isinstance(raw, list) else []
    if clusters is not None and clusters.is_dir():
        known = {folder.name for folder in cluster_dirs(clusters)}
        held = [env for env in held if env in known]
    return held


def merge_globals(payload: AnyPayload, flags: Mapping[str, str | None]) -> Globals:
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


def is_hostname(value: str) -> bool:
    try:
        _HOSTNAME.validate_python(value)
    except ValidationError:
        return False
    return True


def env_domains(clusters: Path) -> dict[str, str]:
    """Each environment's `domain` in clusters/<env>/cluster.yaml, by folder name. A file that
    cannot be read or has no domain string is left out: `validate` reports it."""
    domains: dict[str, str] = {}
    if not clusters.is_dir():
        return domains
    for folder in cluster_dirs(clusters):
        try:
            text = read_bounded(folder / CLUSTER_FILE, MAX_YAML_BYTES).decode("utf-8")
            data = parse_yaml(text, display(folder / CLUSTER_FILE))
        except (OSError, InputTooLarge, UnicodeDecodeError, ConfigError):
            continue
        domain = data.get("domain") if isinstance(data, dict) else None
        if isinstance(domain, str):
            domains[folder.name] = domain
    return domains


def domain_problem(
    domain: str, source: str, config_domain: str | None, clusters: Path
) -> str | None:
    """A payload (or --domain) domain that the environments' domains are not under would move
    every host under it onto an unrelated domain (rehost): refused, naming the domain the
    environments share (the config's, when they are all under it). None when every
    environment's domain is it or under it."""
    return base_domain_problem(
        domain,
        env_domains(clusters),
        display(clusters),
        subject=source,
        suggest=config_domain,
        fix="send",
        tail=" first",
    )


def _config_problems(
    exc: ValidationError, output: Path, payload: AnyPayload, payload_data: Any
) -> list[str]:
    """Config errors; a problem of a service the payload gave is named on its entry."""
    problems = []
    for line in format_errors(exc, AppConfig):
        problem = entry_problem(line, payload, payload_data)
        if problem is None:
            problems.append(f"{display(output)}: {line}")
            continue
        if problem.endswith("secrets.infisical is not configured"):
            problem += (
                "; set it in the config, in the payload's 'infisical' or with "
                "--infisical-url, --infisical-project-id and --infisical-identity-id"
            )
        problems.append(problem)
    return problems


def trust_problems(config: AppConfig, clusters: Path) -> list[str]:
    """The config's findings of the trust rule set in each environment whose settings load
    (overlays/ beside clusters/), as `path: message` lines."""
    from constructs_lib.model.clusters import ClusterSettings
    from constructs_lib.model.loading import load_model
    from constructs_lib.render.policy import CONFIG, static_problems

    lines = []
    for folder in cluster_dirs(clusters):
        try:
            cluster = load_model(ClusterSettings, folder / CLUSTER_FILE)
        except ConfigError:
            continue  # reported by validate
        overlays = clusters.parent / "overlays"
        lines += [
            line for file, line in static_problems(config, cluster, overlays) if file == CONFIG
        ]
    return lines


def generate(
    *,
    payload_path: Path | None,
    payload_text: bytes | None,
    output: Path,
    flags: Mapping[str, str | None],
    allow_empty: bool = False,
    check: bool = False,
    clusters: Path | None = None,
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
    current = read_text(output)
    if current is not None:  # generate writes its own line ends, as open() in text mode reads
        current = current.replace("\r\n", "\n").replace("\r", "\n")
    existing = version_2(current, output) if current is not None else None
    try:
        skeleton = with_placeholder(existing, settings)
    except EditError as exc:
        raise GenerateError([f"{display(output)}: {p}" for p in exc.problems]) from None
    try:
        data = parse_yaml(skeleton, display(output))
        before = parse_yaml(existing, display(output)) if existing is not None else None
    except ConfigError as exc:
        raise GenerateError([f"{exc.source}: {p}" for p in exc.problems]) from None
    if not isinstance(data, dict):
        raise GenerateError([f"{display(output)}: (root): expected a mapping"])
    config_domain = before.get("domain") if isinstance(before, dict) else None
    if not isinstance(config_domain, str):
        config_domain = None
    if (
        clusters is not None
        and settings.domain
        and settings.domain != config_domain
        and is_hostname(settings.domain)  # an invalid one is reported by validation
    ):
        source = "--domain" if flags.get("domain") else "the payload's domain"
        problem = domain_problem(settings.domain, source, config_domain, clusters)
        if problem:
            raise GenerateError([problem])
    try:
        services = to_services(payload, resource_presets(data))
    except PayloadError as exc:
        raise GenerateError(exc.problems) from None
    old_services = before.get("services") if isinstance(before, dict) else None
    services = merge_services(payload, services, old_services or [], held_envs(data, clusters))
    # The services block is written from exactly this data; tests prove it reads back equal.
    data["services"] = services
    names = {"deployed_apps": [{"name": s["name"]} for s in services]}
    try:
        config = AppConfig.model_validate(data)
    except ValidationError as exc:
        raise GenerateError(_config_problems(exc, output, payload, names)) from None
    if clusters is not None and clusters.is_dir():
        # What validate checks against the environments is refused here, not after the write:
        # a per-environment key (a version 2 payload's env_hosts, say) naming none of them,
        # and egress the trust rule set refuses in one of them.
        envs = [folder.name for folder in cluster_dirs(clusters)]
        lines = unknown_envs(config, envs) + trust_problems(config, clusters)
        if lines:
            raise GenerateError(
                [
                    entry_problem(line, payload, names) or f"{display(output)}: {line}"
                    for line in lines
                ]
            )
    text = fill_services(skeleton, services)
    changed = text != current
    if changed and not check:
        try:
            write_atomic(output, text)
        except OSError as exc:
            raise GenerateError([f"{display(output)}: cannot write: {exc.strerror}"]) from None
    migrated = existing != current
    return Result(changed=changed, services=len(services), text=text, migrated=migrated)


def run(args: argparse.Namespace) -> int:
    output: Path = args.output
    if args.commit and args.check:
        print("usage: --commit writes a commit; --check writes nothing: give one", file=sys.stderr)
        return EXIT_USAGE
    # One byte over the limit is enough for the payload check to refuse it.
    payload_text = sys.stdin.buffer.read(MAX_PAYLOAD_BYTES + 1) if args.input == "-" else None
    try:
        with checkout_lock(project_root()):
            result = generate(
                payload_path=None if args.input == "-" else Path(args.input),
                payload_text=payload_text,
                output=output,
                flags={
                    "app_name": args.app_name,
                    "namespace": args.namespace,
                    "domain": args.domain,
                    "tls_issuer": args.tls_issuer,
                    "infisical_url": args.infisical_url,
                    "infisical_project_id": args.infisical_project_id,
                    "infisical_identity_id": args.infisical_identity_id,
                },
                allow_empty=args.allow_empty,
                check=args.check,
                clusters=args.clusters,
            )
    except (GenerateError, LockError) as exc:
        return fail(
            exc.problems,
            f"generate: {len(exc.problems)} problem(s); {display(output)} was not changed",
        )
    if args.check and result.changed:
        print(
            f"{display(output)} is not up to date with the payload; run generate", file=sys.stderr
        )
        return EXIT_INVALID
    if result.migrated and not args.check:
        print(f"migrated {display(output)} to version {CONFIG_VERSION}")
    state = "wrote" if result.changed else "unchanged:"
    noun = "service" if result.services == 1 else "services"
    print(f"{state} {display(output)} ({result.services} {noun})")
    if args.commit:
        from constructs_lib.cli.support.promotion_record import record_and_commit

        subject = f"generate: {result.services} {noun} from the deployed_apps payload"
        return record_and_commit(args, output, subject)
    return EXIT_OK
