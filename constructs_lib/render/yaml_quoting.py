"""YAML double-quoted scalars, for strings that plain and single-quoted style cannot carry.

Shared by the dist/ emitter (rendering.py) and the config editor (cli/support/config_edit.py).
"""

from __future__ import annotations

import re

_ASCII_SAFE = re.compile(r"^[ !#-\[\]-~]*$")  # printable ASCII without '"' and '\'
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r", "\x00": "\\0"}


def _printable(ch: str) -> bool:
    code = ord(ch)
    return (
        0x20 <= code <= 0x7E
        or 0xA0 <= code <= 0xD7FF
        or (0xE000 <= code <= 0xFFFD and code != 0xFEFF)
        or 0x10000 <= code <= 0x10FFFF
    ) and ch not in "\u2028\u2029"


def double_quoted(value: str) -> str:
    """A YAML double-quoted scalar that reads back as exactly `value`, on one line."""
    if _ASCII_SAFE.fullmatch(value):
        return f'"{value}"'
    out = []
    for ch in value:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif _printable(ch):
            out.append(ch)
        elif ord(ch) <= 0xFF:
            out.append(f"\\x{ord(ch):02X}")
        elif ord(ch) <= 0xFFFF:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(f"\\U{ord(ch):08X}")
    return '"' + "".join(out) + '"'
