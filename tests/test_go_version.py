"""One Go minimum: the highest `go` directive of the Go modules the project builds, stated the
same way wherever a page names it, and what CI installs is at least that."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
GO_MODULES = sorted(ROOT.glob("tests/**/go.mod"))
# Pages that tell a reader which Go to install.
PAGES = ("README.md", "CONTRIBUTING.md", "docs/e2e.md")
# "Go 1.26.6", "`go` 1.25+", "Go (≥ 1.26.3)": any version a page attaches to Go.
MENTION = re.compile(r"\b[Gg]o`?\s*\(?(?:≥\s*)?(\d+\.\d+(?:\.\d+)?)")
DIRECTIVE = re.compile(r"^go (\d+\.\d+(?:\.\d+)?)$", re.M)


def version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def minimum() -> str:
    versions = []
    for path in GO_MODULES:
        match = DIRECTIVE.search(path.read_text(encoding="utf-8"))
        assert match, f"{path.relative_to(ROOT)}: no go directive"
        versions.append(match[1])
    return max(versions, key=version)


def test_the_project_builds_go_modules() -> None:
    assert GO_MODULES, "no go.mod under tests/: the minimum would be unfounded"


def test_every_page_names_the_one_minimum() -> None:
    want = minimum()
    found: dict[str, list[str]] = {}
    for page in PAGES:
        text = (ROOT / page).read_text(encoding="utf-8")
        for match in MENTION.finditer(text):
            found.setdefault(match[1], []).append(page)
        assert f"Go {want} or later" in text, f"{page}: does not say 'Go {want} or later'"
    assert set(found) == {want}, f"pages name other Go versions than {want}: {found}"


def test_ci_installs_a_go_at_least_the_minimum() -> None:
    """`go-version: "1.26"` is the newest 1.26.x, so its minor must be the minimum's."""
    want = version(minimum())
    for workflow in sorted((ROOT / ".github" / "workflows").glob("*.yaml")):
        text = workflow.read_text(encoding="utf-8")
        for job in (yaml.safe_load(text).get("jobs") or {}).values():
            for step in job.get("steps") or []:
                wanted = (step.get("with") or {}).get("go-version")
                if wanted is None:
                    continue
                got = version(str(wanted))
                assert got[:2] == want[:2] and (len(got) == 2 or got >= want), (
                    f"{workflow.name}: go-version {wanted} is older than the minimum"
                )


def test_the_mention_pattern_finds_each_way_of_writing_it() -> None:
    text = "Go 1.26 and `go` 1.25+ and Go (≥ 1.26.3)"
    assert [m[1] for m in MENTION.finditer(text)] == ["1.26", "1.25", "1.26.3"]
