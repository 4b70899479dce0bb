"""Everything the quickstart, the workflows and the Makefile install is pinned."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
K3S_ENV = ROOT / "platform" / "k3s.env"
QUICKSTART = ROOT / "docs" / "tutorials" / "quickstart.md"
WORKFLOW = ROOT / ".github" / "workflows" / "k3s-journeys.yaml"
EXACT_K3S = re.compile(r"^v1\.\d+\.\d+\+k3s\d+$")


def k3s_version() -> str:
    values = dict(
        line.split("=", 1)
        for line in K3S_ENV.read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert set(values) == {"K3S_VERSION"}
    return values["K3S_VERSION"]


def test_k3s_is_pinned_to_an_exact_release_in_one_place() -> None:
    version = k3s_version()
    assert EXACT_K3S.match(version), version
    quickstart = QUICKSTART.read_text()
    assert re.findall(r"^K3S_VERSION=(\S+)", quickstart, re.MULTILINE) == [version]
    workflow = WORKFLOW.read_text()
    assert ". platform/k3s.env" in workflow


def test_no_floating_k3s_installer_anywhere() -> None:
    """No channel, no installer from get.k3s.io (it always serves the newest script)."""
    files = [QUICKSTART, *sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))]
    files += sorted((ROOT / "docs").rglob("*.md")) + sorted((ROOT / "tests" / "e2e").rglob("*.sh"))
    for path in files:
        text = path.read_text()
        assert "get.k3s.io" not in text, path
        assert "INSTALL_K3S_CHANNEL" not in text, path
    for path in (QUICKSTART, WORKFLOW):
        text = path.read_text()
        assert 'INSTALL_K3S_VERSION="$K3S_VERSION"' in text, path
        assert "k3s-io/k3s/${K3S_VERSION/+/%2B}/install.sh" in text, path


def test_the_makefile_pins_pip() -> None:
    makefile = (ROOT / "Makefile").read_text()
    upgrades = re.findall(r"pip install [^\n]*--upgrade pip\S*", makefile)
    assert upgrades == ["pip install --quiet --upgrade pip==$(PIP_VERSION)"]
    assert re.search(r"^PIP_VERSION := \d+\.\d+(\.\d+)?$", makefile, re.MULTILINE)
