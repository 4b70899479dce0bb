"""A command's output lines timed as they arrive, and the steps of `gitops-base bootstrap` read
from them: bootstrap prints (and flushes) one line as each of its steps ends, so the time of that
line is the time of the step.
"""

from __future__ import annotations

import re
import subprocess
import threading
import time
from collections.abc import Iterable

TimedLine = tuple[float, str]
"""(seconds since the start given, the line without its newline)."""

BOOTSTRAP_STEPS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("cluster checks passed", re.compile(r"^cluster checks passed\b")),
    ("Argo CD's install.yaml applied", re.compile(r"^Argo CD v\S+: \d+ objects\b")),
    ("Argo CD running", re.compile(r"^Argo CD is running\b")),
    ("repository credential applied", re.compile(r"^repository credential: \d+ objects\b")),
    ("root.yaml applied", re.compile(r"^root\.yaml: \d+ objects\b")),
    ("every Application Synced and Healthy", re.compile(r"^\S+ is Synced and Healthy \(")),
)


def step_times(lines: Iterable[TimedLine]) -> dict[str, float]:
    """When each of bootstrap's steps ended: the time of the first line that reports it, in
    step order. A step with no such line (bootstrap failed before it) is left out."""
    found: dict[str, float] = {}
    for at, text in lines:
        for name, pattern in BOOTSTRAP_STEPS:
            if name not in found and pattern.search(text):
                found[name] = at
    return {name: found[name] for name, _ in BOOTSTRAP_STEPS if name in found}


def communicate_timed(
    proc: subprocess.Popen[str], t0: float, timeout: float
) -> tuple[int, list[TimedLine], str]:
    """Read `proc`'s standard output line by line, each with the time it arrived (seconds since
    the monotonic `t0`), and its standard error whole; kill it after `timeout` seconds.
    Returns (exit code, timed lines, standard error)."""
    assert proc.stdout is not None and proc.stderr is not None
    lines: list[TimedLine] = []
    err: list[str] = []

    def read_out() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append((time.monotonic() - t0, line.rstrip("\n")))

    def read_err() -> None:
        assert proc.stderr is not None
        err.append(proc.stderr.read())

    readers = [
        threading.Thread(target=read_out, name="stdout", daemon=True),
        threading.Thread(target=read_err, name="stderr", daemon=True),
    ]
    for r in readers:
        r.start()
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        code = proc.wait()
    for r in readers:
        r.join(10)
    proc.stdout.close()
    proc.stderr.close()
    return code, lines, "".join(err)
