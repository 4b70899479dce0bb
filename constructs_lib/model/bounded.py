"""Reading input with a limit on what is read, not on what the file claims to be.

`st_size` says nothing about `/dev/zero`, a FIFO or a file that grows while it is read; these
functions read at most `limit + 1` bytes and refuse the input if there was more.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

# The largest config, cluster or overlay file read: a config of 2,000 services is about 1 MiB.
MAX_YAML_BYTES = 16 * 2**20


class InputTooLarge(ValueError):
    """More than `limit` bytes were offered; `str()` says so in one line."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"is larger than the limit of {limit} bytes")
        self.limit = limit


def read_stream(stream: BinaryIO, limit: int) -> bytes:
    """At most `limit` bytes of `stream`; InputTooLarge if it holds more."""
    chunks: list[bytes] = []
    size = 0
    while size <= limit:
        chunk = stream.read(min(limit + 1 - size, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if size > limit:
        raise InputTooLarge(limit)
    return b"".join(chunks)


def read_bounded(path: Path, limit: int = MAX_YAML_BYTES) -> bytes:
    """The bytes of `path`, refusing more than `limit` (OSError as usual when unreadable)."""
    with open(path, "rb") as stream:
        return read_stream(stream, limit)
