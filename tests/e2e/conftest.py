"""pytest wiring for the e2e harness (see docs/e2e.md).

Fixtures:
  e2e_tools      the located binaries (fails the run, never skips, if missing)
  cluster        session-wide control plane + Argo CD (harness.Cluster)
  isolated_cluster  a fresh one per test module
  git_repo       factory: git_repo(source_dir=None, name=..., rewrite_urls=...) -> GitRepo
  helm_repo      session-wide local Helm repository serving the pinned charts
  base_repo      GitRepo copy of this repository with repo URLs pointing at itself
                 and chart URLs at helm_repo
  e2e_timings    dict of measured durations, printed at the end of the run
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Generator, Iterator
from pathlib import Path

import pytest
from pluggy import Result

from tests.e2e.harness import Cluster, GitRepo, Timings, Tools, ToolsMissing, find_tools
from tests.e2e.harness.helmrepo import ChartError, HelmRepo
from tests.e2e.harness.tools import REPO_ROOT

HERE = Path(__file__).resolve().parent

GitRepoFactory = Callable[..., GitRepo]


class _State:
    def __init__(self) -> None:
        self.clusters: list[Cluster] = []
        self.timings: Timings = {}


_STATE = _State()


def _log(msg: str) -> None:
    # Progress lines go straight to the terminal (not captured per test).
    stream = sys.__stderr__ or sys.stderr
    stream.write(msg + "\n")
    stream.flush()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.e2e)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "e2e: end-to-end test against a local control plane + Argo CD"
    )


@pytest.fixture(scope="session")
def e2e_timings() -> Timings:
    return _STATE.timings


@pytest.fixture(scope="session")
def e2e_tools() -> Tools:
    try:
        return find_tools()
    except ToolsMissing as exc:
        error = str(exc)
    pytest.fail(error, pytrace=False)


def _run_cluster(workdir: Path, tools: Tools, timings: Timings, prefix: str) -> Iterator[Cluster]:
    c = Cluster(workdir, tools, log=_log)
    _STATE.clusters.append(c)
    try:
        error = None
        try:
            c.start()
        except Exception as exc:
            error = f"e2e cluster failed to start: {exc}"
        if error:
            pytest.fail(error, pytrace=False)
        for k, v in c.timings.items():
            timings[f"{prefix}startup.{k}"] = round(v, 2)
        yield c
    finally:
        t0 = time.monotonic()
        c.stop()
        timings[f"{prefix}teardown"] = round(time.monotonic() - t0, 2)
        _STATE.clusters.remove(c)


@pytest.fixture(scope="session")
def cluster(
    e2e_tools: Tools, tmp_path_factory: pytest.TempPathFactory, e2e_timings: Timings
) -> Iterator[Cluster]:
    """One control plane + Argo CD shared by the whole session."""
    env_dir = os.environ.get("GITOPS_BASE_E2E_WORKDIR")
    workdir = Path(env_dir) if env_dir else tmp_path_factory.mktemp("cluster", numbered=True)
    yield from _run_cluster(workdir, e2e_tools, e2e_timings, "")


@pytest.fixture(scope="module")
def isolated_cluster(
    e2e_tools: Tools,
    tmp_path_factory: pytest.TempPathFactory,
    e2e_timings: Timings,
    request: pytest.FixtureRequest,
) -> Iterator[Cluster]:
    """A fresh control plane + Argo CD for one test module (about 20 s to
    start): for journeys that must not see, or leave behind, other tests'
    Applications."""
    workdir = tmp_path_factory.mktemp("cluster-" + request.module.__name__.rsplit(".", 1)[-1])
    yield from _run_cluster(workdir, e2e_tools, e2e_timings, f"{request.module.__name__}: ")


@pytest.fixture
def git_repo(tmp_path: Path) -> GitRepoFactory:
    """Factory for local git repositories Argo CD can read (file:// URLs)."""
    made: list[GitRepo] = []

    def make(
        source: Path | None = None,
        name: str = "repo",
        rewrite_urls: bool | dict[str, str] | Callable[[str], str | None] | None = None,
        branch: str = "main",
    ) -> GitRepo:
        repo = GitRepo.create(
            tmp_path / name, source=source, branch=branch, rewrite_urls=rewrite_urls
        )
        made.append(repo)
        return repo

    return make


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Result[pytest.TestReport], None]:
    outcome = yield
    rep = outcome.get_result()
    # The e2e suite skips nothing silently: a skip is turned into a failure
    # (set GITOPS_BASE_E2E_ALLOW_SKIP=1 to allow skips while developing).
    if (
        rep.skipped
        and not hasattr(rep, "wasxfail")
        and os.environ.get("GITOPS_BASE_E2E_ALLOW_SKIP") != "1"
    ):
        reason = rep.longrepr[2] if isinstance(rep.longrepr, tuple) else str(rep.longrepr)
        rep.outcome = "failed"
        rep.longrepr = (
            f"e2e tests must not be skipped (GITOPS_BASE_E2E_ALLOW_SKIP=1 allows it): {reason}"
        )
    if rep.failed and call.when in ("setup", "call"):
        for c in _STATE.clusters:
            rep.sections.append((f"e2e component logs ({c.workdir})", c.diagnostics(30)))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    timings = _STATE.timings
    if not timings:
        return
    terminalreporter.section("e2e timings (seconds)")
    for k, v in timings.items():
        terminalreporter.write_line(f"{k:<50} {v}")
    report = os.environ.get("GITOPS_BASE_E2E_REPORT")
    if report:
        Path(report).write_text(json.dumps(timings, indent=2) + "\n")


@pytest.fixture(scope="session")
def helm_repo(
    e2e_tools: Tools, tmp_path_factory: pytest.TempPathFactory, e2e_timings: Timings
) -> Iterator[HelmRepo]:
    """The pinned add-on charts (platform/versions.yaml), verified against
    tests/e2e/charts.sha256, served over HTTP on 127.0.0.1 inside the private
    network namespace. `.mapping` = {upstream repoURL: local URL}."""
    t0 = time.monotonic()
    repo = HelmRepo(tmp_path_factory.mktemp("helm-repo"), e2e_tools.helm, log=_log)
    error = None
    try:
        repo.start()
    except ChartError as exc:
        error = str(exc)
    if error:
        pytest.fail(error, pytrace=False)
    e2e_timings["helm repository: charts verified and served"] = round(time.monotonic() - t0, 2)
    yield repo
    repo.stop()


@pytest.fixture
def base_repo(git_repo: GitRepoFactory, helm_repo: HelmRepo) -> GitRepo:
    """A git copy of this repository (the GitOps base, committed dist/
    included, local edits too) in which every git repoURL of Argo CD objects
    points at the copy itself, and every Helm chart repoURL (and the same URLs
    in the AppProjects' sourceRepos) at the local Helm repository. Edit it
    with write()/remove() and commit_all(); Argo CD sees commits after
    refresh_app(..., hard=True)."""
    repo = git_repo(REPO_ROOT, name="base", rewrite_urls=True)
    if repo.rewrite_chart_urls(helm_repo.mapping):
        repo.commit_all("charts from the local Helm repository")
    return repo
