"""`gitops-base`: the command line the infra pipeline calls. Reference: docs/reference/cli.md.

    gitops-base generate --input PAYLOAD.json   # deployed_apps payload -> config services
    gitops-base validate [CONFIG]               # config and env settings, every problem
    gitops-base set-image SERVICE TAG           # or SERVICE@sha256:...; one-line diff
    gitops-base synth                           # what `make synth` does
    gitops-base diff [--base REF]               # rendered manifests: base ref vs work tree
    gitops-base bootstrap --env ENV             # Argo CD, repo credential, root.yaml; wait
    gitops-base status --env ENV                # each Application's sync, health, revision

Exit codes: 0 success, 1 invalid input (every problem printed, one `path: message` line
each, nothing written), 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from importlib.metadata import version
from pathlib import Path
from typing import Any

from constructs_lib import bootstrap, status

# The checkout this package was installed from (editable install, `make install`).
PACKAGE_ROOT = Path(__file__).resolve().parent.parent


def project_root(start: Path | None = None) -> Path:
    """The checkout a command works on: the nearest folder, from the current directory up,
    that holds app.py and cdk8s.yaml; otherwise the checkout this package was installed from.
    A pipeline that runs `gitops-base` inside its clone edits that clone, whatever venv it uses.
    """
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "app.py").is_file() and (folder / "cdk8s.yaml").is_file():
            return folder
    return PACKAGE_ROOT


EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


_CONTROL = {c: f"\\x{c:02x}" for c in [*range(0x20), 0x7F, *range(0x80, 0xA0)]}
_CONTROL |= {
    ord("\n"): "\\n",
    ord("\t"): "\\t",
    ord("\r"): "\\r",
    0x2028: "\\u2028",
    0x2029: "\\u2029",
}


def one_line(problem: str) -> str:
    """A problem quoting a value with a newline must still print as one line."""
    return problem.translate(_CONTROL)


def _fail(problems: Sequence[str], summary: str) -> int:
    for problem in problems:
        print(one_line(problem), file=sys.stderr)
    print(summary, file=sys.stderr)
    return EXIT_INVALID


# --- generate --------------------------------------------------------------------------------


def cmd_generate(args: argparse.Namespace) -> int:
    from constructs_lib.generate import GenerateError, generate

    output: Path = args.output
    try:
        result = generate(
            payload_path=None if args.input == "-" else Path(args.input),
            payload_text=sys.stdin.buffer.read() if args.input == "-" else None,
            output=output,
            flags={
                "app_name": args.app_name,
                "namespace": args.namespace,
                "domain": args.domain,
                "tls_issuer": args.tls_issuer,
                "infisical_url": args.infisical_url,
                "infisical_project_id": args.infisical_project_id,
                "infisical_identity_id": args.infisical_identity_id,
            },
            allow_empty=args.allow_empty,
            check=args.check,
        )
    except GenerateError as exc:
        return _fail(
            exc.problems,
            f"generate: {len(exc.problems)} problem(s); {_display(output)} was not changed",
        )
    if args.check and result.changed:
        print(
            f"{_display(output)} is not up to date with the payload; run generate", file=sys.stderr
        )
        return EXIT_INVALID
    state = "wrote" if result.changed else "unchanged:"
    print(f"{state} {_display(output)} ({result.services} services)")
    return EXIT_OK


# --- validate --------------------------------------------------------------------------------


def cmd_validate(args: argparse.Namespace) -> int:
    from constructs_lib.checks import check_inputs

    report = check_inputs(args.config, args.clusters)
    if args.format == "json":
        print(json.dumps(report.as_json(), indent=2))
        return EXIT_INVALID if report.problems else EXIT_OK
    for problem in report.problems:
        print(one_line(problem.line()))
    if report.problems:
        print(f"validate: {len(report.problems)} problem(s)", file=sys.stderr)
        return EXIT_INVALID
    print(f"valid: {', '.join(_display(Path(f)) for f in report.checked)}")
    return EXIT_OK


# --- set-image -------------------------------------------------------------------------------


def cmd_set_image(args: argparse.Namespace) -> int:
    from constructs_lib.generate import GenerateError, set_image_in_file

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
        changed, reference = set_image_in_file(args.config, service, tag=tag, digest=digest)
    except GenerateError as exc:
        return _fail(
            exc.problems,
            f"set-image: {len(exc.problems)} problem(s); {_display(args.config)} was not changed",
        )
    verb = "set" if changed else "already at"
    print(f"{verb} {service} image {reference} in {_display(args.config)}")
    return EXIT_OK


# --- synth -----------------------------------------------------------------------------------


def app_command(root: Path, extra: Sequence[str]) -> list[str]:
    return [sys.executable, "-O", str(root / "app.py"), *extra]


def synth_env() -> dict[str, str]:
    env = dict(os.environ)
    # jsii warns on every run that Node 20 is end-of-life; the Makefile silences it the same way.
    env.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    env.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
    return env


def cmd_synth(args: argparse.Namespace) -> int:
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


# --- diff ------------------------------------------------------------------------------------


def cmd_diff(args: argparse.Namespace) -> int:
    from constructs_lib.diff import DiffError, rendered_diff

    try:
        report = rendered_diff(project_root(), args.base)
    except DiffError as exc:
        return _fail(exc.problems, f"diff: {len(exc.problems)} problem(s)")
    print(report.markdown(), end="")
    return EXIT_INVALID if args.exit_code and report.changes else EXIT_OK


# --- parser ----------------------------------------------------------------------------------


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
    gen.set_defaults(func=cmd_generate)

    val = sub.add_parser(
        "validate",
        help="check the config and the environment settings",
        description="Check a config and every clusters/<env>/cluster.yaml; print every problem "
        "as one `file: path: message` line.",
    )
    val.add_argument("config", nargs="?", type=Path, default=default_config, metavar="CONFIG")
    val.add_argument("--clusters", type=Path, default=default_clusters, help="environments folder")
    val.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    val.set_defaults(func=cmd_validate)

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
    img.set_defaults(func=cmd_set_image)

    syn = sub.add_parser(
        "synth",
        help="render dist/<env>/ (what `make synth` does)",
        description="Render dist/<env>/ for every environment; a failed run changes nothing.",
    )
    syn.add_argument("--config", type=Path, default=default_config, help="app config file")
    syn.add_argument("--clusters", type=Path, default=default_clusters, help="environments folder")
    syn.add_argument("--output", type=Path, default=None, help="output folder (default: dist/)")
    syn.set_defaults(func=cmd_synth)

    dif = sub.add_parser(
        "diff",
        help="rendered manifests of a base ref vs the working tree, as Markdown",
        description="Synthesize the base ref and the working tree into temporary folders and "
        "print, per resource (kind/namespace/name), what was added, removed or changed, "
        "with a unified diff of the changed ones. dist/ is not touched.",
    )
    dif.add_argument("--base", default="HEAD", help="git ref to compare with (default: HEAD)")
    dif.add_argument("--exit-code", action="store_true", help="exit 1 when anything differs")
    dif.set_defaults(func=cmd_diff)
    bootstrap.add_command(sub)
    status.add_command(sub)
    return top


def main(argv: list[str] | None = None) -> int:
    args: Any = parser().parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
