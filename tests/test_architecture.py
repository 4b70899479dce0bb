"""The package's folders are its layers, and imports flow one way:

    model <- constructs <- compose <- render <- cli <- tools   (errors.py, paths.py: any layer)

A module may import its own layer and the layers to its left, never one to its right, and no
two modules import each other, even through function-local imports. `cli/` holds `main.py` and
one module per subcommand; what subcommands share lives in `cli/support/`.
"""

from __future__ import annotations

import argparse
import ast
import importlib
from pathlib import Path

import pytest

from tests.support import ROOT

PACKAGE = ROOT / "constructs_lib"
LAYERS = ("model", "constructs", "compose", "render", "cli", "tools")
SHARED = {
    "constructs_lib.errors",
    "constructs_lib.paths",
    "constructs_lib.locking",
    "constructs_lib",
}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every constructs_lib module `path` imports, at any depth of its code."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("constructs_lib"))
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("constructs_lib"):
            module = node.module or ""
            for alias in node.names:  # `from constructs_lib.x import y` may name a module y
                candidate = f"{module}.{alias.name}"
                found.add(candidate if candidate in MODULES else module)
    return found


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}
GRAPH = {name: imports_of(path) for name, path in MODULES.items()}


def layer(module: str) -> int | None:
    parts = module.split(".")
    if module in SHARED or len(parts) < 2:
        return None
    return LAYERS.index(parts[1]) if parts[1] in LAYERS else None


def test_every_module_belongs_to_a_layer() -> None:
    strays = sorted(m for m in MODULES if layer(m) is None and m not in SHARED)
    assert strays == []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_upward_import(module: str) -> None:
    own = layer(module)
    upward = sorted(
        target
        for target in GRAPH[module]
        if own is not None and (theirs := layer(target)) is not None and theirs > own
    )
    assert upward == [], f"{module} imports a later layer: {upward}"


def test_no_import_cycle() -> None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(GRAPH.get(module, ())):
            if target not in MODULES:
                continue
            if state.get(target) == 1:
                cycle = [*path[path.index(target) :], target] if target in path else [target]
                pytest.fail(f"import cycle: {' -> '.join(cycle)}")
            if state.get(target) is None:
                visit(target, [*path, target])
        state[module] = 2

    for module in sorted(MODULES):
        if module not in state:
            visit(module, [module])


def test_the_model_does_not_know_cdk8s() -> None:
    for name, path in MODULES.items():
        if layer(name) == 0:
            source = path.read_text(encoding="utf-8")
            assert "import cdk8s" not in source and "from constructs " not in source, name


# What constructs may read of the model: value helpers, the catalogues of workload kinds (each
# workload construct names its kind; the kinds' options are Kubernetes' own fields) and of
# add-ons, and the names the base gives its own objects.
CONSTRUCTS_READ = {
    "constructs_lib.model.value_types",
    "constructs_lib.model.workload_kinds",
    "constructs_lib.model.addons",
    "constructs_lib.model.names",
}


def test_constructs_do_not_read_the_config_model() -> None:
    """Props speak Kubernetes: only the composition turns the config into props."""
    readers = sorted(
        f"{name} -> {target}"
        for name in MODULES
        if layer(name) == 1
        for target in GRAPH[name]
        if layer(target) == 0 and target not in CONSTRUCTS_READ
    )
    assert readers == []


@pytest.mark.parametrize("module", sorted(CONSTRUCTS_READ))
def test_what_constructs_read_does_not_read_the_config_model(module: str) -> None:
    """What the constructs may read stays below the config: it reads no model module but the
    base model, value helpers and each other."""
    allowed = {"constructs_lib.model.base", "constructs_lib.model.kube_rules", *CONSTRUCTS_READ}
    assert GRAPH[module] <= allowed - {module}


def test_the_checks_catch_an_upward_import(tmp_path: Path) -> None:
    """The walker sees a function-local import (the kind that hid the cli <-> diff cycle)."""
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from constructs_lib.cli.main import main\n")
    assert "constructs_lib.cli.main" in imports_of(sample)


def test_the_synth_machinery_loads_without_cdk8s() -> None:
    """render.preload imports these on the main thread while cdk8s loads on another; if they
    pulled in cdk8s, the main thread would wait for it and the overlap would be lost."""
    import subprocess
    import sys

    probe = (
        "import sys, constructs_lib.render.synth, constructs_lib.render.overlays, "
        "constructs_lib.model.versions; print('cdk8s' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


CLI = PACKAGE / "cli"
SUBCOMMANDS = {f"constructs_lib.cli.{p.stem}" for p in CLI.glob("*.py")} - {
    "constructs_lib.cli.__init__",
    "constructs_lib.cli.main",
}


def test_cli_holds_main_and_one_module_per_subcommand() -> None:
    """Every module beside main.py is a subcommand the parser dispatches to, with run(args)."""
    from constructs_lib.cli.main import parser

    [commands] = [a for a in parser()._actions if isinstance(a, argparse._SubParsersAction)]
    dispatched = {f"constructs_lib.cli.{c.get_default('func')}" for c in commands.choices.values()}
    assert dispatched == SUBCOMMANDS
    for name in sorted(SUBCOMMANDS):
        assert callable(getattr(importlib.import_module(name), "run", None)), name


def test_subcommands_share_code_only_through_support() -> None:
    """A subcommand imports no other subcommand, and support/ imports none."""
    crossing = sorted(
        f"{module} -> {target}"
        for module in MODULES
        if module in SUBCOMMANDS or module.startswith("constructs_lib.cli.support")
        for target in GRAPH[module]
        if target in SUBCOMMANDS and target != module
    )
    assert crossing == []
