"""pytest wiring for the node tier (docs/e2e.md, "A real node"): one control plane, Argo CD
and a real node for the whole module. Its binaries come from tests/e2e/node/build-node-tools.sh
(make e2e-node builds them); a missing one fails the run with that command, never a skip.

A module sets `HARNESS_ARGOCD = False` to get a node without the harness's Argo CD processes
(it installs Argo CD itself, as `gitops-base bootstrap` does), and `TIMINGS_PREFIX` to name
its startup timings.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.e2e.conftest import _STATE, _log
from tests.e2e.harness import Cluster, Timings, Tools, ToolsMissing
from tests.e2e.harness.node import Node, NodeTools, find_node_tools, node_cluster


@pytest.fixture(scope="session")
def node_tools() -> NodeTools:
    try:
        return find_node_tools()
    except ToolsMissing as exc:
        error = str(exc)
    pytest.fail(error, pytrace=False)


@pytest.fixture(scope="module")
def node(
    e2e_tools: Tools,
    node_tools: NodeTools,
    tmp_path_factory: pytest.TempPathFactory,
    e2e_timings: Timings,
    request: pytest.FixtureRequest,
) -> Iterator[Node]:
    """A control plane + Argo CD + a node that runs containers."""
    workdir = tmp_path_factory.mktemp("node-cluster")
    _log(f"e2e: node tools: {node_tools.describe()}")
    argocd = getattr(request.module, "HARNESS_ARGOCD", True)
    prefix = getattr(request.module, "TIMINGS_PREFIX", "node: ")
    cluster: Cluster = node_cluster(workdir, e2e_tools, _log, argocd=argocd)
    _STATE.clusters.append(cluster)
    n = Node(cluster, node_tools, log=_log)
    try:
        error = None
        try:
            cluster.start()
            n.start()
        except Exception as exc:
            error = f"e2e node cluster failed to start: {exc}"
        if error:
            pytest.fail(error, pytrace=False)
        for k, v in {**cluster.timings, **n.timings}.items():
            e2e_timings[f"{prefix}startup.{k}"] = round(v, 2)
        yield n
    finally:
        t0 = time.monotonic()
        n.stop()
        cluster.stop()
        e2e_timings[f"{prefix}teardown"] = round(time.monotonic() - t0, 2)
        _STATE.clusters.remove(cluster)
