"""Fast checks of where the harness takes the pinned Helm charts from (no
cluster, no network: the "upstream" repository is a dict of URLs)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tests.e2e.harness.helmrepo import (
    VERSIONS,
    ChartError,
    PinnedChart,
    download,
    ensure_charts,
    load_checksums,
    pinned_charts,
    repo_slug,
)

PACKAGE = b"not really a tarball, but bytes with a known digest"
DIGEST = hashlib.sha256(PACKAGE).hexdigest()
CHART = PinnedChart("demo", "1.2.3", "https://charts.example.invalid/stable", DIGEST)


def upstream(files: dict[str, bytes]) -> Callable[[str], bytes]:
    def get(url: str) -> bytes:
        if url not in files:
            raise ChartError(f"404 {url}")
        return files[url]

    return get


def index(url: str, digest: str = DIGEST) -> bytes:
    entry = {"version": "1.2.3", "urls": [url], "digest": digest}
    return yaml.safe_dump({"apiVersion": "v1", "entries": {"demo": [entry]}}).encode()


def test_every_pinned_chart_version_has_a_committed_checksum() -> None:
    charts = pinned_charts()
    data = yaml.safe_load(VERSIONS.read_text())
    for name, entry in data["charts"].items():
        chart = charts[(name, str(entry["version"]))]
        assert chart.repo == entry["repo"]
        assert len(chart.sha256) == 64
    # ... and every checksum is of a pinned chart: a line left from an old pin fails here.
    assert set(load_checksums()) == {chart.filename for chart in charts.values()}


def test_download_follows_a_relative_index_url_and_verifies(tmp_path: Path) -> None:
    get = upstream(
        {
            "https://charts.example.invalid/stable/index.yaml": index("pkgs/demo-1.2.3.tgz"),
            "https://charts.example.invalid/stable/pkgs/demo-1.2.3.tgz": PACKAGE,
        }
    )
    path = download(CHART, tmp_path, get)
    assert path == tmp_path / "demo-1.2.3.tgz"
    assert path.read_bytes() == PACKAGE


def test_download_refuses_a_package_with_another_digest(tmp_path: Path) -> None:
    get = upstream(
        {
            "https://charts.example.invalid/stable/index.yaml": index(
                "https://mirror.example.invalid/demo-1.2.3.tgz", digest="f" * 64
            ),
            "https://mirror.example.invalid/demo-1.2.3.tgz": PACKAGE + b"tampered",
        }
    )
    with pytest.raises(
        ChartError,
        match=r"demo-1\.2\.3\.tgz downloaded from .*does not match.*index\.yaml gives digest f{64}",
    ):
        download(CHART, tmp_path, get)
    assert list(tmp_path.iterdir()) == []


def test_a_chart_folder_must_hold_the_pinned_bytes(tmp_path: Path) -> None:
    charts = {("demo", "1.2.3"): CHART}
    with pytest.raises(ChartError, match=r"demo-1\.2\.3\.tgz is missing"):
        ensure_charts(charts, source=tmp_path, cache=tmp_path / "cache")
    (tmp_path / "demo-1.2.3.tgz").write_bytes(b"something else")
    with pytest.raises(ChartError, match="does not match the pinned"):
        ensure_charts(charts, source=tmp_path, cache=tmp_path / "cache")
    (tmp_path / "demo-1.2.3.tgz").write_bytes(PACKAGE)
    assert ensure_charts(charts, source=tmp_path, cache=tmp_path / "cache") == {
        CHART: tmp_path / "demo-1.2.3.tgz"
    }


def test_without_a_folder_the_cache_is_filled_once(tmp_path: Path) -> None:
    calls: list[str] = []
    files = {
        "https://charts.example.invalid/stable/index.yaml": index("demo-1.2.3.tgz"),
        "https://charts.example.invalid/stable/demo-1.2.3.tgz": PACKAGE,
    }

    def get(url: str) -> bytes:
        calls.append(url)
        return files[url]

    charts = {("demo", "1.2.3"): CHART}
    cache = tmp_path / "cache"
    first = ensure_charts(charts, source=None, cache=cache, get=get, log=lambda _: None)
    assert first[CHART].read_bytes() == PACKAGE
    assert len(calls) == 2
    ensure_charts(charts, source=None, cache=cache, get=get, log=lambda _: None)
    assert len(calls) == 2  # verified from the cache, not downloaded again


def test_repo_slug_names_one_folder_per_upstream_repository() -> None:
    assert repo_slug("https://charts.jetstack.io") == "charts.jetstack.io"
    assert (
        repo_slug("https://kubernetes-sigs.github.io/secrets-store-csi-driver/charts")
        == "kubernetes-sigs.github.io_secrets-store-csi-driver_charts"
    )
