"""The Workload base: each catalogue kind has its one construct."""

from __future__ import annotations

import pytest

from constructs_lib.constructs.workloads import Workload
from constructs_lib.model.workload_kinds import KINDS


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_has_a_construct_that_renders_it(kind: str) -> None:
    construct = Workload.for_kind(kind)
    assert construct.KIND is KINDS[kind]
    assert construct.__name__.endswith("Workload")


def test_a_kind_without_a_construct_is_named() -> None:
    with pytest.raises(ValueError, match="no workload construct renders kind 'DaemonSet'"):
        Workload.for_kind("DaemonSet")
