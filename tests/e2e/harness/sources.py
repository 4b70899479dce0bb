"""The pinned source trees the add-ons' binaries build from, where the Go module proxy does not
serve their modules (tests/e2e/node/addon-sources.txt lists them).

Where each tree comes from, in this order:

1. `$SOURCES_DIR/<tree>.tar.gz`;
2. `<repo>/../shared/src/<tree>.tar.gz` when that folder exists (CI's mirror);
3. otherwise the project's tag archive (the URL in the list), downloaded once into
   `<cache>/src-archives/`.

Whatever the source, the extracted tree (first path component stripped, the listed paths kept
and dropped) must have the pinned SHA-256, or nothing is extracted and the run fails naming the
tree. Trees are extracted into `<dest>/<tree>/` next to a `.tree-sha256` stamp; an extracted
tree with the right stamp is reused.

Standard library only: tests/e2e/node/build-addon-tools.sh runs it before any build.

    python3 tests/e2e/harness/sources.py <dest> <cache>   # ensure every tree, print the paths
    python3 tests/e2e/harness/sources.py --hash <dir>     # the SHA-256 of a tree
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tarfile
import tempfile
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent.parent
LIST = REPO_ROOT / "tests" / "e2e" / "node" / "addon-sources.txt"
SOURCES_ENV = "SOURCES_DIR"
STAMP = ".tree-sha256"
DOWNLOAD_TIMEOUT = 120
MAX_ARCHIVE_BYTES = 64 * 2**20


class SourceError(RuntimeError):
    """A tree cannot be found, downloaded, extracted or verified."""


@dataclass(frozen=True)
class SourceTree:
    name: str
    sha256: str
    url: str
    keep: tuple[str, ...]  # () = everything
    drop: tuple[str, ...]

    def wanted(self, rel: str) -> bool:
        """Whether a path inside the tree (first component already stripped) is part of it."""

        def under(prefixes: tuple[str, ...]) -> bool:
            return any(rel == p or rel.startswith(p + "/") for p in prefixes)

        return (not self.keep or under(self.keep)) and not under(self.drop)


def load(path: Path = LIST) -> list[SourceTree]:
    trees = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split()
        if len(fields) != 5 or len(fields[1]) != 64:
            raise SourceError(f"{path}:{n}: not '<tree> <sha256> <url> <keep> <drop>': {line!r}")
        name, sha, url, keep, drop = fields

        def paths(v: str, everything: str) -> tuple[str, ...]:
            return () if v == everything else tuple(p.strip("/") for p in v.split(","))

        trees.append(SourceTree(name, sha, url, paths(keep, "*"), paths(drop, "-")))
    return trees


def tree_sha256(root: Path) -> str:
    """SHA-256 of the sorted `<sha256 of the file>  <path>` lines of a tree (symlinks as
    `link:<target>  <path>`): the contents and names only, not modes or times."""
    lines = []
    for dirpath, dirnames, filenames in os.walk(root):
        links = [d for d in dirnames if (Path(dirpath) / d).is_symlink()]
        for name in filenames + links:
            p = Path(dirpath) / name
            rel = p.relative_to(root).as_posix()
            if rel == STAMP:
                continue
            if p.is_symlink():
                lines.append((rel, f"link:{os.readlink(p)}  {rel}\n"))
            else:
                lines.append((rel, f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {rel}\n"))
    return hashlib.sha256("".join(line for _, line in sorted(lines)).encode()).hexdigest()


def mirror_dir() -> Path | None:
    """$SOURCES_DIR, else <repo>/../shared/src if it exists, else None (download)."""
    env = os.environ.get(SOURCES_ENV)
    if env:
        if not Path(env).is_dir():
            raise SourceError(f"{SOURCES_ENV}={env} is not a directory")
        return Path(env)
    shared = REPO_ROOT.parent / "shared" / "src"
    return shared if shared.is_dir() else None


def _http_get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT) as resp:
        data = resp.read(MAX_ARCHIVE_BYTES + 1)
    if len(data) > MAX_ARCHIVE_BYTES:
        raise SourceError(f"{url}: larger than {MAX_ARCHIVE_BYTES} bytes")
    return bytes(data)


def _download(tree: SourceTree, cache: Path, get: Callable[[str], bytes]) -> Path:
    out = cache / "src-archives" / f"{tree.name}.tar.gz"
    if out.is_file():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    print(f"== sources: downloading {tree.url}", file=sys.stderr)
    try:
        data = get(tree.url)
    except OSError as exc:
        raise SourceError(
            f"{tree.name}: no archive in ${SOURCES_ENV} or ../shared/src and {tree.url} could"
            f" not be downloaded: {exc}"
        ) from None
    tmp = out.with_name(out.name + f".tmp.{os.getpid()}")
    tmp.write_bytes(data)
    tmp.replace(out)
    return out


def _extract(tree: SourceTree, archive: Path, into: Path) -> None:
    """Extract the tree's paths (first component stripped) into `into`; only regular files,
    directories and symlinks inside the tree."""
    with tarfile.open(archive, "r:*") as tar:
        for member in tar.getmembers():
            parts = PurePosixPath(member.name).parts[1:]
            if not parts or member.name.startswith("/") or ".." in parts:
                continue
            rel = "/".join(parts)
            if not tree.wanted(rel):
                continue
            if not (member.isfile() or member.isdir() or member.issym()):
                continue
            if member.issym() and (
                member.linkname.startswith("/") or ".." in PurePosixPath(member.linkname).parts
            ):
                raise SourceError(f"{archive}: {member.name} links outside the tree")
            member.name = rel
            tar.extract(member, into, filter="tar")


def ensure(
    tree: SourceTree, dest: Path, cache: Path, get: Callable[[str], bytes] = _http_get
) -> Path:
    """The verified tree under dest/<name>, extracted when missing (the archive downloaded
    with `get` when no mirror holds it)."""
    out = dest / tree.name
    stamp = out / STAMP
    if stamp.is_file() and stamp.read_text().strip() == tree.sha256:
        return out
    mirror = mirror_dir()
    archive = mirror / f"{tree.name}.tar.gz" if mirror else None
    downloaded = archive is None or not archive.is_file()
    if downloaded:
        archive = _download(tree, cache, get)
    assert archive is not None
    dest.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{tree.name}.", dir=dest))
    try:
        _extract(tree, archive, tmp)
        got = tree_sha256(tmp)
        if got != tree.sha256:
            if downloaded:
                archive.unlink()  # fetched again next time
            raise SourceError(
                f"{tree.name}: the tree from {archive} has SHA-256 {got}, "
                f"{LIST.relative_to(REPO_ROOT)} pins {tree.sha256}"
            )
        (tmp / STAMP).write_text(tree.sha256 + "\n")
        if out.exists():
            shutil.rmtree(out)
        tmp.replace(out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def main(argv: list[str]) -> int:
    try:
        if len(argv) == 2 and argv[0] == "--hash":
            print(tree_sha256(Path(argv[1])))
            return 0
        if len(argv) != 2:
            print(__doc__, file=sys.stderr)
            return 2
        dest, cache = Path(argv[0]), Path(argv[1])
        for tree in load():
            print(f"{tree.name}={ensure(tree, dest, cache)}")
    except SourceError as exc:
        print(f"sources: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
