"""The YAML emitter writes exactly the data it is given, as PyYAML reads it back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from constructs_lib.compose.layout import RenderedEnv, file_name
from constructs_lib.render.publish import (
    OutputError,
    discard,
    dump,
    publish,
    render_files,
    stage,
)

keys = st.text(min_size=1, max_size=12)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
    | st.sampled_from(
        [
            "yes",
            "no",
            "on",
            "off",
            "~",
            "null",
            "1e3",
            "0x1F",
            "010",
            "1:20",
            "2024-01-01",
            "- a",
            "a: b",
            "#x",
            "a #b",
            "'q'",
            '"q"',
            "",
            " lead",
            "trail ",
            "multi\nline\n",
            "multi\nline",
            "keep\n\n",
            "\ttab\n",
            "é ü",
        ]
    )
)
documents = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=4),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(keys, documents, min_size=1, max_size=5))
def test_round_trips_through_pyyaml(data: dict[str, Any]) -> None:
    assert yaml.safe_load(dump(data)) == data


def test_block_style_and_literal_blocks() -> None:
    text = dump(
        {
            "kind": "X",
            "spec": {
                "items": [{"a": 1, "b": [True]}],
                "script": "one\ntwo\n",
                "empty": {},
                "none": [],
                "num": "1",
            },
        }
    )
    assert text == (
        "kind: X\n"
        "spec:\n"
        "  items:\n"
        "  - a: 1\n"
        "    b:\n"
        "    - true\n"
        "  script: |\n"
        "    one\n"
        "    two\n"
        "  empty: {}\n"
        "  none: []\n"
        "  num: '1'\n"
    )


def test_file_name_is_kind_and_name() -> None:
    assert file_name({"kind": "Deployment", "metadata": {"name": "web"}}) == "deployment-web.yaml"


def manifest(kind: str, name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": kind, "metadata": {"name": name}}


def listing(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))


def test_publish_into_a_new_folder(tmp_path: Path) -> None:
    dist = tmp_path / "out" / "dist"
    files = render_files(RenderedEnv("dev", {"app": [manifest("ConfigMap", "a")]}, []))
    publish(files, dist)
    assert listing(tmp_path) == [
        "out",
        "out/dist",
        "out/dist/dev",
        "out/dist/dev/app",
        "out/dist/dev/app/configmap-a.yaml",
    ]


def test_publish_rewrites_only_what_changed(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    publish({"dev/app/same.yaml": "a: 1\n", "dev/app/edit.yaml": "b: 1\n"}, dist)
    same, edit = (dist / "dev/app/same.yaml").stat(), (dist / "dev/app/edit.yaml").stat()
    (dist / "old-env").mkdir()
    (dist / "old-env" / "stale.yaml").write_text("x")
    (dist / "dev" / "app" / ".stray.yaml.123.tmp").write_text("left by a killed run")

    publish({"dev/app/same.yaml": "a: 1\n", "dev/app/edit.yaml": "b: 2\n"}, dist)

    assert listing(dist) == ["dev", "dev/app", "dev/app/edit.yaml", "dev/app/same.yaml"]
    assert (dist / "dev/app/edit.yaml").read_text() == "b: 2\n"
    after = (dist / "dev/app/same.yaml").stat()
    assert (after.st_ino, after.st_mtime_ns) == (same.st_ino, same.st_mtime_ns), "untouched"
    assert (dist / "dev/app/edit.yaml").stat().st_ino != edit.st_ino, "replaced by a rename"


def test_a_link_where_a_file_goes_is_replaced_not_followed(tmp_path: Path) -> None:
    dist, elsewhere = tmp_path / "dist", tmp_path / "elsewhere.yaml"
    elsewhere.write_text("a: 1\n")
    (dist / "dev").mkdir(parents=True)
    (dist / "dev" / "a.yaml").symlink_to(elsewhere)
    publish({"dev/a.yaml": "a: 1\n"}, dist)
    assert not (dist / "dev" / "a.yaml").is_symlink()
    assert (dist / "dev" / "a.yaml").read_text() == "a: 1\n"
    assert elsewhere.read_text() == "a: 1\n"


def test_staged_changes_are_invisible_until_commit(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    publish({"dev/a.yaml": "a: 1\n"}, dist)
    staged = stage({"dev/a.yaml": "a: 2\n", "dev/b.yaml": "b: 1\n"}, dist)
    assert staged.changed == 2
    assert (dist / "dev/a.yaml").read_text() == "a: 1\n"
    discard([staged])
    assert listing(dist) == ["dev", "dev/a.yaml"]
    assert (dist / "dev/a.yaml").read_text() == "a: 1\n"


def test_two_objects_in_one_file_are_refused() -> None:
    clash = RenderedEnv(
        "dev", {"app": [manifest("ConfigMap", "b"), manifest("ConfigMap", "b")]}, []
    )
    with pytest.raises(OutputError, match=r"dist/dev/app/configmap-b\.yaml: two objects render"):
        render_files(clash)


def test_publish_failure_keeps_dist(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    publish({"dev/app/configmap-a.yaml": "a: 1\n", "dev/app/z": "z\n"}, dist)
    (dist / "dev/app/z").unlink()
    (dist / "dev/app/z").mkdir()  # a folder where the next run wants a file
    before = {p: p.read_bytes() for p in dist.rglob("*") if p.is_file()}
    with pytest.raises(IsADirectoryError):  # after configmap-a.yaml was already staged
        publish(
            {"dev/app/configmap-a.yaml": "a: 2\n", "dev/a-new/b.yaml": "b", "dev/app/z": ""}, dist
        )
    assert {p: p.read_bytes() for p in dist.rglob("*") if p.is_file()} == before
    assert listing(dist) == ["dev", "dev/app", "dev/app/configmap-a.yaml", "dev/app/z"]


def test_a_file_in_the_way_of_a_folder_fails_cleanly(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    publish({"dev/app/configmap-a.yaml": "a: 1\n"}, dist)
    with pytest.raises(OSError):  # 'dev/app' cannot be a file and a folder at once
        publish({"dev/app": "not a folder", "dev/app/x.yaml": "x"}, dist)
    assert (dist / "dev" / "app" / "configmap-a.yaml").read_text() == "a: 1\n"
    assert listing(tmp_path) == [
        "dist",
        "dist/dev",
        "dist/dev/app",
        "dist/dev/app/configmap-a.yaml",
    ]


def test_output_error_survives_pickling() -> None:
    import pickle

    error = pickle.loads(pickle.dumps(OutputError(["a: b", "c: d"])))
    assert error.problems == ["a: b", "c: d"]
