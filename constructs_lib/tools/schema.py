"""JSON Schemas of the config and cluster files, committed so editors validate as you type,
the reference pages generated from them, and the "what an overlay may change" table of
docs/how-to/overlays.md, generated from the trust rule set (constructs/trust_rules.py).

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

from constructs_lib.constructs.trust_rules import (
    ADDABLE,
    NEVER_REACHED,
    PATCHABLE,
    SAFE_ANNOTATIONS,
    SAFETY_SWITCHES,
)
from constructs_lib.model.addons import ADDONS
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


def allowlist_text() -> str:
    """The rule set as Markdown: what a patch, a manifest and the config may change."""
    lines = [
        "Generated from `constructs_lib/constructs/trust_rules.py` by `make schema`; do not edit "
        "by hand. Everything not listed needs an `allow.yaml` entry naming the object and the "
        "field.",
        "",
        "**Patches** (`patches.yaml`) may change these fields (JSON pointers, with everything "
        "below them; `*` is any index, `<annotation>` one of the safe annotations below) of the "
        "objects the base renders in `app/`, `platform/` and `argocd/`. No other kind, and no "
        "object of `root.yaml` (the root Application and project, the locked `default` project, "
        "argocd-cm, the admission guards), takes a patch: Applications, AppProjects, Namespaces "
        "and the guards are the base's.",
        "",
        "| kind | fields a patch may change |",
        "| --- | --- |",
    ]
    for kind, patterns in PATCHABLE.items():
        if kind == "Application":
            continue
        lines.append(f"| {kind} | {', '.join(f'`{p}`' for p in patterns)} |")
    lines += [
        "",
        "An add-on's **Application** takes only its Helm values below "
        "`/spec/source/helm/valuesObject`, these keys (and what is below them) per chart; never "
        "an image, a snippet, a namespace or a privilege:",
        "",
        "| add-on | Helm values an overlay may set |",
        "| --- | --- |",
    ]
    for name, addon in ADDONS.items():
        keys = ", ".join(f"`{k}`" for k in addon.overlay_values) or "none"
        lines.append(f"| {name} | {keys} |")
    lines += [
        "",
        "Safe annotations: " + ", ".join(f"`{a}`" for a in SAFE_ANNOTATIONS) + ".",
        "",
        "**Manifests** (`manifests/<folder>/`) may add these kinds (apiVersion and kind "
        "exactly), in the app namespace; each is held to the restricted Pod Security Standard, "
        "NetworkPolicies to named peers and closed ranges, Services to `ClusterIP` without "
        "`externalIPs`:",
        "",
        "| folder | kinds a manifest may add |",
        "| --- | --- |",
    ]
    for folder, kinds in ADDABLE.items():
        listed = ", ".join(f"`{v} {k}`" for v, k in kinds) or "none"
        lines.append(f"| `{folder}/` | {listed} |")
    lines += [
        "",
        "**The config** (`config/app-config.yaml` and `overlays/<env>/config.yaml`) may not "
        "switch a safety feature off without an exception naming the object it drops "
        "(field `''`):",
        "",
        "| key | value | drops |",
        "| --- | --- | --- |",
    ]
    for key, (off, kind, name) in SAFETY_SWITCHES.items():
        lines.append(
            f"| `{'.'.join(key)}` | `{str(off).lower()}` | {kind} `{name}` in the app namespace, "
            "with its admission guard |"
        )
    ranges = ", ".join(f"`{block}` ({what})" for block, what in NEVER_REACHED)
    lines += [
        "",
        "No egress rule, the config's or a manifest's, reaches the cluster's pod and service "
        f"ranges, its nodes' addresses, {ranges} unless an exception names the ipBlock's "
        "`cidr`: a range that holds them gets them in `except`, a range inside them is refused.",
    ]
    return "\n".join(lines) + "\n"


# Sections of hand-written pages generated from the code, between these markers.
SECTIONS: dict[Path, tuple[str, Any]] = {
    ROOT / "docs" / "how-to" / "overlays.md": ("allowlist", allowlist_text),
}


def section_text(path: Path, name: str, text: str) -> str:
    """`path`'s text with its generated section `name` replaced by `text`."""
    begin, end = f"<!-- generated: {name} -->\n", f"<!-- end generated: {name} -->"
    current = path.read_text(encoding="utf-8")
    head, found, rest = current.partition(begin)
    if not found or end not in rest:
        raise ValueError(f"{path}: no '{begin.strip()}' ... '{end}' section")
    return head + begin + text + end + rest.partition(end)[2]


def generated_files() -> dict[Path, str]:
    files = {path: schema_text(model) for path, model in SCHEMAS.items()}
    files.update({path: reference_text(*args) for path, args in REFERENCES.items()})
    files.update(
        {path: section_text(path, name, make()) for path, (name, make) in SECTIONS.items()}
    )
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
