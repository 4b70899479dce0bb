"""One Argo CD version for the whole project: `argocd.version` in platform/versions.yaml.

Every other place that names an Argo CD release must name that one: the CRD URLs of any typed
binding (cdk8s.yaml) and of the validator (constructs_lib/render/schema_check.py), the
end-to-end build (tests/e2e/tools/argocd/go.mod), the self-managed option, the workflows and
every document.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from constructs_lib.model.versions import ARGOCD_RAW, load_versions
from constructs_lib.render.crds import pinned_crds
from tests.e2e.harness.tools import module_version
from tests.support import ROOT, load_cluster, load_config, with_changes
from tests.support.platform import render_platform

PIN = load_versions().argocd.version
_V = r"(v\d+\.\d+\.\d+)"
# The ways a file names an Argo CD release.
MENTIONS = [
    re.compile(r"argoproj/argo-cd/" + _V + "/"),
    re.compile(r"github\.com/argoproj/argo-cd/v\d+(?: |@)" + _V),
    re.compile(r"argo-cd/releases/download/" + _V),
    re.compile(r"\bArgo CD\s+" + _V),
    re.compile(r"quay\.io/argoproj/argocd:" + _V),
    re.compile(r"ARGOCD_VERSION\s*[:=]\s*\"?" + _V),
]
# Generated or vendored text that quotes other projects' versions, and history.
NOT_SCANNED = re.compile(
    r"^(imports/|dist/|node_modules/|.*go\.sum$|package-lock\.json$|tests/test_argocd_version\.py$)"
)


def mentions(text: str) -> list[tuple[int, str]]:
    """(line number, version) of every Argo CD release named in `text`."""
    found = [
        (text.count("\n", 0, m.start()) + 1, m.group(1))
        for pattern in MENTIONS
        for m in pattern.finditer(text)
    ]
    return sorted(found)


def unreleased_part(changelog: str) -> str:
    """The changelog's Unreleased section: released sections are history and keep the
    versions they shipped with."""
    start = changelog.find("## Unreleased")
    end = changelog.find("\n## ", start + 1)
    return changelog[start:end] if start >= 0 else ""


def project_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return [ROOT / f for f in listed if not NOT_SCANNED.match(f) and (ROOT / f).is_file()]


def test_the_scan_finds_a_version_that_disagrees() -> None:
    text = "Install Argo CD v9.9.9 first.\nimage: quay.io/argoproj/argocd:v9.9.8\nArgo CD\n  v9.9.7"
    assert mentions(text) == [(1, "v9.9.9"), (2, "v9.9.8"), (3, "v9.9.7")]
    assert unreleased_part("# C\n## Unreleased\nArgo CD v1.0.0\n## 0.1.0\nArgo CD v0.0.1\n") == (
        "## Unreleased\nArgo CD v1.0.0"
    )


def test_every_file_names_the_pinned_argocd_release() -> None:
    wrong = []
    for path in project_files():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        if path.name == "CHANGELOG.md":
            text = unreleased_part(text)
        rel = path.relative_to(ROOT)
        wrong += [f"{rel}:{n}: {v}" for n, v in mentions(text) if v != PIN]
    assert wrong == [], f"Argo CD is pinned at {PIN} (platform/versions.yaml); these differ"


def test_the_argocd_crds_are_the_pinned_release() -> None:
    imports = yaml.safe_load((ROOT / "cdk8s.yaml").read_text())["imports"]
    urls = [entry.split(":=", 1)[1] for entry in imports] + [p.url for p in pinned_crds()]
    argocd = [u for u in urls if u.startswith(ARGOCD_RAW)]
    assert len(argocd) == 3, argocd  # Application, AppProject and ApplicationSet schemas
    assert all(u.startswith(f"{ARGOCD_RAW}/{PIN}/manifests/crds/") for u in argocd), argocd


def test_the_end_to_end_suite_builds_the_pinned_release() -> None:
    assert module_version("argocd", "github.com/argoproj/argo-cd/v3") == PIN


@pytest.mark.parametrize("env", ["dev", "test", "prod"])
def test_the_self_managed_option_syncs_the_pinned_release(env: str) -> None:
    cluster = with_changes(load_cluster(env), argocd__self_managed=True)
    app = render_platform(load_config(), cluster).find("Application", "argocd")
    assert app["spec"]["source"]["targetRevision"] == PIN
