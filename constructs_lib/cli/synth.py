"""`gitops-base synth`: run the checkout's app.py, as `make synth` does."""

from __future__ import annotations

import argparse
import subprocess
import sys

from constructs_lib.cli.common import EXIT_INVALID, app_command, project_root, synth_env


def run(args: argparse.Namespace) -> int:
    root = project_root()
    if not (root / "app.py").is_file():
        print(f"{root}: app.py not found; run gitops-base from a checkout", file=sys.stderr)
        return EXIT_INVALID
    extra = []
    for flag, value in (("--config", args.config), ("--clusters", args.clusters)):
        extra += [flag, str(value)]
    if args.output is not None:
        extra += ["--output", str(args.output)]
    return subprocess.run(app_command(root, extra), env=synth_env(), check=False).returncode
