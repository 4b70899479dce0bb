"""Bounded polling with useful failure messages."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class WaitTimeout(AssertionError):
    """A wait_for() ran out of time. Subclasses AssertionError so pytest shows
    it as a plain test failure with its message."""


def wait_for(
    predicate: Callable[[], T | None],
    timeout: float,
    description: str,
    interval: float = 0.5,
    describe_last: Callable[[], str] | None = None,
) -> T:
    """Call `predicate` until it returns something truthy and return that.

    Exceptions raised by `predicate` count as "not yet" (the last one is
    reported). On timeout raises WaitTimeout naming `description`, the last
    value or exception, and `describe_last()` (e.g. component log tails).
    """
    deadline = time.monotonic() + timeout
    last: object = None
    last_exc: BaseException | None = None
    while True:
        try:
            value = predicate()
            last_exc = None
            if value:
                return value
            last = value
        except Exception as exc:
            last_exc = exc
        if time.monotonic() >= deadline:
            break
        time.sleep(interval)
    msg = [f"timed out after {timeout:.0f}s waiting for {description}"]
    if last_exc is not None:
        msg.append(f"last error: {type(last_exc).__name__}: {last_exc}")
    else:
        msg.append(f"last value: {last!r}"[:2000])
    if describe_last is not None:
        try:
            msg.append(describe_last())
        except Exception as exc:
            msg.append(f"(could not describe state: {exc})")
    raise WaitTimeout("\n".join(msg))
