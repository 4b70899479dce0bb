"""`gitops-base synth` renders what `make synth` renders, and `--help` works everywhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import ROOT, run_cli


def files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_synth_renders_the_committed_dist(tmp_path: Path) -> None:
    output = tmp_path / "dist"
    done = run_cli("synth", "--output", output)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("synthesized ")
    assert files(output) == files(ROOT / "dist")


def test_synth_passes_the_exit_code_through(tmp_path: Path) -> None:
    config = tmp_path / "app-config.yaml"
    config.write_text("version: 2\n")
    done = run_cli("synth", "--config", config, "--output", tmp_path / "dist")
    assert done.returncode == 1
    assert "version: input should be 1, got 2" in done.stderr
    assert not (tmp_path / "dist").exists()


@pytest.mark.parametrize(
    "command", [[], ["generate"], ["validate"], ["set-image"], ["synth"], ["diff"]]
)
def test_every_command_has_help(command: list[str]) -> None:
    done = run_cli(*command, "--help")
    assert done.returncode == 0
    assert done.stdout.startswith("usage: gitops-base")


def test_no_command_is_a_usage_error() -> None:
    done = run_cli()
    assert done.returncode == 2
    assert "required: COMMAND" in done.stderr
