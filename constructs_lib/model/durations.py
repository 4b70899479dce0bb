"""Durations as people write them in settings and flags: `90s`, `5m`, `1h30m`, or seconds.

Plain functions (no pydantic), so the commands that parse a flag start fast."""

from __future__ import annotations

import re

_PART = re.compile(r"(\d{1,6})(h|m|s)")
_UNIT = {"h": 3600, "m": 60, "s": 1}
MAX_SECONDS = 7 * 24 * 3600
"""A week: longer than any wait or soak a pipeline means."""


def parse_duration(text: str | int | float) -> int:
    """Seconds of `90`, `90s`, `5m`, `1h30m`; ValueError naming the value otherwise."""
    if isinstance(text, bool):
        raise ValueError(f"'{text}' is not a duration (like 90s, 5m or 1h30m)")
    if isinstance(text, int | float):
        seconds = int(text)
        if seconds != text:
            raise ValueError(f"'{text}' is not a whole number of seconds")
    else:
        value = text.strip()
        if value.isdigit() and len(value) <= 7:
            seconds = int(value)
        elif value and _PART.sub("", value) == "" and len(value) <= 20:
            units = [u for _, u in _PART.findall(value)]
            if len(set(units)) != len(units) or units != sorted(units, key="hms".index):
                raise ValueError(f"'{text}' is not a duration (like 90s, 5m or 1h30m)")
            seconds = sum(int(n) * _UNIT[u] for n, u in _PART.findall(value))
        else:
            raise ValueError(f"'{text}' is not a duration (like 90s, 5m or 1h30m)")
    if seconds < 0 or seconds > MAX_SECONDS:
        raise ValueError(f"'{text}' is out of range (0 to {MAX_SECONDS // 3600}h)")
    return seconds


def format_duration(seconds: float) -> str:
    """`5m`, `1h30m`, `45s`: the shortest way to write a whole number of seconds."""
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{v}{u}" for v, u in ((hours, "h"), (minutes, "m"), (secs, "s")) if v]
    return "".join(parts) or "0s"
