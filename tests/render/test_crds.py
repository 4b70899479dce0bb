"""The one list of pinned CRDs (platform/crds.yaml): lookup, download checks, cdk8s.yaml."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from constructs_lib.render import crds
from constructs_lib.render.crds import (
    CrdsError,
    PinnedCrd,
    cdk8s_imports,
    crds_dir,
    ensure_crds,
    fetch_crds,
    pinned_crds,
    read_crd,
)
from tests.support import ROOT

SOURCE = crds_dir()


def test_cdk8s_yaml_imports_are_the_pinned_crds_with_a_binding() -> None:
    config = yaml.safe_load((ROOT / "cdk8s.yaml").read_text())
    assert config["imports"] == cdk8s_imports(), (
        "cdk8s.yaml imports: must list `<binding>:=<url>` of every platform/crds.yaml entry "
        "with a binding, in the same order"
    )


def test_no_object_is_built_through_a_generated_binding() -> None:
    """docs/decisions/0010: every body is plain and checked during synth, so no CRD has a
    binding and imports/ holds none (cdk8s import would write them there)."""
    assert cdk8s_imports() == []
    # A package, not a folder: a checkout that had the bindings keeps their ignored caches.
    packages = [p.name for p in (ROOT / "imports").iterdir() if (p / "__init__.py").is_file()]
    assert packages == []


def test_make_imports_generates_nothing_and_leaves_imports_as_it_was() -> None:
    before = sorted(p.name for p in (ROOT / "imports").iterdir() if p.name != "__pycache__")
    result = subprocess.run(
        [sys.executable, str(ROOT / "imports" / "regenerate.py")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "nothing to generate" in result.stdout
    assert sorted(p.name for p in (ROOT / "imports").iterdir() if p.name != "__pycache__") == before


def test_every_binding_package_is_pinned_and_every_pinned_binding_exists() -> None:
    packages = {p.name for p in (ROOT / "imports").iterdir() if (p / "__init__.py").is_file()}
    assert packages == {pin.binding for pin in pinned_crds() if pin.binding}


def test_each_pin_names_the_kind_its_file_defines() -> None:
    for pin in pinned_crds():
        crd = yaml.safe_load(read_crd(pin, SOURCE))
        assert (crd["spec"]["group"], crd["spec"]["names"]["kind"]) == (pin.group, pin.kind)
        assert pin.url.startswith("https://raw.githubusercontent.com/"), pin.url
        assert pin.url.rsplit("/", 2)[0].count("/v") == 1, f"{pin.url}: no release tag"


def _pins(tmp_path: Path, *names: str) -> list[PinnedCrd]:
    """Pins whose URLs are local copies of the real files (file:// URLs)."""
    out = []
    for pin in pinned_crds():
        if pin.file in names:
            copy = tmp_path / "upstream" / pin.file
            copy.parent.mkdir(exist_ok=True)
            copy.write_bytes((SOURCE / pin.file).read_bytes())
            out.append(PinnedCrd(pin.file, pin.kind, copy.as_uri(), pin.sha256))
    return out


def test_fetch_downloads_and_checks_each_file(tmp_path: Path) -> None:
    pins = _pins(tmp_path, "bitnami.com_sealedsecrets.yaml", "cert-manager.io_issuers.yaml")
    lines: list[str] = []
    fetch_crds(tmp_path / "cache", pins, log=lines.append)
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == sorted(p.file for p in pins)
    for pin in pins:
        data = (tmp_path / "cache" / pin.file).read_bytes()
        assert hashlib.sha256(data).hexdigest() == pin.sha256
    assert lines == [f"fetched {p.url}" for p in pins]


def test_a_download_with_another_digest_is_refused_and_leaves_nothing(tmp_path: Path) -> None:
    (pin,) = _pins(tmp_path, "bitnami.com_sealedsecrets.yaml")
    upstream = Path(pin.url.removeprefix("file://"))
    upstream.write_bytes(upstream.read_bytes() + b"# changed\n")
    actual = hashlib.sha256(upstream.read_bytes()).hexdigest()
    with pytest.raises(CrdsError) as exc:
        fetch_crds(tmp_path / "cache", [pin], log=lambda _: None)
    assert exc.value.problems == [
        f"download of bitnami.com_sealedsecrets.yaml from {pin.url}: SHA-256 is {actual}, "
        f"expected {pin.sha256} (pinned for {pin.url})"
    ]
    assert list((tmp_path / "cache").iterdir()) == []


def test_a_failed_download_says_how_to_point_at_a_mirror(tmp_path: Path) -> None:
    pin = PinnedCrd("x.io_things.yaml", "Thing", (tmp_path / "nowhere").as_uri(), "0" * 64)
    with pytest.raises(CrdsError) as exc:
        fetch_crds(tmp_path / "cache", [pin], log=lambda _: None)
    (problem,) = exc.value.problems
    assert problem.startswith(f"cannot download {pin.url} (x.io_things.yaml): ")
    assert problem.endswith(
        "set CRDS_DIR=/path/to/mirror (a folder holding the pinned files), "
        "or run 'make crds' to download them into the cache"
    )
    assert list((tmp_path / "cache").iterdir()) == []


def test_a_mirror_file_with_another_digest_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for pin in pinned_crds():
        (tmp_path / pin.file).write_bytes((SOURCE / pin.file).read_bytes())
    changed = tmp_path / "helm.cattle.io_helmcharts.yaml"
    changed.write_bytes(changed.read_bytes().replace(b"HelmChart", b"HelmChurt", 1))
    monkeypatch.setenv("CRDS_DIR", str(tmp_path))
    (pin,) = [p for p in pinned_crds() if p.file == changed.name]
    with pytest.raises(CrdsError) as exc:
        read_crd(pin)
    actual = hashlib.sha256(changed.read_bytes()).hexdigest()
    assert exc.value.problems == [
        f"{changed}: SHA-256 is {actual}, expected {pin.sha256} (pinned for {pin.url})"
    ]


def test_lookup_order_mirror_then_shared_then_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRDS_DIR", str(tmp_path / "mirror"))
    assert crds_dir() == tmp_path / "mirror"
    monkeypatch.delenv("CRDS_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    shared = tmp_path / "shared"
    shared.mkdir()
    monkeypatch.setattr(crds, "SHARED", shared)
    assert crds_dir() == tmp_path / "xdg" / "gitops-base" / "crds"  # shared/ is incomplete
    for pin in pinned_crds():
        (shared / pin.file).write_bytes((SOURCE / pin.file).read_bytes())
    assert crds_dir() == shared


def test_an_incomplete_mirror_is_reported_not_written_to(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRDS_DIR", str(tmp_path))
    with pytest.raises(CrdsError) as exc:
        ensure_crds()
    (problem,) = exc.value.problems
    assert problem.startswith(f"pinned CRDs missing in {tmp_path}: argoproj.io_applications.yaml")
    assert "set CRDS_DIR=/path/to/mirror" in problem
    assert list(tmp_path.iterdir()) == []


def test_check_without_crds_exits_with_the_hint(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "constructs_lib.render.schema_check", str(ROOT / "dist")],
        cwd=ROOT,
        env={**os.environ, "CRDS_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: pinned CRDs missing in {tmp_path}: ")
    assert "set CRDS_DIR=/path/to/mirror" in result.stderr


def test_the_e2e_harness_applies_exactly_the_pinned_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.e2e.harness.tools import ToolsMissing, crd_files

    monkeypatch.setenv("CRDS_DIR", str(SOURCE))
    assert crd_files() == [SOURCE / pin.file for pin in pinned_crds()]
    monkeypatch.setenv("CRDS_DIR", str(tmp_path))
    with pytest.raises(ToolsMissing) as exc:
        crd_files()
    assert str(exc.value).startswith(f"pinned CRDs missing in {tmp_path}: ")
    assert "CRDS_DIR=/path/to/mirror" in str(exc.value)


def test_a_parsed_crd_is_kept_as_json_under_its_digest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    (pin,) = [p for p in pinned_crds() if p.kind == "SealedSecret"]
    expected = yaml.safe_load((SOURCE / pin.file).read_text())
    assert crds.load_crd(pin, SOURCE) == expected
    parsed = tmp_path / "gitops-base" / "crds" / "parsed" / f"{pin.sha256}.json"
    assert json.loads(parsed.read_text()) == expected
    parsed.write_text("{not json")  # a damaged cache entry is parsed again and replaced
    assert crds.load_crd(pin, SOURCE) == expected
    assert json.loads(parsed.read_text()) == expected
    assert sorted(p.name for p in parsed.parent.iterdir()) == [parsed.name]
