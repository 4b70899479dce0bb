"""kube-score on dist/: every finding it reports is one docs/reference/linter-findings.md
accepts, with its reason, and every accepted one still occurs.

kube-score is built once with `go install` from the Go module proxy into a cache outside the
repository, keyed by version (like actionlint in test_workflows.py). The test fails, never
skips, when Go is missing.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from tests.support import go_tool

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "reference" / "linter-findings.md"
KUBE_SCORE_VERSION = "v1.20.0"
KUBE_SCORE_MODULE = "github.com/zegl/kube-score/cmd/kube-score"
CRITICAL, WARNING = 1, 5


def kube_score() -> Path:
    """The pinned kube-score, built with `go install` on first use."""
    return go_tool(KUBE_SCORE_MODULE, KUBE_SCORE_VERSION)


def findings() -> set[tuple[str, str]]:
    """(check id, kind) of every critical or warning finding on dist/."""
    files = sorted(str(p) for p in ROOT.glob("dist/*/*/*.yaml") if p.parent.name != "argocd")
    out = subprocess.run(
        [str(kube_score()), "score", "--output-format", "json", *files],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert out.stdout, out.stderr
    found = set()
    for obj in json.loads(out.stdout):
        for check in obj["checks"]:
            if check["grade"] in (CRITICAL, WARNING) and not check["skipped"]:
                found.add((check["check"]["id"], obj["type_meta"]["kind"]))
    return found


def accepted() -> set[tuple[str, str]]:
    rows = re.findall(r"^\| `([a-z0-9-]+)` \| ([A-Za-z, ]+) \| (.+) \|$", DOC.read_text(), re.M)
    assert rows, f"{DOC}: no findings table"
    out = set()
    for check, kinds, reason in rows:
        assert len(reason) > 40, f"{DOC}: {check}: say why it is accepted"
        out |= {(check, kind.strip()) for kind in kinds.split(",")}
    return out


def test_every_finding_is_documented_as_accepted_and_none_is_stale() -> None:
    found, documented = findings(), accepted()
    assert found - documented == set(), "new findings: fix them or document them in " + str(DOC)
    assert documented - found == set(), f"no longer reported: remove them from {DOC}"


def test_the_hardening_findings_stay_fixed() -> None:
    """What this base fixed must not come back."""
    fixed = {
        "cronjob-has-deadline",
        "poddisruptionbudget-has-policy",
        "pod-topology-spread-constraints",
        "pod-networkpolicy",
        "container-image-tag",
        "pod-probes",
        "container-security-context-readonlyrootfilesystem",
        "container-security-context-privileged",
        "container-resources",
        "deployment-replicas",
    }
    assert {check for check, _ in findings()} & fixed == set()
