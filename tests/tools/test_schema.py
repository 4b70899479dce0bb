"""The committed JSON Schemas match the models, and the example files carry the modeline."""

from __future__ import annotations

import json

import jsonschema
import pytest
import yaml

from constructs_lib.tools.schema import SCHEMAS, generated_files, schema_text
from tests.support import ROOT


@pytest.mark.parametrize("path", list(SCHEMAS), ids=lambda p: p.name)
def test_committed_schema_matches_the_model(path: object) -> None:
    model = SCHEMAS[path]  # type: ignore[index]
    assert path.read_text() == schema_text(model), f"{path} is stale; run 'make schema'"  # type: ignore[attr-defined]


def test_generated_reference_pages_are_current() -> None:
    stale = [str(p) for p, text in generated_files().items() if p.read_text() != text]
    assert stale == [], "run 'make schema'"


def test_example_config_has_the_schema_modeline_and_validates() -> None:
    text = (ROOT / "config" / "app-config.yaml").read_text()
    assert text.splitlines()[0] == "# yaml-language-server: $schema=./app-config.schema.json"
    schema = json.loads((ROOT / "config" / "app-config.schema.json").read_text())
    jsonschema.validate(yaml.safe_load(text), schema)


def test_cluster_files_have_the_modeline_and_validate() -> None:
    schema = json.loads((ROOT / "clusters" / "cluster.schema.json").read_text())
    for path in sorted((ROOT / "clusters").glob("*/cluster.yaml")):
        text = path.read_text()
        assert text.splitlines()[0] == "# yaml-language-server: $schema=../cluster.schema.json"
        jsonschema.validate(yaml.safe_load(text), schema)


def test_json_schema_rejects_unknown_keys_like_the_model() -> None:
    schema = json.loads((ROOT / "config" / "app-config.schema.json").read_text())
    data = yaml.safe_load((ROOT / "config" / "app-config.yaml").read_text())
    data["services"][0]["replica"] = 2
    with pytest.raises(jsonschema.ValidationError, match="Additional properties are not allowed"):
        jsonschema.validate(data, schema)
