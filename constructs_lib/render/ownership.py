"""Which files the synth may delete: only those it can prove it wrote.

A synth replaces the whole output folder, deleting every file it did not render this time.
So it writes only into a folder that is missing, empty, or holds nothing but what a synth
writes (the layout of constructs_lib/compose/layout.py):

    <env>/root.yaml
    <env>/{app,argocd,platform}/*.yaml
    <env>/{app,argocd,platform}/.*.yaml.<pid>.tmp   (left by an interrupted synth)
    <env>/.root.yaml.<pid>.tmp, .gitops-base-commit.json[.<pid>.tmp]   (the same)

Any other file, folder or link (a `.git`, a source file, a README) makes the folder foreign,
and the synth refuses it before writing or deleting anything.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from constructs_lib.compose.layout import APP, ARGOCD, PLATFORM, ROOT_FILE
from constructs_lib.paths import display
from constructs_lib.render.publish import JOURNAL, OutputError

ENV_FOLDERS = frozenset({APP, ARGOCD, PLATFORM})
_ENV = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?\Z")
_OBJECT_FILE = re.compile(r"^[a-z0-9][-a-z0-9.]*\.yaml\Z")
_TEMPORARY = re.compile(r"^\.[a-z0-9][-a-z0-9.]*\.yaml\.\d+\.tmp\Z")
_ROOT_TEMPORARY = re.compile(rf"^\.{re.escape(ROOT_FILE)}\.\d+\.tmp\Z")
_JOURNAL_TEMPORARY = re.compile(rf"^{re.escape(JOURNAL)}\.\d+\.tmp\Z")
_SHOWN = 3


def _owned(parts: tuple[str, ...], is_dir: bool) -> bool:
    if len(parts) == 1 and not is_dir:  # the journal of a commit, and its temporary file
        return parts[0] == JOURNAL or bool(_JOURNAL_TEMPORARY.match(parts[0]))
    if not parts or not _ENV.match(parts[0]):
        return False
    if len(parts) == 1:
        return is_dir
    if len(parts) == 2:
        if is_dir:
            return parts[1] in ENV_FOLDERS
        return parts[1] == ROOT_FILE or bool(_ROOT_TEMPORARY.match(parts[1]))
    if len(parts) == 3 and not is_dir and parts[1] in ENV_FOLDERS:
        return bool(_OBJECT_FILE.match(parts[2]) or _TEMPORARY.match(parts[2]))
    return False


def foreign_entries(dist: Path, limit: int = _SHOWN + 1) -> list[str]:
    """Up to `limit` paths under `dist` (relative, sorted walk order) a synth did not write.
    Links count as foreign: a synth never writes one."""
    found: list[str] = []
    for folder, subfolders, names in os.walk(dist):
        relative = os.path.relpath(folder, dist)
        base = () if relative == "." else tuple(relative.split(os.sep))
        subfolders.sort()
        for name in [*subfolders]:
            path = os.path.join(folder, name)
            if os.path.islink(path) or not _owned((*base, name), is_dir=True):
                found.append("/".join((*base, name)) + ("" if os.path.islink(path) else "/"))
                subfolders.remove(name)  # not walked: nothing under it is ours
        for name in sorted(names):
            path = os.path.join(folder, name)
            if os.path.islink(path) or not _owned((*base, name), is_dir=False):
                found.append("/".join((*base, name)))
        if len(found) >= limit:
            break
    return found[:limit]


def check_output_folder(dist: Path) -> None:
    """Refuse to render into `dist` unless a synth may own it (see the module docstring)."""
    if not os.path.lexists(dist):
        return
    if os.path.islink(dist) or not dist.is_dir():
        raise OutputError([f"{display(dist)}: the output folder is not a folder"])
    foreign = foreign_entries(dist)
    if not foreign:
        return
    shown = ", ".join(foreign[:_SHOWN]) + (", ..." if len(foreign) > _SHOWN else "")
    raise OutputError(
        [
            f"{display(dist)}: not an output folder of gitops-base synth (it holds {shown}); "
            "a synth deletes every file it did not render, so it writes only into a missing or "
            "empty folder or one holding nothing but <env>/root.yaml and "
            "<env>/{app,argocd,platform}/*.yaml"
        ]
    )
