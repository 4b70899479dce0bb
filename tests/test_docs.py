"""The docs are kept true by tests: links resolve, config snippets validate, commands run.

Markers are HTML comments on the line before a fenced block (GitHub does not render them):

    <!-- snippet: app-config -->          a whole config/app-config.yaml, validated as AppConfig
    <!-- snippet: app-config-partial -->  top-level keys merged over a minimal config
    <!-- snippet: services -->            one service or a list of them, put in a minimal config
    <!-- snippet: cluster -->             a whole clusters/<env>/cluster.yaml (ClusterSettings)
    <!-- snippet: cluster-partial -->     top-level keys merged over a minimal cluster.yaml
    <!-- test: run -->                    a shell block that runs offline: executed in a copy
    <!-- test: skip (needs a cluster) --> cannot run here: syntax and tools linted

Every shell block in docs/tutorials/ and docs/how-to/ needs a test marker, and a YAML block that
looks like a whole config needs a snippet marker, so nobody forgets one.
"""

from __future__ import annotations

import copy
import os
import re
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from constructs_lib.model.clusters import ClusterSettings
from constructs_lib.model.config import AppConfig
from constructs_lib.model.loading import ConfigError, parse_model
from tests.support.repo import repo_copy

ROOT = Path(__file__).resolve().parent.parent
SHELL_LANGUAGES = {"sh", "bash", "shell"}
YAML_LANGUAGES = {"yaml", "yml"}
# Folders whose shell blocks must carry a test marker.
MARKED_FOLDERS = ("docs/tutorials/", "docs/how-to/")
RUN_TIMEOUT_SECONDS = 600
# First words a command in a skipped block may start with: the tools the docs use, and shell
# builtins. A typo (`kubeclt`) or a tool nobody documented fails the lint.
KNOWN_COMMANDS = frozenset(
    """
    argocd cert-manager cmctl curl dig gitops-base git go helm jq k3s kubectl kubeseal make
    nslookup openssl pre-commit python3 ssh sudo systemctl journalctl npm uv watch yq
    awk base64 bash sh cat cd cp date diff echo export grep head less ls mkdir mv printf read rm sed
    set sleep sort tail tee test time true false unset wc xargs [ [[ { } ! if then else elif fi
    for in do done while until case esac
    """.split()
)
MINIMAL_CONFIG: dict[str, Any] = {
    "version": 2,
    "app": {"name": "shop", "namespace": "shop"},
    "domain": "example.com",
    "secrets": {
        "infisical": {
            "url": "https://app.infisical.com",
            "project_id": "project",
            "auth": {"identity_id": "identity"},
        }
    },
}

MINIMAL_CLUSTER: dict[str, Any] = {
    "version": 1,
    "name": "dev",
    "repo": {"url": "https://github.com/example-org/shop-gitops.git"},
    "domain": "dev.example.com",
    "acme_email": "platform@example.com",
    "infisical_env": "dev",
}

MARKER = re.compile(r"^<!--\s*(test|snippet):\s*(.*?)\s*-->$")
FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>```+|~~~+)\s*(?P<lang>[\w+-]*)")
LINK = re.compile(r"(?<!!)\[(?:[^\]\[]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
IMAGE = re.compile(r"!\[[^\]]*\]\(\s*([^)\s]+)")
INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
HEREDOC = re.compile(r"<<-?\s*(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\1")


@dataclass(frozen=True)
class Block:
    """One fenced code block of a Markdown file."""

    path: Path
    line: int  # 1-based line of the opening fence
    lang: str
    text: str
    marker: tuple[str, str] | None  # ("test", "run"), ("snippet", "services"), ...

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def markdown_files() -> list[Path]:
    """Every Markdown file the repository tracks (and new ones not yet added)."""
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.md"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    skip = ("node_modules/", "imports/", "tests/fixtures/")
    return sorted(
        ROOT / p for p in out.splitlines() if not p.startswith(skip) and (ROOT / p).is_file()
    )


def parse_blocks(path: Path) -> tuple[list[Block], list[str]]:
    """The fenced blocks of a file, and its lines outside them (for links and headings)."""
    blocks: list[Block] = []
    prose: list[str] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if opening is None:
            prose.append(lines[i])
            i += 1
            continue
        indent, fence = opening["indent"], opening["fence"]
        start = i
        body: list[str] = []
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(fence):
            body.append(lines[i][len(indent) :] if lines[i].startswith(indent) else lines[i])
            i += 1
        i += 1  # the closing fence
        prose.extend([""] * (min(i, len(lines)) - start))  # keeps prose line numbers true
        blocks.append(
            Block(
                path=path,
                line=start + 1,
                lang=opening["lang"].lower(),
                text="\n".join(body) + "\n",
                marker=_marker_before(lines, start),
            )
        )
    return blocks, prose


def _marker_before(lines: list[str], fence_index: int) -> tuple[str, str] | None:
    j = fence_index - 1
    while j >= 0 and not lines[j].strip():
        j -= 1
    if j < 0:
        return None
    match = MARKER.match(lines[j].strip())
    return (match[1], match[2]) if match else None


def all_blocks() -> list[Block]:
    return [block for path in markdown_files() for block in parse_blocks(path)[0]]


# --- links -----------------------------------------------------------------------------------


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: lowercase, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # links keep their text
    text = text.replace("`", "").strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    out: set[str] = set()
    for line in parse_blocks(path)[1]:
        match = HEADING.match(line)
        if match is None:
            continue
        anchor = github_anchor(match[2])
        count = seen.get(anchor, 0)
        seen[anchor] = count + 1
        out.add(anchor if count == 0 else f"{anchor}-{count}")
    return out


def relative_links(path: Path) -> list[tuple[int, str]]:
    """(line, target) of every link that is not a URL, outside code."""
    found: list[tuple[int, str]] = []
    for number, line in enumerate(parse_blocks(path)[1], start=1):
        text = INLINE_CODE.sub("", line)
        for match in [*LINK.finditer(text), *IMAGE.finditer(text)]:
            target = match[1]
            if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):
                continue  # https:, mailto:, ...
            found.append((number, target))
    return found


def broken_links(path: Path, root: Path = ROOT) -> list[str]:
    problems = []
    for number, target in relative_links(path):
        file_part, _, anchor = target.partition("#")
        if file_part.startswith("/"):
            resolved = root / file_part.lstrip("/")
        elif file_part:
            resolved = (path.parent / file_part).resolve()
        else:
            resolved = path
        where = f"{path.relative_to(root)}:{number}"
        if not resolved.exists():
            problems.append(f"{where}: {target}: no such file")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            problems.append(f"{where}: {target}: no heading with anchor '#{anchor}'")
    return problems


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(path: Path) -> None:
    assert broken_links(path) == []


def test_link_check_catches_a_broken_link_and_anchor(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "README.md").write_text("# Index\n", encoding="utf-8")
    page = tmp_path / "docs" / "probe.md"
    page.write_text(
        "# Probe `page`\n\n[ok](README.md) [self](#probe-page) [gone](nowhere.md) "
        "[bad](README.md#no-such-heading) [root](/docs/README.md#index) `[code](ignored.md)`\n"
        "```sh\n[fenced](ignored.md)\n```\n",
        encoding="utf-8",
    )
    assert broken_links(page, root=tmp_path) == [
        "docs/probe.md:3: nowhere.md: no such file",
        "docs/probe.md:3: README.md#no-such-heading: no heading with anchor '#no-such-heading'",
    ]


def test_github_anchor() -> None:
    assert github_anchor("`config/app-config.yaml` reference") == "configapp-configyaml-reference"
    assert github_anchor("3. Generate, validate, synthesize") == "3-generate-validate-synthesize"


# --- config snippets -------------------------------------------------------------------------


def snippet_blocks() -> list[Block]:
    return [b for b in all_blocks() if b.marker is not None and b.marker[0] == "snippet"]


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def snippet_document(kind: str, data: Any) -> tuple[type[BaseModel], Any]:
    """The model a snippet is checked against and the document it stands for."""
    if kind == "app-config":
        return AppConfig, data
    if kind == "app-config-partial":
        assert isinstance(data, dict), "a partial config is a mapping of top-level keys"
        return AppConfig, _merge(MINIMAL_CONFIG, data)
    if kind == "services":
        services = data if isinstance(data, list) else [data]
        return AppConfig, {**MINIMAL_CONFIG, "services": services}
    if kind == "cluster":
        return ClusterSettings, data
    if kind == "cluster-partial":
        assert isinstance(data, dict), "a partial cluster file is a mapping of top-level keys"
        return ClusterSettings, _merge(MINIMAL_CLUSTER, data)
    raise AssertionError(
        f"unknown snippet kind '{kind}' (app-config, app-config-partial, services, cluster, "
        "cluster-partial)"
    )


@pytest.mark.parametrize("block", snippet_blocks(), ids=lambda b: b.where)
def test_config_snippet_validates(block: Block) -> None:
    assert block.marker is not None
    assert block.lang in YAML_LANGUAGES, f"{block.where}: a snippet must be a yaml block"
    model, document = snippet_document(block.marker[1], yaml.safe_load(block.text))
    try:
        parse_model(model, document, block.where)
    except ConfigError as exc:
        pytest.fail(f"{block.where}: snippet does not validate:\n" + "\n".join(exc.problems))


def test_snippets_exist() -> None:
    """The docs show config; if the markers vanished, this suite would check nothing."""
    assert {b.marker[1] for b in snippet_blocks() if b.marker} >= {"app-config", "services"}


def test_whole_configs_in_docs_are_marked() -> None:
    unmarked = []
    for block in all_blocks():
        if block.lang not in YAML_LANGUAGES or block.marker is not None:
            continue
        try:
            data = yaml.safe_load(block.text)
        except yaml.YAMLError:
            continue
        if isinstance(data, dict) and "version" in data and ({"app", "services"} & data.keys()):
            unmarked.append(f"{block.where}: looks like a config; add <!-- snippet: ... -->")
    assert unmarked == []


# --- shell blocks ----------------------------------------------------------------------------


def shell_blocks() -> list[Block]:
    return [b for b in all_blocks() if b.lang in SHELL_LANGUAGES]


def needs_marker(block: Block) -> bool:
    return str(block.path.relative_to(ROOT)).startswith(MARKED_FOLDERS)


def command_words(script: str) -> list[str]:
    """The first word of every command in a script: lines, pipes, &&, ||, ;, subshells."""
    words: list[str] = []
    lines = script.splitlines()
    logical: list[str] = []
    pending = ""
    heredoc_end: str | None = None
    for raw in lines:
        if heredoc_end is not None:
            if raw.strip() == heredoc_end:
                heredoc_end = None
            continue
        line = pending + raw
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        pending = ""
        heredoc = HEREDOC.search(line)
        if heredoc:
            heredoc_end = heredoc[2]
        logical.append(line)
    for line in logical:
        line = re.sub(r"\d*>&\d*|&>>?", " > ", line)  # 2>&1, &>: redirections, not `&`
        lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|()")
        lexer.commenters = "#"
        lexer.whitespace_split = True
        at_start = True
        for token in lexer:
            if token and set(token) <= set(";&|()"):
                at_start = True
                continue
            if at_start:
                if re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", token):
                    continue  # VAR=value before the command
                words.append(token)
                at_start = token in {"sudo", "time", "then", "else", "do", "!", "if", "while"}
    return words


def lint_shell(block: Block) -> list[str]:
    problems = []
    syntax = subprocess.run(["bash", "-n"], input=block.text, capture_output=True, text=True)
    if syntax.returncode != 0:
        problems.append(f"{block.where}: bash -n: {syntax.stderr.strip()}")
    for word in command_words(block.text):
        if word not in KNOWN_COMMANDS and not word.startswith(("./", ".venv/bin/", "$")):
            problems.append(f"{block.where}: unknown command '{word}'")
    return problems


@pytest.mark.parametrize("block", shell_blocks(), ids=lambda b: b.where)
def test_shell_block_is_marked_and_lints(block: Block) -> None:
    if needs_marker(block):
        assert block.marker is not None and block.marker[0] == "test", (
            f"{block.where}: mark it <!-- test: run --> (runs offline) or "
            "<!-- test: skip (reason) --> (needs a cluster, a network, ...)"
        )
    if block.marker is not None:
        verdict = block.marker[1]
        assert verdict == "run" or re.fullmatch(r"skip \(.+\)", verdict), (
            f"{block.where}: marker must be 'test: run' or 'test: skip (reason)', got '{verdict}'"
        )
    assert lint_shell(block) == []


def test_shell_lint_catches_typos_and_syntax() -> None:
    block = Block(
        path=ROOT / "docs" / "x.md",
        line=1,
        lang="sh",
        text="kubeclt get pods\nFOO=1 kubectl get ns | grep argocd && helm list\nif then\n",
        marker=None,
    )
    problems = lint_shell(block)
    assert any("unknown command 'kubeclt'" in p for p in problems)
    assert any("bash -n" in p for p in problems)
    assert not any("'helm'" in p or "'grep'" in p for p in problems)


def test_command_words() -> None:
    script = (
        "sudo k3s kubectl get nodes  # comment\n"
        "kubectl -n argocd get secret x -o jsonpath='{.data.password}' | base64 -d; echo\n"
        'cat <<\'EOF\' > payload.json\n{"not": "a command"}\nEOF\n'
        "curl -sfL https://get.k3s.io | \\\n  sh -s - server\n"
    )
    expected = ["sudo", "k3s", "kubectl", "base64", "echo", "cat", "curl", "sh"]
    assert command_words(script) == expected


def runnable_docs() -> dict[Path, list[Block]]:
    docs: dict[Path, list[Block]] = {}
    for block in shell_blocks():
        if block.marker == ("test", "run"):
            docs.setdefault(block.path, []).append(block)
    return docs


@pytest.mark.parametrize("doc", sorted(runnable_docs()), ids=lambda p: str(p.relative_to(ROOT)))
def test_runnable_blocks_run(doc: Path, tmp_path: Path) -> None:
    """The blocks of one page run in order, in one copy of the repo, as a reader would."""
    work = repo_copy(tmp_path / "repo")
    before = source_status()
    env = {
        **os.environ,
        "PATH": f"{work / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}",
        # The shared venv holds an editable install of this checkout: without this, the
        # gitops-base script would import (and edit the files of) the original, not the copy.
        "PYTHONPATH": str(work),
        "GIT_AUTHOR_NAME": "Docs Test",
        "GIT_AUTHOR_EMAIL": "docs@example.com",
        "GIT_COMMITTER_NAME": "Docs Test",
        "GIT_COMMITTER_EMAIL": "docs@example.com",
    }
    for block in runnable_docs()[doc]:
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", block.text],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT_SECONDS,
        )
        assert result.returncode == 0, (
            f"{block.where}: exit {result.returncode}\n{block.text}\n"
            f"--- stdout\n{result.stdout[-3000:]}\n--- stderr\n{result.stderr[-3000:]}"
        )
        assert source_status() == before, f"{block.where}: changed files outside the copy"


def source_status() -> str:
    """`git status` of this checkout, to prove the doc blocks only touched their copy."""
    return subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
