"""pytest wiring for the node tier (docs/e2e.md, "A real node"): one control plane, Argo CD
and a real node for the whole module. Its binaries come from tests/e2e/node/build-node-tools.sh
(make e2e-node builds them); a missing one fails the run with that command, never a skip.
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
) -> Iterator[Node]:
    """A control plane + Argo CD + a node that runs containers."""
    workdir = tmp_path_factory.mktemp("node-cluster")
    _log(f"e2e: node tools: {node_tools.describe()}")
    cluster: Cluster = node_cluster(workdir, e2e_tools, _log)
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
            e2e_timings[f"node: startup.{k}"] = round(v, 2)
        yield n
    finally:
        t0 = time.monotonic()
        n.stop()
        cluster.stop()
        e2e_timings["node: teardown"] = round(time.monotonic() - t0, 2)
        _STATE.clusters.remove(cluster)
