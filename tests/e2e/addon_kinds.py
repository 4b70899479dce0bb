"""Render each pinned add-on chart with real helm and compare it with its AppProject.

    HELM=/path/to/helm CHARTS_DIR=/path/to/charts .venv/bin/python -m tests.e2e.addon_kinds

CHARTS_DIR holds `<chart>-<version>.tgz` for the versions platform/versions.yaml pins (and a
SHA256SUMS file, which is checked); default ../shared/charts. HELM defaults to the helm the e2e
tools build (tests/e2e/build-tools.sh) or `helm` on PATH. Each chart is rendered as Argo CD's
repo-server renders it (`helm template --include-crds`, the Application's release name,
namespace and values, from a synth of every tool-enabled add-on), then:

- every rendered object must be allowed by the Application's AppProject (kind whitelisted,
  a cluster-scoped object by its name, namespace among the destinations): the chart can sync;
- every kind and name the project allows must be rendered (Namespace aside, which Argo CD
  creates): the project is the smallest that lets the chart sync;
- the kinds must equal the add-on's entry in constructs_lib/model/addons.py.

Each chart is rendered twice: with the base's values, and with every Helm value an overlay may
set (the entry's `overlay_values`) given a sample value, so what an overlay may turn on can
sync as well.

Prints one line per problem and exits 1, or prints the table and exits 0.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from constructs_lib.compose.build import build
from constructs_lib.model.addons import ADDONS
from constructs_lib.model.clusters import ClusterSettings
from constructs_lib.model.config import AppConfig
from constructs_lib.model.loading import load_model
from constructs_lib.model.versions import load_versions
from constructs_lib.paths import ROOT

CLUSTER_SCOPED = frozenset(
    {
        "Namespace",
        "CustomResourceDefinition",
        "ClusterRole",
        "ClusterRoleBinding",
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
        "IngressClass",
        "CSIDriver",
        "APIService",
        "PriorityClass",
        "StorageClass",
        "ClusterIssuer",
    }
)


def helm_binary() -> str:
    if os.environ.get("HELM"):
        return os.environ["HELM"]
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    built = sorted((cache / "gitops-base" / "e2e" / "bin").glob("helm-v*"))
    found = str(built[-1]) if built else shutil.which("helm")
    if not found:
        sys.exit("no helm: run tests/e2e/build-tools.sh, or set HELM=/path/to/helm")
    return found


def charts_dir() -> Path:
    path = Path(os.environ.get("CHARTS_DIR") or ROOT.parent / "shared" / "charts")
    sums = path / "SHA256SUMS"
    if not sums.is_file():
        sys.exit(f"{sums}: missing; set CHARTS_DIR to a folder of the pinned chart packages")
    for line in sums.read_text().splitlines():
        digest, name = line.split()
        actual = hashlib.sha256((path / name).read_bytes()).hexdigest()
        if actual != digest:
            sys.exit(f"{path / name}: checksum {actual} does not match SHA256SUMS")
    return path


def kind_of(obj: dict[str, Any]) -> tuple[str, str]:
    api = str(obj["apiVersion"])
    return (api.split("/")[0] if "/" in api else "", str(obj["kind"]))


def synthesized() -> list[dict[str, Any]]:
    """The dev environment's Argo CD objects, with every optional add-on turned on."""
    config = load_model(AppConfig, ROOT / "config" / "app-config.yaml")
    cluster = load_model(ClusterSettings, ROOT / "clusters" / "dev" / "cluster.yaml")
    cluster = cluster.model_copy(
        update={
            "sealed_secrets": True,
            "argocd": cluster.argocd.model_copy(update={"self_managed": True}),
        }
    )
    env = build(config, cluster)
    return [o for objs in env.folders.values() for o in objs]


SAMPLES: dict[str, Any] = {
    "replicaCount": 2,
    "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}},
    "priorityClassName": "system-cluster-critical",
    "nodeSelector": {"kubernetes.io/os": "linux"},
    "tolerations": [{"key": "example.com/dedicated", "operator": "Exists"}],
    "affinity": {"podAntiAffinity": {}},
    "topologySpreadConstraints": [
        {
            "maxSkew": 1,
            "topologyKey": "kubernetes.io/hostname",
            "whenUnsatisfiable": "DoNotSchedule",
        }
    ],
    "rotationPollInterval": "5m",
}


def overlay_values(chart: str) -> dict[str, Any]:
    """Every Helm value an overlay may set on `chart`, each with a sample value."""
    values: dict[str, Any] = {}
    for key in ADDONS[chart].overlay_values:
        *parents, leaf = key.split(".")
        node = values
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = SAMPLES[leaf]
    return values


def merged(base: Any, extra: Any) -> Any:
    if isinstance(base, dict) and isinstance(extra, dict):
        return {**base, **{k: merged(base.get(k), v) for k, v in extra.items()}}
    return extra


def render_chart(
    app: dict[str, Any], helm: str, charts: Path, extra: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """`helm template` of an add-on Application's chart, as Argo CD's repo-server runs it."""
    source = app["spec"]["source"]
    chart, version = source["chart"], source["targetRevision"]
    with tempfile.NamedTemporaryFile("w", suffix=".json") as values:
        json.dump(merged(source.get("helm", {}).get("valuesObject", {}), extra or {}), values)
        values.flush()
        out = subprocess.run(
            [
                helm,
                "template",
                source["helm"]["releaseName"],
                str(charts / f"{chart}-{version}.tgz"),
                "--namespace",
                app["spec"]["destination"]["namespace"],
                "--include-crds",
                "--kube-version",
                "1.34.0",
                "-f",
                values.name,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
    if out.returncode != 0:
        raise RuntimeError(f"{chart}: helm template failed: {out.stderr.strip()}")
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def check() -> tuple[list[str], dict[str, Any]]:
    delivery = synthesized()
    projects = {o["metadata"]["name"]: o["spec"] for o in delivery if o["kind"] == "AppProject"}
    pins = load_versions().charts
    helm, charts = helm_binary(), charts_dir()
    problems: list[str] = []
    table: dict[str, Any] = {}
    for app in (o for o in delivery if o["kind"] == "Application"):
        source = app["spec"]["source"]
        if "chart" not in source:
            continue
        chart, version = source["chart"], source["targetRevision"]
        namespace = app["spec"]["destination"]["namespace"]
        try:
            rendered = render_chart(app, helm, charts)
            rendered += render_chart(app, helm, charts, overlay_values(chart))
        except RuntimeError as exc:
            problems.append(str(exc))
            continue
        project = projects[app["spec"]["project"]]
        named = {
            (k["group"], k["kind"], k.get("name")) for k in project["clusterResourceWhitelist"]
        }
        cluster_allowed = {(group, kind) for group, kind, _ in named}
        cluster_names: set[tuple[str, str, str]] = set()
        namespaced_allowed = {
            (k["group"], k["kind"]) for k in project["namespaceResourceWhitelist"]
        }
        destinations = {d["namespace"] for d in project["destinations"]}
        cluster_kinds, namespaced_kinds, namespaces = set(), set(), set()
        for obj in rendered:
            kind = kind_of(obj)
            where = f"{chart} {version}: {obj['kind']} '{obj['metadata']['name']}'"
            if obj["kind"] in CLUSTER_SCOPED:
                cluster_kinds.add(kind)
                cluster_names.add((*kind, obj["metadata"]["name"]))
                if (*kind, obj["metadata"]["name"]) not in named:
                    problems.append(f"{where}: not permitted in project {app['spec']['project']}")
            else:
                ns = obj["metadata"].get("namespace") or namespace
                namespaced_kinds.add(kind)
                namespaces.add(ns)
                if kind not in namespaced_allowed or ns not in destinations:
                    problems.append(
                        f"{where} in '{ns}': not permitted in project {app['spec']['project']}"
                    )
        unused = (cluster_allowed - cluster_kinds - {("", "Namespace")}) | (
            namespaced_allowed - namespaced_kinds
        )
        for group, kind in sorted(unused):
            problems.append(f"{chart} {version}: project allows {group}/{kind}, never rendered")
        for _group, kind, name in sorted(named - cluster_names, key=str):
            if kind != "Namespace":
                problems.append(
                    f"{chart} {version}: project allows {kind} '{name}', never rendered"
                )
        listed = ADDONS[app["metadata"]["name"]].kinds
        if {(k.group, k.kind, k.name) for k in listed.cluster} != cluster_names or {
            (k.group, k.kind) for k in listed.namespaced
        } != namespaced_kinds:
            problems.append(f"{chart} {version}: addons.py lists other kinds than it renders")
        if version != pins[chart].version:
            problems.append(f"{chart}: rendered {version}, versions.yaml pins {pins[chart]}")
        table[chart] = {
            "version": version,
            "cluster": sorted("/".join(k) for k in cluster_kinds),
            "names": sorted("/".join(k) for k in cluster_names),
            "namespaced": sorted("/".join(k) for k in namespaced_kinds),
            "namespaces": sorted(namespaces),
            "objects": len(rendered),
        }
    return problems, table


def main() -> int:
    problems, table = check()
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    if problems:
        return 1
    print(yaml.safe_dump(table, sort_keys=True), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
