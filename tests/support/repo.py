"""A copy of the repository to change in a test, as a contributor would change the real one."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tests.support import ROOT


def repo_copy(target: Path) -> Path:
    """The repository's files (tracked and new) in a fresh Git repo, sharing .venv and npm."""
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, (f.decode() for f in files)):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    for shared in (".venv", "node_modules"):
        (target / shared).symlink_to(ROOT / shared, target_is_directory=True)
    # The copy shares the installed venv and CLI: make must never try to reinstall them there.
    for prerequisite in (
        "pyproject.toml",
        "requirements.lock",
        "package.json",
        "package-lock.json",
    ):
        os.utime(target / prerequisite, (0, 0))
    git = ["git", "-c", "init.defaultBranch=main"]
    subprocess.run([*git, "init", "-q"], cwd=target, check=True)
    (target / ".git" / "info" / "exclude").write_text(".venv\nnode_modules\n", encoding="utf-8")
    subprocess.run([*git, "add", "-A"], cwd=target, check=True)
    subprocess.run([*git, "commit", "-qm", "base", "--no-verify"], cwd=target, check=True)
    return target
