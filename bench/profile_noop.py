"""Where a no-op `invoke up` spends its time: wall time per phase, imports and the hottest functions.

    .venv/bin/python bench/profile_noop.py [--runs N] [--top N]

One deploy first through the fake cluster (scripted node: pods Ready after a fixed short delay, so
the figures measure the tool), then:
- N plain no-op runs (`invoke up --json`): wall time (median) and the per-phase seconds from
  `run.finished`;
- one no-op under `python -X importtime`: the slowest top-level imports (cumulative, as CPython
  reports them);
- one no-op under cProfile: the functions with the most cumulative time, and the time spent in
  child processes (helm, minikube, kubectl) and in waiting on sockets.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import pstats
import re
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
from tests.e2e.harness import CANARIES, FAST, write_env  # noqa: E402

PYTHON = ROOT / ".venv" / "bin" / "python"
CLUSTER_PATHS = {"backend_dir": ROOT / "app" / "backend", "tools_bin": ROOT / ".tools" / "bin"}


def environment(cluster: FakeCluster) -> dict[str, str]:
    env = dict(cluster.env)
    for key in CANARIES:
        env.pop(key, None)
    return env


def invoke(env: dict[str, str], env_file: Path, *python_flags: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    argv = [str(PYTHON), *python_flags, "-m", "invoke", "up", "--json", "--env-file", str(env_file)]
    started = time.perf_counter()
    proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    return time.perf_counter() - started, proc


def phases(stdout: str) -> dict[str, float]:
    for line in reversed(stdout.splitlines()):
        record = json.loads(line)
        if record.get("event") == "run.finished":
            return {k: float(v) for k, v in record.get("phases", {}).items()}
    return {}


def slowest_imports(stderr: str, top: int) -> list[tuple[float, str]]:
    """`import time: self [us] | cumulative | imported package`, top-level entries (no indent) only."""
    rows = []
    for line in stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \| (\S.*)$", line)
        if match and not match.group(3).startswith(" "):
            rows.append((int(match.group(2)) / 1e6, match.group(3).strip()))
    return sorted(rows, reverse=True)[:top]


def profile_in_process(env: dict[str, str], env_file: Path, top: int) -> str:
    """A no-op in a child Python under cProfile; the stats as text."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "noop.prof"
        script = (
            f"import cProfile, sys; sys.argv = ['invoke', 'up', '--json', '--env-file', {str(env_file)!r}]\n"
            "from invoke.main import program\n"
            f"cProfile.run('program.run(exit=False)', {str(out)!r})\n"
        )
        subprocess.run([str(PYTHON), "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        text = io.StringIO()
        stats = pstats.Stats(str(out), stream=text)
        stats.sort_stats("cumulative").print_stats(top)
        return text.getvalue()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="plain no-op runs (median reported; default 5)")
    parser.add_argument("--top", type=int, default=25, help="rows of each listing (default 25)")
    args = parser.parse_args(argv)
    print(f"bench/profile_noop.py: load average {[round(x, 2) for x in os.getloadavg()]}, {os.cpu_count()} CPUs")
    with (
        tempfile.TemporaryDirectory(prefix="bench-profile-") as tmp,
        FakeCluster("healthy", timings=FAST, ingress_port="none", real_pods=False, **CLUSTER_PATHS) as cluster,
    ):
        env, env_file = environment(cluster), write_env(Path(tmp) / "deploy.env")
        wall, first = invoke(env, env_file)
        if first.returncode != 0:
            print(f"the first deploy failed ({first.returncode}):\n{first.stderr[-2000:]}")
            return 1
        walls, per_phase = [], []
        for _ in range(args.runs):
            wall, proc = invoke(env, env_file)
            if proc.returncode != 0:
                print(f"a no-op failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
                return 1
            walls.append(wall)
            per_phase.append(phases(proc.stdout))
        print(
            f"\nno-op wall time: median {statistics.median(walls):.2f}s over {args.runs} runs "
            f"(min {min(walls):.2f}s, max {max(walls):.2f}s)"
        )
        names = list(per_phase[0])
        print(
            "phases (median s): "
            + ", ".join(f"{n} {statistics.median(p.get(n, 0) for p in per_phase):.2f}" for n in names)
        )
        _, traced = invoke(env, env_file, "-X", "importtime")
        print("\nslowest top-level imports (cumulative s), one run under -X importtime:")
        for seconds, name in slowest_imports(traced.stderr, args.top):
            print(f"  {seconds:6.3f}  {name}")
        print("\ncProfile of one no-op (cumulative):")
        print(profile_in_process(env, env_file, args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
