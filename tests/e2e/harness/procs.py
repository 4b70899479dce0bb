"""Child processes that cannot outlive the harness.

Each component runs in its own session (process group) with its output in a
log file. Teardown sends SIGTERM to the group, then SIGKILL. As a backstop,
children get PR_SET_PDEATHSIG=SIGKILL (they die if the harness dies, even by
SIGKILL) and an atexit hook stops whatever is still running.
"""

from __future__ import annotations

import atexit
import ctypes
import os
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import NoReturn

_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)

_live: set[Proc] = set()
_live_lock = threading.Lock()


def _child_setup() -> None:  # runs in the child between fork and exec
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


class Proc:
    def __init__(
        self,
        name: str,
        argv: Sequence[str | os.PathLike[str]],
        log_path: Path,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ):
        self.name = name
        self.argv = [str(a) for a in argv]
        self.log_path = log_path
        self.env = env
        self.cwd = cwd
        self.popen: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0

    def start(self) -> Proc:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        try:
            log.write(f"### {self.name}: {' '.join(self.argv)}\n".encode())
            log.flush()
            self.popen = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.cwd,
                start_new_session=True,
                preexec_fn=_child_setup,
            )
        finally:
            log.close()
        self.started_at = time.monotonic()
        with _live_lock:
            _live.add(self)
        return self

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen else None

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def exit_code(self) -> int | None:
        return self.popen.poll() if self.popen else None

    def tail(self, lines: int = 30) -> str:
        try:
            with open(self.log_path, "rb") as f:
                f.seek(0, os.SEEK_END)
                size = f.tell()
                f.seek(max(0, size - 256 * 1024))
                data = f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(deque(data.splitlines(), maxlen=lines))

    def status_line(self) -> str:
        if self.popen is None:
            return f"{self.name}: not started"
        code = self.popen.poll()
        state = "running" if code is None else f"exited with {code}"
        return f"{self.name} (pid {self.popen.pid}): {state}; log {self.log_path}"

    def stop(self, timeout: float = 10) -> None:
        p = self.popen
        if p is None:
            return
        try:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
                try:
                    p.wait(timeout)
                except subprocess.TimeoutExpired:
                    pass
            # The whole group: also grandchildren (git, helpers) left behind.
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                pass
        finally:
            with _live_lock:
                _live.discard(self)


def stop_all() -> None:
    with _live_lock:
        procs = sorted(_live, key=lambda p: p.started_at, reverse=True)
    for p in procs:
        p.stop(timeout=5)


atexit.register(stop_all)


def _on_sigterm(
    signum: int, frame: FrameType | None
) -> NoReturn:  # turn SIGTERM into a normal exit: finalizers run
    raise SystemExit(128 + signum)


def install_sigterm_handler() -> None:
    if threading.current_thread() is threading.main_thread():
        if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
            signal.signal(signal.SIGTERM, _on_sigterm)
