"""docs/reference/cli.md documents every subcommand and every flag the parser has: a section
"## `gitops-base <command>`" per subcommand, whose synopsis (its first `text` block) names
each option and argument. A command or flag added to the parser without its documentation
fails here."""

from __future__ import annotations

import argparse
import re

from constructs_lib.cli.bootstrap import MANAGER_CREDENTIAL, MANAGER_ROOT
from constructs_lib.cli.main import parser
from constructs_lib.cli.support.credentials import (
    REPOSITORY_LABEL,
    credential_secret,
    read_credential,
)
from tests.support import ROOT

REFERENCE = ROOT / "docs" / "reference" / "cli.md"


def subcommands() -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def words(command: argparse.ArgumentParser) -> list[str]:
    """What a synopsis must name: each option's longest spelling, each argument's metavar."""
    found = []
    for action in command._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        if action.option_strings:
            found.append(max(action.option_strings, key=len))
        else:
            found.append(str(action.metavar or action.dest).split("[")[0])
    return found


def sections(text: str) -> dict[str, str]:
    """The body of each "## `gitops-base <command>`" section."""
    parts = re.split(r"^## `gitops-base ([a-z-]+)`\s*$", text, flags=re.M)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts), 2)}


def synopsis(body: str) -> str:
    match = re.search(r"```text\n(.*?)```", body, re.S)
    return match[1] if match else ""


def missing(text: str) -> list[str]:
    documented = sections(text)
    problems = []
    for name, command in subcommands().items():
        if name not in documented:
            problems.append(f"no section `gitops-base {name}`")
            continue
        shown = synopsis(documented[name])
        if f"gitops-base {name}" not in shown:
            problems.append(f"{name}: no synopsis (a text block starting `gitops-base {name}`)")
        for word in words(command):
            if not re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", shown):
                problems.append(f"{name}: {word} is not in the synopsis")
    return problems


def test_every_command_and_flag_is_documented() -> None:
    assert missing(REFERENCE.read_text(encoding="utf-8")) == []


def test_a_missing_flag_or_command_is_found() -> None:
    text = REFERENCE.read_text(encoding="utf-8")
    without_flag = text.replace("[--check]", "", 1)
    assert any(p.endswith(": --check is not in the synopsis") for p in missing(without_flag))
    without_section = re.sub(r"^## `gitops-base status`", "## status", text, flags=re.M)
    assert "no section `gitops-base status`" in missing(without_section)


def test_the_top_level_flags_are_documented() -> None:
    text = REFERENCE.read_text(encoding="utf-8")
    for action in parser()._actions:
        for option in action.option_strings:
            if option not in ("-h", "--help"):
                assert f"gitops-base {option}" in text, option


def test_the_manual_bootstrap_applies_as_bootstrap_does() -> None:
    """The documented equivalent of bootstrap for an Argo CD that already runs writes the
    Secret and root.yaml as bootstrap would (its name, label and field managers), so a later
    bootstrap finds them its own."""
    body = sections(REFERENCE.read_text(encoding="utf-8"))["bootstrap"]
    manual = body.split("### Without bootstrap: an Argo CD that already runs", 1)
    assert len(manual) == 2, "no section on bootstrap without bootstrap"
    match = re.search(r"```sh\n(.*?)```", manual[1], re.S)
    assert match, "no commands in the section"
    commands = match[1]
    cred = read_credential({"GITOPS_BASE_REPO_TOKEN": "t"}, None)
    assert cred is not None
    name = credential_secret(cred, "https://git.example/r.git", "argocd", "ENV")["metadata"]["name"]
    assert f'"{name.replace("ENV", "$ENV")}"' in commands
    assert f"{REPOSITORY_LABEL}=repository" in commands
    assert f"--field-manager={MANAGER_CREDENTIAL} " in commands
    assert f'--field-manager={MANAGER_ROOT} -f "dist/$ENV/root.yaml"' in commands
    assert "--server-side" in commands
