"""The checkout's app.py run as `make synth` runs it: by `synth`, by `--commit` before it
commits (support/promotion_record.py), and, into a temporary folder, by `diff`."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from constructs_lib.cli.support.common import EXIT_INVALID

# Signals a pipeline runner or a terminal sends to stop a job: passed on to the synth.
FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
_PR_SET_PDEATHSIG = 1


def app_command(root: Path, extra: Sequence[str]) -> list[str]:
    return [sys.executable, "-O", str(root / "app.py"), *extra]


def synth_env() -> dict[str, str]:
    env = dict(os.environ)
    # jsii warns on every run that Node 20 is end-of-life; the Makefile silences it the same way.
    env.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    env.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
    return env


def _die_with_parent() -> None:
    """In the child, before app.py starts: get SIGTERM when this process dies, even by
    SIGKILL, so the synth never keeps writing after the command that started it is gone."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: the forwarded signals still apply
        pass


def run_synth(root: Path, config: Path, clusters: Path, output: Path | None = None) -> int:
    """Render dist/ (or `output`) from `config` and `clusters` with the app.py of the checkout
    at `root`; the synth's exit code (128 + N when signal N stopped it)."""
    if not (root / "app.py").is_file():
        print(f"{root}: app.py not found; run gitops-base from a checkout", file=sys.stderr)
        return EXIT_INVALID
    extra = ["--config", str(config), "--clusters", str(clusters)]
    if output is not None:
        extra += ["--output", str(output)]
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
