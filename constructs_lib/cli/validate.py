"""What `gitops-base validate` checks: the config, every environment's settings, and per
environment what the trust rule set (constructs/trust_rules.py) says without rendering: the
config's safety switches and egress ranges, `allow.yaml`, and each overlay manifest. Patches
change rendered objects, so the synth checks them."""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from constructs_lib.cli.support.common import EXIT_INVALID, EXIT_OK, one_line
from constructs_lib.model.clusters import (
    CLUSTER_FILE,
    ClusterSettings,
    acme_contact_problem,
    cluster_dirs,
)
from constructs_lib.model.config import AppConfig, unknown_envs
from constructs_lib.model.cross_checks import cluster_problems, config_domain_problems
from constructs_lib.model.loading import ConfigError, load_model, parse_model, read_yaml
from constructs_lib.model.migration import CONFIG_VERSION, is_v1
from constructs_lib.paths import display

_PATH = re.compile(r"^((?:line \d+)|(?:[^\s:]+)): (.*)$", re.S)


@dataclass(frozen=True)
class Problem:
    file: str
    path: str
    message: str

    def line(self) -> str:
        return (
            f"{self.file}: {self.path}: {self.message}"
            if self.path
            else f"{self.file}: {self.message}"
        )

    def as_json(self) -> dict[str, str]:
        return {"file": self.file, "path": self.path, "message": self.message}


@dataclass
class Report:
    checked: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """What is worth knowing but is not a problem."""
    warnings: list[Problem] = field(default_factory=list)
    """What renders but will not work once deployed (a contact Let's Encrypt refuses)."""

    def add(self, file: str, line: str) -> None:
        match = _PATH.match(line)
        path, message = match.groups() if match else ("", line)
        self.problems.append(Problem(file, path, message))

    def as_json(self) -> dict[str, Any]:
        return {
            "valid": not self.problems,
            "checked": self.checked,
            "problems": [p.as_json() for p in self.problems],
            "warnings": [w.as_json() for w in self.warnings],
            "notes": self.notes,
        }


def check_inputs(config: Path, clusters: Path, overlays: Path | None = None) -> Report:
    """Every problem of the config and of clusters/<env>/cluster.yaml, in file order, then
    of each environment's overlay against the trust rule set."""
    report = Report()
    report.checked.append(display(config))
    loaded: AppConfig | None = None
    try:
        data = read_yaml(config)
        loaded = parse_model(AppConfig, data, str(config))
    except ConfigError as exc:
        for line in exc.problems:
            report.add(display(config), line.removeprefix(f"{config}: "))
    else:
        if is_v1(data):
            report.notes.append(
                f"{display(config)}: version 1, read as version {CONFIG_VERSION}; "
                "`gitops-base migrate` rewrites it (docs/reference/versioning.md)"
            )
    if not clusters.is_dir():
        report.add(display(clusters), "no such folder")
        return report
    envs = cluster_dirs(clusters)
    settings: list[ClusterSettings] = []
    if not envs:
        report.add(display(clusters), f"no environments (expected <env>/{CLUSTER_FILE})")
    for env_dir in envs:
        path = env_dir / CLUSTER_FILE
        report.checked.append(display(path))
        try:
            cluster = load_model(ClusterSettings, path)
        except ConfigError as exc:
            for line in exc.problems:
                report.add(display(path), line.removeprefix(f"{path}: "))
            continue
        if cluster.name != env_dir.name:
            report.add(
                display(path),
                f"name: '{cluster.name}' must equal the folder name '{env_dir.name}'",
            )
        settings.append(cluster)
        contact = acme_contact_problem(cluster.acme_email)
        if contact:
            # bootstrap refuses it; the synth does not: the example ships with one.
            report.warnings.append(Problem(display(path), "acme_email", contact))
        if loaded is not None:
            for line in cluster_problems(loaded, cluster):
                report.add(display(path), line)
    if loaded is not None and envs:
        lines = config_domain_problems(loaded, settings, display(clusters))
        for line in lines + unknown_envs(loaded, [e.name for e in envs]):
            report.add(display(config), line)
    if loaded is not None:
        for cluster in settings:
            check_overlay(report, display(config), loaded, cluster, overlays)
    return report


def check_overlay(
    report: Report, config_file: str, config: AppConfig, cluster: ClusterSettings, root: Path | None
) -> None:
    """What the rule set refuses in one environment without rendering it (the policy's
    `static_problems`): the config's findings, allow.yaml and each overlay manifest."""
    from constructs_lib.render.overlays import OVERLAYS_DIR
    from constructs_lib.render.policy import CONFIG, static_problems

    for file, line in static_problems(config, cluster, root or OVERLAYS_DIR):
        report.add(config_file if file == CONFIG else file, line)


def run(args: argparse.Namespace) -> int:
    report = check_inputs(args.config, args.clusters, args.overlays)
    if args.format == "json":
        print(json.dumps(report.as_json(), indent=2))
        return EXIT_INVALID if report.problems else EXIT_OK
    for note in report.notes:
        print(one_line(note))
    sys.stdout.flush()
    for warning in report.warnings:
        print(one_line(f"warning: {warning.line()}"), file=sys.stderr, flush=True)
    for problem in report.problems:
        print(one_line(problem.line()))
    if report.problems:
        print(f"validate: {len(report.problems)} problem(s)", file=sys.stderr)
        return EXIT_INVALID
    print(f"valid: {', '.join(display(Path(f)) for f in report.checked)}")
    return EXIT_OK
