"""Soak: many no-op `invoke up` runs in a row against the fake cluster; failures and the distribution.

    .venv/bin/python bench/soak.py [--runs N] [--json PATH]

One deploy first (it must succeed), then N (default 200) consecutive `invoke up --json` runs with
nothing changed, each a fresh process as a user would start it. Every run must exit 0 and write
nothing; a failure is printed with its exit code and message as it happens. At the end: failures,
median, p95 and max wall time, and the machine's load average before and after. The fake cluster
runs its scripted node (pods Ready after a fixed short delay), so the figures measure the tool.
A rare failure needs many runs to show; its absence in a soak is evidence, not proof (the proof that
no module is loaded off the main thread is tests/robustness/test_import_race.py).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fakecluster import FakeCluster  # noqa: E402
from tests.e2e.harness import CANARIES, FAST, CliRun, write_env  # noqa: E402

INVOKE = ROOT / ".venv" / "bin" / "invoke"
NAMESPACE = "todo-app"
CLUSTER_PATHS = {"backend_dir": ROOT / "app" / "backend", "tools_bin": ROOT / ".tools" / "bin"}


def one_run(cluster: FakeCluster, env_file: Path) -> tuple[float, CliRun, int]:
    env = dict(cluster.env)
    for key in CANARIES:
        env.pop(key, None)
    cluster.clear_requests()
    argv = [str(INVOKE), "up", "--json", "--env-file", str(env_file)]
    started = time.perf_counter()
    proc = subprocess.run(
        argv, cwd=ROOT, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=600
    )
    wall = time.perf_counter() - started
    writes = len([r for r in cluster.requests if r.is_write and f"/namespaces/{NAMESPACE}/" in r.path])
    return wall, CliRun(argv, proc.returncode, proc.stdout, proc.stderr), writes


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-fraction * len(ordered) // 1))))
    return ordered[rank - 1]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200, help="no-op runs (default 200)")
    parser.add_argument("--json", type=Path, help="write the results here as JSON")
    args = parser.parse_args(argv)
    load_before = [round(x, 2) for x in os.getloadavg()]
    print(f"bench/soak.py: {args.runs} no-op runs; load average {load_before}", flush=True)
    walls: list[float] = []
    failures: list[dict[str, object]] = []
    with (
        tempfile.TemporaryDirectory(prefix="bench-soak-") as tmp,
        FakeCluster("healthy", timings=FAST, ingress_port="none", real_pods=False, **CLUSTER_PATHS) as cluster,
    ):
        env_file = write_env(Path(tmp) / "deploy.env")
        wall, first, _ = one_run(cluster, env_file)
        if first.returncode != 0:
            print(f"the first deploy failed ({first.returncode}):\n{first.explain()}", flush=True)
            return 1
        print(f"deployed in {wall:.1f}s; now {args.runs} no-op runs", flush=True)
        for i in range(1, args.runs + 1):
            wall, run, writes = one_run(cluster, env_file)
            walls.append(wall)
            if run.returncode != 0 or writes:
                finished = run.named("run.finished")
                error = (finished[-1].get("error", "") if finished else "") or run.stderr.strip()[-300:]
                failures.append({"run": i, "exit_code": run.returncode, "writes": writes, "error": error})
                print(f"  run {i}: FAILED exit {run.returncode}, {writes} writes: {error}", flush=True)
            if i % 20 == 0 or i == args.runs:
                print(f"  {i}/{args.runs}: median so far {statistics.median(walls):.2f}s", flush=True)
    results = {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "runs": args.runs,
        "failures": failures,
        "median_s": round(statistics.median(walls), 3),
        "p95_s": round(percentile(walls, 0.95), 3),
        "max_s": round(max(walls), 3),
        "min_s": round(min(walls), 3),
        "load_average_before": load_before,
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "nproc": os.cpu_count(),
    }
    print(
        f"\n{args.runs} no-op runs: {len(failures)} failed; median {results['median_s']:.2f}s, "
        f"p95 {results['p95_s']:.2f}s, max {results['max_s']:.2f}s (min {results['min_s']:.2f}s); "
        f"{results['nproc']} CPUs, load average {load_before} before, {results['load_average_after']} after"
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
