"""Time the offline part of the quickstart: its `<!-- test: run -->` blocks (steps 4-6: point
`dev` at a repository, generate the config, validate, synth, commit), run in order in a fresh
copy of this repository, as `tests/test_docs.py` runs them.

    .venv/bin/python tests/bench/bench_quickstart.py

Prints each block's wall time, the total and the load average.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.repo import repo_copy  # noqa: E402
from tests.test_docs import runnable_docs  # noqa: E402

QUICKSTART = ROOT / "docs" / "tutorials" / "quickstart.md"


def main() -> int:
    blocks = runnable_docs()[QUICKSTART]
    with tempfile.TemporaryDirectory() as tmp:
        work = repo_copy(Path(tmp) / "repo")
        env = {
            **os.environ,
            "PATH": f"{work / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}",
            "PYTHONPATH": str(work),
            "GIT_AUTHOR_NAME": "Quickstart",
            "GIT_AUTHOR_EMAIL": "quickstart@example.com",
            "GIT_COMMITTER_NAME": "Quickstart",
            "GIT_COMMITTER_EMAIL": "quickstart@example.com",
        }
        start = time.monotonic()
        for block in blocks:
            t0 = time.monotonic()
            result = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", block.text],
                cwd=work,
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            if result.returncode != 0:
                print(f"{block.where}: failed\n{result.stderr}", file=sys.stderr)
                return 1
            print(f"{block.where}: {time.monotonic() - t0:.2f} s")
        total = time.monotonic() - start
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"offline part of the quickstart: {total:.2f} s ({len(blocks)} blocks; load {load})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
