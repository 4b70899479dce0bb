"""`gitops-base promote SERVICE --from dev --to test`: run in one environment what runs in another.

The target environment's line under `image.envs` is set to the tag and/or digest the source
environment runs (its own override, or the service's `tag`/`digest`). One line of the config
changes (two the first time, with `envs:`), and only the target environment's manifests in
dist/ after `synth`. Nothing changes when the target already runs that image.
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
from constructs_lib.locking import LockError, checkout_lock
from constructs_lib.paths import display


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
        with checkout_lock(project_root()):
            changed, reference = promote(args)
    except (GenerateError, LockError) as exc:
        return fail(
            exc.problems,
            f"promote: {len(exc.problems)} problem(s); {display(args.config)} was not changed",
        )
    verb = "promoted" if changed else "already at"
    print(f"{verb} {args.service} in {args.target}: {reference} (from {args.source})")
    return EXIT_OK
