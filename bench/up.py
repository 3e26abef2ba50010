"""`invoke up` benchmark against the fake cluster, with the real Docker engine and the real helm.

    .venv/bin/python bench/up.py [--runs N] [--cold-runs N] [--no-cold] [--minikube-latency] [--json PATH]

Scenarios (each figure the median of N runs; every comparison is a ratio measured in this run):
- cold: no project images and no build cache for them (the content tags and the baseline's tags are
  removed, then every untagged image built on the seeded bases python:3.11-slim / node:22-slim is
  removed: that is the classic builder's layer cache of these Dockerfiles; the bases stay), a fresh
  cluster, no release. The per-phase breakdown comes from `run.finished`.
- no-op: `invoke up` again with nothing changed. Counted from the events, the fake API server's
  recorded write requests and the pods' uids: builds, loads, Secret writes, helm upgrades, pod
  restarts must all be zero.
- one change: one backend source file gets a new comment (in a private copy of the repository):
  only the backend may be rebuilt, loaded and rolled.
- readiness detection: from the moment the fake cluster writes a Deployment status that completes
  the rollout (a listener on the fake's object store stamps it) to the end of the `rollout` phase
  (the event's `ts`); sampled on every run that rolls something out.
- start-up: wall time of `invoke --list` and `invoke up --help`.
- baseline: bench/baseline.sh, what hand-written deploy scripts do (sequential `docker build`,
  always `minikube image load`, `kubectl create secret ... | apply`, always `helm upgrade --install
  --wait`, `kubectl rollout status`), against the same fake cluster in its own namespace.

The fake cluster runs its scripted node (pods Ready a fixed short time after they are created), so the
figures measure the tool, not container start-up. With --minikube-latency the fake `minikube image ls`
and `minikube image load` take what they take on a real minikube (fakecluster.minikube.MEASURED_LATENCY),
for ours and the baseline alike; the table says whether the figures include it.

Everything runs in a private copy of the repository (app, charts, docker, orchestrator, tasks.py),
taken at the start, so edits elsewhere in the working tree cannot change what is measured. Results
are printed as a table and written as JSON to bench/results/. Takes about 5 minutes per cold run.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fakecluster import FakeCluster  # noqa: E402
from fakecluster.minikube import MEASURED_LATENCY  # noqa: E402
from tests.e2e.harness import CANARIES, FAST, CliRun, write_env  # noqa: E402

INVOKE = ROOT / ".venv" / "bin" / "invoke"
BASELINE = ROOT / "bench" / "baseline.sh"
RESULTS = ROOT / "bench" / "results"
# The fake cluster knows no repository: the backend behind its node port and the pinned tools.
CLUSTER_PATHS: dict[str, Any] = {"backend_dir": ROOT / "app" / "backend", "tools_bin": ROOT / ".tools" / "bin"}
NAMESPACE = "todo-app"
BASELINE_NAMESPACE = "todo-baseline"
PROJECT_REPOS = ("todo-backend", "todo-frontend")
BASES = ("python:3.11-slim", "node:22-slim")
PROJECT_TAG = re.compile(r"^[0-9a-f]{12}$|^baseline$")  # content tags and the baseline's fixed tag
EDITED_FILE = Path("app/backend/todo_api/main.py")
SNAPSHOT_PARTS = ("app", "charts", "docker", "orchestrator", "tasks.py", "pyproject.toml")
SNAPSHOT_IGNORE = shutil.ignore_patterns("node_modules", ".next", "__pycache__", ".pytest_cache", "*.egg-info")

NOOP_TARGET_S = 1.2
ONE_CHANGE_RATIO_TARGET = 1.5
READINESS_TARGET_S = 0.5
STARTUP_TARGET_S = 0.5


# --- measuring --------------------------------------------------------------------------------------


@dataclass
class Sample:
    """One run of ours or the baseline."""

    wall: float
    ok: bool
    phases: dict[str, float] = field(default_factory=dict)
    builds: list[str] = field(default_factory=list)
    loads: list[str] = field(default_factory=list)
    writes: int = 0
    secret_writes: int = 0
    helm_upgrades: int = 0
    restarted: list[str] = field(default_factory=list)
    readiness: float | None = None
    build_seconds: dict[str, float] = field(default_factory=dict)
    policy_seconds: float | None = None
    built_refs: list[str] = field(default_factory=list)
    error: str = ""


class RolloutStamps:
    """A store listener (runs on the fake's loop): when a Deployment's status completes its rollout."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self.complete: dict[str, bool] = {}
        self.transitions: list[tuple[float, str]] = []
        self.lock = threading.Lock()

    @staticmethod
    def is_complete(obj: dict[str, Any]) -> bool:
        spec, status = obj.get("spec") or {}, obj.get("status") or {}
        want = int(spec.get("replicas", 1))
        return (
            int(status.get("observedGeneration", 0)) >= int(obj["metadata"].get("generation", 1))
            and int(status.get("updatedReplicas", 0)) >= want
            and int(status.get("replicas", 0)) == int(status.get("updatedReplicas", 0))
            and int(status.get("availableReplicas", 0)) >= want
        )

    def __call__(self, event: Any) -> None:
        if event.resource.kind != "Deployment":
            return
        meta = event.object.get("metadata") or {}
        if meta.get("namespace") != self.namespace:
            return
        name = meta.get("name", "")
        with self.lock:
            if event.type == "DELETED":
                self.complete.pop(name, None)
                return
            done = self.is_complete(event.object)
            if done and not self.complete.get(name, False):
                self.transitions.append((time.time(), name))
            self.complete[name] = done

    def since(self, started: float) -> list[tuple[float, str]]:
        with self.lock:
            return [t for t in self.transitions if t[0] >= started]


def pods_by_uid(cluster: FakeCluster, namespace: str) -> dict[str, str]:
    return {p["metadata"]["uid"]: p["metadata"]["name"] for p in cluster.objects("Pod", namespace)}


def subprocess_env(cluster: FakeCluster) -> dict[str, str]:
    env = dict(cluster.env)
    for key in CANARIES:  # the env file is the only source of secrets
        env.pop(key, None)
    return env


def counted_writes(cluster: FakeCluster, namespace: str) -> tuple[int, int]:
    writes = [r for r in cluster.requests if r.is_write and f"/namespaces/{namespace}/" in r.path]
    return len(writes), len([r for r in writes if "/secrets" in r.path])


def run_ours(cluster: FakeCluster, stamps: RolloutStamps, repo: Path, env_file: Path) -> Sample:
    before = pods_by_uid(cluster, NAMESPACE)
    cluster.clear_requests()
    argv = [str(INVOKE), "up", "--json", "--env-file", str(env_file)]
    started = time.time()
    proc = subprocess.run(
        argv,
        cwd=repo,
        env=subprocess_env(cluster),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=1800,
    )
    wall = time.time() - started
    run = CliRun(argv, proc.returncode, proc.stdout, proc.stderr)
    writes, secret_writes = counted_writes(cluster, NAMESPACE)
    after = pods_by_uid(cluster, NAMESPACE)
    finished = run.named("run.finished")
    sample = Sample(
        wall=wall,
        ok=proc.returncode == 0,
        phases=dict(finished[-1].get("phases", {})) if finished else {},
        builds=[e["image"] for e in run.named("image.building")],
        loads=[e["image"] for e in run.named("image.loaded")],
        writes=writes,
        secret_writes=secret_writes,
        helm_upgrades=len(run.named("helm.upgraded")),
        restarted=sorted(name for uid, name in before.items() if uid not in after),
    )
    sample.build_seconds = {e["image"]: e["seconds"] for e in run.named("image.built")}
    sample.built_refs = [e["ref"] for e in run.named("image.built")]
    budget, report = run.named("image.budget"), run.named("image.report")
    if budget and report:  # the image policy runs between these two events
        sample.policy_seconds = round(report[-1]["ts"] - budget[-1]["ts"], 3)
    if not sample.ok:
        sample.error = (finished[-1].get("error", "") if finished else "") or proc.stderr[-400:]
        print(f"    invoke up failed ({proc.returncode}): {sample.error}", flush=True)
    rollout_end = [e["ts"] for e in run.named("phase.finished") if e.get("phase") == "rollout"]
    completed = stamps.since(started)
    if rollout_end and completed:
        sample.readiness = rollout_end[-1] - max(t for t, _ in completed)
    return sample


def run_baseline(cluster: FakeCluster, repo: Path) -> Sample:
    before = pods_by_uid(cluster, BASELINE_NAMESPACE)
    cluster.clear_requests()
    started = time.time()
    proc = subprocess.run(
        ["bash", str(BASELINE), str(repo), BASELINE_NAMESPACE],
        cwd=repo,
        env=subprocess_env(cluster),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=1800,
    )
    wall = time.time() - started
    writes, secret_writes = counted_writes(cluster, BASELINE_NAMESPACE)
    after = pods_by_uid(cluster, BASELINE_NAMESPACE)
    sample = Sample(
        wall=wall,
        ok=proc.returncode == 0,
        builds=list(PROJECT_REPOS),
        loads=list(PROJECT_REPOS),
        writes=writes,
        secret_writes=secret_writes,
        helm_upgrades=1,
        restarted=sorted(name for uid, name in before.items() if uid not in after),
    )
    if not sample.ok:
        sample.error = proc.stderr[-400:]
        print(f"    baseline failed ({proc.returncode}): {sample.error}", flush=True)
    return sample


def startup_times(repo: Path, runs: int) -> dict[str, list[float]]:
    commands = {"invoke --list": [str(INVOKE), "--list"], "invoke up --help": [str(INVOKE), "up", "--help"]}
    out: dict[str, list[float]] = {name: [] for name in commands}
    for argv in commands.values():  # warm the file cache and bytecode once
        subprocess.run(argv, cwd=repo, capture_output=True, check=True)
    for _ in range(runs):
        for name, argv in commands.items():
            started = time.perf_counter()
            subprocess.run(argv, cwd=repo, capture_output=True, check=True)
            out[name].append(time.perf_counter() - started)
    return out


# --- making a build honestly cold ----------------------------------------------------------------


def make_cold(client: Any) -> list[str]:
    """Remove the project's tags and the build cache on the seeded bases; keep the bases.

    The build cache of the classic builder is the untagged images below a build's result, and the
    untagged results of earlier stages. Every untagged image that descends from a base goes
    (leaves first; the engine removes untagged parents with them). Tagged images of anyone else are
    kept, and any chain they hold is reported, since it could still serve a cached step.
    """
    import docker

    for image in client.api.images():
        for tag in image.get("RepoTags") or []:
            repo, _, name = tag.rpartition(":")
            if repo in PROJECT_REPOS and PROJECT_TAG.match(name):
                try:
                    client.api.remove_image(tag)
                except docker.errors.APIError:
                    client.api.remove_image(tag, force=True)  # in use by a container: untag only
    base_ids = {client.api.inspect_image(base)["Id"] for base in BASES}
    for _ in range(50):
        images = client.api.images(all=True)
        parent = {i["Id"]: i.get("ParentId", "") for i in images}
        tagged = {i["Id"] for i in images if any(t != "<none>:<none>" for t in i.get("RepoTags") or [])}
        children = {p for p in parent.values() if p}

        def on_base(image_id: str, parent: dict[str, str] = parent) -> bool:
            seen = 0
            while image_id and seen < 500:
                image_id = parent.get(image_id, "")
                if image_id in base_ids:
                    return True
                seen += 1
            return False

        leaves = [i for i in parent if i not in tagged and i not in children and i not in base_ids and on_base(i)]
        removed = 0
        for image_id in leaves:
            try:
                client.api.remove_image(image_id)
                removed += 1
            except docker.errors.APIError:
                pass  # in use by a running build or container
        if not removed:
            break
    images = client.api.images(all=True)
    parent = {i["Id"]: i.get("ParentId", "") for i in images}
    kept = []
    for image in images:
        tags = [t for t in image.get("RepoTags") or [] if t != "<none>:<none>"]
        if not tags or image["Id"] in base_ids:
            continue
        node, depth = parent.get(image["Id"], ""), 0
        while node and depth < 500:
            if node in base_ids:
                kept.append(tags[0])
                break
            node, depth = parent.get(node, ""), depth + 1
    return kept


# --- the private copy --------------------------------------------------------------------------------


def snapshot(into: Path) -> Path:
    repo = into / "repo"
    repo.mkdir()
    for part in SNAPSHOT_PARTS:
        source = ROOT / part
        if source.is_dir():
            shutil.copytree(source, repo / part, ignore=SNAPSHOT_IGNORE, symlinks=True)
        else:
            shutil.copy2(source, repo / part)
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(repo / "orchestrator"), str(repo / "tasks.py")], check=True
    )
    return repo


# --- reporting ---------------------------------------------------------------------------------------


def median(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def machine() -> dict[str, Any]:
    import docker

    mem_kb = next(
        int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal:")
    )
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(),
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "docker": docker.from_env().version().get("Version", "?"),
        "python": platform.python_version(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "commit": commit,
    }


def fmt(value: float | None, unit: str = "s", digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}{unit}"


def ratio(ours: float | None, theirs: float | None) -> float | None:
    return ours / theirs if ours is not None and theirs else None


def table(results: dict[str, Any]) -> str:
    r = results
    rows: list[tuple[str, str, str, str, str, str]] = []

    def row(name: str, ours: str, base: str, rat: str, target: str, met: bool | None) -> None:
        rows.append((name, ours, base, rat, target, "n/a" if met is None else ("yes" if met else "NO")))

    cold, noop, one = r["cold"], r["noop"], r["one_change"]
    if cold["ours"]:
        row(
            "cold up (s)",
            fmt(cold["ours_median"]),
            fmt(cold["baseline_median"]),
            fmt(cold["ratio"], "x"),
            "ratio < 1",
            None if cold["ratio"] is None else cold["ratio"] < 1,
        )
    row(
        "no-op up (s)",
        fmt(noop["ours_median"]),
        fmt(noop["baseline_median"]),
        fmt(noop["ratio"], "x"),
        f"<= {NOOP_TARGET_S}s",
        noop["ours_median"] is not None and noop["ours_median"] <= NOOP_TARGET_S,
    )
    row(
        "no-op: builds/loads/secret writes/upgrades/restarts",
        noop["counts"],
        noop["baseline_counts"],
        "",
        "all 0",
        noop["counts"] == "0/0/0/0/0",
    )
    row(
        "one backend file changed (s)",
        fmt(one["ours_median"]),
        fmt(one["baseline_median"]),
        fmt(one["ratio"], "x"),
        f"ratio <= {ONE_CHANGE_RATIO_TARGET}",
        None if one["ratio"] is None else one["ratio"] <= ONE_CHANGE_RATIO_TARGET,
    )
    row("one change: rebuilt/loaded/rolled", one["what"], one["baseline_what"], "", "backend only", one["backend_only"])
    read = r["readiness"]
    row(
        "readiness detection (s)",
        fmt(read["median"], digits=3),
        "",
        "",
        f"<= {READINESS_TARGET_S}s",
        None if read["median"] is None else read["median"] <= READINESS_TARGET_S,
    )
    for name, values in r["startup"].items():
        m = median(values)
        row(f"{name} (s)", fmt(m), "", "", f"<= {STARTUP_TARGET_S}s", m is not None and m <= STARTUP_TARGET_S)
    widths = [
        max(len(x[i]) for x in rows + [("scenario", "ours", "baseline", "ratio", "target", "met?")]) for i in range(6)
    ]
    header = ("scenario", "ours", "baseline", "ratio", "target", "met?")
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)), "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(x, widths, strict=True)) for x in rows]
    phases = r["cold"].get("phases_median") or {}
    if phases:
        lines.append("")
        lines.append("cold up, per phase (median s): " + ", ".join(f"{k} {v:.2f}" for k, v in phases.items()))
        detail = r["cold"].get("images_detail") or {}
        if detail:
            lines.append(
                "  images phase of the cold up (median s): " + ", ".join(f"{k} {v:.2f}" for k, v in detail.items())
            )
    for key, label in (("noop", "no-op up"), ("one_change", "one change")):
        ph = r[key].get("phases_median") or {}
        if ph:
            lines.append(f"{label}, per phase (median s): " + ", ".join(f"{k} {v:.2f}" for k, v in ph.items()))
    m = r["machine"]
    lines.append("")
    latency = r.get("minikube_latency")
    lines.append(
        "Fake cluster, scripted node (pods Ready after a fixed short delay): the figures measure the tool. "
        + (
            f"Including a real minikube's image costs: `image ls` {latency['latency_image_ls']:.1f}s, "
            f"`image load` {latency['latency_image_load']:.1f}s per call (--minikube-latency)."
            if latency
            else "Not including a real minikube's `image ls`/`image load` costs "
            "(the fake answers at once; --minikube-latency adds them)."
        )
    )
    lines.append(
        f"{m['date']}; {m['nproc']} CPUs, {m['memory_gb']} GB RAM, Docker {m['docker']}, Python "
        f"{m['python']}; load average at start {m['load_average']}; commit {m['commit']}; "
        f"{r['runs']} runs ({r['cold_runs']} cold)"
    )
    return "\n".join(lines)


def phases_median(samples: Sequence[Sample]) -> dict[str, float]:
    names: list[str] = []
    for s in samples:
        names += [n for n in s.phases if n not in names]
    return {n: round(statistics.median([s.phases[n] for s in samples if n in s.phases]), 3) for n in names}


def counts(samples: Sequence[Sample]) -> str:
    """builds/loads/secret writes/helm upgrades/pod restarts, summed over the runs."""
    return (
        "/".join(
            str(sum(x))
            for x in zip(
                *[(len(s.builds), len(s.loads), s.secret_writes, s.helm_upgrades, len(s.restarted)) for s in samples],
                strict=True,
            )
        )
        if samples
        else "n/a"
    )


def summarise(name: str, ours: list[Sample], base: list[Sample]) -> dict[str, Any]:
    o, b = median([s.wall for s in ours]), median([s.wall for s in base])
    return {
        "ours": [asdict(s) for s in ours],
        "baseline": [asdict(s) for s in base],
        "ours_median": o,
        "baseline_median": b,
        "ratio": ratio(o, b),
        "phases_median": phases_median(ours),
        "all_ok": all(s.ok for s in ours + base),
    }


# --- the benchmark -----------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per scenario (median reported; default 3)")
    parser.add_argument("--cold-runs", type=int, help="cold runs (default: --runs); each takes minutes")
    parser.add_argument("--no-cold", action="store_true", help="skip the cold scenario (no image is removed)")
    parser.add_argument(
        "--minikube-latency",
        action="store_true",
        help="the fake minikube's image ls/load take a real minikube's measured time",
    )
    parser.add_argument("--json", type=Path, help="where to write the results (default bench/results/up-<time>.json)")
    args = parser.parse_args(argv)
    latency = dict(MEASURED_LATENCY) if args.minikube_latency else None
    runs = max(1, args.runs)
    cold_runs = 0 if args.no_cold else max(1, args.cold_runs if args.cold_runs is not None else runs)

    import docker

    client = docker.from_env(timeout=600)
    info = machine()
    print(f"bench/up.py: {runs} runs, {cold_runs} cold; {info['date']}", flush=True)
    results: dict[str, Any] = {"machine": info, "runs": runs, "cold_runs": cold_runs, "minikube_latency": latency}

    with tempfile.TemporaryDirectory(prefix="bench-up-") as tmp:
        repo = snapshot(Path(tmp))
        env_file = write_env(Path(tmp) / "deploy.env")
        edited = repo / EDITED_FILE
        original = edited.read_text()

        results["startup"] = startup_times(repo, max(runs, 5))

        cold_ours: list[Sample] = []
        cold_base: list[Sample] = []
        readiness: list[float] = []
        kept: list[str] = []
        for i in range(cold_runs):
            with FakeCluster("healthy", timings=FAST, ingress_port="none", real_pods=False, **CLUSTER_PATHS) as cluster:
                if latency:
                    cluster.set_minikube(**latency)
                stamps = RolloutStamps(NAMESPACE)
                cluster.call(lambda stamps=stamps: cluster.store.add_listener(stamps))
                print(f"cold {i + 1}/{cold_runs}: ours ...", flush=True)
                kept = make_cold(client)
                cold_ours.append(run_ours(cluster, stamps, repo, env_file))
                print(f"    {cold_ours[-1].wall:.1f}s {cold_ours[-1].phases}", flush=True)
                print(f"cold {i + 1}/{cold_runs}: baseline ...", flush=True)
                make_cold(client)
                cold_base.append(run_baseline(cluster, repo))
                print(f"    {cold_base[-1].wall:.1f}s", flush=True)
        results["cold"] = summarise("cold", cold_ours, cold_base)
        results["cold"]["cache_held_by"] = kept
        if cold_ours:
            detail = {f"build {name}": median([s.build_seconds.get(name) for s in cold_ours]) for name in PROJECT_REPOS}
            detail["image policy (both)"] = median([s.policy_seconds for s in cold_ours])
            results["cold"]["images_detail"] = {k: v for k, v in detail.items() if v is not None}
        readiness += [s.readiness for s in cold_ours if s.readiness is not None]

        with FakeCluster("healthy", timings=FAST, ingress_port="none", real_pods=False, **CLUSTER_PATHS) as cluster:
            if latency:
                cluster.set_minikube(**latency)
            stamps = RolloutStamps(NAMESPACE)
            cluster.call(lambda: cluster.store.add_listener(stamps))
            print("warm-up: ours and baseline deploy once ...", flush=True)
            warm = run_ours(cluster, stamps, repo, env_file)
            warm_base = run_baseline(cluster, repo)
            if not (warm.ok and warm_base.ok):
                print("warm-up failed; the no-op and one-change figures below are not meaningful", flush=True)
            if warm.readiness is not None:
                readiness.append(warm.readiness)

            noop_ours, noop_base = [], []
            for i in range(runs):
                noop_ours.append(run_ours(cluster, stamps, repo, env_file))
                noop_base.append(run_baseline(cluster, repo))
                print(
                    f"no-op {i + 1}/{runs}: ours {noop_ours[-1].wall:.2f}s, baseline {noop_base[-1].wall:.2f}s",
                    flush=True,
                )
            results["noop"] = summarise("noop", noop_ours, noop_base)
            results["noop"]["counts"] = counts(noop_ours)
            results["noop"]["baseline_counts"] = counts(noop_base)

            one_ours, one_base = [], []
            try:
                for i in range(runs):
                    # A comment no earlier run wrote, and another one for the baseline: each side
                    # builds a backend whose last layers no build has cached yet.
                    edited.write_text(original + f"\n# benchmark edit {time.time_ns()}\n")
                    one_ours.append(run_ours(cluster, stamps, repo, env_file))
                    edited.write_text(original + f"\n# benchmark edit {time.time_ns()}\n")
                    one_base.append(run_baseline(cluster, repo))
                    print(
                        f"one change {i + 1}/{runs}: ours {one_ours[-1].wall:.2f}s "
                        f"(built {one_ours[-1].builds}, restarted {one_ours[-1].restarted}), "
                        f"baseline {one_base[-1].wall:.2f}s",
                        flush=True,
                    )
            finally:
                edited.write_text(original)
                for ref in [ref for sample in one_ours for ref in sample.built_refs]:
                    try:  # the edited backends served their purpose; their layers below stay cached
                        client.api.remove_image(ref)
                    except docker.errors.APIError:
                        pass
            readiness += [s.readiness for s in one_ours if s.readiness is not None]
            one = summarise("one_change", one_ours, one_base)
            one["backend_only"] = bool(one_ours) and all(
                s.ok
                and s.builds == ["todo-backend"]
                and len(s.loads) == 1
                and s.loads[0].startswith("todo-backend:")
                and s.restarted
                and all(p.startswith("todo-app-backend-") for p in s.restarted)
                for s in one_ours
            )
            one["what"] = ", ".join(
                sorted(
                    {
                        f"{'+'.join(s.builds) or '-'}/{len(s.loads)}/"
                        f"{'+'.join(sorted({p.rsplit('-', 2)[0] for p in s.restarted})) or '-'}"
                        for s in one_ours
                    }
                )
            )
            one["baseline_what"] = ", ".join(
                sorted(
                    {
                        f"both/2/{'+'.join(sorted({p.rsplit('-', 2)[0] for p in s.restarted})) or 'none'}"
                        for s in one_base
                    }
                )
            )
            results["one_change"] = one
        results["readiness"] = {
            "samples": readiness,
            "median": median(readiness),
            "max": max(readiness) if readiness else None,
        }

    text = table(results)
    print()
    print(text)
    path = args.json or RESULTS / f"up-{datetime.datetime.now(datetime.UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    results["table"] = text
    path.write_text(json.dumps(results, indent=2, default=str))
    print(f"\nresults: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
