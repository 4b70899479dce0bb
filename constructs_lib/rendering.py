"""From synthesized charts to files: one YAML file per object, byte-for-byte deterministic."""

from __future__ import annotations

import functools
import os
import re
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

# Plain (unquoted) scalars: a conservative subset of YAML's plain style. Anything else is quoted.
_PLAIN = re.compile(r"^[A-Za-z0-9_./$][A-Za-z0-9_./@:+=,$~-]*( [A-Za-z0-9_./@:+=,()$~-]+)*\Z")
_PRINTABLE = re.compile(r"^[\x20-\x7e\u00a0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]*\Z")
_RESOLVER = yaml.resolver.Resolver()


def dump(manifest: Mapping[str, Any]) -> str:
    """YAML text of one object, in block style with literal blocks for multi-line strings.

    A small emitter for the JSON-shaped data manifests are: several times faster than PyYAML's
    Python representer, which matters at thousands of objects per synth. Key order is kept as
    given (cdk8s sorts metadata; bodies keep the constructs' order). A property test checks that
    PyYAML reads back exactly the data written.
    """
    lines: list[str] = []
    _mapping(manifest, 0, lines)
    return "\n".join(lines) + "\n"


def _mapping(value: Mapping[str, Any], indent: int, lines: list[str]) -> None:
    pad = " " * indent
    for key, item in value.items():
        head = f"{pad}{_scalar(str(key))}:"
        if isinstance(item, Mapping) and item:
            lines.append(head)
            _mapping(item, indent + 2, lines)
        elif isinstance(item, list) and item:
            lines.append(head)
            _sequence(item, indent, lines)
        else:
            _inline(head, item, indent, lines)


def _sequence(value: list[Any], indent: int, lines: list[str]) -> None:
    pad = " " * indent
    for item in value:
        if isinstance(item, Mapping) and item:
            nested: list[str] = []
            _mapping(item, indent + 2, nested)
            nested[0] = f"{pad}- {nested[0][indent + 2 :]}"
            lines.extend(nested)
        elif isinstance(item, list) and item:
            lines.append(f"{pad}-")
            _sequence(item, indent + 2, lines)
        else:
            _inline(f"{pad}-", item, indent, lines)


def _inline(head: str, value: Any, indent: int, lines: list[str]) -> None:
    """`head value` for scalars and empty collections; literal blocks for multi-line text."""
    if isinstance(value, str) and "\n" in value and _literal_ok(value):
        chomp = "" if value.endswith("\n") and not value.endswith("\n\n") else "-"
        if value.endswith("\n\n"):
            chomp = "+"
        lines.append(f"{head} |{chomp}")
        body = value[:-1] if value.endswith("\n") else value
        pad = " " * (indent + 2)
        lines.extend(f"{pad}{line}" if line else "" for line in body.split("\n"))
        return
    lines.append(f"{head} {_scalar(value)}")


def _literal_ok(value: str) -> bool:
    return (
        not value.startswith((" ", "\n"))
        and "\r" not in value
        and "\t" not in value
        and all(_PRINTABLE.match(line) for line in value.split("\n"))
        and not any(line.endswith(" ") for line in value.split("\n"))
    )


def _scalar(value: Any) -> str:
    if isinstance(value, str):
        return _string(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # YAML 1.1 (PyYAML, Kubernetes' loaders) needs a dot in a float: 1e+18 -> 1.0e+18.
        text = repr(value)
        return text.replace("e", ".0e") if "e" in text and "." not in text else text
    if isinstance(value, Mapping):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return _string(str(value))


@functools.lru_cache(maxsize=65536)
def _string(text: str) -> str:
    """A string scalar: plain where YAML reads it back as the same string, quoted otherwise."""
    if (
        _PLAIN.match(text)
        and not text.endswith(":")
        and ": " not in text
        and _RESOLVER.resolve(yaml.ScalarNode, text, (True, False)) == _STR  # type: ignore[no-untyped-call]  # PyYAML stubs leave resolve untyped
    ):
        return text
    if _PRINTABLE.match(text):
        return "'" + text.replace("'", "''") + "'"
    return _double_quoted(text)


def _double_quoted(text: str) -> str:
    """YAML double-quoted style; escapes everything YAML does not allow as printable."""
    out = []
    for char in text:
        if char in ('"', "\\"):
            out.append("\\" + char)
        elif _PRINTABLE.match(char):
            out.append(char)
        elif char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) <= 0xFF:
            out.append(f"\\x{ord(char):02x}")
        elif ord(char) <= 0xFFFF:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(f"\\U{ord(char):08x}")
    return '"' + "".join(out) + '"'


_ESCAPES = {"\n": "\\n", "\t": "\\t", "\r": "\\r", "\x00": "\\0"}
_STR = "tag:yaml.org,2002:str"


def file_name(manifest: Mapping[str, Any]) -> str:
    """`<kind>-<name>.yaml`, lowercase: `deployment-web.yaml`."""
    return f"{manifest['kind'].lower()}-{manifest['metadata']['name']}.yaml"


@dataclass(frozen=True)
class RenderedEnv:
    """Everything one environment renders: folder -> objects, plus the hand-applied root file."""

    name: str
    folders: Mapping[str, list[dict[str, Any]]]
    root: list[dict[str, Any]]


class OutputError(Exception):
    """Rendered output that must not be published. `problems` holds one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems

    def __reduce__(self) -> tuple[type[OutputError], tuple[list[str]]]:
        return (OutputError, (self.problems,))  # survives the trip back from a worker process


def render_files(env: RenderedEnv) -> dict[str, str]:
    """Relative path -> YAML text of every file of one environment."""
    files: dict[str, str] = {}
    problems: list[str] = []
    for folder, manifests in sorted(env.folders.items()):
        for manifest in manifests:
            path = f"{env.name}/{folder}/{file_name(manifest)}"
            if path in files:
                problems.append(
                    f"dist/{path}: two objects render to this file "
                    f"({manifest['kind']} '{manifest['metadata']['name']}')"
                )
                continue
            files[path] = dump(manifest)
    if env.root:
        files[f"{env.name}/root.yaml"] = "---\n".join(dump(m) for m in env.root)
    if problems:
        raise OutputError(problems)
    return files


def write_tree(files: Mapping[str, str], target: Path) -> None:
    """Write the files below `target` (which must not exist yet)."""
    target.mkdir(parents=True)
    made: set[Path] = set()
    for relative, text in sorted(files.items()):
        path = target / relative
        if path.parent not in made:
            path.parent.mkdir(parents=True, exist_ok=True)
            made.add(path.parent)
        path.write_text(text, encoding="utf-8")


def publish(files: Mapping[str, str], dist: Path, staging: Path | None = None) -> None:
    """Replace `dist` with the rendered tree, or leave it untouched if anything fails.

    The tree is written next to `dist` first and swapped in with renames, so a reader sees
    either the old tree or the new one. `staging`, when given (the cdk8s CLI's output folder),
    receives a copy too, so `cdk8s synth` lists what it rendered.
    """
    dist = dist.resolve()
    dist.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{dist.name}.", dir=dist.parent))
    try:
        new = work / "new"
        write_tree(files, new)
        if staging is not None:
            if staging.exists():
                shutil.rmtree(staging)
            shutil.copytree(new, staging)
        old = work / "old"
        if dist.exists():
            os.replace(dist, old)
        os.replace(new, dist)
    finally:
        shutil.rmtree(work, ignore_errors=True)
