"""One lock for a checkout's config and dist/: the commands that write them run one at a time.

`generate`, `set-image` and the synth each hold an exclusive `flock` on `.gitops-base.lock` in
the checkout (gitignored) from before they read until after they have written. A second run
waits for the first, then reads what the first wrote, so no update is lost. The kernel drops
the lock when its holder exits, even when it is killed, so a crashed run never blocks the next.

A run that cannot get the lock within `GITOPS_BASE_LOCK_TIMEOUT` seconds (default 300) fails
with a message naming the holder (its process id and command).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from constructs_lib.errors import ProblemsError

LOCK_FILE = ".gitops-base.lock"
TIMEOUT_VARIABLE = "GITOPS_BASE_LOCK_TIMEOUT"
DEFAULT_TIMEOUT = 300.0
_POLL = 0.05


class LockError(ProblemsError):
    """The checkout's lock could not be taken; `problems` holds one line."""

    def __init__(self, problem: str) -> None:
        super().__init__([problem])


def lock_timeout() -> float:
    """Seconds to wait for the lock: GITOPS_BASE_LOCK_TIMEOUT, else 300."""
    value = os.environ.get(TIMEOUT_VARIABLE, "")
    try:
        seconds = float(value) if value else DEFAULT_TIMEOUT
    except ValueError:
        raise LockError(f"{TIMEOUT_VARIABLE}: '{value}' is not a number of seconds") from None
    if not 0 <= seconds < 86400:
        raise LockError(f"{TIMEOUT_VARIABLE}: {value} is not between 0 and 86400 seconds")
    return seconds


def _holder(fd: int) -> str:
    """What the holder wrote into the lock file: `pid N: command`."""
    with contextlib.suppress(OSError):
        text = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip()
        if text:
            return text
    return "an unknown process"


@contextlib.contextmanager
def checkout_lock(root: Path, timeout: float | None = None) -> Iterator[None]:
    """Hold the exclusive lock of the checkout at `root` for the duration of the block."""
    wait = lock_timeout() if timeout is None else timeout
    path = root / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise LockError(f"{path}: cannot open the lock file: {exc.strerror}") from None
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockError(
                        f"{path}: still held by {_holder(fd)} after {wait:g} s; another "
                        f"gitops-base command is writing this checkout (wait for it, or raise "
                        f"{TIMEOUT_VARIABLE})"
                    ) from None
                time.sleep(_POLL)
        command = " ".join([os.path.basename(sys.argv[0]), *sys.argv[1:]])[:1000]
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"pid {os.getpid()}: {command}\n".encode(), 0)
        try:
            yield
        finally:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
