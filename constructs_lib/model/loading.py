"""Reading config files and turning every problem into one `path: message` line."""

from __future__ import annotations

import difflib
import gc
import re
import types
import typing
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from constructs_lib.errors import ProblemsError
from constructs_lib.model.bounded import MAX_YAML_BYTES, InputTooLarge, read_bounded

M = TypeVar("M", bound=BaseModel)

SUBPATH = re.compile(
    r"^([A-Za-z_][A-Za-z0-9_]*(?:\[\d+\])?(?:\.[A-Za-z_][A-Za-z0-9_]*(?:\[\d+\])?)*): (.*)$", re.S
)


class ConfigError(ProblemsError):
    """A file that cannot be used. `problems` holds one `path: message` line each."""

    def __init__(self, source: str, problems: list[str]) -> None:
        super().__init__(problems, source=source, message=f"{source}: {len(problems)} problem(s)")


class _UniqueKeyLoader(yaml.CSafeLoader):
    """SafeLoader that rejects duplicate keys instead of silently keeping the last one."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key '{key}'", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,
)


def read_yaml(path: Path) -> Any:
    """Parse one YAML document; syntax errors become a ConfigError with the line."""
    try:
        raw = read_bounded(path, MAX_YAML_BYTES)
        text = raw.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
    except OSError as exc:
        raise ConfigError(str(path), [f"{path}: cannot read: {exc.strerror}"]) from None
    except InputTooLarge as exc:
        raise ConfigError(str(path), [f"document: {exc}"]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(str(path), [f"document: not UTF-8 text (byte {exc.start})"]) from None
    return parse_yaml(text, str(path))


@contextmanager
def _no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many objects that all stay alive.

    Parsing a config of 1000 services allocates ~70,000 nodes; without the pause, Python runs
    collections that find nothing to free and take half of the parse time.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def parse_yaml(text: str, source: str) -> Any:
    """Parse YAML text like `read_yaml`: one document, duplicate keys and aliases rejected."""
    return _parse(_fast_load, text, source)


def parse_yaml_documents(text: str, source: str) -> list[Any]:
    """Parse every document of a YAML stream as strictly as `parse_yaml`."""
    result: list[Any] = _parse(_fast_load_all, text, source)
    return result


def _parse(load: Any, text: str, source: str) -> Any:
    try:
        with _no_gc():
            return load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "document"
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(source, [f"{where}: invalid YAML: {problem}"]) from None
    except RecursionError:
        raise ConfigError(source, ["document: invalid YAML: nested too deeply"]) from None


# A config of 1000 services has ~70,000 nodes; PyYAML's generic constructor spends most of a
# second on them. The fast path below composes with libyaml, caches implicit-tag resolution
# per value, and builds plain dicts and lists directly; anything unusual (merge keys, explicit
# tags) goes through the regular SafeLoader machinery, with duplicate keys still rejected.
_CBase: Any = yaml.CSafeLoader  # libyaml: _UniqueKeyLoader needs it too
_RESOLVED: dict[str, str] = {}
_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_MERGE = "tag:yaml.org,2002:merge"


_base_resolve: Any = yaml.resolver.BaseResolver.resolve  # untyped in types-pyyaml


def _resolve_cached(self: Any, kind: Any, value: Any, implicit: Any) -> Any:
    if kind is yaml.ScalarNode and implicit[0]:
        tag = _RESOLVED.get(value)
        if tag is None:
            tag = _base_resolve(self, kind, value, implicit)
            if len(_RESOLVED) < 100_000:
                _RESOLVED[value] = tag
        return tag
    return _base_resolve(self, kind, value, implicit)


class _FastLoader(_CBase):  # type: ignore[misc]  # libyaml binding is untyped
    resolve = _resolve_cached


_FastLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,
)


def _fast_load(text: str) -> Any:
    loader = _FastLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _reject_aliases(node)
        return _build(node, loader, {})
    finally:
        loader.dispose()


def _fast_load_all(text: str) -> list[Any]:
    loader = _FastLoader(text)
    try:
        documents = []
        while loader.check_node():
            node = loader.get_node()
            _reject_aliases(node)
            documents.append(_build(node, loader, {}))
        return documents
    finally:
        loader.dispose()


def _reject_aliases(root: Any) -> None:
    """Refuse a node reached twice: an alias (`*name`). Aliases let a few lines expand into a
    billion values ("billion laughs") and hide what a value is from a reviewer; the config and
    the overlays never need them. Stops at the first repeat, so it is linear in the file."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                "aliases (*name) are not allowed; write the value out where it is used",
                node.start_mark,
            )
        seen.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack.extend((key, value))


def _build(node: Any, loader: Any, memo: dict[int, Any]) -> Any:
    known = memo.get(id(node))
    if known is not None:
        return known
    if isinstance(node, yaml.ScalarNode):
        value = node.value if node.tag == _STR else loader.construct_object(node, deep=True)
    elif isinstance(node, yaml.SequenceNode) and node.tag == _SEQ:
        value = []
        memo[id(node)] = value
        value.extend(_build(item, loader, memo) for item in node.value)
    elif (
        isinstance(node, yaml.MappingNode)
        and node.tag == _MAP
        and not any(key.tag == _MERGE for key, _ in node.value)
    ):
        value = {}
        memo[id(node)] = value
        for key_node, value_node in node.value:
            key = _build(key_node, loader, memo)
            try:
                duplicate = key in value
            except TypeError:
                raise yaml.constructor.ConstructorError(
                    None, None, "found an unhashable key", key_node.start_mark
                ) from None
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key '{key}'", key_node.start_mark
                )
            value[key] = _build(value_node, loader, memo)
    else:
        value = loader.construct_object(node, deep=True)
    memo[id(node)] = value
    return value


def parse_model(model: type[M], data: Any, source: str) -> M:
    """Validate data against a model; every error becomes one `path: message` line."""
    try:
        with _no_gc():
            return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(source, format_errors(exc, model)) from None


def load_model(model: type[M], path: Path) -> M:
    return parse_model(model, read_yaml(path), str(path))


def format_path(parts: list[str | int]) -> str:
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


def format_errors(exc: ValidationError, model: type[BaseModel]) -> list[str]:
    """One line per problem, deduplicated, in document order."""
    lines: list[str] = []
    for error in exc.errors(include_url=False):
        parts, fields = _walk(model, error["loc"])
        message = _message(error, fields)
        match = SUBPATH.match(message)
        if match and error["type"] == "value_error":
            sub, message = match.groups()
            path = format_path(parts)
            path = f"{path}.{sub}" if path and not sub.startswith("[") else path + sub
        else:
            path = format_path(parts)
        line = f"{path}: {message}" if path else message
        if line not in lines:
            lines.append(line)
    return lines


def _message(error: Any, fields: list[str]) -> str:
    kind = error["type"]
    message = str(error["msg"])
    if kind == "value_error":
        return message.removeprefix("Value error, ")
    if kind == "extra_forbidden":
        name = str(error["loc"][-1])
        close = difflib.get_close_matches(name, fields, n=1, cutoff=0.6)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        return f"unknown field{hint}"
    if kind == "missing":
        return "required field is missing"
    if kind == "literal_error":
        return f"{message[0].lower()}{message[1:]}, got {error.get('input')!r}"
    return f"{message[0].lower()}{message[1:]}"


def _walk(model: type[BaseModel], loc: tuple[Any, ...]) -> tuple[list[str | int], list[str]]:
    """Keep the loc parts that name fields, indexes or dict keys; drop pydantic's union tags.

    Also returns the field names of the model that holds the last part, for "did you mean".
    """
    parts: list[str | int] = []
    current: Any = model
    fields: list[str] = list(model.model_fields)
    for part in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            fields = list(current.model_fields)
            if part in current.model_fields:
                parts.append(part)
                current = current.model_fields[part].annotation
            elif isinstance(part, str) and not _is_tag(part):
                parts.append(part)  # an unknown key (extra_forbidden)
                current = None
            continue
        origin = typing.get_origin(current)
        if origin is list and isinstance(part, int):
            parts.append(part)
            current = typing.get_args(current)[0]
        elif origin is dict and isinstance(part, str) and not _is_tag(part):
            parts.append(part)
            current = typing.get_args(current)[1]
        elif isinstance(part, int):
            parts.append(part)
            current = None
        elif current is None and isinstance(part, str) and not _is_tag(part):
            parts.append(part)
    return parts, fields


def _is_tag(part: str) -> bool:
    return (
        part in {"int", "str", "bool", "float", "list", "dict"}
        or "[" in part
        or part.startswith("function-")
    )


def _unwrap(annotation: Any) -> Any:
    """Strip Optional/Annotated to reach a model, list or dict type."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
            containers = [a for a in args if typing.get_origin(a) in (list, dict)]
            if len(args) == 1:
                annotation = args[0]
            elif models:
                annotation = models[0]
            elif containers:
                annotation = containers[0]
            else:
                return annotation
        else:
            return annotation
