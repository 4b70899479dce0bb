"""Time `gitops-base generate` and `validate` on payloads of 10, 100 and 1000 apps.

    .venv/bin/python tests/bench/bench_cli.py [--runs 3] [--sizes 10,100,1000]

Each figure is the median wall time of the installed console script (interpreter start,
imports, parsing, validation and the atomic write included), as a pipeline sees it, with its
CPU time (user + system; what wall time would be on an idle machine) and peak RSS. The load
average is printed too: on a shared machine, wall time grows with it. Each app is a typical
web app: image, one hostname, replicas, resources, two env vars, a health check and, for
every third app, an Infisical secret.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CLI = Path(sys.executable).parent / "gitops-base"
LIMIT_SECONDS = 1.0


def payload(count: int) -> dict[str, object]:
    apps = []
    for i in range(count):
        app: dict[str, object] = {
            "name": f"app-{i}",
            "image": f"ghcr.io/acme/app-{i}:1.{i % 50}.0",
            "fqdn": f"app-{i}.example.com",
            "replicas": 2,
            "resources": {
                "requests": {"cpu": "100m", "memory": "128Mi"},
                "limits": {"cpu": "1", "memory": "256Mi"},
            },
            "env": {"LOG_LEVEL": "info", "UPSTREAM": f"http://app-{(i + 1) % count}"},
            "health": {"path": "/healthz"},
        }
        if i % 3 == 0:
            app["secrets"] = [{"key": "DATABASE_URL", "path": f"/app-{i}", "env": "DATABASE_URL"}]
        apps.append(app)
    return {"deployed_apps": apps}


def timed(args: list[str]) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds and peak RSS (KiB) of one run; fails on a non-zero exit."""
    start = time.perf_counter()
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    stderr = process.stderr.read().decode() if process.stderr else ""
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({process.returncode}):\n{stderr}")
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sizes", default="10,100,1000")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for count in sizes:
            source = folder / f"payload-{count}.json"
            source.write_text(json.dumps(payload(count)))
            config = folder / f"app-config-{count}.yaml"
            for command in ("generate", "validate"):
                times, cpus, peaks = [], [], []
                for _ in range(args.runs):
                    if command == "generate":
                        shutil.copyfile(ROOT / "config" / "app-config.yaml", config)
                        argv = [
                            str(CLI),
                            "generate",
                            "--input",
                            str(source),
                            "--output",
                            str(config),
                        ]
                    else:
                        argv = [
                            str(CLI),
                            "validate",
                            str(config),
                            "--clusters",
                            str(ROOT / "clusters"),
                        ]
                    elapsed, cpu, peak = timed(argv)
                    times.append(elapsed)
                    cpus.append(cpu)
                    peaks.append(peak)
                rows.append(
                    (command, count, statistics.median(times), statistics.median(cpus), max(peaks))
                )
    load = os.getloadavg()[0]
    print(f"load average {load:.2f} on {os.cpu_count()} CPUs; median of {args.runs} runs")
    print(f"{'command':<10} {'apps':>5} {'wall s':>8} {'cpu s':>8} {'ms/app':>8} {'peak MiB':>9}")
    slow = []
    for command, count, seconds, cpu, peak in rows:
        per_app = seconds * 1000 / count
        mib = peak / 1024
        print(f"{command:<10} {count:>5} {seconds:>8.3f} {cpu:>8.3f} {per_app:>8.2f} {mib:>9.1f}")
        if count >= 1000 and seconds >= LIMIT_SECONDS:
            slow.append(f"{command} took {seconds:.3f}s at {count} apps (limit {LIMIT_SECONDS}s)")
    for line in slow:
        print(f"over budget: {line}", file=sys.stderr)
    return 1 if slow else 0


if __name__ == "__main__":
    sys.exit(main())
