"""The YAML emitter writes exactly the data it is given, as PyYAML reads it back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from constructs_lib.rendering import (
    OutputError,
    RenderedEnv,
    dump,
    file_name,
    publish,
    render_files,
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


def test_publish_replaces_the_tree(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    (dist / "old-env").mkdir(parents=True)
    (dist / "old-env" / "stale.yaml").write_text("x")
    files = render_files(RenderedEnv("dev", {"app": [manifest("ConfigMap", "a")]}, []))
    publish(files, dist)
    assert sorted(str(p.relative_to(dist)) for p in dist.rglob("*")) == [
        "dev",
        "dev/app",
        "dev/app/configmap-a.yaml",
    ]
    assert list(tmp_path.iterdir()) == [dist], "no temporary folders left behind"


def test_two_objects_in_one_file_are_refused() -> None:
    clash = RenderedEnv(
        "dev", {"app": [manifest("ConfigMap", "b"), manifest("ConfigMap", "b")]}, []
    )
    with pytest.raises(OutputError, match=r"dist/dev/app/configmap-b\.yaml: two objects render"):
        render_files(clash)


def test_publish_failure_keeps_dist(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    publish({"dev/app/configmap-a.yaml": "a: 1\n"}, dist)
    with pytest.raises(OSError):  # 'dev/app' cannot be a file and a folder at once
        publish({"dev/app": "not a folder", "dev/app/x.yaml": "x"}, dist)
    assert (dist / "dev" / "app" / "configmap-a.yaml").read_text() == "a: 1\n"
    assert list(tmp_path.iterdir()) == [dist]


def test_output_error_survives_pickling() -> None:
    import pickle

    error = pickle.loads(pickle.dumps(OutputError(["a: b", "c: d"])))
    assert error.problems == ["a: b", "c: d"]
