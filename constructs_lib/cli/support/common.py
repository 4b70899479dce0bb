"""What every command shares: the checkout it works on, exit codes, one-line problems."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from constructs_lib.paths import ROOT


def project_root(start: Path | None = None) -> Path:
    """The checkout a command works on: the nearest folder, from the current directory up,
    that holds app.py and cdk8s.yaml; otherwise the checkout this package was installed from.
    A pipeline that runs `gitops-base` inside its clone edits that clone, whatever venv it uses.
    """
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "app.py").is_file() and (folder / "cdk8s.yaml").is_file():
            return folder
    return ROOT


EXIT_OK = 0
EXIT_INVALID = 1  # invalid input (nothing written), or a check that found problems
EXIT_USAGE = 2


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


def fail(problems: Sequence[str], summary: str | None = None) -> int:
    """Print each problem as one line on stderr, then the summary; the exit code of a failed
    command."""
    for problem in problems:
        print(one_line(problem), file=sys.stderr)
    if summary is not None:
        print(summary, file=sys.stderr)
    return EXIT_INVALID
