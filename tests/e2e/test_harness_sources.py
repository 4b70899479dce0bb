"""Fast checks of the pinned source trees the add-ons' binaries build from
(tests/e2e/node/addon-sources.txt, harness/sources.py) and of how the node tier names the
add-ons' images (harness/addons.py). No cluster; the "upstream" archive service is a dict."""

from __future__ import annotations

import gzip
import io
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.harness import sources
from tests.e2e.harness.addons import IMAGES, normalize, repository


@pytest.fixture(scope="module")
def trees(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every pinned tree, verified: from the mirror (../shared/src or $SOURCES_DIR) when there
    is one, else downloaded from the projects' tag archives, as on a user's clone."""
    dest = tmp_path_factory.mktemp("src")
    cache = tmp_path_factory.mktemp("cache")
    get = _no_network if sources.mirror_dir() else sources._http_get
    return {t.name: sources.ensure(t, dest, cache, get=get) for t in sources.load()}


def _no_network(url: str) -> bytes:
    raise AssertionError(f"downloaded {url} although the mirror has it")


def github_archive(tree_dir: Path, tree: sources.SourceTree, extra: dict[str, bytes]) -> bytes:
    """A verified tree packed as a tag archive of the whole repository would be: its own top
    folder and compression, and files in the paths the list drops."""
    buf = io.BytesIO()
    top = tree.name.replace("-cmd", "").replace("-v", "-", 1)
    with tarfile.open(fileobj=buf, mode="w") as out:
        for path in sorted(tree_dir.rglob("*")):
            rel = path.relative_to(tree_dir).as_posix()
            if rel != sources.STAMP:
                out.add(path, arcname=f"{top}/{rel}", recursive=False)
        for name, content in extra.items():
            info = tarfile.TarInfo(f"{top}/{name}")
            info.size = len(content)
            out.addfile(info, io.BytesIO(content))
    return gzip.compress(buf.getvalue(), compresslevel=1)


def test_every_pinned_tree_verifies(trees: dict[str, Path]) -> None:
    assert set(trees) >= {
        "cert-manager-v1.21.1-cmd",
        "vcert-v5.13.7",
        "mlog-v0.0.2",
        "infisical-csi-provider-v0.0.9",
        "node-driver-registrar-v2.16.0",
        "livenessprobe-v2.18.0",
    }
    for tree in sources.load():
        out = trees[tree.name]
        assert sources.tree_sha256(out) == tree.sha256
        assert (out / sources.STAMP).read_text().strip() == tree.sha256


def _serving(files: dict[str, bytes]) -> Callable[[str], bytes]:
    def get(url: str) -> bytes:
        if url not in files:
            raise OSError(f"404 {url}")
        return files[url]

    return get


@pytest.mark.parametrize("name", ["cert-manager-v1.21.1-cmd", "node-driver-registrar-v2.16.0"])
def test_a_tag_archive_gives_the_same_tree(
    tmp_path: Path, trees: dict[str, Path], monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """Without a mirror the tree comes from the project's tag archive, whose bytes differ from
    the mirror's: only the tree's own SHA-256 is checked, after the dropped paths are gone."""
    tree = next(t for t in sources.load() if t.name == name)
    # What the whole repository has beside the tree: outside the kept paths, inside the dropped.
    extra = {f"{d}/x/y.go": b"package y\n" for d in tree.drop}
    if tree.keep:
        extra["pkg/outside.go"] = b"package pkg\n"
    assert extra
    archive = github_archive(trees[name], tree, extra)
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv(sources.SOURCES_ENV, str(empty))
    out = sources.ensure(
        tree, tmp_path / "src", tmp_path / "cache", get=_serving({tree.url: archive})
    )
    assert sources.tree_sha256(out) == tree.sha256
    assert not (out / "vendor").exists()
    if tree.keep:  # cert-manager: cmd/ and LICENSE only
        assert sorted(p.name for p in out.iterdir()) == [sources.STAMP, "LICENSE", "cmd"]


def test_a_tampered_archive_is_refused_and_not_kept(
    tmp_path: Path, trees: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    tree = next(t for t in sources.load() if t.name == "mlog-v0.0.2")
    archive = github_archive(trees[tree.name], tree, {"backdoor.go": b"package mlog\n"})
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv(sources.SOURCES_ENV, str(empty))
    with pytest.raises(sources.SourceError, match=r"mlog-v0.0.2: the tree from .* has SHA-256"):
        sources.ensure(
            tree, tmp_path / "src", tmp_path / "cache", get=_serving({tree.url: archive})
        )
    assert not (tmp_path / "src" / tree.name).exists()
    assert not list((tmp_path / "cache" / "src-archives").iterdir())


def test_no_archive_anywhere_names_the_tree_and_the_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree = sources.load()[0]
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv(sources.SOURCES_ENV, str(empty))
    with pytest.raises(sources.SourceError) as caught:
        sources.ensure(tree, tmp_path / "src", tmp_path / "cache", get=_serving({}))
    assert tree.name in str(caught.value) and tree.url in str(caught.value)


DIGEST = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    ("ref", "normalized", "repo"),
    [
        (
            "infisical/infisical-csi-provider:v0.0.9",
            "docker.io/infisical/infisical-csi-provider:v0.0.9",
            "docker.io/infisical/infisical-csi-provider",
        ),
        ("redis", "docker.io/library/redis:latest", "docker.io/library/redis"),
        (
            "quay.io/jetstack/cert-manager-controller:v1.21.1",
            "quay.io/jetstack/cert-manager-controller:v1.21.1",
            "quay.io/jetstack/cert-manager-controller",
        ),
        (
            f"registry.k8s.io/ingress-nginx/controller:v1.15.1@{DIGEST}",
            f"registry.k8s.io/ingress-nginx/controller@{DIGEST}",
            "registry.k8s.io/ingress-nginx/controller",
        ),
        ("localhost:5000/x:1", "localhost:5000/x:1", "localhost:5000/x"),
    ],
)
def test_image_references_are_named_as_the_runtime_resolves_them(
    ref: str, normalized: str, repo: str
) -> None:
    assert normalize(ref) == normalized
    assert repository(normalized) == repo


def test_every_image_entry_is_a_normalized_repository() -> None:
    for repo in IMAGES:
        assert normalize(repo + ":x") == repo + ":x", repo
