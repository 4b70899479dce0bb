"""The cdk8s app: composes the base's constructs from config/ and clusters/<env>/.

Run `make synth` (or `cdk8s synth`, or `gitops-base synth`) to render dist/<env>/ (the layout:
constructs_lib/compose/layout.py). What is built from what: constructs_lib/compose/build.py.
"""

from __future__ import annotations

# First: loads cdk8s (a Node.js process) in the background while Python imports the rest.
import constructs_lib.render.preload  # isort: skip  # noqa: F401

import sys

from constructs_lib.compose.build import build
from constructs_lib.render.overlays import with_overlays
from constructs_lib.render.synth import main

if __name__ == "__main__":
    sys.exit(main(with_overlays(build)))
