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
    config.write_text("version: 3\n")
    done = run_cli("synth", "--config", config, "--output", tmp_path / "dist")
    assert done.returncode == 1
    assert "version: 3 is not a schema version this base reads (1 or 2)" in done.stderr
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


def test_synth_refuses_an_output_folder_it_does_not_own(tmp_path: Path) -> None:
    output = tmp_path / "project"
    (output / "src").mkdir(parents=True)
    (output / "src" / "main.py").write_text("print('keep me')\n")
    (output / ".git").mkdir()
    (output / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (output / "notes.yaml").write_text("a: 1\n")
    before = files(output)
    done = run_cli("synth", "--output", output)
    assert done.returncode == 1
    assert done.stderr.splitlines()[0] == (
        f"error: {output}: not an output folder of gitops-base synth (it holds .git/, "
        "notes.yaml, src/main.py); a synth deletes every file it did not render, so it writes "
        "only into a missing or empty folder or one holding nothing but <env>/root.yaml and "
        "<env>/{app,argocd,platform}/*.yaml"
    )
    assert files(output) == before


def test_synth_refuses_a_foreign_file_inside_an_env_folder(tmp_path: Path) -> None:
    output = tmp_path / "dist"
    assert run_cli("synth", "--output", output).returncode == 0
    (output / "dev" / "app" / "README.md").write_text("mine\n")
    (output / "dev" / "app" / "kept.yml").write_text("mine\n")
    before = files(output)
    done = run_cli("synth", "--output", output)
    assert done.returncode == 1
    assert "(it holds dev/app/README.md, dev/app/kept.yml)" in done.stderr
    assert files(output) == before


def test_synth_owns_its_own_tree_and_clears_stale_objects_and_temporaries(
    tmp_path: Path,
) -> None:
    output = tmp_path / "dist"
    output.mkdir()  # an empty folder is accepted
    assert run_cli("synth", "--output", output).returncode == 0
    (output / "dev" / "app" / "deployment-gone.yaml").write_text("kind: Deployment\n")
    (output / "dev" / "app" / ".deployment-web.yaml.4242.tmp").write_text("partial")
    (output / "old-env" / "platform").mkdir(parents=True)
    (output / "old-env" / "root.yaml").write_text("a: 1\n")
    done = run_cli("synth", "--output", output)
    assert done.returncode == 0, done.stderr
    assert files(output) == files(ROOT / "dist")


def test_the_next_synth_cleans_up_after_a_killed_one_first(tmp_path: Path) -> None:
    output = tmp_path / "dist"
    assert run_cli("synth", "--output", output).returncode == 0
    (output / "dev" / "app" / ".deployment-web.yaml.999.tmp").write_text("half a file")
    (output / "dev" / ".root.yaml.999.tmp").write_text("")
    done = run_cli("synth", "--output", output)
    assert done.returncode == 0, done.stderr
    assert done.stderr == (
        f"{output}: cleaned up after an interrupted synth: it holds the old tree again\n"
    )
    assert files(output) == files(ROOT / "dist")
