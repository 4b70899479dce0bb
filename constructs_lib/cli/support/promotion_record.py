"""The promotion record: git trailers on every commit that moves an image, and the commit itself.

`set-image`, `promote` and `generate` take `--commit`: after editing the config they render
dist/ (`synth`), then commit the config and dist/ together, with one block of trailers per
environment whose image changed (compared with the config at HEAD):

    promote web from dev to test: ghcr.io/acme/web:1.9.1

    Gitops-Base-Service: web
    Gitops-Base-From: dev
    Gitops-Base-To: test
    Gitops-Base-Image: ghcr.io/acme/web:1.9.1
    Gitops-Base-Check: checked

`Gitops-Base-From` is the environment a promotion took the image from (absent for set-image
and generate); `Gitops-Base-Check` is `checked` (promote verified the source environment) or
`forced` (`--force`, with `Gitops-Base-Reason`). `gitops-base history` reads them back
(history.py). Reference: docs/reference/cli.md.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from constructs_lib.model.config import AppConfig

PREFIX = "Gitops-Base-"
SERVICE = f"{PREFIX}Service"
FROM = f"{PREFIX}From"
TO = f"{PREFIX}To"
IMAGE = f"{PREFIX}Image"
CHECK = f"{PREFIX}Check"
REASON = f"{PREFIX}Reason"
CHECKS = ("checked", "forced")
MAX_REASON = 300
MAX_SUBJECT = 200


class RecordError(Exception):
    """The commit could not be made; the message is one line."""


@dataclass(frozen=True)
class ImageChange:
    """One environment's image of one service, as a commit changed it."""

    service: str
    to_env: str
    image: str
    from_env: str = ""
    """The environment a promotion took the image from; empty for set-image and generate."""
    check: str = ""
    """checked, forced, or empty (set-image and generate check nothing)."""
    reason: str = ""


def clean_reason(text: str) -> str:
    """A reason as one trailer line: whitespace (newlines included) folded, at most
    MAX_REASON characters; ValueError when nothing is left."""
    folded = " ".join(text.split())
    if not folded:
        raise ValueError("--reason: give a reason (one line of text)")
    if len(folded) > MAX_REASON:
        raise ValueError(f"--reason: at most {MAX_REASON} characters (got {len(folded)})")
    if any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in folded):
        raise ValueError("--reason: control characters are not allowed")
    return folded


def trailers(changes: Iterable[ImageChange]) -> list[str]:
    """The trailer lines of `changes`, one block per change, in a fixed key order."""
    lines: list[str] = []
    for change in changes:
        lines.append(f"{SERVICE}: {change.service}")
        if change.from_env:
            lines.append(f"{FROM}: {change.from_env}")
        lines.append(f"{TO}: {change.to_env}")
        lines.append(f"{IMAGE}: {change.image}")
        if change.check:
            lines.append(f"{CHECK}: {change.check}")
        if change.reason:
            lines.append(f"{REASON}: {change.reason}")
    return lines


def commit_message(subject: str, changes: Sequence[ImageChange]) -> str:
    """Subject, a blank line, the trailers."""
    subject = " ".join(subject.split())[:MAX_SUBJECT]
    lines = trailers(changes)
    return subject + "\n" + ("\n" + "\n".join(lines) + "\n" if lines else "")


def parse_trailers(pairs: Iterable[tuple[str, str]]) -> list[ImageChange]:
    """Changes from (key, value) trailer pairs in commit order; a `Gitops-Base-Service`
    starts a change, other keys fill it in; blocks without To or Image are dropped, as are
    keys of other tools."""
    changes: list[ImageChange] = []
    current: dict[str, str] | None = None

    def close() -> None:
        if current and current.get(TO) and current.get(IMAGE):
            changes.append(
                ImageChange(
                    service=current[SERVICE],
                    to_env=current[TO],
                    image=current[IMAGE],
                    from_env=current.get(FROM, ""),
                    check=current.get(CHECK, ""),
                    reason=current.get(REASON, ""),
                )
            )

    for key, value in pairs:
        key, value = key.strip(), value.strip()
        if key.lower() == SERVICE.lower():
            close()
            current = {SERVICE: value}
        elif current is not None:
            for known in (FROM, TO, IMAGE, CHECK, REASON):
                if key.lower() == known.lower() and known not in current:
                    current[known] = value
    close()
    return changes


def image_changes(
    before: AppConfig | None,
    after: AppConfig,
    envs: Sequence[str],
    *,
    from_env: str = "",
    check: str = "",
    reason: str = "",
) -> list[ImageChange]:
    """Every (service, environment) whose image `after` changes from `before` (None: no
    config before), in service then environment order."""
    old = {s.name: s for s in before.services} if before is not None else {}
    changes = []
    for service in after.services:
        for env in envs:
            image = service.image.reference_in(env)
            previous = old.get(service.name)
            if previous is not None and previous.image.reference_in(env) == image:
                continue
            changes.append(ImageChange(service.name, env, image, from_env, check, reason))
    return changes


# --- the commit -----------------------------------------------------------------------------


def _git(root: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            ["git", "-C", str(root), *args],
            input=stdin,
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError as exc:
        raise RecordError(f"cannot run git: {exc}") from None


def _parse(text: str, source: str) -> AppConfig | None:
    from pydantic import ValidationError

    from constructs_lib.model.config import AppConfig
    from constructs_lib.model.loading import ConfigError, parse_yaml

    try:
        return AppConfig.model_validate(parse_yaml(text.removeprefix("\ufeff"), source))
    except (ConfigError, ValidationError):
        return None


def committed_config(root: Path, config: Path) -> AppConfig | None:
    """The config as HEAD has it; None when HEAD has none (or it does not load)."""
    try:
        relative = config.resolve().relative_to(root.resolve())
    except ValueError:
        raise RecordError(f"--commit: {config} is outside the checkout {root}") from None
    shown = _git(root, "show", f"HEAD:{relative.as_posix()}")
    return _parse(shown.stdout, str(relative)) if shown.returncode == 0 else None


def commit_changes(
    root: Path,
    config: Path,
    clusters: Path,
    subject: str,
    changes: Sequence[ImageChange],
    expected_text: str,
) -> str | None:
    """Render dist/, then commit the config and dist/ with the trailers of `changes`.
    Returns the new commit's id, None when there is nothing to commit. Refuses when the
    config no longer holds what the command wrote (another command changed it since)."""
    from constructs_lib.cli.support.synth_run import run_synth
    from constructs_lib.locking import LockError, checkout_lock

    sys.stdout.flush()  # what the command printed comes before the synth's lines
    code = run_synth(root, config, clusters)
    if code != 0:
        raise RecordError(f"--commit: synth failed (exit {code})")
    paths = [str(config.resolve()), str((root / "dist").resolve())]
    try:
        with checkout_lock(root):
            if config.read_text(encoding="utf-8") != expected_text:
                raise RecordError(
                    f"--commit: {config} changed since this command wrote it (another command "
                    "on this checkout?); review and commit by hand"
                )
            added = _git(root, "add", "-A", "--", *paths)
            if added.returncode != 0:
                raise RecordError(f"--commit: git add failed: {_first_line(added.stderr)}")
            if _git(root, "diff", "--cached", "--quiet", "--", *paths).returncode == 0:
                return None
            message = commit_message(subject, changes)
            done = _git(root, "commit", "-q", "-F", "-", "--", *paths, stdin=message)
            if done.returncode != 0:
                raise RecordError(f"--commit: git commit failed: {_first_line(done.stderr)}")
            return _git(root, "rev-parse", "HEAD").stdout.strip()
    except LockError as exc:
        raise RecordError(exc.problems[0]) from None


def record_and_commit(
    args: argparse.Namespace,
    config: Path,
    subject: str,
    *,
    promoted: tuple[str, str] | None = None,
    from_env: str = "",
    check: str = "",
    reason: str = "",
) -> int:
    """After a command edited `config`: commit it and dist/ with one trailer block per image
    change against HEAD. `promoted` (service, environment) is the change a promotion made:
    it carries `from_env`, `check` and `reason`; any other change is recorded plainly."""
    import dataclasses

    from constructs_lib.cli.support.common import EXIT_OK, fail, project_root
    from constructs_lib.model.clusters import cluster_dirs

    root = project_root()
    try:
        text = config.read_text(encoding="utf-8")
        after = _parse(text, str(config))
        if after is None:
            raise RecordError(f"--commit: {config} does not load")
        envs = [p.name for p in cluster_dirs(args.clusters)] if args.clusters.is_dir() else []
        changes = image_changes(committed_config(root, config), after, envs)
        changes = [
            dataclasses.replace(c, from_env=from_env, check=check, reason=reason)
            if (c.service, c.to_env) == promoted
            else dataclasses.replace(c, reason=reason if promoted is None else "")
            for c in changes
        ]
        sha = commit_changes(root, config, args.clusters, args.message or subject, changes, text)
    except OSError as exc:
        return fail([f"--commit: {config}: {exc.strerror}"], f"{config} was edited, not committed")
    except RecordError as exc:
        return fail([str(exc)], f"{config} was edited, not committed")
    if sha is None:
        print("nothing to commit: the config and dist/ are as committed")
    else:
        print(f"committed {sha[:7]}: {len(changes)} image change(s) recorded")
    return EXIT_OK


def _first_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[0].strip() if lines else "no message"
