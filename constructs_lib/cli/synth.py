"""`gitops-base synth`: run the checkout's app.py, as `make synth` does."""

from __future__ import annotations

import argparse

from constructs_lib.cli.support.common import project_root
from constructs_lib.cli.support.synth_run import run_synth


def run(args: argparse.Namespace) -> int:
    return run_synth(project_root(), args.config, args.clusters, args.output)
