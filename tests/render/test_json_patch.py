from __future__ import annotations

from typing import Any

import pytest

from constructs_lib.render.json_patch import PatchError, apply_patch, parse_pointer

DOC: dict[str, Any] = {"a": {"b": [1, 2, 3], "c/d": {"e~f": 1}}}


@pytest.mark.parametrize(
    ("operations", "expected"),
    [
        ([{"op": "add", "path": "/a/x", "value": 1}], {"a": {**DOC["a"], "x": 1}}),
        ([{"op": "add", "path": "/a/b/1", "value": 9}], {"a": {**DOC["a"], "b": [1, 9, 2, 3]}}),
        ([{"op": "add", "path": "/a/b/-", "value": 4}], {"a": {**DOC["a"], "b": [1, 2, 3, 4]}}),
        ([{"op": "remove", "path": "/a/b/0"}], {"a": {**DOC["a"], "b": [2, 3]}}),
        ([{"op": "replace", "path": "/a/b/2", "value": 0}], {"a": {**DOC["a"], "b": [1, 2, 0]}}),
        (
            [{"op": "replace", "path": "/a/c~1d/e~0f", "value": 2}],
            {"a": {**DOC["a"], "c/d": {"e~f": 2}}},
        ),
        (
            [{"op": "move", "from": "/a/b", "path": "/z"}],
            {"a": {"c/d": {"e~f": 1}}, "z": [1, 2, 3]},
        ),
        ([{"op": "copy", "from": "/a/b/0", "path": "/y"}], {**DOC, "y": 1}),
        ([{"op": "test", "path": "/a/b", "value": [1, 2, 3]}], DOC),
    ],
)
def test_operations(operations: list[dict[str, Any]], expected: Any) -> None:
    assert apply_patch(DOC, operations) == expected


@pytest.mark.parametrize(
    ("operation", "message"),
    [
        (
            {"op": "replace", "path": "/a/nope", "value": 1},
            "replace /a/nope: 'nope' does not exist",
        ),
        ({"op": "remove", "path": "/a/b/3"}, "remove /a/b/3: index 3 is out of range (length 3)"),
        ({"op": "add", "path": "/a/b/01", "value": 1}, "add /a/b/01: '01' is not an array index"),
        ({"op": "test", "path": "/a/b/0", "value": 5}, "test /a/b/0: value is 1, not 5"),
        ({"op": "add", "path": "a", "value": 1}, "add a: 'a' is not a JSON pointer"),
        ({"op": "move", "from": "/a", "path": "/a/x"}, "move /a/x: cannot move '/a' into itself"),
        ({"op": "add", "path": "/a/x"}, "add /a/x: 'value' is required"),
    ],
)
def test_errors_name_the_operation_and_path(operation: dict[str, Any], message: str) -> None:
    with pytest.raises(PatchError) as exc:
        apply_patch(DOC, [operation])
    assert str(exc.value).startswith(message)


def test_a_failed_patch_leaves_the_document_alone() -> None:
    before = repr(DOC)
    with pytest.raises(PatchError):
        apply_patch(DOC, [{"op": "remove", "path": "/a/b"}, {"op": "remove", "path": "/nope"}])
    assert repr(DOC) == before


def test_pointer_unescapes() -> None:
    assert parse_pointer("/a~1b/c~0d") == ["a/b", "c~d"]
    assert parse_pointer("") == []


@pytest.mark.parametrize(
    ("operation", "message"),
    [
        ({"op": "copy", "from": "/a/zz", "path": "/y"}, "copy /y: 'zz' does not exist"),
        ({"op": "move", "path": "/y"}, "move /y: 'from' is required"),
        ({"op": "remove", "path": ""}, "remove '': cannot remove the whole document"),
        ({"op": "add", "path": "/a/b/0/x", "value": 1}, "add /a/b/0/x: 'x' is below a scalar"),
        ({"op": "add", "path": "/a/b/4", "value": 1}, "add /a/b/4: index 4 is out of range"),
        ({"op": "remove", "path": "/a/b/-"}, "remove /a/b/-: '-' is not an array index"),
        ({"op": "add", "path": "/a/q/r", "value": 1}, "add /a/q/r: 'q' does not exist"),
        ({"op": "frob", "path": "/a"}, "frob /a: unknown op 'frob' (add, remove, replace,"),
        ({"path": "/a"}, "None /a: unknown op 'None'"),
        ({"op": "add", "value": 1}, "add: 'path' is required"),
    ],
)
def test_more_errors_name_the_operation_and_path(operation: dict[str, Any], message: str) -> None:
    with pytest.raises(PatchError) as exc:
        apply_patch(DOC, [operation])
    assert str(exc.value).startswith(message)


def test_the_patched_document_shares_nothing_with_the_operations() -> None:
    value = {"k": [1]}
    patched = apply_patch(DOC, [{"op": "add", "path": "/v", "value": value}])
    value["k"].append(2)
    assert patched["v"] == {"k": [1]}
    assert apply_patch(DOC, [{"op": "replace", "path": "", "value": [1]}]) == [1]
