"""The pinned Helm charts of the platform add-ons, served to Argo CD from a
local Helm repository (index.yaml + chart packages over HTTP on 127.0.0.1,
inside the harness's network namespace).

Where the chart packages come from, in this order:

1. `$CHARTS_DIR`, a folder holding `<chart>-<version>.tgz` files;
2. `<repo>/../shared/charts` when that folder exists (CI's mirror);
3. otherwise the chart repositories named in platform/versions.yaml: the
   harness reads each repository's index.yaml and downloads the pinned
   version once into `<e2e cache>/charts/`.

Whatever the source, every package must match the SHA-256 committed in
tests/e2e/charts.sha256, or the run fails naming the file.

The local repository has one folder per upstream repository
(`http://127.0.0.1:<port>/<host>[_<path>]/`), each with the index `helm repo
index` writes, so every upstream repoURL maps to exactly one local URL
(`HelmRepo.mapping`), which GitRepo.rewrite_chart_urls() puts into the
Applications and the AppProjects' sourceRepos.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from . import netns
from .procs import Proc
from .tools import E2E_DIR, REPO_ROOT, ToolsMissing, cache_dir

CHECKSUMS = E2E_DIR / "charts.sha256"
VERSIONS = REPO_ROOT / "platform" / "versions.yaml"
CHARTS_ENV = "CHARTS_DIR"
DOWNLOAD_TIMEOUT = 60


class ChartError(ToolsMissing):
    """A pinned chart cannot be found, downloaded or verified."""


@dataclass(frozen=True)
class PinnedChart:
    name: str
    version: str
    repo: str  # upstream Helm repository URL (the Applications' repoURL)
    sha256: str

    @property
    def filename(self) -> str:
        return f"{self.name}-{self.version}.tgz"


def load_checksums(path: Path = CHECKSUMS) -> dict[str, str]:
    """{filename: sha256} from a `sha256sum`-format list (# comments allowed)."""
    sums: dict[str, str] = {}
    for n, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = re.fullmatch(r"([0-9a-f]{64})\s+\*?(\S+)", line)
        if not m:
            raise ChartError(f"{path}:{n}: not a '<sha256>  <file>' line: {line!r}")
        sums[m.group(2)] = m.group(1)
    return sums


def pinned_charts(
    versions: Path = VERSIONS, checksums: Path = CHECKSUMS
) -> dict[tuple[str, str], PinnedChart]:
    """Every chart version platform/versions.yaml pins (base versions and
    per-environment overrides), by (name, version), with its checksum. A
    pinned version without a checksum is an error naming the entry."""
    data = yaml.safe_load(versions.read_text()) or {}
    charts: dict[str, Any] = data.get("charts") or {}
    wanted: dict[tuple[str, str], str] = {}
    for name, entry in charts.items():
        wanted[(name, str(entry["version"]))] = str(entry["repo"])
    for env, pins in (data.get("overrides") or {}).items():
        for name, version in (pins or {}).items():
            if name not in charts:
                raise ChartError(f"{versions}: overrides.{env}.{name}: no such chart")
            wanted[(name, str(version))] = str(charts[name]["repo"])
    sums = load_checksums(checksums)
    out: dict[tuple[str, str], PinnedChart] = {}
    missing = []
    for (name, version), repo in sorted(wanted.items()):
        fname = f"{name}-{version}.tgz"
        if fname not in sums:
            missing.append(fname)
            continue
        out[(name, version)] = PinnedChart(name, version, repo, sums[fname])
    if missing:
        raise ChartError(
            f"{checksums.relative_to(REPO_ROOT)} has no SHA-256 for {', '.join(missing)}"
            f" (pinned in {versions.relative_to(REPO_ROOT)}): add `sha256sum <file>` lines"
        )
    return out


def charts_source_dir() -> Path | None:
    """$CHARTS_DIR, else <repo>/../shared/charts if it exists,
    else None (download)."""
    env = os.environ.get(CHARTS_ENV)
    if env:
        path = Path(env)
        if not path.is_dir():
            raise ChartError(f"{CHARTS_ENV}={env}: not a directory")
        return path
    shared = REPO_ROOT.parent / "shared" / "charts"
    return shared if shared.is_dir() else None


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _verify(chart: PinnedChart, path: Path) -> None:
    got = sha256_of(path)
    if got != chart.sha256:
        raise ChartError(
            f"{path}: SHA-256 {got} does not match the pinned {chart.sha256}"
            f" ({CHECKSUMS.relative_to(REPO_ROOT)})"
        )


def _http_get(url: str) -> bytes:
    req = urllib.request.Request(url, headers={"User-Agent": "gitops-base-e2e"})
    with urllib.request.urlopen(req, timeout=DOWNLOAD_TIMEOUT) as resp:
        data: bytes = resp.read()
        return data


def chart_url(chart: PinnedChart, get: Callable[[str], bytes] = _http_get) -> tuple[str, str]:
    """The package URL of the pinned version and the digest the repository
    publishes for it ("" when none), from the upstream index.yaml (entries'
    urls may be relative to the repository)."""
    base = chart.repo.rstrip("/") + "/"
    index = yaml.safe_load(get(base + "index.yaml"))
    for entry in ((index or {}).get("entries") or {}).get(chart.name) or []:
        if str(entry.get("version")) == chart.version and entry.get("urls"):
            url = urllib.parse.urljoin(base, str(entry["urls"][0]))
            return url, str(entry.get("digest") or "")
    raise ChartError(f"{chart.repo}/index.yaml has no {chart.name} {chart.version}")


def download(chart: PinnedChart, dest: Path, get: Callable[[str], bytes] = _http_get) -> Path:
    """Download the pinned package into `dest` and verify it (a file that does
    not match is not kept)."""
    url, digest = chart_url(chart, get)
    dest.mkdir(parents=True, exist_ok=True)
    tmp = dest / f".{chart.filename}.part"
    tmp.write_bytes(get(url))
    try:
        _verify(chart, tmp)
    except ChartError as exc:
        tmp.unlink()
        index_says = f"; the repository's index.yaml gives digest {digest}" if digest else ""
        raise ChartError(f"{chart.filename} downloaded from {url}: {exc}{index_says}") from None
    final = dest / chart.filename
    tmp.replace(final)
    return final


_FROM_SETTINGS = Path("<from settings>")


def ensure_charts(
    charts: dict[tuple[str, str], PinnedChart] | None = None,
    source: Path | None = _FROM_SETTINGS,
    cache: Path | None = None,
    get: Callable[[str], bytes] = _http_get,
    log: Callable[[str], None] = print,
) -> dict[PinnedChart, Path]:
    """A verified local file for every pinned chart: from `source` (default
    charts_source_dir()) or, without one, from the download cache, downloading
    what it lacks from the upstream repositories. `source=None` forces the
    download path."""
    charts = pinned_charts() if charts is None else charts
    source = charts_source_dir() if source is _FROM_SETTINGS else source
    cache = cache or cache_dir() / "charts"
    out: dict[PinnedChart, Path] = {}
    for chart in charts.values():
        if source is not None:
            path = source / chart.filename
            if not path.is_file():
                raise ChartError(
                    f"{path} is missing: {CHARTS_ENV} (or ../shared/charts) must hold"
                    f" {chart.filename} ({chart.name} {chart.version} from {chart.repo})"
                )
            _verify(chart, path)
        else:
            path = cache / chart.filename
            if not (path.is_file() and sha256_of(path) == chart.sha256):
                t0 = time.monotonic()

                def fetch(c: PinnedChart = chart) -> Path:
                    return download(c, cache, get)

                try:
                    path = netns.run_on_host_network(fetch)
                except (urllib.error.URLError, OSError) as exc:
                    raise ChartError(
                        f"cannot download {chart.filename} from {chart.repo}: {exc}. Without"
                        f" internet, set {CHARTS_ENV} to a folder holding the pinned chart"
                        f" packages ({CHECKSUMS.relative_to(REPO_ROOT)} lists them)"
                    ) from None
                log(f"e2e: downloaded {chart.filename} in {time.monotonic() - t0:.1f}s")
        out[chart] = path
    return out


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def repo_slug(url: str) -> str:
    """Folder name for an upstream repository URL: host plus path, '/' -> '_'."""
    parsed = urllib.parse.urlsplit(url)
    slug = (parsed.netloc + parsed.path.rstrip("/")).replace("/", "_")
    return re.sub(r"[^A-Za-z0-9._-]", "-", slug)


class HelmRepo:
    """A Helm chart repository on 127.0.0.1 serving the pinned charts.

    >>> repo = HelmRepo(workdir, helm).start()
    >>> repo.mapping["https://charts.jetstack.io"]
    'http://127.0.0.1:PORT/charts.jetstack.io'
    """

    def __init__(
        self,
        workdir: Path,
        helm: Path,
        charts: dict[PinnedChart, Path] | None = None,
        log: Callable[[str], None] = print,
        host: str = "127.0.0.1",
    ):
        self.workdir = Path(workdir)
        self.host = host
        """Where it listens: loopback, or an address pods reach (the node tier's node IP)."""
        self.helm = helm
        self.log = log
        self._charts = charts
        self.charts: dict[PinnedChart, Path] = {}
        self.mapping: dict[str, str] = {}
        self.url = ""
        self.proc: Proc | None = None

    def start(self) -> HelmRepo:
        netns.ensure_private_network()
        self.charts = ensure_charts(log=self.log) if self._charts is None else self._charts
        root = self.workdir / "srv"
        if root.exists():
            shutil.rmtree(root)
        port = _free_port()
        self.url = f"http://{self.host}:{port}"
        for chart, path in self.charts.items():
            folder = root / repo_slug(chart.repo)
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, folder / chart.filename)
            self.mapping[chart.repo] = f"{self.url}/{repo_slug(chart.repo)}"
        for upstream, local in self.mapping.items():
            folder = root / repo_slug(upstream)
            proc = subprocess.run(
                [str(self.helm), "repo", "index", str(folder), "--url", local],
                capture_output=True,
                text=True,
                env={**os.environ, "HELM_CACHE_HOME": str(self.workdir / "helm-cache")},
                check=False,
            )
            if proc.returncode != 0:
                raise ChartError(f"helm repo index {folder} failed: {proc.stderr.strip()}")
        self.proc = Proc(
            "helm-repo",
            [
                sys.executable,
                "-m",
                "http.server",
                str(port),
                "--bind",
                self.host,
                "--directory",
                str(root),
            ],
            self.workdir / "logs" / "helm-repo.log",
            cwd=self.workdir,
        ).start()
        deadline = time.monotonic() + 30
        first = next(iter(self.mapping.values()))
        while True:
            try:
                opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
                with opener.open(f"{first}/index.yaml", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if not self.proc.alive() or time.monotonic() > deadline:
                raise ChartError(f"the local Helm repository did not start:\n{self.proc.tail(20)}")
            time.sleep(0.1)
        self.log(f"e2e: Helm repository {self.url} serves {len(self.charts)} pinned charts")
        return self

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop()

    def chart_path(self, name: str, version: str) -> Path:
        for chart, path in self.charts.items():
            if (chart.name, chart.version) == (name, version):
                return path
        raise ChartError(f"{name} {version} is not a pinned chart")

    def template(
        self,
        app: dict[str, Any],
        kube_version: str | None = None,
        api_versions: list[str] | None = None,
    ) -> list[dict[str, Any]]:
        """Render an Application's chart source the way Argo CD's repo server
        does (helm template with its release name, namespace and values;
        CRDs included), from the pinned package. Returns the documents."""
        spec = app["spec"]
        src = spec["source"]
        helm = src.get("helm") or {}
        release = helm.get("releaseName") or app["metadata"]["name"]
        namespace = spec["destination"].get("namespace") or "default"
        args = [
            str(self.helm),
            "template",
            str(self.chart_path(src["chart"], str(src["targetRevision"]))),
            "--name-template",
            release,
            "--namespace",
            namespace,
            "--include-crds",
        ]
        values = self.workdir / f"values-{app['metadata']['name']}.yaml"
        values.write_text(yaml.safe_dump(helm.get("valuesObject") or {}))
        args += ["--values", str(values)]
        if kube_version:
            args += ["--kube-version", kube_version]
        for v in api_versions or []:
            args += ["--api-versions", v]
        proc = subprocess.run(
            args,
            capture_output=True,
            text=True,
            env={**os.environ, "HELM_CACHE_HOME": str(self.workdir / "helm-cache")},
            check=False,
        )
        if proc.returncode != 0:
            raise ChartError(f"helm template {src['chart']} failed: {proc.stderr.strip()}")
        return [d for d in yaml.safe_load_all(proc.stdout) if isinstance(d, dict)]
