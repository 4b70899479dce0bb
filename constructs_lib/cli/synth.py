"""`gitops-base synth`: run the checkout's app.py, as `make synth` does."""

from __future__ import annotations

import argparse
import ctypes
import signal
import subprocess
import sys
from types import FrameType

from constructs_lib.cli.support.common import EXIT_INVALID, app_command, project_root, synth_env

# Signals a pipeline runner or a terminal sends to stop a job: passed on to the synth.
FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child, before app.py starts: get SIGTERM when this process dies, even by
    SIGKILL, so the synth never keeps writing after the command that started it is gone."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: the forwarded signals still apply
        pass


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
    # Its own session: a Ctrl-C in a terminal reaches the synth once, through the handler
    # below, not twice (once from the terminal and once forwarded).
    child = subprocess.Popen(
        app_command(root, extra),
        env=synth_env(),
        start_new_session=True,
        preexec_fn=_die_with_parent,  # only prctl, no locks or threads
    )

    def forward(_signum: int, _frame: FrameType | None) -> None:
        # As SIGTERM whatever arrived: before the synth has set its handlers (while Python
        # imports), SIGTERM ends it quietly where SIGINT would print a traceback; after, both
        # stop it the same way (undo what was staged, release the lock).
        child.send_signal(signal.SIGTERM)

    previous = {sig: signal.signal(sig, forward) for sig in FORWARDED}
    try:
        code = child.wait()
        return 128 - code if code < 0 else code  # killed by signal N: exit 128 + N, as a shell
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
