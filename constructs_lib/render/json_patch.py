"""RFC 6902 JSON Patch on plain data, applied by the `jsonpatch` library.

This module only words the library's errors as one line that names the operation and path
(`replace /spec/x: 'x' does not exist`), and applies a patch to a copy, so a failing one
leaves the document as it was.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import jsonpatch
import jsonpointer

OPS = ("add", "remove", "replace", "move", "copy", "test")


class PatchError(ValueError):
    """An operation that cannot apply: `op path: reason`."""


def dig(obj: Any, path: Sequence[str]) -> Any:
    """The value at `path` (keys of nested mappings), or None where a step is missing."""
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def parse_pointer(pointer: str) -> list[str]:
    """The unescaped reference tokens of an RFC 6901 pointer."""
    if pointer and not pointer.startswith("/"):
        raise PatchError(f"'{pointer}' is not a JSON pointer (it must start with '/')")
    return list(jsonpointer.JsonPointer(pointer).parts)


def apply_patch(document: Any, operations: list[dict[str, Any]]) -> Any:
    """Apply `operations` to a deep copy of `document` and return it."""
    result = copy.deepcopy(document)
    for operation in copy.deepcopy(operations):
        op, path = operation.get("op"), operation.get("path")
        if not isinstance(path, str):
            raise PatchError(f"{op}: 'path' is required")
        try:
            reason = _invalid(operation, str(op), path)
            if reason is None:
                try:
                    result = jsonpatch.JsonPatch([operation]).apply(result, in_place=True)
                    continue
                except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as exc:
                    reason = _explain(result, operation, str(op), path, exc)
        except PatchError as exc:
            reason = str(exc)
        raise PatchError(f"{op} {path or repr('')}: {reason}")
    return result


def _invalid(operation: dict[str, Any], op: str, path: str) -> str | None:
    """What makes the operation itself malformed, before it meets the document."""
    if op not in OPS:
        return f"unknown op '{op}' ({', '.join(OPS)})"
    parse_pointer(path)
    if op in ("add", "replace", "test") and "value" not in operation:
        return "'value' is required"
    if op in ("move", "copy"):
        source = operation.get("from")
        if not isinstance(source, str):
            return "'from' is required"
        from_tokens, tokens = parse_pointer(source), parse_pointer(path)
        if op == "move" and tokens[: len(from_tokens)] == from_tokens and tokens != from_tokens:
            return f"cannot move '{source}' into itself"
    return None


def _explain(document: Any, operation: dict[str, Any], op: str, path: str, exc: Exception) -> str:
    """The library refused the operation: say why, in terms of the document."""
    if isinstance(exc, jsonpatch.JsonPatchTestFailed):
        actual = _walk(document, parse_pointer(path), adding=False)
        return f"value is {actual!r}, not {operation['value']!r}"
    if op in ("move", "copy"):
        _walk(document, parse_pointer(operation["from"]), adding=False)
    tokens = parse_pointer(path)
    if op == "remove" and not tokens:
        return "cannot remove the whole document"
    _walk(document, tokens, adding=op in ("add", "move", "copy"))
    return str(exc)  # not a case the walk knows: the library's own words


def _walk(document: Any, tokens: list[str], *, adding: bool) -> Any:
    """The value at `tokens`, raising PatchError with the first token that does not resolve.
    With `adding`, the last token may name a new key or the end of an array."""
    current = document
    for i, token in enumerate(tokens):
        last = i == len(tokens) - 1
        if isinstance(current, dict):
            if token not in current:
                if adding and last:
                    return None
                raise PatchError(f"'{token}' does not exist")
            current = current[token]
        elif isinstance(current, list):
            if token == "-" and adding and last:
                return None
            if not token.isdigit() or (token != "0" and token.startswith("0")):
                raise PatchError(f"'{token}' is not an array index")
            index = int(token)
            if index > len(current) or (index == len(current) and not (adding and last)):
                raise PatchError(f"index {index} is out of range (length {len(current)})")
            if index == len(current):
                return None
            current = current[index]
        else:
            raise PatchError(f"'{token}' is below a scalar")
    return current
