"""CONTRIBUTING.md's "A new add-on", walked: in a copy of the repository, a throw-away add-on
is added by editing the files the guide lists, and only those; the real synth then renders its
Application and its project, and the tests that read the add-ons accept it unchanged."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import ROOT, cli_env
from tests.support.repo import repo_copy

GUIDE = ROOT / "CONTRIBUTING.md"
NAME = "demo-addon"
VERSION = "1.2.3"
REPO = "https://charts.example.com/demo"
ENVS = sorted(p.parent.name for p in (ROOT / "clusters").glob("*/cluster.yaml"))
# The tests whose lists of add-ons come from the catalogue: they must pass as they are.
CATALOGUE_TESTS = (
    "tests/model/test_addons.py",
    "tests/model/test_versions.py::test_renovate_manager_matches_every_pin",
    "tests/e2e/test_harness_charts.py::test_every_pinned_chart_version_has_a_committed_checksum",
    "tests/compose/test_guards.py::test_the_guards_cover_the_namespaces_the_base_labels",
    "tests/render/test_policy.py::test_each_finding_is_refused_with_its_message[defaultproject]",
)


def guide_files(text: str) -> list[str]:
    """The files the guide's "A new add-on" section lists, one numbered item each."""
    section = re.search(r"^### A new add-on\n(.*?)(?=^#)", text, re.MULTILINE | re.DOTALL)
    assert section, "CONTRIBUTING.md has no '### A new add-on' section"
    return re.findall(r"^\d+\. `([^`]+)`", section.group(1), re.MULTILINE)


def add_catalogue_entry(text: str) -> str:
    entry = f"""    Addon(
        name="{NAME}",
        namespace="{NAME}",
        pod_security="restricted",
        values=lambda settings: {{"replicaCount": 1}},
        kinds=AddonKinds(
            version="{VERSION}", cluster=(), namespaced=(SERVICE_ACCOUNT, DEPLOYMENT)
        ),
    ),
"""
    end = '\n)\n"""Every add-on by name'
    assert text.count(end) == 1, "addons.py: the end of ADDONS moved"
    return text.replace(end, "\n" + entry.rstrip("\n") + end)


def add_pin(text: str) -> str:
    pin = f"  {NAME}:\n    version: {VERSION}\n    repo: {REPO}\n"
    assert "\ncharts:\n" in text
    return text.replace("\ncharts:\n", "\ncharts:\n" + pin, 1)


def add_checksum(text: str) -> str:
    return text + f"{'0' * 63}1  {NAME}-{VERSION}.tgz\n"


def add_docs(text: str) -> str:
    return text.replace(
        "\n## Versions and upgrades\n",
        f"\n### {NAME} (a test's throw-away add-on)\n\nRepository `{REPO}`.\n"
        "\n## Versions and upgrades\n",
        1,
    )


# How the walk makes each change the guide lists, by file.
STEPS: dict[str, Callable[[str], str]] = {
    "constructs_lib/model/addons.py": add_catalogue_entry,
    "platform/versions.yaml": add_pin,
    "tests/e2e/charts.sha256": add_checksum,
    "docs/how-to/platform-addons.md": add_docs,
}


def changed(work: Path) -> set[str]:
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=work,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {line[3:] for line in status.splitlines()}


def run(work: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # The shared venv holds an editable install of this checkout: PYTHONPATH makes the copy's
    # package the one imported.
    env = {**cli_env(), "PYTHONPATH": str(work)}
    return subprocess.run(
        [sys.executable, *args], cwd=work, env=env, capture_output=True, text=True, check=False
    )


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text())
    return data


def test_the_guide_lists_the_files_the_walk_edits() -> None:
    assert guide_files(GUIDE.read_text()) == list(STEPS)


def test_the_guide_parser_reads_numbered_files_of_the_section_only() -> None:
    text = "### A new add-on\n\n1. `a.py`: x\n2. `b.yaml`: y\n   `not.this`\n## Next\n3. `c`\n"
    assert guide_files(text) == ["a.py", "b.yaml"]


@pytest.fixture(scope="module")
def walked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The copy, after the guide's edits and `make synth`'s synth."""
    work = repo_copy(tmp_path_factory.mktemp("extending") / "repo")
    for name in guide_files(GUIDE.read_text()):
        assert name in STEPS, f"CONTRIBUTING.md lists {name}; the walk has no step for it"
        path = work / name
        path.write_text(STEPS[name](path.read_text()))
    synth = run(work, "-O", "app.py")
    assert synth.returncode == 0, synth.stderr
    return work


def test_a_new_addon_takes_the_files_the_guide_names_and_its_rendered_output(
    walked: Path,
) -> None:
    files = changed(walked)
    assert {f for f in files if not f.startswith("dist/")} == set(STEPS)
    rendered = {f for f in files if f.startswith("dist/")}
    assert rendered == {
        path
        for env in ENVS
        for path in (
            f"dist/{env}/argocd/application-{NAME}.yaml",
            f"dist/{env}/argocd/appproject-addon-{NAME}.yaml",
            # The admission guard pins the Pod Security level of the namespace Argo CD creates.
            f"dist/{env}/root.yaml",
        )
    }


def test_its_application_installs_the_pinned_chart_in_its_own_project(walked: Path) -> None:
    for env in ENVS:
        argocd = walked / "dist" / env / "argocd"
        app = load(argocd / f"application-{NAME}.yaml")["spec"]
        assert app["source"] == {
            "repoURL": REPO,
            "chart": NAME,
            "targetRevision": VERSION,
            "helm": {"releaseName": NAME, "valuesObject": {"replicaCount": 1}},
        }
        assert app["project"] == f"addon-{NAME}"
        assert app["destination"]["namespace"] == NAME
        labels = app["syncPolicy"]["managedNamespaceMetadata"]["labels"]
        assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
        project = load(argocd / f"appproject-addon-{NAME}.yaml")["spec"]
        assert project["sourceRepos"] == [REPO]
        assert [d["namespace"] for d in project["destinations"]] == [NAME]
        assert project["clusterResourceWhitelist"] == [
            {"group": "", "kind": "Namespace", "name": NAME}
        ]
        assert project["namespaceResourceWhitelist"] == [
            {"group": "", "kind": "ServiceAccount"},
            {"group": "apps", "kind": "Deployment"},
        ]
        assert f'"{NAME}": "restricted"' in (walked / "dist" / env / "root.yaml").read_text()


def test_the_tests_that_list_the_addons_accept_it_unchanged(walked: Path) -> None:
    result = run(walked, "-m", "pytest", "-q", "-p", "no:cacheprovider", *CATALOGUE_TESTS)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "passed" in result.stdout and "failed" not in result.stdout


def test_the_config_refuses_an_app_named_or_namespaced_like_it(walked: Path) -> None:
    """The config's reserved names and namespaces derive from the catalogue: the new add-on is
    refused by `validate` without a line of the model changed."""
    config = walked / "config" / "app-config.yaml"
    text = config.read_text()
    try:
        for field, line in (("name", "  name: shop "), ("namespace", "  namespace: shop ")):
            config.write_text(text.replace(line, line.replace("shop", NAME), 1))
            done = run(walked, "-m", "constructs_lib.cli.main", "validate")
            assert done.returncode == 1, done.stdout
            assert f"config/app-config.yaml: app.{field}: '{NAME}' is reserved" in done.stdout
    finally:
        config.write_text(text)
