"""Fast checks of the harness's GitRepo helper (no cluster needed)."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.e2e.harness import GitRepo

APPS = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: root}
spec:
  source:
    repoURL: https://git.example.invalid/acme/gitops.git
    path: dist/dev
    targetRevision: main
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: cert-manager}
spec:
  sources:
    - {repoURL: https://charts.example.invalid, chart: cert-manager, targetRevision: v1.21.1}
    - {repoURL: https://git.example.invalid/acme/gitops.git, ref: values}
---
apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata: {name: platform}
spec:
  sourceRepos: [https://git.example.invalid/acme/gitops.git, https://charts.example.invalid]
"""


def test_create_rewrites_git_sources_but_not_charts(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "apps").mkdir(parents=True)
    (src / "apps" / "root.yaml").write_text(APPS)
    (src / "README.md").write_text("not yaml\n")

    repo = GitRepo.create(tmp_path / "repo", source=src, rewrite_urls=True)

    assert repo.url == f"file://{(tmp_path / 'repo').resolve()}"
    root, cm, project = yaml.safe_load_all((repo.path / "apps" / "root.yaml").read_text())
    assert root["spec"]["source"]["repoURL"] == repo.url
    assert cm["spec"]["sources"][0]["repoURL"] == "https://charts.example.invalid"
    assert cm["spec"]["sources"][1]["repoURL"] == repo.url
    assert project["spec"]["sourceRepos"] == [repo.url, "https://charts.example.invalid"]
    assert repo.git("status", "--porcelain") == ""  # the rewrite is committed


def test_commit_all_tracks_writes_and_removals(tmp_path: Path) -> None:
    repo = GitRepo.create(tmp_path / "repo")
    first = repo.head()
    repo.write("a/cm.yaml", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}})
    second = repo.commit_all("add")
    assert second != first
    assert repo.commit_all("nothing changed") == second
    repo.remove("a/cm.yaml")
    third = repo.commit_all("remove")
    assert third != second
    assert repo.git("ls-files") == ""


def test_rewrite_chart_urls_touches_chart_sources_and_their_project_entries(
    tmp_path: Path,
) -> None:
    src = tmp_path / "src"
    (src / "apps").mkdir(parents=True)
    (src / "apps" / "root.yaml").write_text(APPS)
    repo = GitRepo.create(tmp_path / "repo", source=src)
    local = "http://127.0.0.1:8879/charts.example.invalid"

    changed = repo.rewrite_chart_urls({"https://charts.example.invalid": local})

    assert changed == [repo.path / "apps" / "root.yaml"]
    root, cm, project = yaml.safe_load_all((repo.path / "apps" / "root.yaml").read_text())
    assert root["spec"]["source"]["repoURL"] == "https://git.example.invalid/acme/gitops.git"
    assert cm["spec"]["sources"][0]["repoURL"] == local
    assert cm["spec"]["sources"][1]["repoURL"] == "https://git.example.invalid/acme/gitops.git"
    assert project["spec"]["sourceRepos"] == ["https://git.example.invalid/acme/gitops.git", local]
