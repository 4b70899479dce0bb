"""Taking a release of the base into a customized private repository, with real Git, the way
docs/reference/versioning.md says: find the release commit by its changelog heading, merge it
with `merge=ours` on the private folders, render dist/ from the private config and overlays.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support import ROOT

VERSIONING = ROOT / "docs" / "reference" / "versioning.md"
# The documented commands, with {v} the release's version as a regular expression.
FIND_RELEASE = "git log upstream/main --format=%H -G'^## {v} ' -- CHANGELOG.md | tail -n 1"
GITATTRIBUTES = (
    "git config merge.ours.driver true\n"
    "printf '%s merge=ours\\n' 'config/app-config.yaml' 'clusters/**' 'overlays/**' "
    ">> .gitattributes\n"
)
MERGE = [
    'git merge --no-ff -m "Base {version}" "$release"',
    'git checkout "$release" -- dist/ 2>/dev/null || true',
]
GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
}


def sh(cwd: Path, script: str) -> str:
    proc = subprocess.run(
        ["bash", "-c", script],
        cwd=cwd,
        env={**os.environ, **GIT_ENV},
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, f"{script}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout.strip()


def synth(checkout: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-O", "app.py"], cwd=checkout, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr


def release(base: Path, version: str) -> str:
    """A release commit as versioning.md defines it: the version in pyproject.toml, and the
    changelog's Unreleased section renamed to the release."""
    pyproject = base / "pyproject.toml"
    text = re.sub(r'(?m)^version = ".*"$', f'version = "{version}"', pyproject.read_text())
    pyproject.write_text(text)
    changelog = base / "CHANGELOG.md"
    changelog.write_text(
        changelog.read_text().replace(
            "## Unreleased\n", f"## Unreleased\n\n## {version} - 2026-12-01\n", 1
        )
    )
    sh(base, f"git add -A && git commit -qm 'Release {version}'")
    return sh(base, "git rev-parse HEAD")


def test_the_docs_give_the_commands_this_test_runs() -> None:
    text = VERSIONING.read_text()
    assert FIND_RELEASE.format(v=r"0\.2\.0") in text
    assert GITATTRIBUTES in text
    for command in MERGE:
        assert command.format(version="0.2.0") in text


def test_a_customized_private_repo_takes_a_newer_release(tmp_path: Path) -> None:
    # The base, as published: this checkout's files, then a release.
    base = tmp_path / "base"
    listed = sh(ROOT, "git ls-files --cached --others --exclude-standard").splitlines()
    for rel in listed:
        source = ROOT / rel
        if source.is_file() and not rel.startswith(".github/"):
            (base / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, base / rel)
    sh(base, "git init -q -b main && git add -A && git commit -qm 'The base'")
    release(base, "9.1.0")

    # The private repo: a clone with the base as `upstream`, customized in its own folders.
    private = tmp_path / "private"
    sh(tmp_path, f"git clone -q {base} private && cd private && git remote rename origin upstream")
    sh(private, GITATTRIBUTES + "git add .gitattributes && git commit -qm 'merge=ours'")
    cluster = private / "clusters" / "dev" / "cluster.yaml"
    private_url = "https://git.example/acme/shop-gitops.git"
    cluster.write_text(re.sub(r"(?m)^  url: .*$", f"  url: {private_url}", cluster.read_text()))
    config = private / "config" / "app-config.yaml"
    config.write_text(config.read_text().replace("name: shop", "name: acme", 1))
    patches = private / "overlays" / "dev" / "patches.yaml"
    patches.write_text(
        "patches:\n"
        "  - target: {kind: Deployment, name: web}\n"
        "    patch:\n"
        "      - {op: add, path: /metadata/annotations, value: {owner: team-a}}\n"
    )
    synth(private)
    sh(private, "git add -A && git commit -qm 'Our app, our repo, our overlay'")

    # The base moves on: a chart bump and an edit of the example dev cluster, released as
    # 9.2.0, then more work that is not released yet.
    versions = base / "platform" / "versions.yaml"
    bumped = versions.read_text().replace("version: v1.21.1", "version: v1.21.2", 1)
    assert bumped != versions.read_text()
    versions.write_text(bumped)
    base_cluster = base / "clusters" / "dev" / "cluster.yaml"
    base_cluster.write_text(base_cluster.read_text().replace("revision: main", "revision: stable"))
    synth(base)
    sh(base, "git add -A && git commit -qm 'cert-manager v1.21.2'")
    wanted = release(base, "9.2.0")
    (base / "docs" / "unreleased.md").write_text("# Not released yet\n")
    sh(base, "git add -A && git commit -qm 'Work after 9.2.0'")

    # The documented upgrade (a merge that stops on conflicts in dist/ is finished by the
    # checkout of the release's dist/, the synth and the commit).
    find = FIND_RELEASE.format(v=r"9\.2\.0")
    script = f'git fetch -q upstream\nrelease=$({find})\necho "$release" > .release\n'
    script += "\n".join(c.format(version="9.2.0") for c in MERGE)
    merge = subprocess.run(
        ["bash", "-c", script],
        cwd=private,
        env={**os.environ, **GIT_ENV},
        capture_output=True,
        text=True,
        check=False,
    )
    assert (private / ".release").read_text().strip() == wanted, merge.stderr
    (private / ".release").unlink()
    synth(private)
    sh(private, "git add -A && git commit -qm 'Base 9.2.0: synth'")

    # The release came in, and only the release.
    sh(private, f"git merge-base --is-ancestor {wanted} HEAD")
    assert not (private / "docs" / "unreleased.md").exists()
    assert 'version = "9.2.0"' in (private / "pyproject.toml").read_text()
    assert "v1.21.2" in (private / "platform" / "versions.yaml").read_text()
    # Our folders won where both sides changed them.
    assert f"  url: {private_url}\n" in cluster.read_text()
    assert "revision: main" in cluster.read_text()
    assert "name: acme" in config.read_text()
    assert "{owner: team-a}" in patches.read_text()
    # dist/ is rendered from our config and overlays with the release's constructs and pins.
    dist = private / "dist" / "dev" / "argocd"
    assert "targetRevision: v1.21.2" in (dist / "application-cert-manager.yaml").read_text()
    assert private_url in (dist / "application-acme.yaml").read_text()
    web = (private / "dist" / "dev" / "app" / "deployment-web.yaml").read_text()
    assert "owner: team-a" in web
    assert sh(private, "git status --porcelain") == ""
    assert sh(private, "git grep -l '^<<<<<<<' || true") == ""


def test_the_newest_release_in_the_changelog_is_the_packages_version() -> None:
    import tomllib

    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    releases = re.findall(
        r"(?m)^## (\d+\.\d+\.\d+) - \d{4}-\d{2}-\d{2}$", (ROOT / "CHANGELOG.md").read_text()
    )
    assert releases, "CHANGELOG.md has no release section"
    assert releases[0] == version, (
        f"pyproject.toml says {version}; the newest release is {releases[0]}"
    )
