"""`gitops-base promote SERVICE --from dev --to test`: run in one environment what runs in another.

The target environment's line under `image.envs` is set to the tag and/or digest the source
environment runs (its own override, or the service's `tag`/`digest`). One line of the config
changes (two the first time, with `envs:`), and only the target environment's manifests in
dist/ after `synth`. Nothing changes when the target already runs that image.

First it checks the source environment's cluster (support/promotion_checks.py): the image
runs there, Synced and Healthy, for the soak time; `--force --reason` skips the checks.
`--commit` renders dist/ and commits with the promotion record (support/promotion_record.py).
"""

from __future__ import annotations

import argparse

from constructs_lib.cli.support.common import EXIT_OK, EXIT_USAGE, fail, project_root
from constructs_lib.cli.support.config_file import (
    GenerateError,
    check_env,
    find_service,
    load_config_text,
    parse_config,
    pin_env_in_file,
)
from constructs_lib.cli.support.promotion_checks import CheckError, check_source, soak_of
from constructs_lib.cli.support.promotion_record import clean_reason, record_and_commit
from constructs_lib.locking import LockError, checkout_lock
from constructs_lib.paths import display


def images(args: argparse.Namespace) -> tuple[str, str]:
    """(the source environment's image, the target's), as the config says."""
    check_env(args.source, args.clusters, "--from")
    check_env(args.target, args.clusters, "--to")
    config = parse_config(load_config_text(args.config), args.config)
    image = find_service(config, args.service, args.config).image
    return image.reference_in(args.source), image.reference_in(args.target)


def promote(args: argparse.Namespace) -> tuple[bool, str]:
    check_env(args.source, args.clusters, "--from")
    check_env(args.target, args.clusters, "--to")
    config = parse_config(load_config_text(args.config), args.config)
    image = find_service(config, args.service, args.config).image
    if image.reference_in(args.target) == image.reference_in(args.source):
        return False, image.reference_in(args.target)
    pin = image.envs.get(args.source) or image
    return pin_env_in_file(args.config, args.service, args.target, tag=pin.tag, digest=pin.digest)


def run(args: argparse.Namespace) -> int:
    if args.source == args.target:
        print("usage: --from and --to must name different environments", flush=True)
        return EXIT_USAGE
    try:
        reason = clean_reason(args.reason) if args.reason is not None else ""
        if args.soak is not None:
            soak_of(args.soak, None)
    except ValueError as exc:
        flag = "" if str(exc).startswith("--") else "--soak: "
        print(f"usage: {flag}{exc}", flush=True)
        return EXIT_USAGE
    if args.force and not reason:
        print("usage: --force needs --reason TEXT (recorded with --commit)", flush=True)
        return EXIT_USAGE
    unchanged = f"{display(args.config)} was not changed"
    try:
        image, current = images(args)
        if not args.force and image != current:
            problems, summary = check_source(args, image)
            if problems:
                return fail(problems, f"promote: refused ({len(problems)} problem(s)); {unchanged}")
            print(summary)
        with checkout_lock(project_root()):
            if images(args)[0] != image:
                raise GenerateError([f"--from {args.source}: its image changed during the checks"])
            changed, reference = promote(args)
    except CheckError as exc:
        return fail([str(exc)], f"promote: refused; {unchanged}")
    except (GenerateError, LockError) as exc:
        return fail(exc.problems, f"promote: {len(exc.problems)} problem(s); {unchanged}")
    verb = "promoted" if changed else "already at"
    how = f"forced: {reason}" if args.force else "checked"
    print(f"{verb} {args.service} in {args.target}: {reference} (from {args.source}, {how})")
    if args.commit:
        return record_and_commit(
            args,
            args.config,
            f"promote {args.service} from {args.source} to {args.target}: {reference}",
            promoted=(args.service, args.target),
            from_env=args.source,
            check="forced" if args.force else "checked",
            reason=reason,
        )
    return EXIT_OK
