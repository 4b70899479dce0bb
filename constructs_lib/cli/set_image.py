"""`gitops-base set-image`: roll one service's image, a one-line diff."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from constructs_lib.cli.support.common import EXIT_OK, EXIT_USAGE, fail, project_root
from constructs_lib.cli.support.config_edit import set_image
from constructs_lib.cli.support.config_file import (
    GenerateError,
    check_env,
    check_pins,
    edit_config_file,
    pin_env_in_file,
)
from constructs_lib.cli.support.promotion_record import clean_reason, record_and_commit
from constructs_lib.locking import LockError, checkout_lock
from constructs_lib.paths import display


def set_image_in_file(
    config: Path, service: str, *, tag: str | None, digest: str | None
) -> tuple[bool, str]:
    """Set one service's tag or digest in place. Returns (changed, new image reference)."""
    check_pins(tag, digest)

    def edit(text: str) -> str:
        # The edit keeps the file's own bytes around the pin: a byte order mark stays first and
        # CRLF line ends stay CRLF (read_text does not translate them), so the diff is one line.
        bom = "\ufeff" if text.startswith("\ufeff") else ""
        return bom + set_image(text.removeprefix(bom), service, tag=tag, digest=digest)

    changed, edited = edit_config_file(config, edit)
    return changed, next(s.image.reference for s in edited.services if s.name == service)


def run(args: argparse.Namespace) -> int:
    service: str = args.service
    tag: str | None = args.tag
    digest: str | None = None
    if "@" in service:
        service, _, digest = service.partition("@")
        if tag is not None:
            print("usage: give SERVICE TAG or SERVICE@sha256:..., not both", file=sys.stderr)
            return EXIT_USAGE
    elif tag is None:
        print("usage: give a TAG (SERVICE TAG) or a digest (SERVICE@sha256:...)", file=sys.stderr)
        return EXIT_USAGE
    elif tag.startswith("sha256:"):
        tag, digest = None, tag
    try:
        reason = clean_reason(args.reason) if args.reason is not None else ""
    except ValueError as exc:
        print(f"usage: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        with checkout_lock(project_root()):
            if args.env is not None:
                check_env(args.env, args.clusters, "--env")
                check_pins(tag, digest)
                changed, reference = pin_env_in_file(
                    args.config, service, args.env, tag=tag, digest=digest
                )
            else:
                changed, reference = set_image_in_file(args.config, service, tag=tag, digest=digest)
    except (GenerateError, LockError) as exc:
        return fail(
            exc.problems,
            f"set-image: {len(exc.problems)} problem(s); {display(args.config)} was not changed",
        )
    verb = "set" if changed else "already at"
    where = f" ({args.env})" if args.env is not None else ""
    print(f"{verb} {service} image {reference}{where} in {display(args.config)}")
    if args.commit:
        scope = f" in {args.env}" if args.env is not None else ""
        subject = f"set {service} to {reference}{scope}"
        return record_and_commit(args, args.config, subject, reason=reason)
    return EXIT_OK
