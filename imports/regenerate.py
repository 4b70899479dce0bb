"""Regenerate the typed CRD bindings in imports/ with the project's pinned cdk8s CLI.

With network access, `cdk8s import` reads the upstream URLs pinned in cdk8s.yaml. Offline,
point CRDS_DIR (default: ../shared/crds) at a mirror holding the same files; this script maps
each pinned URL to the mirror's file name and imports from there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
# Upstream file (last URL segment) -> file name in the local mirror.
MIRROR_NAMES = {
    "application-crd.yaml": "argoproj.io_applications.yaml",
    "appproject-crd.yaml": "argoproj.io_appprojects.yaml",
}


def main() -> int:
    config = yaml.safe_load((ROOT / "cdk8s.yaml").read_text())
    crds_dir = Path(os.environ.get("CRDS_DIR", ROOT.parent / "shared" / "crds"))
    offline = os.environ.get("IMPORT_FROM", "mirror") == "mirror"
    sources = []
    for entry in config["imports"]:
        name, url = entry.split(":=", 1)
        if offline:
            base = url.rsplit("/", 1)[-1]
            local = crds_dir / MIRROR_NAMES.get(base, base)
            if not local.is_file():
                print(f"error: {local} not found (mirror of {url}); set CRDS_DIR", file=sys.stderr)
                return 1
            url = str(local)
        sources.append(f"{name}:={url}")
    cli = ROOT / "node_modules" / ".bin" / "cdk8s"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "imports"
        for source in sources:
            subprocess.run(
                [str(cli), "import", source, "--language", "python", "--output", str(out)],
                cwd=tmp, check=True,
            )
        for child in out.iterdir():
            target = ROOT / "imports" / child.name
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(child, target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
