"""Synth benchmark: the real `python -O app.py` on generated configs of 10, 100 and 1000 services
(and on the shipped example), across every environment in clusters/.

Two runs per case, each the best of --repeat: a first synth into an empty folder (every file
written), and a re-synth into that dist/ after one image tag changed (what the pipeline does
every day: one file per environment written). Prints wall time, files, files written, time per
file and peak memory (the largest process: Python or the jsii Node runtime). Targets on a
2-core machine: the example in at most 1.5 s, 1000 services in at most 10 s, cost linear in the
number of services.

    make bench            # or: .venv/bin/python tests/bench/bench_synth.py [--sizes 10 100]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench.generate import ROOT, write_workspace

ENV = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}


def measure_once(config: Path, clusters: Path, out: Path) -> dict[str, float]:
    """Run synth in a child that reports its own children's peak RSS, so runs do not mix."""
    probe = (
        "import resource, subprocess, sys, time\n"
        "t = time.perf_counter()\n"
        "r = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "wall = time.perf_counter() - t\n"
        "if r.returncode: sys.exit(r.stderr)\n"
        "rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
        "print(wall, rss, r.stdout)\n"
    )
    command = [
        sys.executable,
        "-O",
        str(ROOT / "app.py"),
        "--config",
        str(config),
        "--clusters",
        str(clusters),
        "--output",
        str(out),
    ]
    result = subprocess.run(
        [sys.executable, "-c", probe, *command], env=ENV, capture_output=True, text=True, check=True
    )
    # "<wall> <rss> synthesized <files> files for ... (<written> written, <removed> removed)"
    wall, rss_kb, _, files, *_ = result.stdout.split()
    written = int(re.search(r"\((\d+) written", result.stdout).group(1))  # type: ignore[union-attr]
    return {
        "wall": float(wall),
        "rss_mb": int(rss_kb) / 1024,
        "files": int(files),
        "written": written,
    }


def retag(text: str, run: int) -> str:
    """The config with its first image tag changed: what CI does to roll an image."""
    return TAG.sub(rf'\g<1>"bench-{run}"', text, count=1)


TAG = re.compile(r"^(\s+tag:\s*).*$", re.MULTILINE)


def measure(label: str, config: Path, clusters: Path, repeat: int) -> list[dict[str, Any]]:
    """Best of `repeat` first synths (into an empty folder), then best of `repeat` re-synths
    (into the same dist/ after one image tag changed: the pipeline's everyday case)."""
    with tempfile.TemporaryDirectory() as tmp:
        first = [measure_once(config, clusters, Path(tmp) / f"dist-{i}") for i in range(repeat)]
        edited = Path(tmp) / "app-config.yaml"
        again = []
        for i in range(repeat):
            edited.write_text(retag(config.read_text(), i))
            again.append(measure_once(edited, clusters, Path(tmp) / "dist-0"))
    return [row(label, "first synth", first), row(label, "re-synth", again)]


def row(label: str, mode: str, runs: list[dict[str, float]]) -> dict[str, Any]:
    best = min(runs, key=lambda r: r["wall"])
    return {
        "case": label,
        "mode": mode,
        "wall_s": best["wall"],
        "files": best["files"],
        "written": best["written"],
        "ms_per_file": 1000 * best["wall"] / best["files"],
        "peak_rss_mb": max(r["rss_mb"] for r in runs),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="*", default=[10, 100, 1000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print JSON rows instead of a table")
    args = parser.parse_args()
    # Warm bytecode, as after `make install`: measure synth, not Python compiling sources.
    subprocess.run(
        [
            sys.executable,
            "-O",
            "-m",
            "compileall",
            "-q",
            "-j",
            "0",
            str(ROOT / "app.py"),
            str(ROOT / "constructs_lib"),
            str(ROOT / "imports"),
        ],
        check=True,
        capture_output=True,
    )
    load = os.getloadavg()[0]
    rows = measure("example", ROOT / "config" / "app-config.yaml", ROOT / "clusters", args.repeat)
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            workspace = Path(tmp) / str(size)
            config = write_workspace(workspace, size)
            rows += measure(f"{size} services", config, workspace / "clusters", args.repeat)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    envs = len(list((ROOT / "clusters").glob("*/cluster.yaml")))
    print(
        f"synth across {envs} environments, best of {args.repeat} runs, {os.cpu_count()} CPUs, "
        f"load average {load:.2f} before the first run"
    )
    print(
        f"{'case':<14} {'run':<12} {'wall s':>7} {'files':>6} {'written':>8} "
        f"{'ms/file':>8} {'peak RSS MB':>12}"
    )
    for r in rows:
        print(
            f"{r['case']:<14} {r['mode']:<12} {r['wall_s']:>7.2f} {r['files']:>6} "
            f"{r['written']:>8} {r['ms_per_file']:>8.2f} {r['peak_rss_mb']:>12.0f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
