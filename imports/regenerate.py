"""Regenerate the typed CRD bindings in imports/ with the project's pinned cdk8s CLI.

The CRDs with a `binding` in platform/crds.yaml are imported (cdk8s.yaml `imports:` lists the
same names and URLs; a test keeps the two equal). None has one today: every object is built as
a plain body (docs/decisions/0010-one-rule-for-object-bodies.md), so this generates nothing. By default each file is read from where the
pinned CRDs are found (CRDS_DIR=/path/to/mirror, ../shared/crds, or the cache `make crds`
fills) and checked against its SHA-256; IMPORT_FROM=upstream makes `cdk8s import` read the
pinned URLs instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from constructs_lib.render.crds import CrdsError, pinned_crds, read_crd  # noqa: E402


def main() -> int:
    offline = os.environ.get("IMPORT_FROM", "mirror") == "mirror"
    sources = []
    try:
        for pin in pinned_crds():
            if not pin.binding:
                continue
            if offline:
                read_crd(pin)  # present and with the pinned SHA-256
            sources.append((pin, pin.url))
    except CrdsError as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        return 1
    if not sources:
        print("no CRD in platform/crds.yaml has a binding: nothing to generate")
        return 0
    cli = ROOT / "node_modules" / ".bin" / "cdk8s"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "imports"
        for pin, url in sources:
            if offline:
                url = str(Path(tmp) / pin.file)
                Path(url).write_bytes(read_crd(pin))
            subprocess.run(
                [str(cli), "import", f"{pin.binding}:={url}", "--language", "python",
                 "--output", str(out)],
                cwd=tmp, check=True,
            )
        for child in out.iterdir():
            target = ROOT / "imports" / child.name
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(child, target)
            (target / "__init__.py").touch()  # `cdk8s import` writes none at this level
    return 0


if __name__ == "__main__":
    sys.exit(main())
