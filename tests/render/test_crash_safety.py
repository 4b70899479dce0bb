"""A synth killed at any point leaves dist/ as the old tree or the new one, once recovered.

The synth runs in its own process with its filesystem calls on dist/ counted; at the N-th it
kills itself with SIGKILL (no handler, no cleanup runs), at ten points spread over a
300-service render that changes, adds and removes files. `recover`, which every synth runs
first, must then leave exactly the old or the new tree: no mix, no temporary or empty file.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from pathlib import Path

import yaml

from constructs_lib.render.publish import recover
from tests.bench.generate import config, write_workspace
from tests.support import ROOT, cli_env

SERVICES = 300
POINTS = 10

# Runs app.py with os.replace/unlink/rmdir/mkdir and the publish writer counted on dist/.
RUNNER = r"""
import os, runpy, signal, sys
import constructs_lib.render.publish as publish

dist, crash_at, count_file, app, *args = sys.argv[1:]
dist, crash_at, count = os.path.realpath(dist), int(crash_at), [0]

def counted(function):
    def wrapper(path, *rest, **kwargs):
        real = os.path.realpath(os.fspath(path))
        if real == dist or real.startswith(dist + os.sep):
            count[0] += 1
            if count[0] == crash_at:
                os.kill(os.getpid(), signal.SIGKILL)
        return function(path, *rest, **kwargs)
    return wrapper

for name in ("replace", "unlink", "rmdir", "mkdir"):
    setattr(os, name, counted(getattr(os, name)))
publish._write = counted(publish._write)
sys.argv = [app, *args]
try:
    runpy.run_path(app, run_name="__main__")
finally:
    with open(count_file, "w") as file:
        file.write(str(count[0]))
"""


def tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() or p.is_symlink()
    }


def run_synth(
    workspace: Path, dist: Path, crash_at: int = 0
) -> tuple[subprocess.CompletedProcess[str], int]:
    count_file = workspace / "count"
    count_file.unlink(missing_ok=True)
    args = [str(ROOT / "app.py"), "--config", str(workspace / "config" / "app-config.yaml")]
    args += ["--clusters", str(workspace / "clusters"), "--output", str(dist)]
    done = subprocess.run(
        [sys.executable, "-O", "-c", RUNNER, *map(str, (dist, crash_at, count_file)), *args],
        cwd=ROOT,
        env=cli_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    count = int(count_file.read_text()) if count_file.exists() else -1
    return done, count


def test_a_synth_killed_at_ten_points_leaves_the_old_or_the_new_tree(tmp_path: Path) -> None:
    workspace = tmp_path / "workspace"
    config_file = write_workspace(workspace, SERVICES)
    old_dist = tmp_path / "old"
    done, _ = run_synth(workspace, old_dist)
    assert done.returncode == 0, done.stderr
    # The new config: every tag moved, 20 services gone, 20 new ones.
    data = config(SERVICES + 20)
    data["services"] = data["services"][20:]
    for service in data["services"]:
        service["image"]["tag"] = service["image"]["tag"].replace("1.", "2.", 1)
    config_file.write_text(yaml.safe_dump(data, sort_keys=False))
    new_dist = tmp_path / "new"
    done, _ = run_synth(workspace, new_dist)
    assert done.returncode == 0, done.stderr
    old, new = tree(old_dist), tree(new_dist)
    assert old.keys() - new.keys() and new.keys() - old.keys() and old != new

    counted = tmp_path / "counted"
    shutil.copytree(old_dist, counted)
    done, total = run_synth(workspace, counted)
    assert done.returncode == 0, done.stderr
    assert tree(counted) == new
    changed = sum(1 for path, data in new.items() if old.get(path) != data)
    removed = len(old.keys() - new.keys())
    # Each changed file is written and renamed, each gone one deleted, plus the journal's
    # write, rename and removal: that many points to be killed at.
    assert total >= 2 * changed + removed + 3, (total, changed, removed)

    points = sorted({1 + k * (total - 1) // (POINTS - 1) for k in range(POINTS)})
    assert len(points) == POINTS
    outcomes = []
    for point in points:
        dist = tmp_path / f"killed-{point}"
        shutil.copytree(old_dist, dist)
        done, _ = run_synth(workspace, dist, crash_at=point)
        assert done.returncode == -signal.SIGKILL, (point, done.returncode, done.stderr)
        recover(dist)
        after = tree(dist)
        assert after in (old, new), f"killed at operation {point} of {total}: a mixed tree"
        assert not [p for p in dist.rglob("*") if p.is_dir() and not any(p.iterdir())]
        outcomes.append("old" if after == old else "new")
    # Points before the journal give the old tree, points after it the new one.
    assert outcomes == sorted(outcomes, key=["old", "new"].index)
    assert "old" in outcomes and "new" in outcomes


# Runs app.py with the N-th file write under dist/ failing half-way, as on a full disk.
FULL_DISK_RUNNER = r"""
import errno, os, runpy, sys
import constructs_lib.render.publish as publish

fail_at, app, *args = sys.argv[1:]
fail_at, count, write = int(fail_at), [0], publish._write

def full_disk(path, data):
    count[0] += 1
    if count[0] == fail_at:
        with open(path, "wb") as file:
            file.write(data[: len(data) // 2])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), path)
    write(path, data)

publish._write = full_disk
sys.argv = [app, *args]
runpy.run_path(app, run_name="__main__")
"""


def test_a_full_disk_leaves_the_old_tree_and_no_partial_file(tmp_path: Path) -> None:
    config = tmp_path / "app-config.yaml"
    text = (ROOT / "config" / "app-config.yaml").read_text()
    config.write_text(text.replace('tag: "1.8.2"', 'tag: "1.9.0"'))
    assert config.read_text() != text
    writes = 3 + 1  # the web Deployment of three environments, then the journal
    for fail_at in (1, 2, writes):
        dist = tmp_path / f"dist-{fail_at}"
        shutil.copytree(ROOT / "dist", dist)
        args = [str(fail_at), str(ROOT / "app.py"), "--config", str(config), "--output", str(dist)]
        done = subprocess.run(
            [sys.executable, "-O", "-c", FULL_DISK_RUNNER, *args],
            cwd=ROOT,
            env=cli_env(),
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 1, done.stderr
        assert "No space left on device" in done.stderr
        assert done.stderr.rstrip().endswith("dist/ was not changed")
        assert tree(dist) == tree(ROOT / "dist"), f"write {fail_at} failed: dist/ changed"
