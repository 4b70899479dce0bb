"""JSON Schemas of the config and cluster files, committed so editors validate as you type.

    python -m constructs_lib.schema --write   # regenerate
    python -m constructs_lib.schema --check   # fail if the committed files drifted
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from constructs_lib.clusters import ClusterSettings
from constructs_lib.config import AppConfig

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS: dict[Path, type[BaseModel]] = {
    ROOT / "config" / "app-config.schema.json": AppConfig,
    ROOT / "clusters" / "cluster.schema.json": ClusterSettings,
}


def schema_text(model: type[BaseModel]) -> str:
    schema: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **model.model_json_schema(),
    }
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="regenerate the schema files")
    mode.add_argument("--check", action="store_true", help="fail if a schema file is stale")
    args = parser.parse_args(argv)
    stale = []
    for path, model in SCHEMAS.items():
        text = schema_text(model)
        if args.write:
            path.write_text(text, encoding="utf-8")
        elif not path.is_file() or path.read_text(encoding="utf-8") != text:
            stale.append(path.relative_to(ROOT))
    for path in stale:
        print(f"error: {path} is stale; run 'make schema'", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
