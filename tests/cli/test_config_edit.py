"""The YAML the config editor writes reads back as exactly the value given, in YAML 1.1
(PyYAML, what synth reads) and YAML 1.2 (ruamel, what editors read)."""

from __future__ import annotations

import io

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from constructs_lib.cli.support.config_edit import flow, scalar, services_block
from constructs_lib.render.yaml_quoting import double_quoted

# Any text, including control characters, line separators and lone surrogates excluded
# (the payload rejects those before they get here).
TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)
TRICKY = st.sampled_from(
    ["yes", "No", "ON", "null", "~", "1.0", "0o17", "0x1f", "1e3", "+1", "-", "1:20", ".inf",
     "2024-01-01", "- a", "a: b", "#x", "&a", "*a", "!!str", "|", ">", "'", '"', "%x", "@x",
     "`x", "{a}", "[a]", "a, b", "\t", "\n", "\x85", "\u2028", "\ufeff", "\x00", " x", "x "]
)  # fmt: skip


def read_11(text: str) -> object:
    return yaml.safe_load(text)


def read_12(text: str) -> object:
    return YAML(typ="safe", pure=True).load(io.StringIO(text))


@settings(max_examples=300, deadline=None)
@given(value=st.one_of(TEXT, TRICKY))
def test_a_scalar_reads_back_as_the_same_string(value: str) -> None:
    for text in (f"k: {scalar(value)}\n", f"k: {flow([value])}\n", f"k: {double_quoted(value)}\n"):
        expected = {"k": [value]} if text.startswith("k: [") else {"k": value}
        assert read_11(text) == expected, text
        assert read_12(text) == expected, text


@settings(max_examples=100, deadline=None)
@given(
    env=st.dictionaries(st.from_regex(r"\A[A-Za-z_][A-Za-z0-9_]{0,6}\Z"), st.one_of(TEXT, TRICKY))
)
def test_a_services_block_reads_back_as_its_data(env: dict[str, str]) -> None:
    services = [{"name": "api", "image": {"repository": "a/b", "tag": "1.0"}, "env": env}]
    text = services_block(services)
    assert read_11(text) == {"services": services}
    assert read_12(text) == {"services": services}
    assert len(list(yaml.safe_load_all(text))) == 1
