"""CONTRIBUTING.md's guides to a new workload kind and a new per-service field, walked.

In a copy of the repository, each walk edits exactly the source files the guide lists (read
from CONTRIBUTING.md, so the guide and the walk cannot drift), regenerates the schemas, then
validates and synthesizes with the real commands, and checks that the new kind or field is
rendered and that no other source file had to change.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from constructs_lib.tools.schema import REFERENCES, SCHEMAS, SECTIONS
from tests.support import ROOT, cli_env
from tests.support.repo import repo_copy

# At most this many source files for a kind and for a per-service field.
MOST_SOURCE_FILES = 3
# What the walks' tools write besides the source files: `make schema`'s files.
# What `make schema` writes: the schemas, the reference pages and the generated sections of
# hand-written pages (the trust rule set's table, which a new kind's fields join).
GENERATED = {str(path.relative_to(ROOT)) for path in (*SCHEMAS, *REFERENCES, *SECTIONS)}
KIND_NAME = "daemon"  # the guide's <kind>
Edit = Callable[[Path], None]


def guide_files(title: str) -> list[str]:
    """The numbered list after `<!-- files: TITLE -->` in CONTRIBUTING.md: each item's path."""
    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    marker = f"<!-- files: {title} -->\n"
    assert marker in text, f"CONTRIBUTING.md has no '{marker.strip()}'"
    files = []
    for line in text.split(marker, 1)[1].splitlines():
        item = re.match(r"^\d+\. `([^`]+)`", line)
        if item:
            files.append(item.group(1).replace("<kind>", KIND_NAME))
        elif line and not line.startswith(" "):
            break
    return files


def replace(path: Path, anchor: str, text: str, *, before: bool = True) -> None:
    """Put `text` before (or after) the one place `anchor` stands in the file."""
    source = path.read_text(encoding="utf-8")
    assert source.count(anchor) == 1, f"{path.name}: '{anchor}' is not there exactly once"
    new = text + anchor if before else anchor + text
    path.write_text(source.replace(anchor, new), encoding="utf-8")


# --- a DaemonSet -------------------------------------------------------------------------------


def kind_entry(root: Path) -> None:
    path = root / "constructs_lib" / "model" / "workload_kinds.py"
    replace(
        path,
        "# Every option section by its key",
        "class DaemonSetOptions(Model):\n"
        '    """How a DaemonSet replaces its pods."""\n\n'
        "    max_unavailable: int = Field(\n"
        '        1, ge=1, description="Nodes whose pod is replaced at once. Default: 1."\n'
        "    )\n\n\n",
    )
    replace(
        path, "OPTIONS: dict[str, type[Model]] = {", '"daemonset": DaemonSetOptions, ', before=False
    )
    replace(
        path,
        "\n    )\n}\nDEFAULT_KIND",
        '\n        WorkloadKind("DaemonSet", "apps/v1", "a pod on every node", serves=True, '
        'options=("daemonset",)),',
    )


def kind_section(root: Path) -> None:
    path = root / "constructs_lib" / "model" / "service.py"
    replace(path, "    CronJobOptions,\n", "    DaemonSetOptions,\n", before=False)
    replace(
        path,
        "    @property\n    def synced_secret_name",
        "    daemonset: DaemonSetOptions | None = Field(\n"
        '        None, description="A DaemonSet\'s rollout; for a DaemonSet only."\n'
        "    )\n\n",
    )


def kind_construct(root: Path) -> None:
    (root / "constructs_lib" / "constructs" / "workloads" / f"{KIND_NAME}_workload.py").write_text(
        '"""DaemonWorkload: a pod on every node, as a DaemonSet."""\n\n'
        "from __future__ import annotations\n\n"
        "from dataclasses import dataclass, field\n"
        "from typing import Any\n\n"
        "from constructs_lib.constructs.workloads.workload import Workload, WorkloadProps\n"
        "from constructs_lib.model.workload_kinds import KINDS, DaemonSetOptions\n\n\n"
        "@dataclass(frozen=True, kw_only=True)\n"
        "class DaemonWorkloadProps(WorkloadProps):\n"
        "    daemonset: DaemonSetOptions = field(default_factory=DaemonSetOptions)\n\n\n"
        "class DaemonWorkload(Workload):\n"
        '    KIND = KINDS["DaemonSet"]\n'
        "    PROPS = DaemonWorkloadProps\n"
        "    props: DaemonWorkloadProps\n\n"
        "    def _spec(self) -> dict[str, Any]:\n"
        "        most = self.props.daemonset.max_unavailable\n"
        "        return {\n"
        '            "selector": {"matchLabels": self.selector},\n'
        '            "updateStrategy": {"type": "RollingUpdate", '
        '"rollingUpdate": {"maxUnavailable": most}},\n'
        "        }\n",
        encoding="utf-8",
    )


def kind_map_line(root: Path) -> None:
    replace(
        root / "docs" / "reference" / "architecture.md",
        "| `constructs/workloads/cron_workload.py` |",
        f"| `constructs/workloads/{KIND_NAME}_workload.py` | `DaemonWorkload`: a DaemonSet |\n",
    )


KIND_EDITS: dict[str, Edit] = {
    "constructs_lib/model/workload_kinds.py": kind_entry,
    "constructs_lib/model/service.py": kind_section,
    f"constructs_lib/constructs/workloads/{KIND_NAME}_workload.py": kind_construct,
}
# Besides the source files: the new module's line in the map, which the guide names too.
KIND_DOCS: dict[str, Edit] = {"docs/reference/architecture.md": kind_map_line}
# The tests that must take the new kind unchanged: the map, the layers, the pod checks.
KIND_TESTS = (
    "tests/test_architecture_map.py",
    "tests/test_architecture.py",
    "tests/render/test_policy.py::test_every_workload_kind_is_under_the_pod_checks[DaemonSet]",
)
KIND_SERVICE: dict[str, Any] = {
    "name": "node-agent",
    "type": "DaemonSet",
    "image": {"repository": "ghcr.io/example/node-agent", "tag": "1.0.0"},
    "ports": [{"name": "metrics", "container_port": 9100}],
    "daemonset": {"max_unavailable": 2},
}


# --- a per-service field -----------------------------------------------------------------------


def field_model(root: Path) -> None:
    replace(
        root / "constructs_lib" / "model" / "service.py",
        "    @property\n    def synced_secret_name",
        "    termination_grace_period_seconds: int | None = Field(\n"
        '        None, ge=0, description="Seconds a stopping pod gets. Default: 30."\n'
        "    )\n\n",
    )


def field_composition(root: Path) -> None:
    replace(
        root / "constructs_lib" / "compose" / "workloads.py",
        "    fields.update(\n        name=service.name,\n",
        "        termination_grace_period_seconds=service.termination_grace_period_seconds,\n",
        before=False,
    )


def field_construct(root: Path) -> None:
    path = root / "constructs_lib" / "constructs" / "workloads" / "workload.py"
    replace(
        path,
        "\n\n@dataclass(frozen=True, kw_only=True)\nclass ReplicatedProps",
        "\n    termination_grace_period_seconds: int | None = None\n"
        '    """@default Kubernetes\' (30 s)"""',
    )
    replace(
        path,
        "        if self.restart_policy:\n",
        "        if props.termination_grace_period_seconds is not None:\n"
        '            self.pod_spec["terminationGracePeriodSeconds"] = (\n'
        "                props.termination_grace_period_seconds\n"
        "            )\n",
    )


FIELD_EDITS: dict[str, Edit] = {
    "constructs_lib/model/service.py": field_model,
    "constructs_lib/compose/workloads.py": field_composition,
    "constructs_lib/constructs/workloads/workload.py": field_construct,
}


# --- the walk ----------------------------------------------------------------------------------


def walk(
    tmp_path: Path,
    title: str,
    edits: dict[str, Edit],
    service: dict[str, Any],
    docs: dict[str, Edit] | None = None,
    tests: tuple[str, ...] = (),
) -> Path:
    """Edit the files the guide lists in a copy (and the `docs` it names), add `service` to its
    config, regenerate the schemas, validate and synthesize, and run `tests` there; the
    rendered dist/ of the copy."""
    listed = guide_files(title)
    assert sorted(listed) == sorted(edits), f"the guide to {title} lists {listed}"
    docs = docs or {}
    guide = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    assert all(f"`{doc}`" in guide for doc in docs), f"the guide does not name {sorted(docs)}"
    root = repo_copy(tmp_path / "repo")
    for path in listed:
        edits[path](root)
    for path in docs:
        docs[path](root)
    config = root / "config" / "app-config.yaml"
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    data["services"].append(service)
    config.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    python = [sys.executable]  # the worktree's venv; from the copy, the copy's package
    for command in (
        [*python, "-m", "constructs_lib.tools.schema", "--write"],
        [*python, "-m", "constructs_lib.cli.main", "validate"],
        [*python, "-O", "app.py", "--output", str(tmp_path / "dist")],
        *([[*python, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests]] if tests else []),
    ):
        done = subprocess.run(
            command,
            cwd=root,
            env={**cli_env(), "PYTHONPATH": str(root)},
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, f"{' '.join(command)}:\n{done.stdout}{done.stderr}"
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    changed = {line[3:] for line in status} - GENERATED - {"config/app-config.yaml"} - set(docs)
    assert changed == set(listed), "other files had to change"
    assert len(changed) <= MOST_SOURCE_FILES
    return tmp_path / "dist"


def rendered(dist: Path, name: str) -> dict[str, object]:
    found: dict[str, object] = yaml.safe_load((dist / "dev" / "app" / name).read_text())
    return found


def test_a_workload_kind_takes_the_files_the_guide_names(tmp_path: Path) -> None:
    dist = walk(tmp_path, "a workload kind", KIND_EDITS, KIND_SERVICE, KIND_DOCS, KIND_TESTS)
    daemon = rendered(dist, "daemonset-node-agent.yaml")
    assert daemon["apiVersion"] == "apps/v1"
    spec = daemon["spec"]
    assert isinstance(spec, dict)
    assert spec["updateStrategy"]["rollingUpdate"] == {"maxUnavailable": 2}
    assert spec["template"]["spec"]["securityContext"]["runAsNonRoot"] is True
    assert rendered(dist, "service-node-agent.yaml")["kind"] == "Service"  # it serves
    project = yaml.safe_load((dist / "dev" / "argocd" / "appproject-shop.yaml").read_text())
    allowed = project["spec"]["namespaceResourceWhitelist"]
    assert {"group": "apps", "kind": "DaemonSet"} in allowed


def test_a_per_service_field_takes_the_files_the_guide_names(tmp_path: Path) -> None:
    service: dict[str, Any] = {
        "name": "slow-stopper",
        "image": {"repository": "ghcr.io/example/slow", "tag": "1.0.0"},
        "termination_grace_period_seconds": 120,
    }
    dist = walk(tmp_path, "a per-service field", FIELD_EDITS, service)
    deployment = rendered(dist, "deployment-slow-stopper.yaml")
    spec = deployment["spec"]
    assert isinstance(spec, dict)
    assert spec["template"]["spec"]["terminationGracePeriodSeconds"] == 120


def test_the_guides_list_few_enough_files() -> None:
    for title in ("a workload kind", "a per-service field"):
        files = guide_files(title)
        assert 0 < len(files) <= MOST_SOURCE_FILES, (title, files)
        assert all(f.startswith("constructs_lib/") for f in files), files
