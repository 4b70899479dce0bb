"""KubeObject, and the one rule for object bodies (docs/decisions/0010): every object the
constructs render is a KubeObject with a plain body, checked against its schema during synth."""

from __future__ import annotations

import ast

import pytest

from constructs_lib.constructs.kube_object import (
    Gvk,
    KubeObject,
    ObjectMeta,
    sorted_keys,
    synthesize,
)
from tests.support import ROOT
from tests.support.constructs import synth

PACKAGE = ROOT / "constructs_lib"


def test_sorted_keys_sorts_every_mapping_and_keeps_list_order() -> None:
    value = {"b": [{"y": 1, "x": 2}, 3], "a": {"d": 1, "c": 2}}
    assert sorted_keys(value) == value
    assert list(sorted_keys(value)) == ["a", "b"]
    assert list(sorted_keys(value)["a"]) == ["c", "d"]
    assert list(sorted_keys(value)["b"][0]) == ["x", "y"]
    assert sorted_keys(value)["b"][1] == 3


def test_the_body_follows_the_identity_cdk8s_renders() -> None:
    def build(chart: object) -> None:
        KubeObject(
            chart,  # type: ignore[arg-type]
            "o",
            Gvk("v1", "ConfigMap"),
            ObjectMeta(name="demo", namespace="ns", labels={"a": "b"}),
            body={"data": {"z": "1", "a": "2"}},
        )

    [manifest] = synth(build)
    assert list(manifest) == ["apiVersion", "kind", "metadata", "data"]
    assert list(manifest["data"]) == ["z", "a"]  # the order the construct built


def test_two_objects_with_one_identity_are_refused() -> None:
    import cdk8s

    chart = cdk8s.Chart(cdk8s.App(), "c", disable_resource_name_hashes=True)
    for id in ("a", "b"):
        KubeObject(chart, id, Gvk("v1", "ConfigMap"), ObjectMeta(name="x", labels={}))
    with pytest.raises(ValueError, match="two ConfigMap objects named 'x' in namespace ''"):
        synthesize(chart)


def other_ways(source: str, where: str) -> list[str]:
    """Places in `source` that build an object another way than KubeObject: a generated
    binding (imports/), a cdk8s ApiObject or a JSON patch."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("imports"):
            found.append(f"{where}: imports {node.module}")
        if isinstance(node, ast.Attribute) and node.attr in ("ApiObject", "add_json_patch"):
            found.append(f"{where}:{node.lineno}: {node.attr}")
    return found


def test_no_construct_builds_an_object_another_way() -> None:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name != "kube_object.py":
            found += other_ways(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    assert found == []


def test_the_check_sees_a_binding_and_an_api_object() -> None:
    sample = (
        "from imports.x.io import y\n"
        "import cdk8s\n"
        "cdk8s.ApiObject(scope, 'id', api_version='v1', kind='ConfigMap')\n"
    )
    assert other_ways(sample, "s.py") == ["s.py: imports imports.x.io", "s.py:3: ApiObject"]
