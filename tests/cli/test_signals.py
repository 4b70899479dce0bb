"""A signal to `gitops-base synth` reaches the synth it started: nothing keeps writing."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.support import CLI, ROOT, cli_env


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def start_synth(output: Path) -> tuple[subprocess.Popen[bytes], int]:
    """`gitops-base synth`, and the pid of the app.py it started."""
    cli = subprocess.Popen(
        [str(CLI), "synth", "--output", str(output)],
        cwd=ROOT,
        env=cli_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = children(cli.pid)
        if found:
            return cli, found[0]
        time.sleep(0.01)
    cli.kill()
    raise AssertionError("gitops-base synth started no app.py within 60 s")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_a_signal_to_the_cli_stops_the_synth_it_started(sig: int, tmp_path: Path) -> None:
    cli, synth = start_synth(tmp_path / "dist")
    time.sleep(0.5)  # inside the synth: imports or rendering
    os.kill(cli.pid, sig)
    _, err = cli.communicate(timeout=60)
    assert b"Traceback" not in err, err.decode()
    deadline = time.monotonic() + 10
    while alive(synth) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(synth), "the synth kept running after gitops-base was stopped"
    leftovers = [p for p in tmp_path.rglob("*.tmp")]
    assert leftovers == []


def test_a_killed_cli_takes_its_synth_with_it(tmp_path: Path) -> None:
    cli, synth = start_synth(tmp_path / "dist")
    time.sleep(0.5)
    cli.kill()  # SIGKILL: nothing can be forwarded; the child is told by the kernel
    cli.communicate(timeout=60)
    deadline = time.monotonic() + 10
    while alive(synth) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(synth), "the synth kept running after gitops-base was killed"
