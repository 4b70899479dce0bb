"""JSON Schemas of the config and cluster files, committed so editors validate as you type.

python -m constructs_lib.tools.schema --write   # regenerate
python -m constructs_lib.tools.schema --check   # fail if the committed files drifted
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from constructs_lib.model.clusters import ClusterSettings
from constructs_lib.model.config import AppConfig
from constructs_lib.model.payload import Payload, PayloadV2
from constructs_lib.paths import ROOT

SCHEMAS: dict[Path, type[BaseModel]] = {
    ROOT / "config" / "app-config.schema.json": AppConfig,
    ROOT / "clusters" / "cluster.schema.json": ClusterSettings,
    ROOT / "config" / "deployed-apps.schema.json": Payload,
    ROOT / "config" / "deployed-apps-v2.schema.json": PayloadV2,
}
# Reference pages generated from the same schemas, so the docs cannot drift from the model.
REFERENCES: dict[Path, tuple[type[BaseModel], str, str]] = {
    ROOT / "docs" / "reference" / "config.md": (
        AppConfig,
        "`config/app-config.yaml` reference",
        "The app config: the single source of truth for every workload. Schema: "
        "`config/app-config.schema.json`.",
    ),
    ROOT / "docs" / "reference" / "clusters.md": (
        ClusterSettings,
        "`clusters/<env>/cluster.yaml` reference",
        "Settings of one environment. Schema: `clusters/cluster.schema.json`.",
    ),
}


def schema_text(model: type[BaseModel]) -> str:
    schema: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **model.model_json_schema(),
    }
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def reference_text(model: type[BaseModel], title: str, intro: str) -> str:
    """A Markdown page with one table per object type of the schema."""
    schema = model.model_json_schema()
    definitions: dict[str, Any] = schema.pop("$defs", {})
    lines = [
        f"# {title}",
        "",
        intro,
        "",
        "Generated from the config model by `make schema`; do not edit by hand.",
        "",
    ]
    sections = [(model.__name__, schema), *sorted(definitions.items())]
    for name, definition in sections:
        if "properties" not in definition:
            continue
        lines += [f"## {name}", ""]
        if definition.get("description"):
            lines += [" ".join(definition["description"].split()), ""]
        lines += [
            "| field | type | required | default | description |",
            "| --- | --- | --- | --- | --- |",
        ]
        required = set(definition.get("required", []))
        for field, spec in definition["properties"].items():
            default = f"`{json.dumps(spec['default'])}`" if "default" in spec else ""
            description = " ".join(spec.get("description", "").split()).replace("|", "\\|")
            lines.append(
                f"| `{field}` | {_type(spec)} | {'yes' if field in required else 'no'} "
                f"| {default} | {description} |"
            )
        lines.append("")
    return "\n".join(lines)


def _type(spec: dict[str, Any]) -> str:
    if "$ref" in spec:
        name = spec["$ref"].rsplit("/", 1)[-1]
        return f"[{name}](#{name.lower()})"
    if "anyOf" in spec:
        return " or ".join(_type(s) for s in spec["anyOf"])
    if "enum" in spec:
        return " or ".join(f"`{json.dumps(v)}`" for v in spec["enum"])
    if "const" in spec:
        return f"`{json.dumps(spec['const'])}`"
    kind = spec.get("type", "any")
    if kind == "array":
        return f"list of {_type(spec.get('items', {}))}"
    if kind == "object" and "additionalProperties" in spec:
        return f"map of {_type(spec['additionalProperties'])}"
    return str(kind)


def generated_files() -> dict[Path, str]:
    files = {path: schema_text(model) for path, model in SCHEMAS.items()}
    files.update({path: reference_text(*args) for path, args in REFERENCES.items()})
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="regenerate the schema files")
    mode.add_argument("--check", action="store_true", help="fail if a schema file is stale")
    args = parser.parse_args(argv)
    stale = []
    for path, text in generated_files().items():
        if args.write:
            path.write_text(text, encoding="utf-8")
        elif not path.is_file() or path.read_text(encoding="utf-8") != text:
            stale.append(path.relative_to(ROOT))
    for path in stale:
        print(f"error: {path} is stale; run 'make schema'", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
