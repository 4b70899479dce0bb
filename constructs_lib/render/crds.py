"""The pinned CRDs (platform/crds.yaml) and where their files are.

One list, read by `make imports` (imports/regenerate.py), the schema check and the end-to-end
suite. The files are looked up in this order:

1. `$CRDS_DIR`, a local mirror (every pinned file must be there);
2. `../shared/crds` beside the checkout, when it holds every pinned file;
3. the cache, `~/.cache/gitops-base/crds` (`$XDG_CACHE_HOME`), which `fetch_crds` fills by
   downloading each pinned URL and checking its SHA-256.

Every file is checked against its pinned SHA-256 when it is read, wherever it comes from.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from constructs_lib.errors import ProblemsError
from constructs_lib.paths import ROOT

PINS_FILE = ROOT / "platform" / "crds.yaml"
SHARED = ROOT.parent / "shared" / "crds"
MIRROR_HINT = (
    "set CRDS_DIR=/path/to/mirror (a folder holding the pinned files), "
    "or run 'make crds' to download them into the cache"
)


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "gitops-base" / "crds"


class CrdsError(ProblemsError):
    """Pinned CRDs that are missing, or whose bytes are not the pinned ones."""


@dataclass(frozen=True)
class PinnedCrd:
    file: str  # name in a mirror: <group>_<plural>.yaml
    kind: str
    url: str  # the upstream file at a release tag
    sha256: str
    binding: str | None = None  # package under imports/ generated from it, if any

    @property
    def group(self) -> str:
        return self.file.split("_", 1)[0]


@cache
def pinned_crds(path: Path = PINS_FILE) -> tuple[PinnedCrd, ...]:
    """Every entry of platform/crds.yaml."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    pins = []
    for i, entry in enumerate(data["crds"]):
        try:
            pins.append(PinnedCrd(**entry))
        except TypeError as exc:
            raise CrdsError([f"{path}: crds[{i}]: {exc}"]) from None
    return tuple(pins)


def crds_dir() -> Path:
    """Where the pinned CRD files are read from: $CRDS_DIR, ../shared/crds, or the cache."""
    configured = os.environ.get("CRDS_DIR")
    if configured:
        return Path(configured)
    if not missing_crds(SHARED):
        return SHARED
    return cache_dir()


def mirror_for(pins_file: Path, checkout: Path) -> Path | None:
    """The first of the folders a synth in `checkout` reads ($CRDS_DIR, ../shared/crds beside
    it, the cache) that holds every file `pins_file` pins; None when none does or the file
    cannot be read. `gitops-base diff` points the synth of an exported ref at it."""
    try:
        files = [pin.file for pin in pinned_crds(pins_file)]
    except (OSError, yaml.YAMLError, CrdsError, KeyError, TypeError):
        return None
    configured = os.environ.get("CRDS_DIR")
    folders = [Path(configured)] if configured else []
    folders += [checkout.parent / "shared" / "crds", cache_dir()]
    for folder in folders:
        if all((folder / name).is_file() for name in files):
            return folder
    return None


def missing_crds(directory: Path | None = None) -> list[str]:
    """The pinned files not found in `directory` (default: `crds_dir()`)."""
    folder = crds_dir() if directory is None else directory
    return [pin.file for pin in pinned_crds() if not (folder / pin.file).is_file()]


def require_crds() -> Path:
    """`crds_dir()`, or a CrdsError naming what is missing and how to point at a mirror."""
    directory = crds_dir()
    missing = missing_crds(directory)
    if missing:
        raise CrdsError(
            [f"pinned CRDs missing in {directory}: {', '.join(missing)}; {MIRROR_HINT}"]
        )
    return directory


def read_crd(pin: PinnedCrd, directory: Path | None = None) -> bytes:
    """The bytes of one pinned file, checked against its SHA-256."""
    path = (directory or require_crds()) / pin.file
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CrdsError(
            [f"pinned CRD missing: {path} (mirror of {pin.url}); {MIRROR_HINT}"]
        ) from None
    _check_digest(pin, data, str(path))
    return data


def _check_digest(pin: PinnedCrd, data: bytes, where: str) -> None:
    actual = hashlib.sha256(data).hexdigest()
    if actual != pin.sha256:
        raise CrdsError(
            [f"{where}: SHA-256 is {actual}, expected {pin.sha256} (pinned for {pin.url})"]
        )


Download = Callable[[str], bytes]


def _download(url: str) -> bytes:
    from urllib.request import urlopen

    with urlopen(url, timeout=30) as response:
        data: bytes = response.read()
        return data


def fetch_crds(
    target: Path | None = None,
    pins: Iterable[PinnedCrd] | None = None,
    download: Download = _download,
    log: Callable[[str], None] = print,
) -> None:
    """Download the pinned files into `target` (default: the cache), each checked against its
    SHA-256 before it is put in place: a mismatch or a failed download leaves no file behind."""
    folder = target or cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    for pin in pins if pins is not None else pinned_crds():
        try:
            data = download(pin.url)
        except OSError as exc:
            raise CrdsError(
                [f"cannot download {pin.url} ({pin.file}): {exc}; {MIRROR_HINT}"]
            ) from None
        _check_digest(pin, data, f"download of {pin.file} from {pin.url}")
        fd, partial = tempfile.mkstemp(prefix=f".{pin.file}.", suffix=".part", dir=folder)
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(data)
            os.replace(partial, folder / pin.file)
        except BaseException:
            os.unlink(partial)
            raise
        log(f"fetched {pin.url}")


def ensure_crds(log: Callable[[str], None] = print) -> Path:
    """The folder holding every pinned file, downloading the missing ones into the cache when
    no mirror is configured (CRDS_DIR) or found (../shared/crds)."""
    directory = crds_dir()
    if not missing_crds(directory):
        return directory
    if os.environ.get("CRDS_DIR"):
        return require_crds()  # a configured mirror is never written to: report what it lacks
    missing = [p for p in pinned_crds() if p.file in missing_crds(directory)]
    fetch_crds(directory, missing, log=log)
    return directory


def crd_paths(directory: Path | None = None) -> list[Path]:
    """Every pinned file, in the pinned order, each checked against its SHA-256."""
    folder = directory or require_crds()
    for pin in pinned_crds():
        read_crd(pin, folder)
    return [folder / pin.file for pin in pinned_crds()]


def load_crd(pin: PinnedCrd, directory: Path | None = None) -> Any:
    """The parsed CustomResourceDefinition of one pinned file.

    Parsing YAML takes 40 times longer than JSON (0.08 s for the CRDs of one synth), so the
    parsed file is kept as JSON in the cache, under its SHA-256: the pinned content, and
    nothing else, whichever folder it was first read from."""
    parsed = cache_dir() / "parsed" / f"{pin.sha256}.json"
    try:
        return json.loads(parsed.read_bytes())
    except (OSError, ValueError):
        pass
    crd = yaml.load(read_crd(pin, directory), Loader=yaml.CSafeLoader)
    with contextlib.suppress(OSError, TypeError, ValueError):  # unwritable: only slower
        parsed.parent.mkdir(parents=True, exist_ok=True)
        fd, partial = tempfile.mkstemp(prefix=f".{pin.sha256}.", dir=parsed.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                json.dump(crd, file)
            os.replace(partial, parsed)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(partial)
    return crd


def cdk8s_imports() -> list[str]:
    """`name:=url` of every pinned CRD with a typed binding: cdk8s.yaml `imports:`."""
    return [f"{pin.binding}:={pin.url}" for pin in pinned_crds() if pin.binding]
