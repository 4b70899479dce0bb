"""`gitops-base`: the command line the infra pipeline calls. Reference: docs/reference/cli.md.

    gitops-base generate --input PAYLOAD.json   # deployed_apps payload -> config services
    gitops-base validate [CONFIG]               # config and env settings, every problem
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

from constructs_lib.cli import bootstrap, history, status, wait
from constructs_lib.cli.common import EXIT_OK, project_root
from constructs_lib.cli.support import promotion_checks, promotion_record


def parser() -> argparse.ArgumentParser:
    root = project_root()
    default_config = root / "config" / "app-config.yaml"
    default_clusters = root / "clusters"
    top = argparse.ArgumentParser(
        prog="gitops-base",
        description="Generate, check and render the GitOps config of a k3s + Argo CD app.",
        epilog="Exit codes: 0 success, 1 invalid input (nothing written), 2 usage error.",
    )
    top.add_argument("--version", action="version", version=f"%(prog)s {version('gitops-base')}")
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    gen = sub.add_parser(
        "generate",
        help="turn a deployed_apps payload into the services of the config",
        description="Turn a deployed_apps payload (docs/reference/deployed-apps.md) into the "
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
    gen.add_argument(
        "--clusters",
        type=Path,
        default=default_clusters,
        help="environments folder: a new base domain must be, or be a parent of, each "
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
    gen.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if the config is not what the payload generates",
    )
    promotion_record.add_commit_arguments(gen)
    gen.set_defaults(func="generate")

    val = sub.add_parser(
        "validate",
        help="check the config and the environment settings",
        description="Check a config and every clusters/<env>/cluster.yaml; print every problem "
        "as one `file: path: message` line.",
    )
    val.add_argument("config", nargs="?", type=Path, default=default_config, metavar="CONFIG")
    val.add_argument("--clusters", type=Path, default=default_clusters, help="environments folder")
    val.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    val.set_defaults(func="validate")

    img = sub.add_parser(
        "set-image",
        help="change one service's image tag or digest, and nothing else",
        description="Set the image tag (SERVICE TAG) or digest (SERVICE@sha256:...) of one "
        "service. Only the line of the pin changes; comments and formatting survive. The "
        "image is pinned by exactly one of tag or digest afterwards.",
    )
    img.add_argument(
        "service", metavar="SERVICE[@sha256:DIGEST]", help="service name, with @digest to pin one"
    )
    img.add_argument("tag", nargs="?", metavar="TAG", help="new tag (or sha256:... digest)")
    img.add_argument("--config", type=Path, default=default_config, help="config file")
    img.add_argument(
        "--env",
        default=None,
        help="pin the image in this environment only (image.envs.<env>); default: the "
        "service's own tag/digest, which environments without an override run",
    )
    img.add_argument("--clusters", type=Path, default=default_clusters, help="environments folder")
    img.add_argument("--reason", help="with --commit: why, recorded in the commit's trailers")
    promotion_record.add_commit_arguments(img)
    img.set_defaults(func="set_image")

    pro = sub.add_parser(
        "promote",
        help="run in one environment the image another one runs",
        description="Set the target environment's image of SERVICE (image.envs.<to>) to the "
        "tag/digest the source environment runs. One line of the config changes.",
    )
    pro.add_argument("service", metavar="SERVICE")
    pro.add_argument("--from", dest="source", required=True, metavar="ENV")
    pro.add_argument("--to", dest="target", required=True, metavar="ENV")
    pro.add_argument("--config", type=Path, default=default_config, help="config file")
    pro.add_argument("--clusters", type=Path, default=default_clusters, help="environments folder")
    promotion_checks.add_arguments(pro)
    promotion_record.add_commit_arguments(pro)
    pro.set_defaults(func="promote")

    des = sub.add_parser(
        "describe",
        help="the app's topology: hosts, services, calls, egress, secrets",
        description="Print public hosts -> services -> declared calls -> external egress, and "
        "the secrets of each service, as text, a Mermaid flowchart, or both as Markdown.",
    )
    des.add_argument("--config", type=Path, default=default_config, help="config file")
    des.add_argument("--clusters", type=Path, default=default_clusters, help="environments folder")
    des.add_argument("--env", default=None, help="hosts and images as this environment has them")
    des.add_argument(
        "--format", choices=("text", "mermaid", "markdown"), default="text", help="default: text"
    )
    des.set_defaults(func="describe")

    syn = sub.add_parser(
        "synth",
        help="render dist/<env>/ (what `make synth` does)",
        description="Render dist/<env>/ for every environment; a failed run changes nothing.",
    )
    syn.add_argument("--config", type=Path, default=default_config, help="app config file")
    syn.add_argument("--clusters", type=Path, default=default_clusters, help="environments folder")
    syn.add_argument("--output", type=Path, default=None, help="output folder (default: dist/)")
    syn.set_defaults(func="synth")

    dif = sub.add_parser(
        "diff",
        help="rendered manifests of a base ref vs the working tree, as Markdown",
        description="Synthesize the base ref and the working tree into temporary folders and "
        "print, per resource (kind/namespace/name), what was added, removed or changed, "
        "with a unified diff of the changed ones. dist/ is not touched.",
    )
    dif.add_argument("--base", default="HEAD", help="git ref to compare with (default: HEAD)")
    dif.add_argument("--exit-code", action="store_true", help="exit 1 when anything differs")
    dif.set_defaults(func="diff")
    bootstrap.add_command(sub)
    status.add_command(sub)
    wait.add_command(sub)
    history.add_command(sub)
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
