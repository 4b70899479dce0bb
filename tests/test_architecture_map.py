"""docs/reference/architecture.md is the map of the package: every module has its line, every
line names a module, and each layer's "reads" cell says what the layer's imports read."""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping, Set
from pathlib import Path

from tests.support import ROOT
from tests.test_architecture import GRAPH, LAYERS, MODULES, PACKAGE, layer

MAP = ROOT / "docs" / "reference" / "architecture.md"
ROW = re.compile(r"^\| `([\w/]+\.py)` \| (.*) \|$", re.MULTILINE)
LAYER_ROW = re.compile(r"^\| (\w+) \| `constructs_lib/\1/` \| .* \| (.*) \|$", re.MULTILINE)


def holds_code(path: Path) -> bool:
    """Whether a module holds more than a docstring (an `__init__.py` that does is mapped)."""
    body = ast.parse(path.read_text(encoding="utf-8")).body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    return bool(body)


def package_files(package: Path = PACKAGE) -> set[str]:
    """Every module of the package the map must name, as a path under it."""
    return {
        path.relative_to(package).as_posix()
        for path in package.rglob("*.py")
        if path.name != "__init__.py" or holds_code(path)
    }


def import_reads(graph: Mapping[str, Set[str]]) -> dict[str, set[str]]:
    """Layer -> the other layers its modules import (the shared modules aside)."""
    reads: dict[str, set[str]] = {name: set() for name in LAYERS}
    for module, targets in graph.items():
        own = layer(module)
        for target in targets:
            theirs = layer(target)
            if own is not None and theirs is not None and theirs != own:
                reads[LAYERS[own]].add(LAYERS[theirs])
    return reads


def map_problems(text: str, files: Set[str], reads: Mapping[str, Set[str]]) -> list[str]:
    """What the map gets wrong, one line each."""
    section = text.partition("\n## Every module\n")[2].partition("\n## ")[0]
    rows = ROW.findall(section)
    named = [path for path, _ in rows]
    problems = [f"{path}: no line in the map" for path in sorted(files - set(named))]
    problems += [
        f"{path}: the map names it, the package has no such module"
        for path in named
        if path not in files
    ]
    problems += [
        f"{path}: named twice" for path in sorted({p for p in named if named.count(p) > 1})
    ]
    problems += [f"{path}: no purpose" for path, purpose in rows if not purpose.strip()]
    cells = dict(LAYER_ROW.findall(text))
    for name in LAYERS:
        if name not in cells:
            problems.append(f"layer {name}: no row in the layers table")
            continue
        said = set(re.findall(rf"\b({'|'.join(LAYERS)})\b", re.sub(r"`[^`]*`", "", cells[name])))
        if said != set(reads[name]):
            problems.append(
                f"layer {name}: the map says it reads {sorted(said) or 'nothing'}, "
                f"its imports read {sorted(reads[name]) or 'nothing'}"
            )
    return problems


def test_the_map_names_every_module_and_each_layers_reads() -> None:
    assert MODULES  # the import graph this compares against
    assert map_problems(MAP.read_text(encoding="utf-8"), package_files(), import_reads(GRAPH)) == []


def test_a_module_added_without_a_line_is_named() -> None:
    text = MAP.read_text(encoding="utf-8")
    files = package_files() | {"model/newcomer.py"}
    assert map_problems(text, files, import_reads(GRAPH)) == [
        "model/newcomer.py: no line in the map"
    ]


def test_a_line_for_a_module_that_is_gone_is_named() -> None:
    text = MAP.read_text(encoding="utf-8")
    files = package_files() - {"render/yaml_quoting.py"}
    assert map_problems(text, files, import_reads(GRAPH)) == [
        "render/yaml_quoting.py: the map names it, the package has no such module"
    ]


def test_a_reads_cell_the_imports_contradict_is_named() -> None:
    text = MAP.read_text(encoding="utf-8")
    reads = import_reads(GRAPH)
    upward = {**reads, "cli": {*reads["cli"], "compose"}}
    assert map_problems(text, package_files(), upward) == [
        "layer cli: the map says it reads ['model', 'render'], its imports read "
        "['compose', 'model', 'render']"
    ]
    wrong = text.replace("| model, constructs, compose |", "| model, compose |")
    assert map_problems(wrong, package_files(), reads) == [
        "layer render: the map says it reads ['compose', 'model'], its imports read "
        "['compose', 'constructs', 'model']"
    ]


def test_an_init_module_is_mapped_when_it_holds_code(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "__init__.py").write_text('"""Only a docstring."""\n')
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "__init__.py").write_text('"""Code."""\n\nimport os\n')
    (tmp_path / "b" / "c.py").write_text("")
    assert package_files(tmp_path) == {"b/__init__.py", "b/c.py"}
