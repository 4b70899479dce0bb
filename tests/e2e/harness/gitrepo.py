"""Local git repositories that Argo CD syncs from via file:// URLs."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml

_GIT_ENV = {
    "GIT_AUTHOR_NAME": "e2e",
    "GIT_AUTHOR_EMAIL": "e2e@example.invalid",
    "GIT_COMMITTER_NAME": "e2e",
    "GIT_COMMITTER_EMAIL": "e2e@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_TERMINAL_PROMPT": "0",
}

# Never copied into a test repository: VCS data, virtualenvs, caches, builds.
_IGNORE = shutil.ignore_patterns(
    ".git",
    ".venv",
    "node_modules",
    "__pycache__",
    "*.pyc",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    ".hypothesis",
    ".cdk8s.out",
    "*.egg-info",
    "build",
    ".tmp",
)

# Argo CD kinds whose repo URLs point at git: rewritten to the local copy.
_APP_KINDS = {"Application", "AppProject", "ApplicationSet"}


class GitRepo:
    """A git work tree in the harness's temp dir.

    >>> repo = GitRepo.create(tmp / "repo", source=fixture_dir, branch="main")
    >>> repo.write("apps/x.yaml", "...")
    >>> sha = repo.commit_all("add x")
    >>> repo.url  # file:///.../repo
    """

    def __init__(self, path: Path, branch: str = "main"):
        self.path = Path(path)
        self.branch = branch

    # ---- creation ------------------------------------------------------------
    @classmethod
    def create(
        cls,
        path: Path,
        source: Path | None = None,
        branch: str = "main",
        rewrite_urls: bool | dict[str, str] | Callable[[str], str | None] | None = None,
        message: str = "initial import",
    ) -> GitRepo:
        """Copy `source` (without its .git) to `path`, optionally rewrite the
        repo URLs of Argo CD objects in it, then `git init` and commit
        everything.

        rewrite_urls: True = point every git source (not Helm charts, not
        already file://) of every Application/ApplicationSet, and the same
        URLs in AppProject sourceRepos, at this new repository; or a mapping /
        function as for rewrite_repo_urls()."""
        path = Path(path)
        if path.exists():
            raise FileExistsError(path)
        if source is not None:
            shutil.copytree(source, path, ignore=_IGNORE, symlinks=True)
        else:
            path.mkdir(parents=True)
        repo = cls(path, branch)
        repo.git("init", "-q", "-b", branch)
        repo.git("config", "user.name", "e2e")
        repo.git("config", "user.email", "e2e@example.invalid")
        repo.git("config", "commit.gpgsign", "false")
        if rewrite_urls is True:
            repo.rewrite_repo_urls(
                {u: repo.url for u in repo.git_source_urls() if not u.startswith("file://")}
            )
        elif rewrite_urls:
            repo.rewrite_repo_urls(rewrite_urls)
        repo.commit_all(message, allow_empty=True)
        return repo

    # ---- plumbing ------------------------------------------------------------
    @property
    def url(self) -> str:
        return "file://" + str(self.path.resolve())

    def git(self, *args: str, check: bool = True) -> str:
        env = {**os.environ, **_GIT_ENV}
        proc = subprocess.run(
            ["git", *args],
            cwd=self.path,
            env=env,
            capture_output=True,
            text=True,
        )
        if check and proc.returncode != 0:
            raise RuntimeError(
                f"git {' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()}"
            )
        return proc.stdout.strip()

    def head(self) -> str:
        return self.git("rev-parse", "HEAD")

    # ---- edits ---------------------------------------------------------------
    def write(self, relpath: str, content: str | dict[str, Any] | list[Any]) -> Path:
        """Write a file; dicts/lists are dumped as (multi-document) YAML."""
        p = self.path / relpath
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, dict):
            content = yaml.safe_dump(content, sort_keys=False)
        elif isinstance(content, list):
            content = yaml.safe_dump_all(content, sort_keys=False)
        p.write_text(content)
        return p

    def read(self, relpath: str) -> str:
        return (self.path / relpath).read_text()

    def remove(self, relpath: str) -> None:
        p = self.path / relpath
        if p.is_dir():
            shutil.rmtree(p)
        else:
            p.unlink()

    def commit_all(self, message: str, allow_empty: bool = False) -> str:
        """Stage everything (including deletions) and commit; returns the sha."""
        self.git("add", "-A")
        args = ["commit", "-q", "-m", message]
        if allow_empty:
            args.append("--allow-empty")
        else:
            if not self.git("status", "--porcelain"):
                return self.head()
        self.git(*args)
        return self.head()

    # ---- repo URL rewriting ----------------------------------------------------
    def _argocd_docs(self) -> Iterator[tuple[Path, list[Any]]]:
        for p in sorted(self.path.rglob("*")):
            if (
                p.suffix not in (".yaml", ".yml")
                or ".git" in p.relative_to(self.path).parts
                or not p.is_file()
            ):
                continue
            text = p.read_text()
            if not any(f"kind: {k}" in text for k in _APP_KINDS):
                continue
            try:
                docs = list(yaml.safe_load_all(text))
            except yaml.YAMLError:
                continue
            yield p, docs

    def git_source_urls(self) -> set[str]:
        """repoURLs of the git (non-Helm-chart) sources of all Applications
        and ApplicationSet templates in the work tree."""
        urls: set[str] = set()

        def collect(u: str) -> None:
            urls.add(u)

        for _, docs in self._argocd_docs():
            for doc in docs:
                if isinstance(doc, dict) and doc.get("kind") in ("Application", "ApplicationSet"):
                    _rewrite_doc(doc, lambda u: collect(u))
        return urls

    def rewrite_repo_urls(
        self, mapping: dict[str, str] | Callable[[str], str | None]
    ) -> list[Path]:
        """Point Argo CD objects in this work tree at local repositories.

        `mapping` is either {old_url: new_url} or a function old_url -> new_url
        (None = leave alone). Applies to spec.source.repoURL and
        spec.sources[].repoURL of Applications (and ApplicationSet templates)
        whose source is git (no `chart`), and to AppProject
        spec.sourceRepos[]. Only YAML files containing such kinds are
        rewritten (re-dumped). Returns the files changed.
        """
        return self._rewrite(mapping, charts=False)

    def rewrite_chart_urls(
        self, mapping: dict[str, str] | Callable[[str], str | None]
    ) -> list[Path]:
        """As rewrite_repo_urls(), for the Helm-chart sources instead (those
        with `chart`): points them and the same URLs in AppProject
        sourceRepos at a local Helm repository (see helmrepo.HelmRepo)."""
        return self._rewrite(mapping, charts=True)

    def _rewrite(
        self, mapping: dict[str, str] | Callable[[str], str | None], charts: bool
    ) -> list[Path]:
        fn = mapping if callable(mapping) else (lambda u, m=mapping: m.get(u))
        changed: list[Path] = []
        for p, docs in self._argocd_docs():
            dirty = False
            for doc in docs:
                if isinstance(doc, dict) and doc.get("kind") in _APP_KINDS:
                    dirty |= _rewrite_doc(doc, fn, charts)
            if dirty:
                p.write_text(yaml.safe_dump_all(docs, sort_keys=False))
                changed.append(p)
        return changed


def _rewrite_source(src: Any, fn: Callable[[str], str | None], charts: bool = False) -> bool:
    if (
        not isinstance(src, dict)
        or ("chart" in src) != charts
        or not isinstance(src.get("repoURL"), str)
    ):
        return False
    new = fn(src["repoURL"])
    if new and new != src["repoURL"]:
        src["repoURL"] = new
        return True
    return False


def _rewrite_doc(
    doc: dict[str, Any], fn: Callable[[str], str | None], charts: bool = False
) -> bool:
    spec = doc.get("spec") or {}
    dirty = False
    kind = doc["kind"]
    if kind == "AppProject":
        repos = spec.get("sourceRepos")
        if isinstance(repos, list):
            for i, url in enumerate(repos):
                new = fn(url) if isinstance(url, str) else None
                if new and new != url:
                    repos[i] = new
                    dirty = True
        return dirty
    if kind == "ApplicationSet":
        spec = (spec.get("template") or {}).get("spec") or {}
    dirty |= _rewrite_source(spec.get("source"), fn, charts)
    for src in spec.get("sources") or []:
        dirty |= _rewrite_source(src, fn, charts)
    return dirty
