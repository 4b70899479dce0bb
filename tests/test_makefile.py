"""The Makefile: `make help` lists every target, and the pinned cdk8s CLI runs offline without
asking npm for an upgrade."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support import ROOT
from tests.support.repo import repo_copy

# Targets other targets use; a person never runs them, so `make help` need not list them.
INTERNAL = {"crds-ready"}


def phony_targets() -> list[str]:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    return [t for line in re.findall(r"^\.PHONY:(.*)$", text, re.M) for t in line.split()]


def help_targets() -> list[str]:
    out = subprocess.run(
        ["make", "--no-print-directory", "help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def test_make_help_lists_every_target() -> None:
    listed = help_targets()
    assert sorted(listed) == sorted(set(phony_targets()) - INTERNAL)
    assert {"cdk8s-synth", "e2e", "e2e-node"} <= set(listed)


def test_every_target_is_phony_and_described() -> None:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    rules = re.findall(r"^([a-z0-9-]+):(?!=)(.*)$", text, re.M)
    phony = set(phony_targets())
    for name, rest in rules:
        assert name in phony, f"{name}: not .PHONY"
        assert name in INTERNAL or "## " in rest, f"{name}: no '## description' for make help"


def offline(command: list[str]) -> list[str]:
    """`command` in a network namespace of its own (nothing but loopback, down)."""
    prefix = ["unshare", "--net"] if os.geteuid() == 0 else ["unshare", "--net", "--map-root-user"]
    probe = subprocess.run([*prefix, "true"], capture_output=True, check=False)
    if shutil.which("unshare") is None or probe.returncode != 0:
        pytest.skip(f"no network namespace here: {probe.stderr.decode().strip()}")
    return [*prefix, *command]


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return repo_copy(tmp_path_factory.mktemp("makefile") / "repo")


def cdk8s_synth(checkout: Path, home: Path, *make_args: str) -> subprocess.CompletedProcess[str]:
    # A fresh HOME: the CLI caches the last answer about upgrades in ~/.cdk8s-cli.version.
    env = {**os.environ, "HOME": str(home)}
    env.pop("CDK8S_CHECK_UPGRADE", None)
    return subprocess.run(
        offline(["make", "--no-print-directory", "cdk8s-synth", *make_args]),
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_cdk8s_synth_offline_prints_no_upgrade_check(checkout: Path, tmp_path: Path) -> None:
    done = cdk8s_synth(checkout, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "registry.npmjs.org" not in done.stderr
    assert " at " not in done.stderr  # no stack frame


def test_without_the_setting_the_upgrade_check_fails_offline(
    checkout: Path, tmp_path: Path
) -> None:
    """What the Makefile's CDK8S_CHECK_UPGRADE=false prevents (the check above can fail)."""
    done = cdk8s_synth(checkout, tmp_path, "CDK8S_CHECK_UPGRADE=true")
    assert "registry.npmjs.org" in done.stderr
