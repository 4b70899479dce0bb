"""`gitops-base history [SERVICE] [--env ENV]`: which image each environment ran, since when.

Reads the promotion record (support/promotion_record.py): the `Gitops-Base-*` trailers of the
commits of the checkout's branch, oldest first, grouped per environment. Each entry says when
the commit was made, by whom, which commit, the image, and how it got there (set, or promoted
from an environment, checked or forced with the reason). Environments come in promotion
order (an environment images are promoted from comes before the ones they are promoted to).
Reference: docs/reference/cli.md.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

from constructs_lib.cli.support.promotion_record import SERVICE, ImageChange, parse_trailers

# One record per commit: fields split by \x1f, records by \x1e (neither occurs in git output).
LOG_FORMAT = "%H%x1f%an%x1f%ae%x1f%aI%x1f%s%x1f%(trailers:only,unfold)%x1e"


@dataclass(frozen=True)
class Entry:
    """One image change of the record."""

    commit: str
    author: str
    email: str
    date: str
    """Author date, ISO 8601 with the author's offset."""
    subject: str
    change: ImageChange

    @property
    def how(self) -> str:
        """`set`, `from dev, checked`, `from test, forced: <reason>`."""
        c = self.change
        if not c.from_env:
            return "set" + (f": {c.reason}" if c.reason else "")
        how = f"from {c.from_env}" + (f", {c.check}" if c.check else "")
        return how + (f": {c.reason}" if c.reason else "")


def parse_log(text: str) -> list[Entry]:
    """Entries from `git log --format=LOG_FORMAT` output, in the order git printed them."""
    entries: list[Entry] = []
    for record in text.split("\x1e"):
        fields = record.strip("\n").split("\x1f")
        if len(fields) != 6:
            continue
        commit, author, email, date, subject, block = fields
        pairs = []
        for line in block.splitlines():
            key, sep, value = line.partition(":")
            if sep:
                pairs.append((key, value))
        for change in parse_trailers(pairs):
            entries.append(Entry(commit, author, email, date, subject, change))
    return entries


def read_log(root: Path) -> list[Entry]:
    """Every recorded change of the branch checked out at `root`, oldest first."""
    try:
        proc = subprocess.run(
            [
                "git",
                "-C",
                str(root),
                "log",
                "--reverse",
                "--topo-order",
                f"--format={LOG_FORMAT}",
                f"--grep=^{SERVICE}: ",
                "--regexp-ignore-case",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError as exc:
        raise ValueError(f"cannot run git: {exc}") from None
    if proc.returncode != 0:
        first = (proc.stderr.strip().splitlines() or ["no message"])[0]
        if "does not have any commits" in proc.stderr:
            return []
        raise ValueError(f"git log in {root}: {first}")
    return parse_log(proc.stdout)


def env_order(entries: Sequence[Entry], known: Sequence[str]) -> list[str]:
    """Environments of `known` and of the entries, each source before what it promotes to
    (ties in the order of `known`, then by name); a cycle falls back to that order."""
    names = list(dict.fromkeys([*known, *sorted({e.change.to_env for e in entries})]))
    graph: TopologicalSorter[str] = TopologicalSorter()
    for name in names:
        graph.add(name)
    for e in entries:
        if e.change.from_env and e.change.from_env != e.change.to_env:
            graph.add(e.change.to_env, e.change.from_env)
    rank = {name: i for i, name in enumerate(names)}
    try:
        graph.prepare()
    except CycleError:
        return names
    ordered: list[str] = []
    while graph.is_active():
        ready = sorted(graph.get_ready(), key=lambda n: rank.get(n, len(rank)))
        ordered += ready
        graph.done(*ready)
    return [n for n in ordered if n in rank]


def timeline(
    entries: Iterable[Entry], known: Sequence[str], service: str | None, env: str | None
) -> dict[str, list[Entry]]:
    """Environment -> its entries, oldest first, filtered to one service and/or environment."""
    chosen = [
        e
        for e in entries
        if (service is None or e.change.service == service)
        and (env is None or e.change.to_env == env)
    ]
    order = env_order(chosen, known) if env is None else [env]
    return {name: [e for e in chosen if e.change.to_env == name] for name in order}


def render(lines_by_env: dict[str, list[Entry]]) -> list[str]:
    """The text view: one block per environment, one line per change."""
    out: list[str] = []
    for env, entries in lines_by_env.items():
        out.append(f"{env}:")
        if not entries:
            out.append("  (no recorded image change)")
        for e in entries:
            date = e.date.replace("T", " ")[:16]
            out.append(
                f"  {date}  {e.commit[:7]}  {e.change.service}  {e.change.image}  {e.how}  "
                f"({e.author})"
            )
    return out


def run(args: argparse.Namespace) -> int:
    from constructs_lib.cli.support.common import EXIT_OK, fail, project_root

    root = project_root()
    clusters = root / "clusters"
    known = sorted(p.parent.name for p in clusters.glob("*/cluster.yaml"))
    try:
        entries = read_log(root)
    except ValueError as exc:
        return fail([str(exc)], "history: nothing to show")
    by_env = timeline(entries, known, args.service, args.env)
    if args.output == "json":
        doc = [
            {**{k: v for k, v in asdict(e).items() if k != "change"}, **asdict(e.change)}
            for entries_ in by_env.values()
            for e in entries_
        ]
        print(json.dumps(doc, indent=2))
        return EXIT_OK
    for line in render(by_env):
        print(line)
    if not any(by_env.values()):
        print(
            "no commit carries a promotion record yet: commit with "
            "`set-image|promote|generate --commit`",
            file=sys.stderr,
        )
    return EXIT_OK
