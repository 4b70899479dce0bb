"""`pip install gitops-base` without extras gives a `validate` that works, offline.

The wheel is built from this checkout with the pinned build backend; every other distribution
comes from this venv, packed back into a wheel. pip installs into a fresh venv, with no index,
only what the package declares it needs at run time. `validate` then reads a secret-looking
value, which takes detect-secrets' detectors: a run-time import missing from `dependencies`
fails here, as it would for a user.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.test_secret_values import FIXTURE, LINE, PASSWORD
from tests.support import ROOT

# What the wheel is built from (pyproject.toml names the packages and the readme).
SOURCES = ("pyproject.toml", "README.md", "LICENSE", "constructs_lib", "imports")
PIP = (sys.executable, "-m", "pip")
# Written by pip when it installs; a wheel carries none of them.
INSTALLER_FILES = {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"}


def run(*command: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return subprocess.run(
        [str(c) for c in command], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


def wheel_name(dist: importlib.metadata.Distribution) -> str:
    """`name-version-tags.whl`, the tags from the distribution's own WHEEL file."""
    tags = re.findall(r"^Tag: (\S+)$", dist.read_text("WHEEL") or "", re.MULTILINE)
    parts = [dict.fromkeys(tag.split("-")[i] for tag in tags) for i in range(3)]
    name = re.sub(r"[-_.]+", "_", dist.metadata["Name"])
    return f"{name}-{dist.version}-{'-'.join('.'.join(p) for p in parts)}.whl"


def pack(dist: importlib.metadata.Distribution, into: Path) -> None:
    """An installed distribution back into a wheel: the files its RECORD lists, minus what
    pip writes on install (bytecode, console scripts, installer records)."""
    files = [
        f
        for f in dist.files or []
        if f.parts[0] != ".."
        and "__pycache__" not in f.parts
        and not (f.parent.name.endswith(".dist-info") and f.name in INSTALLER_FILES)
    ]
    info = next(f.parent for f in files if f.name == "METADATA")
    record = []
    with zipfile.ZipFile(into / wheel_name(dist), "w", zipfile.ZIP_STORED) as wheel:
        for file in files:
            data = Path(str(dist.locate_file(file))).read_bytes()
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            record.append(f"{file.as_posix()},sha256={digest.decode()},{len(data)}")
            wheel.writestr(file.as_posix(), data)
        record.append(f"{info.as_posix()}/RECORD,,")
        wheel.writestr(f"{info.as_posix()}/RECORD", "\n".join(record) + "\n")


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A new venv holding gitops-base installed from its wheel, without extras (some hundred
    megabytes: removed after the tests)."""
    tmp = tmp_path_factory.mktemp("install")
    yield install(tmp)
    shutil.rmtree(tmp)


def install(tmp: Path) -> Path:
    wheels, source, venv = tmp / "wheels", tmp / "source", tmp / "venv"
    wheels.mkdir()
    source.mkdir()
    skip = shutil.ignore_patterns("__pycache__")
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=skip)
        else:
            shutil.copy2(ROOT / name, source / name)
    offline = ("--quiet", "--no-index")
    build = run(*PIP, "wheel", *offline, "--no-deps", "--no-build-isolation", "-w", wheels, source)
    assert build.returncode == 0, f"building the wheel failed:\n{build.stdout}{build.stderr}"
    [wheel] = wheels.glob("gitops_base-*.whl")
    for dist in importlib.metadata.distributions(path=[sysconfig.get_paths()["purelib"]]):
        if dist.metadata["Name"] != "gitops-base":
            pack(dist, wheels)
    assert run(sys.executable, "-m", "venv", "--without-pip", venv).returncode == 0
    target = ("--python", venv / "bin" / "python")
    done = run(*PIP, *target, "install", *offline, "--no-compile", "--find-links", wheels, wheel)
    assert done.returncode == 0, f"pip install without extras failed:\n{done.stderr}"
    shutil.rmtree(wheels)
    return venv


def test_the_install_holds_the_package_without_its_extras(fresh_venv: Path) -> None:
    probe = (
        "import importlib.util, constructs_lib; "
        "print(constructs_lib.__file__); print(importlib.util.find_spec('pytest') is None)"
    )
    done = run(fresh_venv / "bin" / "python", "-c", probe, cwd=fresh_venv)
    assert done.returncode == 0, done.stderr
    package, no_pytest = done.stdout.split()
    assert Path(package).is_relative_to(fresh_venv)
    assert no_pytest == "True"


def test_validate_refuses_a_secret_looking_value(fresh_venv: Path, tmp_path: Path) -> None:
    shutil.copy2(FIXTURE, tmp_path / "app-config.yaml")
    shutil.copytree(ROOT / "clusters", tmp_path / "clusters")
    done = run(
        fresh_venv / "bin" / "gitops-base",
        "validate",
        "app-config.yaml",
        "--clusters",
        "clusters",
        cwd=tmp_path,
    )
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 1
    assert done.stdout.splitlines() == [f"app-config.yaml: {LINE}"]
    assert done.stderr == "validate: 1 problem(s)\n"
    assert PASSWORD not in done.stdout + done.stderr
