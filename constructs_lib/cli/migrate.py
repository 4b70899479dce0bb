"""`gitops-base migrate`: rewrite a version 1 config, and the overlays' configs, as version 2.

Version 2 nests each kind's options under the kind (`model/migration.py`). The rewrite moves
those lines and their comments and leaves every other line alone. It runs only on a config
that is valid, checks that the result reads back as the same config, and replaces each file
atomically under the checkout's lock: a failed run changes nothing.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from constructs_lib.cli.support.common import EXIT_INVALID, EXIT_OK, fail, project_root
from constructs_lib.cli.support.config_edit import EditError, migrate_services, write_atomic
from constructs_lib.cli.support.config_file import GenerateError, read_text
from constructs_lib.locking import LockError, checkout_lock
from constructs_lib.model.config import AppConfig
from constructs_lib.model.loading import ConfigError, format_errors, parse_yaml
from constructs_lib.model.migration import CONFIG_VERSION, is_v1, upgrade_overlay_services
from constructs_lib.paths import display

OVERLAY_CONFIG = "config.yaml"


@dataclass
class Migration:
    """What a run changes: each file's new text, and a line per removed key."""

    files: dict[Path, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def migrate(config: Path, overlays: Path | None) -> Migration:
    """The version 2 text of the config and of each overlay config that needs it; a
    GenerateError when the config cannot be read or is not valid."""
    text = read_text(config)
    if text is None:
        raise GenerateError([f"{display(config)}: no such file"])
    data = _parse(text, config)
    before = _validate(data, config)
    done = Migration()
    if is_v1(data):
        new, removed = _edit(text, config)
        after = _validate(_parse(new, config), config)
        if after != before:  # the moves of migrate_services and of migration.upgrade differ
            raise GenerateError([f"{display(config)}: the rewrite would change the config"])
        done.files[config] = new
        done.notes += [f"{display(config)}: {line}" for line in removed]
    kinds = {s.name: s.type for s in before.services}
    for path in sorted(overlays.glob(f"*/{OVERLAY_CONFIG}")) if overlays else []:
        text = read_text(path) or ""
        old = _parse(text, path)
        new, removed = _edit(text, path, kind_of=kinds.get, set_version=False)
        if new == text:
            continue
        upgraded = _parse(new, path)
        services = old.get("services") if isinstance(old, dict) else None
        expected = upgrade_overlay_services(services or [], kinds.get)
        if not isinstance(upgraded, dict) or upgraded.get("services") != expected:
            raise GenerateError([f"{display(path)}: the rewrite would change the overlay"])
        done.files[path] = new
        done.notes += [f"{display(path)}: {line}" for line in removed]
    return done


def _parse(text: str, path: Path) -> Any:
    try:
        return parse_yaml(text.removeprefix("\ufeff"), display(path))
    except ConfigError as exc:
        raise GenerateError([f"{exc.source}: {p}" for p in exc.problems]) from None


def _validate(data: Any, path: Path) -> AppConfig:
    try:
        return AppConfig.model_validate(data)
    except ValidationError as exc:
        problems = [f"{display(path)}: {p}" for p in format_errors(exc, AppConfig)]
        raise GenerateError(problems) from None


def _edit(text: str, path: Path, **options: Any) -> tuple[str, list[str]]:
    bom = "\ufeff" if text.startswith("\ufeff") else ""
    try:
        new, removed = migrate_services(text.removeprefix(bom), **options)
    except EditError as exc:
        raise GenerateError([f"{display(path)}: {p}" for p in exc.problems]) from None
    return bom + new, removed


def run(args: argparse.Namespace) -> int:
    overlays: Path = args.overlays
    try:
        with checkout_lock(project_root()):
            done = migrate(args.config, overlays if overlays.is_dir() else None)
            if not args.check:  # the overlays first: each file reads right either way
                for path, text in reversed(done.files.items()):
                    write_atomic(path, text)
    except (GenerateError, LockError) as exc:
        return fail(exc.problems, f"migrate: {len(exc.problems)} problem(s); nothing was changed")
    except OSError as exc:
        return fail([f"cannot write: {exc}"], "migrate: stopped")
    for note in done.notes:
        print(note)
    if not done.files:
        print(f"{display(args.config)}: already version {CONFIG_VERSION}")
        return EXIT_OK
    if args.check:
        names = ", ".join(display(p) for p in done.files)
        print(f"not version {CONFIG_VERSION}: {names}; run gitops-base migrate", file=sys.stderr)
        return EXIT_INVALID
    for path in done.files:
        print(f"migrated {display(path)} to version {CONFIG_VERSION}")
    return EXIT_OK
