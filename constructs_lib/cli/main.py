"""`gitops-base`: the command line the infra pipeline calls. Reference: docs/reference/cli.md.

    gitops-base generate --input PAYLOAD.json   # deployed_apps payload -> config services
    gitops-base validate [CONFIG]               # config and env settings, every problem
    gitops-base migrate [CONFIG]                # a version 1 config rewritten as version 2
    gitops-base set-image SERVICE TAG           # or SERVICE@sha256:...; one-line diff
    gitops-base set-image SERVICE TAG --env dev # the image of one environment only
    gitops-base promote SERVICE --from dev --to test  # checks dev first; --commit records it
    gitops-base describe [--format mermaid]     # hosts -> services -> calls -> egress
    gitops-base synth                           # what `make synth` does
    gitops-base diff [--base REF]               # rendered manifests: base ref vs work tree
    gitops-base bootstrap --env ENV             # Argo CD, repo credential, root.yaml; wait
    gitops-base status --env ENV                # each Application's sync, health, revision
    gitops-base wait --env ENV [--revision SHA] # until the env runs that commit, Healthy
    gitops-base history [SERVICE] [--env ENV]   # which image each env ran, since when
    gitops-base doctor --env ENV                # every precondition of a first deploy

Exit codes: 0 success, 1 invalid input (every problem printed, one `path: message` line
each, nothing written), 2 usage error.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any

from constructs_lib.cli.bootstrap import DEFAULT_TIMEOUT, ENV_MANIFEST
from constructs_lib.cli.support.common import EXIT_OK, project_root
from constructs_lib.cli.support.credentials import ENV_SSH_KEY, ENV_TOKEN
from constructs_lib.cli.support.promotion_checks import DEFAULT_SOAK
from constructs_lib.cli.wait import DEFAULT_TIMEOUT as WAIT_TIMEOUT
from constructs_lib.model.durations import format_duration


def cluster_options(command: argparse.ArgumentParser) -> None:
    """What the commands that talk to a cluster take to find it."""
    command.add_argument("--env", required=True, help="environment: a folder of clusters/")
    command.add_argument("--kubeconfig", type=Path, help="kubeconfig file (default: $KUBECONFIG)")
    command.add_argument("--context", help="kubeconfig context (default: the current context)")


def parser() -> argparse.ArgumentParser:
    root = project_root()
    default_config = root / "config" / "app-config.yaml"

    # The options most commands take, defined once.
    def config_option(command: argparse.ArgumentParser, text: str = "config file") -> None:
        command.add_argument("--config", type=Path, default=default_config, help=text)

    def clusters_option(
        command: argparse.ArgumentParser, help: str = "environments folder"
    ) -> None:
        command.add_argument("--clusters", type=Path, default=root / "clusters", help=help)

    def config_argument(command: argparse.ArgumentParser) -> None:
        command.add_argument(
            "config", nargs="?", type=Path, default=default_config, metavar="CONFIG"
        )

    def check_option(command: argparse.ArgumentParser, fails: str) -> None:
        command.add_argument(
            "--check", action="store_true", help=f"write nothing; exit 1 if {fails}"
        )

    def commit_options(command: argparse.ArgumentParser) -> None:
        command.add_argument(
            "--commit",
            action="store_true",
            help="then render dist/ (synth) and commit the config and dist/ with the promotion "
            "record (git trailers; see `gitops-base history`)",
        )
        command.add_argument(
            "--message",
            metavar="SUBJECT",
            help="with --commit: the commit's subject line (default: says what moved)",
        )

    top = argparse.ArgumentParser(
        prog="gitops-base",
        description="Generate, check and render the GitOps config of a k3s + Argo CD app.",
        epilog="Exit codes: 0 success, 1 invalid input (nothing written), 2 usage error.",
    )
    top.add_argument("--version", action="version", version=f"%(prog)s {version('gitops-base')}")
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(
        name: str, summary: str, description: str, *, cluster: bool = False
    ) -> argparse.ArgumentParser:
        """`gitops-base <name>`, run by the module of the same name (`set-image`: set_image.py);
        with `cluster`, the options that find the cluster it talks to."""
        parser = sub.add_parser(name, help=summary, description=description)
        parser.set_defaults(func=name.replace("-", "_"))
        if cluster:
            cluster_options(parser)
        return parser

    gen = command(
        "generate",
        "turn a deployed_apps payload into the services of the config",
        "Turn a deployed_apps payload (docs/reference/deployed-apps.md) into the "
        "services of the config. Global settings are kept from the existing config unless the "
        "payload or a flag sets them (flag > payload > config). Same input, same bytes.",
    )
    gen.add_argument("--input", required=True, metavar="PAYLOAD.json", help="payload; - for stdin")
    gen.add_argument(
        "--output",
        type=Path,
        default=default_config,
        metavar="CONFIG",
        help="config file to write (default: config/app-config.yaml)",
    )
    gen.add_argument("--app-name", help="app.name")
    gen.add_argument("--namespace", help="app.namespace")
    gen.add_argument("--domain", help="base domain")
    clusters_option(
        gen,
        "environments folder: a new base domain must be, or be a parent of, each "
        "environment's domain (default: clusters/)",
    )
    gen.add_argument("--tls-issuer", help="tls.issuer (letsencrypt-staging|letsencrypt-production)")
    gen.add_argument("--infisical-url", help="secrets.infisical.url")
    gen.add_argument("--infisical-project-id", help="secrets.infisical.project_id")
    gen.add_argument("--infisical-identity-id", help="secrets.infisical.auth.identity_id")
    gen.add_argument(
        "--allow-empty",
        action="store_true",
        help="accept an empty deployed_apps (removes every service; refused by default)",
    )
    check_option(gen, "the config is not what the payload generates")
    commit_options(gen)

    val = command(
        "validate",
        "check the config and the environment settings",
        "Check a config, every clusters/<env>/cluster.yaml and the overlays against the trust "
        "rule set; print every problem as one `file: path: message` line.",
    )
    config_argument(val)
    clusters_option(val)
    val.add_argument(
        "--overlays",
        type=Path,
        default=None,
        help="overlays folder (default: overlays/ of the checkout)",
    )
    val.add_argument("--format", choices=("text", "json"), default="text", help="output format")

    mig = command(
        "migrate",
        "rewrite a version 1 config (and the overlays' configs) as version 2",
        "Rewrite a valid version 1 config as version 2: each kind's options move "
        "under the kind (cronjob:, job:), comments and every other line kept; options version "
        "1 ignored are removed, each named. overlays/<env>/config.yaml files follow. Nothing "
        "changes when a file cannot be read or is invalid.",
    )
    config_argument(mig)
    mig.add_argument(
        "--overlays",
        type=Path,
        default=root / "overlays",
        help="overlays folder whose <env>/config.yaml files follow (default: overlays/)",
    )
    check_option(mig, "a file is not version 2")

    img = command(
        "set-image",
        "change one service's image tag or digest, and nothing else",
        "Set the image tag (SERVICE TAG) or digest (SERVICE@sha256:...) of one "
        "service. Only the line of the pin changes; comments and formatting survive. The "
        "image is pinned by exactly one of tag or digest afterwards.",
    )
    img.add_argument(
        "service", metavar="SERVICE[@sha256:DIGEST]", help="service name, with @digest to pin one"
    )
    img.add_argument("tag", nargs="?", metavar="TAG", help="new tag (or sha256:... digest)")
    config_option(img)
    img.add_argument(
        "--env",
        default=None,
        help="pin the image in this environment only (image.envs.<env>); default: the "
        "service's own tag/digest, which environments without an override run",
    )
    clusters_option(img)
    img.add_argument("--reason", help="with --commit: why, recorded in the commit's trailers")
    commit_options(img)

    pro = command(
        "promote",
        "run in one environment the image another one runs",
        "Set the target environment's image of SERVICE (image.envs.<to>) to the "
        "tag/digest the source environment runs. One line of the config changes.",
    )
    pro.add_argument("service", metavar="SERVICE")
    pro.add_argument("--from", dest="source", required=True, metavar="ENV")
    pro.add_argument("--to", dest="target", required=True, metavar="ENV")
    config_option(pro)
    clusters_option(pro)
    pro.add_argument(
        "--force",
        action="store_true",
        help="promote without checking the source environment (needs --reason)",
    )
    pro.add_argument(
        "--reason", help="why; required with --force, recorded in the commit with --commit"
    )
    pro.add_argument(
        "--soak",
        metavar="DURATION",
        help="how long the source must have run the image Synced and Healthy (default: "
        f"promotion.soak of clusters/<from>/cluster.yaml, else {format_duration(DEFAULT_SOAK)})",
    )
    pro.add_argument(
        "--kubeconfig", type=Path, help="kubeconfig of the source's cluster (default: $KUBECONFIG)"
    )
    pro.add_argument("--context", help="kubeconfig context of the source's cluster")
    commit_options(pro)

    des = command(
        "describe",
        "the app's topology: hosts, services, calls, egress, secrets",
        "Print public hosts -> services -> declared calls -> external egress, and "
        "the secrets of each service, as text, a Mermaid flowchart, or both as Markdown.",
    )
    config_option(des)
    clusters_option(des)
    des.add_argument("--env", default=None, help="hosts and images as this environment has them")
    des.add_argument(
        "--format", choices=("text", "mermaid", "markdown"), default="text", help="default: text"
    )

    syn = command(
        "synth",
        "render dist/<env>/ (what `make synth` does)",
        "Render dist/<env>/ for every environment; a failed run changes nothing.",
    )
    config_option(syn, "app config file")
    clusters_option(syn)
    syn.add_argument("--output", type=Path, default=None, help="output folder (default: dist/)")

    dif = command(
        "diff",
        "rendered manifests of a base ref vs the working tree, as Markdown",
        "Synthesize the base ref and the working tree into temporary folders and "
        "print, per resource (kind/namespace/name), what was added, removed or changed, "
        "with a unified diff of the changed ones. dist/ is not touched.",
    )
    dif.add_argument("--base", default="HEAD", help="git ref to compare with (default: HEAD)")
    dif.add_argument("--exit-code", action="store_true", help="exit 1 when anything differs")

    boot = command(
        "bootstrap",
        "install the pinned Argo CD, the repository credential and root.yaml; wait for sync",
        "Check the cluster, install the pinned Argo CD (server-side apply of its "
        "checksum-verified install.yaml), create or update the repository credential from "
        f"${ENV_TOKEN}, ${ENV_SSH_KEY}, a GitHub App or standard input, apply "
        "dist/<env>/root.yaml, then wait until every Application is Synced and Healthy. "
        "Idempotent: also the way to re-apply root.yaml and to upgrade Argo CD.",
        cluster=True,
    )
    boot.add_argument(
        "--argocd-manifest",
        metavar="FILE",
        help=f"the pinned install.yaml from a local file or https mirror (or ${ENV_MANIFEST}); "
        "its sha256 must match platform/versions.yaml",
    )
    boot.add_argument(
        "--credential-stdin",
        action="store_true",
        help="read the repository token or SSH private key from standard input",
    )
    boot.add_argument(
        "--dry-run", action="store_true", help="print what would be applied; change nothing"
    )
    boot.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"give up after this long (default {DEFAULT_TIMEOUT:.0f})",
    )
    boot.add_argument(
        "--wait-for",
        type=lambda v: tuple(x for x in v.split(",") if x),
        default=(),
        metavar="APP[,APP...]",
        help="wait for these Applications only (default: every Application of the env)",
    )
    boot.add_argument("--no-wait", action="store_true", help="apply, then return without waiting")

    command(
        "status",
        "what Argo CD deployed for an environment, and what is out of sync or unhealthy",
        "Print every Application of the environment in sync-wave order with its "
        "sync status, health and revision; for each one not Synced and Healthy, its "
        "conditions, the last sync's message and the failing resources. Exit 0 when all are "
        "Synced and Healthy, 1 otherwise.",
        cluster=True,
    )

    wt = command(
        "wait",
        "block until an environment runs a Git revision, Synced and Healthy",
        "Wait until the environment's Applications have synced REVISION (or a "
        "later commit that contains it) and are Healthy. Prints a line whenever one changes; "
        "exits 1 at once when one is Degraded or its sync failed or was refused, and at the "
        "timeout, naming the Argo CD conditions, the failing objects and their last events. "
        "Reads Applications through the Kubernetes API (as `status`); needs no Argo CD API.",
        cluster=True,
    )
    wt.add_argument(
        "--revision",
        metavar="SHA",
        help="the commit to wait for: a commit id, or a ref of this clone (default: HEAD)",
    )
    wt.add_argument(
        "--timeout",
        default=WAIT_TIMEOUT,
        metavar="DURATION",
        help=f"give up after this long: 90s, 10m, 1h (default {WAIT_TIMEOUT})",
    )
    wt.add_argument(
        "--app",
        action="append",
        default=[],
        metavar="NAME",
        help="wait for this Application only; repeat for more (default: every Application "
        "of the env that syncs from its repository)",
    )
    wt.add_argument(
        "--refresh",
        action="store_true",
        help="ask Argo CD to read the repository now (annotates the Applications: needs "
        "`patch` on them) instead of waiting for its polling interval",
    )
    wt.add_argument(
        "--output", choices=("text", "json"), default="text", help="json: one object on stdout"
    )

    his = command(
        "history",
        "which image each environment ran, since when, set or promoted (checked/forced)",
        "Read the promotion record (the Gitops-Base-* trailers of the commits "
        "`set-image`, `promote` and `generate --commit` make) into a timeline per "
        "environment, oldest first: date, commit, service, image, how it got there "
        "(set, or from an environment, checked or forced with the reason), author.",
    )
    his.add_argument("service", nargs="?", metavar="SERVICE", help="one service only")
    his.add_argument("--env", help="one environment only")
    his.add_argument(
        "--output", choices=("text", "json"), default="text", help="json: a list of entries"
    )

    doc = command(
        "doctor",
        "check every precondition of a first deploy, one line each, with its fix",
        "Check, from this machine, what a first deploy of the environment needs: "
        "the ACME contact, read access to the repository with the credential bootstrap "
        "installs, the Infisical URL, the kubeconfig, the nodes' k3s against "
        "platform/k3s.env, the k3s components the ingress needs, the controller's listener, "
        "each host's DNS record and port 80 of each host. Exit 1 when one fails.",
        cluster=True,
    )
    doc.add_argument(
        "--credential-stdin",
        action="store_true",
        help="read the repository token or SSH private key from standard input",
    )
    return top


def main(argv: list[str] | None = None) -> int:
    args: Any = parser().parse_args(argv)
    try:
        command = importlib.import_module(f"constructs_lib.cli.{args.func}")
        return int(command.run(args))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
