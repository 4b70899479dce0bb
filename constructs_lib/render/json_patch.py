"""RFC 6902 JSON Patch on plain data, with RFC 6901 pointers.

Small and strict on purpose: every failure names the operation and path, and a patch applies
to a copy, so a failing one leaves the document as it was.
"""

from __future__ import annotations

import copy
from typing import Any


class PatchError(ValueError):
    """An operation that cannot apply: `op path: reason`."""


def parse_pointer(pointer: str) -> list[str]:
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise PatchError(f"'{pointer}' is not a JSON pointer (it must start with '/')")
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/")]


def _index(container: list[Any], token: str, *, adding: bool) -> int:
    if token == "-" and adding:
        return len(container)
    if not token.isdigit() or (token != "0" and token.startswith("0")):
        raise PatchError(f"'{token}' is not an array index")
    index = int(token)
    if index > len(container) or (index == len(container) and not adding):
        raise PatchError(f"index {index} is out of range (length {len(container)})")
    return index


def _parent(document: Any, tokens: list[str]) -> Any:
    current = document
    for token in tokens[:-1]:
        if isinstance(current, dict):
            if token not in current:
                raise PatchError(f"'{token}' does not exist")
            current = current[token]
        elif isinstance(current, list):
            current = current[_index(current, token, adding=False)]
        else:
            raise PatchError(f"'{token}' is below a scalar")
    return current


def _get(document: Any, tokens: list[str]) -> Any:
    if not tokens:
        return document
    parent = _parent(document, tokens)
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError(f"'{last}' does not exist")
        return parent[last]
    if isinstance(parent, list):
        return parent[_index(parent, last, adding=False)]
    raise PatchError(f"'{last}' is below a scalar")


def _add(document: Any, tokens: list[str], value: Any) -> Any:
    if not tokens:
        return value
    parent = _parent(document, tokens)
    last = tokens[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        parent.insert(_index(parent, last, adding=True), value)
    else:
        raise PatchError(f"'{last}' is below a scalar")
    return document


def _remove(document: Any, tokens: list[str]) -> tuple[Any, Any]:
    if not tokens:
        raise PatchError("cannot remove the whole document")
    parent = _parent(document, tokens)
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError(f"'{last}' does not exist")
        return document, parent.pop(last)
    if isinstance(parent, list):
        return document, parent.pop(_index(parent, last, adding=False))
    raise PatchError(f"'{last}' is below a scalar")


def apply_patch(document: Any, operations: list[dict[str, Any]]) -> Any:
    """Apply `operations` to a deep copy of `document` and return it."""
    result = copy.deepcopy(document)
    for operation in operations:
        op, path = operation.get("op"), operation.get("path")
        if not isinstance(path, str):
            raise PatchError(f"{op}: 'path' is required")
        try:
            result = _apply_one(result, operation, str(op), parse_pointer(path))
        except PatchError as exc:
            raise PatchError(f"{op} {path}: {exc}") from None
    return result


def _apply_one(document: Any, operation: dict[str, Any], op: str, tokens: list[str]) -> Any:
    if op in ("add", "replace", "test") and "value" not in operation:
        raise PatchError("'value' is required")
    if op == "add":
        return _add(document, tokens, copy.deepcopy(operation["value"]))
    if op == "remove":
        return _remove(document, tokens)[0]
    if op == "replace":
        _get(document, tokens)
        if not tokens:
            return copy.deepcopy(operation["value"])
        document, _ = _remove(document, tokens)
        return _add(document, tokens, copy.deepcopy(operation["value"]))
    if op in ("move", "copy"):
        source = operation.get("from")
        if not isinstance(source, str):
            raise PatchError("'from' is required")
        from_tokens = parse_pointer(source)
        if op == "move":
            if tokens[: len(from_tokens)] == from_tokens and tokens != from_tokens:
                raise PatchError(f"cannot move '{source}' into itself")
            document, value = _remove(document, from_tokens)
        else:
            value = copy.deepcopy(_get(document, from_tokens))
        return _add(document, tokens, value)
    if op == "test":
        actual = _get(document, tokens)
        if actual != operation["value"]:
            raise PatchError(f"value is {actual!r}, not {operation['value']!r}")
        return document
    raise PatchError(f"unknown op '{op}' (add, remove, replace, move, copy, test)")
