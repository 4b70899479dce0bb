"""`gitops-base diff`: what a change does to the rendered manifests, for a pull-request comment.

The base ref is exported with `git archive` into a temporary folder and synthesized with its
own app.py and constructs; the working tree is synthesized with the current ones. Both render
into temporary folders, so dist/ is never touched. Objects are compared by environment, kind,
namespace and name.
"""

from __future__ import annotations

import argparse
import difflib
import io
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from constructs_lib.cli.support.common import EXIT_INVALID, EXIT_OK, fail, project_root
from constructs_lib.cli.support.synth_run import app_command, synth_env
from constructs_lib.errors import ProblemsError
from constructs_lib.render.publish import dump

# A PR comment is limited to 65,536 characters; stay well below with the diffs folded.
MAX_DIFF_LINES = 400


class DiffError(ProblemsError):
    """A rendered diff that cannot be made (a bad ref, a failing synth)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(problems)


Key = tuple[str, str, str, str]  # environment, kind, namespace, name


@dataclass
class Report:
    base: str
    added: list[Key] = field(default_factory=list)
    removed: list[Key] = field(default_factory=list)
    changed: list[tuple[Key, str]] = field(default_factory=list)

    @property
    def changes(self) -> int:
        return len(self.added) + len(self.removed) + len(self.changed)

    def markdown(self) -> str:
        title = f"### Rendered manifests: `{self.base}` → working tree\n\n"
        if not self.changes:
            return title + "No change to any rendered manifest.\n"
        out = [
            title,
            f"{len(self.added)} added, {len(self.removed)} removed, {len(self.changed)} changed.\n",
        ]
        envs = sorted({k[0] for k in self.added + self.removed + [c[0] for c in self.changed]})
        for env in envs:
            out.append(f"\n#### {env}\n\n")
            for label, keys in (("added", self.added), ("removed", self.removed)):
                for key in keys:
                    if key[0] == env:
                        out.append(f"- **{label}** `{resource(key)}`\n")
            for key, _ in self.changed:
                if key[0] == env:
                    out.append(f"- **changed** `{resource(key)}`\n")
            for key, text in self.changed:
                if key[0] != env:
                    continue
                lines = text.splitlines()
                if len(lines) > MAX_DIFF_LINES:
                    lines = [
                        *lines[:MAX_DIFF_LINES],
                        f"... {len(lines) - MAX_DIFF_LINES} more lines",
                    ]
                body = "\n".join(lines)
                out.append(
                    f"\n<details><summary>{resource(key)}</summary>\n\n"
                    f"```diff\n{body}\n```\n\n</details>\n"
                )
        return "".join(out)


def resource(key: Key) -> str:
    _, kind, namespace, name = key
    return f"{kind}/{namespace or '-'}/{name}"


def load_tree(root: Path) -> dict[Key, dict[str, Any]]:
    """Every object under a rendered tree (`<env>/...`), by its key."""
    objects: dict[Key, dict[str, Any]] = {}
    for path in sorted(root.rglob("*.yaml")):
        env = path.relative_to(root).parts[0]
        for document in yaml.load_all(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader):
            if not isinstance(document, dict):
                continue
            meta = document.get("metadata") or {}
            key = (
                env,
                str(document.get("kind")),
                str(meta.get("namespace") or ""),
                str(meta.get("name")),
            )
            objects[key] = document
    return objects


def compare(base: dict[Key, dict[str, Any]], head: dict[Key, dict[str, Any]], label: str) -> Report:
    report = Report(base=label)
    for key in sorted(head.keys() - base.keys()):
        report.added.append(key)
    for key in sorted(base.keys() - head.keys()):
        report.removed.append(key)
    for key in sorted(base.keys() & head.keys()):
        if base[key] == head[key]:
            continue
        name = resource(key)
        text = "".join(
            difflib.unified_diff(
                dump(base[key]).splitlines(keepends=True),
                dump(head[key]).splitlines(keepends=True),
                fromfile=f"{label}/{key[0]}/{name}",
                tofile=f"working-tree/{key[0]}/{name}",
            )
        )
        report.changed.append((key, text))
    return report


def _run(
    command: list[str], cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(command, cwd=cwd, capture_output=True, env=env, check=False)
    except OSError as exc:
        raise DiffError([f"{command[0]}: cannot run: {exc.strerror}"]) from None


def export_ref(repo: Path, ref: str, target: Path) -> None:
    """The tree of `ref` into `target`, without touching the repository's work tree."""
    if ref.startswith("-"):
        raise DiffError([f"--base: '{ref}' is not a git ref"])
    verify = _run(["git", "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], repo)
    if verify.returncode != 0:
        raise DiffError([f"--base: '{ref}' is not a commit in {repo}"])
    archive = _run(["git", "archive", "--format=tar", verify.stdout.decode().strip()], repo)
    if archive.returncode != 0:
        raise DiffError([f"--base: git archive failed: {archive.stderr.decode().strip()}"])
    target.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(target, filter="data")


def synthesize(app_root: Path, output: Path, label: str) -> None:
    if not (app_root / "app.py").is_file():
        raise DiffError([f"{label}: has no app.py to synthesize"])
    done = _run(app_command(app_root, ["--output", str(output)]), app_root, synth_env())
    if done.returncode != 0:
        lines = done.stderr.decode(errors="replace").strip().splitlines() or ["failed"]
        raise DiffError([f"{label}: synth failed: {line}" for line in lines])


def rendered_diff(repo: Path, base: str) -> Report:
    with tempfile.TemporaryDirectory(prefix="gitops-base-diff.") as tmp:
        work = Path(tmp)
        export_ref(repo, base, work / "base")
        synthesize(work / "base", work / "out-base", base)
        synthesize(repo, work / "out-head", "working tree")
        return compare(load_tree(work / "out-base"), load_tree(work / "out-head"), base)


if __name__ == "__main__":  # pragma: no cover - use `gitops-base diff`
    sys.exit("run: gitops-base diff --base REF")


def run(args: argparse.Namespace) -> int:
    try:
        report = rendered_diff(project_root(), args.base)
    except DiffError as exc:
        return fail(exc.problems, f"diff: {len(exc.problems)} problem(s)")
    print(report.markdown(), end="")
    return EXIT_INVALID if args.exit_code and report.changes else EXIT_OK
