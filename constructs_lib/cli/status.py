"""`gitops-base status --env ENV`: every Argo CD Application of an environment, in sync-wave
order, with its sync status, health and revision, and for one that is not Synced and Healthy,
why (its conditions, the last sync's message and the resources that fail).

`gitops-base bootstrap` ends with the same view (cli/support/applications.py), refreshed until
the base is Synced and Healthy. Reference: docs/reference/cli.md.
"""

from __future__ import annotations

import argparse
import sys

from constructs_lib.cli.support.applications import (
    APPLICATION,
    expected_apps,
    merge_states,
    table,
    why,
)
from constructs_lib.cli.support.common import EXIT_INVALID, EXIT_OK, fail
from constructs_lib.cli.support.environment import EnvFiles
from constructs_lib.cli.support.kube import Kube, KubeError


def run(args: argparse.Namespace) -> int:
    try:
        env = EnvFiles.load(args.env)
        kube = Kube(args.kubeconfig, args.context)
    except (KubeError, ValueError) as exc:
        return fail([f"error: {exc}"])
    try:
        expected = expected_apps(env.dist)
        states = merge_states(kube.list(*APPLICATION, namespace=env.argocd_namespace), expected)
    except KubeError as exc:
        return fail([f"error: {exc}"])
    finally:
        kube.close()
    print(f"{args.env}: Argo CD Applications in namespace {env.argocd_namespace}")
    for row in table(states):
        print(row)
    problems = [w for s in states if not s.done for w in why(s)]
    if problems:
        print("", file=sys.stderr)
        for p in problems:
            print(p, file=sys.stderr)
        return EXIT_INVALID
    return EXIT_OK
