"""From synthesized charts to files: one YAML file per object, byte-for-byte deterministic."""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import re
import shutil
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from constructs_lib.compose.layout import RenderedEnv, file_path, root_path
from constructs_lib.errors import ProblemsError
from constructs_lib.render.yaml_quoting import double_quoted

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
    return double_quoted(text)


_STR = "tag:yaml.org,2002:str"


class OutputError(ProblemsError):
    """Rendered output that must not be published. `problems` holds one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(problems)


def render_files(env: RenderedEnv) -> dict[str, str]:
    """Relative path -> YAML text of every file of one environment."""
    files: dict[str, str] = {}
    problems: list[str] = []
    for folder, manifests in sorted(env.folders.items()):
        for manifest in manifests:
            path = file_path(env.name, folder, manifest)
            if path in files:
                problems.append(
                    f"dist/{path}: two objects render to this file "
                    f"({manifest['kind']} '{manifest['metadata']['name']}')"
                )
                continue
            files[path] = dump(manifest)
    if env.root:
        files[root_path(env.name)] = "---\n".join(dump(m) for m in env.root)
    if problems:
        raise OutputError(problems)
    return files


@dataclass
class Staged:
    """One render's files, written into dist/ but not yet in place; see `stage`.

    Paths are strings, so a worker process can send this back to the one that commits.
    """

    dist: Path
    paths: frozenset[str]  # every file of the render, relative to dist
    replacements: list[tuple[str, str]] = field(default_factory=list)  # (temporary, final)
    created: list[str] = field(default_factory=list)  # new files
    folders: list[str] = field(default_factory=list)  # new folders, parents first

    @property
    def changed(self) -> int:
        """Files this render adds or rewrites."""
        return len(self.replacements) + len(self.created)


def stage(files: Mapping[str, str], dist: Path) -> Staged:
    """Write what differs from `dist`, without changing any file that exists.

    A new file is written at its final path; a changed one under a temporary name beside the
    file it replaces; an unchanged one is not touched (its mtime stays, and the disk sees no
    writes on a synth that changes nothing). `commit` puts the changes in place; `discard`
    undoes all of this, so a run that fails here leaves `dist` exactly as it was.
    """
    staged = Staged(dist, frozenset(files))
    folders: set[str] = set()
    try:
        for relative, text in sorted(files.items()):
            path = os.path.join(dist, relative)
            folder = os.path.dirname(path)
            if folder not in folders:
                _make_folders(Path(folder), staged.folders)
                folders.add(folder)
            data = text.encode("utf-8")
            differs = _differs(path, data)
            if differs is None:
                _write(path, data)
                staged.created.append(path)
            elif differs:
                temporary = os.path.join(folder, f".{os.path.basename(path)}.{os.getpid()}.tmp")
                _write(temporary, data)
                staged.replacements.append((temporary, path))
    except BaseException:
        discard([staged])
        raise
    return staged


def stage_folder(dist: Path) -> Staged:
    """Create `dist` (and its parents) if missing, as a staged step `discard` can undo. Run it
    before renders stage in parallel, so that no two of them race to create the same folder."""
    staged = Staged(dist, frozenset())
    try:
        _make_folders(dist, staged.folders)
    except BaseException:
        discard([staged])
        raise
    return staged


def commit(staged: list[Staged], dist: Path) -> int:
    """Put every staged file in place, then delete what no render produced: files of objects
    that are gone, and folders left empty. Returns the number of files removed."""
    for render in staged:
        for temporary, final in render.replacements:
            os.replace(temporary, final)
    keep = frozenset().union(*(render.paths for render in staged))
    removed = 0
    for folder, subfolders, names in os.walk(dist, topdown=False):
        relative = os.path.relpath(folder, dist)
        prefix = "" if relative == "." else relative.replace(os.sep, "/") + "/"
        links = [d for d in subfolders if os.path.islink(os.path.join(folder, d))]
        for name in names + links:
            if prefix + name not in keep:
                os.unlink(os.path.join(folder, name))
                removed += 1
        if prefix and not os.listdir(folder):
            os.rmdir(folder)
    return removed


def discard(staged: list[Staged]) -> None:
    """Undo `stage`: remove temporary and new files, then new folders, deepest first."""
    for render in staged:
        for path in [temporary for temporary, _ in render.replacements] + render.created:
            with contextlib.suppress(OSError):
                os.unlink(path)
    for render in reversed(staged):
        for folder in reversed(render.folders):
            with contextlib.suppress(OSError):
                os.rmdir(folder)  # only if empty: nothing of anybody else's is lost


def publish(files: Mapping[str, str], dist: Path) -> None:
    """Make `dist` hold exactly these files (relative path -> text), or leave it as it was."""
    staged = [stage_folder(dist)]
    staged.append(stage(files, dist))
    commit(staged, dist)


def copy_tree(source: Path, target: Path) -> None:
    """Replace `target` with a copy of `source`."""
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target)


def _make_folders(folder: Path, made: list[str]) -> None:
    """mkdir -p, recording each folder it makes."""
    missing: list[Path] = []
    while not folder.is_dir():
        missing.append(folder)
        folder = folder.parent
    for path in reversed(missing):
        path.mkdir()  # a file in the way raises FileExistsError: reported, nothing changed
        made.append(str(path))


def _differs(path: str, data: bytes) -> bool | None:
    """Whether the file at `path` holds other bytes than `data`; None if nothing is there.
    A link is always replaced; a folder in the way is an error."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # a symbolic link
            return True
        raise
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError(errno.EISDIR, "a folder is in the way of a file", path)
        if not stat.S_ISREG(info.st_mode) or info.st_size != len(data):
            return True
        return os.read(fd, len(data) + 1) != data
    finally:
        os.close(fd)


def _write(path: str, data: bytes) -> None:
    with open(path, "wb") as file:
        file.write(data)
