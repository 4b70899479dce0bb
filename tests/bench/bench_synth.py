"""Synth benchmark: the real `python -O app.py` on generated configs of 10, 100 and 1000 services
(and on the shipped example), across every environment in clusters/.

Prints wall time (best of --repeat runs), time per rendered object and peak memory (the largest
process: Python or the jsii Node runtime). Targets on a 2-core machine: the example in at most
1.5 s, 1000 services in at most 10 s, cost linear in the number of services.

    make bench            # or: .venv/bin/python tests/bench/bench_synth.py [--sizes 10 100]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

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
        "print(wall, rss, r.stdout.split()[1])\n"
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
    wall, rss_kb, objects = result.stdout.split()
    return {"wall": float(wall), "rss_mb": int(rss_kb) / 1024, "objects": int(objects)}


def measure(label: str, config: Path, clusters: Path, repeat: int) -> dict[str, float | str]:
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(repeat):
            runs.append(measure_once(config, clusters, Path(tmp) / f"dist-{i}"))
    best = min(runs, key=lambda r: r["wall"])
    return {
        "case": label,
        "wall_s": best["wall"],
        "objects": best["objects"],
        "ms_per_object": 1000 * best["wall"] / best["objects"],
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
    rows = [measure("example", ROOT / "config" / "app-config.yaml", ROOT / "clusters", args.repeat)]
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            workspace = Path(tmp) / str(size)
            config = write_workspace(workspace, size)
            rows.append(measure(f"{size} services", config, workspace / "clusters", args.repeat))
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    envs = len(list((ROOT / "clusters").glob("*/cluster.yaml")))
    print(f"synth across {envs} environments, best of {args.repeat} runs, {os.cpu_count()} CPUs")
    print(f"{'case':<14} {'wall s':>8} {'objects':>8} {'ms/object':>10} {'peak RSS MB':>12}")
    for row in rows:
        print(
            f"{row['case']:<14} {row['wall_s']:>8.2f} {row['objects']:>8} "
            f"{row['ms_per_object']:>10.2f} {row['peak_rss_mb']:>12.0f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
