"""Secret leaks: three canary values (with $ # ' " = \\, a space, non-ASCII, one with a newline) are
searched raw, base64, URL-encoded and JSON-escaped in every place a secret could end up. Each place
(a "sink") is one counted case. Target: zero hits, and the only write requests that carry a value
are the Secret creates."""

from __future__ import annotations

import base64
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from fakecluster import FakeCluster
from tests.e2e.harness import (
    CANARIES,
    FAST,
    ROOT,
    Background,
    CliRun,
    app_secrets,
    decoded,
    helm_release_records,
    kubectl,
    leaks,
    write_env,
)
from tests.robustness import spies
from tests.robustness.procs import Sampler

pytestmark = [pytest.mark.e2e, pytest.mark.docker]
NS = "todo-app"
ROTATED = {**CANARIES, "COHERE_API_KEY": CANARIES["COHERE_API_KEY"].replace("co-canary", "co-rotated")}
ALL_VALUES = list(CANARIES.values()) + [ROTATED["COHERE_API_KEY"]]


class World:
    """Everything the scenario produced, by sink name."""

    def __init__(self) -> None:
        self.sinks: dict[str, str] = {}
        self.secret_writes = 0
        self.carrying_writes: list[tuple[str, str]] = []
        self.samplers: list[Sampler] = []
        self.tool_calls: list[dict] = []
        self.objects_checked = 0
        self.image_refs: dict[str, str] = {}
        self.generated: set[str] = set()  # day one: the values the runs generated, read from the cluster


def run_command(
    cluster: FakeCluster,
    path: str,
    tmpdir: Path,
    world: World,
    label: str,
    *args: str,
    env_file: Path | None,
    exported: dict[str, str],
    cwd: Path | None = None,
) -> CliRun:
    background = Background(
        cluster, *args, env_file=env_file, extra_env={"PATH": path, "TMPDIR": str(tmpdir), **exported}, cwd=cwd
    )
    sampler = Sampler(background.proc.pid).start()
    run = background.finish()
    sampler.stop()
    world.samplers.append(sampler)
    world.sinks[f"{label}: stdout"] = run.stdout
    world.sinks[f"{label}: stderr"] = run.stderr
    return run


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    base = tmp_path_factory.mktemp("leaks")
    tmpdir = base / "tmp"
    tmpdir.mkdir()
    env_file = write_env(base / "deploy.env")
    rotated = write_env(base / "rotated.env", ROTATED)
    bad = base / "bad.env"
    bad.write_text(env_file.read_text() + "BROKEN LINE " + CANARIES["COHERE_API_KEY"] + "\n")
    world = World()
    with FakeCluster("healthy", timings=FAST, ingress_port="none") as cluster:
        path = spies.install(base / "spybin", base / "spylog", cluster.env["PATH"])
        # The user also exported the secrets in the shell: children must not inherit them.
        exported = {k: v for k, v in CANARIES.items()}
        steps = [
            ("up", ("up",), env_file, exported),
            ("up again (no-op)", ("up",), env_file, exported),
            ("up --dry-run", ("up", "--dry-run"), env_file, exported),
            ("status", ("status",), env_file, exported),
            ("logs", ("logs",), env_file, exported),
            ("logs backend", ("logs", "backend"), env_file, exported),
            ("doctor", ("doctor", "--env-file", str(env_file)), None, exported),
            ("rotate-secrets", ("rotate-secrets", "--only", "COHERE_API_KEY"), rotated, {}),
            ("up with a malformed env file", ("up",), bad, {}),
        ]
        for label, args, file, env in steps:
            run = run_command(cluster, path, tmpdir, world, label, *args, env_file=file, exported=env)
            if label == "up":
                world.image_refs = {
                    e["image"]: e["ref"] for e in run.events if e["event"] in ("image.built", "image.skipped")
                }
        # failure paths: a crash loop (log lines of a pod that prints its DATABASE_URL), then status
        cluster.set_scenario("crash-loop")
        crash = write_env(base / "crash.env", {**ROTATED, "JWT_SECRET": CANARIES["JWT_SECRET"] + "-2"})
        ALL_VALUES.append(CANARIES["JWT_SECRET"] + "-2")
        # --no-rollback keeps the crashing pods, so `logs` below reads a pod that prints its DATABASE_URL
        run_command(
            cluster, path, tmpdir, world, "up that crash-loops", "up", "--no-rollback", env_file=crash, exported={}
        )
        run_command(
            cluster,
            path,
            tmpdir,
            world,
            "logs during a crash loop",
            "logs",
            "backend",
            "--tail",
            "50",
            env_file=crash,
            exported={},
        )
        run_command(cluster, path, tmpdir, world, "status after the failure", "status", env_file=crash, exported={})
        cluster.set_scenario("healthy")

        manifest = subprocess.run(
            ["helm", "get", "manifest", "todo-app", "-n", NS], env=cluster.env, capture_output=True, text=True
        )
        world.sinks["rendered manifests (helm get manifest)"] = manifest.stdout + manifest.stderr
        world.sinks["helm release records"] = "\n".join(helm_release_records(cluster, NS))
        for kind in (
            "Deployment",
            "ReplicaSet",
            "Pod",
            "ConfigMap",
            "Service",
            "Ingress",
            "Event",
            "Namespace",
            "NetworkPolicy",
        ):
            objects = cluster.objects(kind, None if kind == "Namespace" else NS)
            world.objects_checked += len(objects)
            world.sinks[f"API objects: {kind}"] = repr(objects)
        for request in cluster.requests:
            if request.is_write and any(request.mentions(v) for v in ALL_VALUES):
                world.carrying_writes.append((request.method, request.path))
        world.secret_writes = sum(
            1
            for r in cluster.requests
            if r.method == "POST" and r.path.endswith(f"/namespaces/{NS}/secrets") and b"todo-app-secrets-" in r.body
        )

        run_command(cluster, path, tmpdir, world, "down", "down", env_file=env_file, exported=exported)
        run_command(cluster, path, tmpdir, world, "down again", "down", env_file=env_file, exported=exported)

        world.tool_calls = spies.calls(base / "spylog")
        world.sinks["tool command lines (spied)"] = "\n".join(" ".join(c["argv"]) for c in world.tool_calls)
        world.sinks["tool environments (spied)"] = "\n".join(repr(c["env"]) for c in world.tool_calls)
        world.sinks["values files given to helm"] = "\n".join(
            text for c in world.tool_calls if c["tool"] == "helm" for text in c["files"].values()
        )
        world.sinks["child command lines (sampled)"] = "\n".join(
            cmd for s in world.samplers for cmd in s.cmdlines.values()
        )
        world.sinks["child environments (sampled)"] = "\n".join(
            env for s in world.samplers for pid, env in s.environs.items()
        )
        files = [
            p
            for p in list(cluster.state_dir.rglob("*")) + list(tmpdir.rglob("*"))
            if p.is_file() and p.name not in ("minikube.json",)
        ]
        world.sinks["files written by the runs (state dir, TMPDIR, logs)"] = "\n".join(
            p.read_bytes().decode("utf-8", "replace") for p in files if p.stat().st_size < 5_000_000
        )
        world.sinks["temp files left behind"] = "\n".join(str(p) for p in tmpdir.rglob("*"))
    yield world


SINK_NAMES = [
    *(
        f"{label}: {stream}"
        for label in (
            "up",
            "up again (no-op)",
            "up --dry-run",
            "status",
            "logs",
            "logs backend",
            "doctor",
            "rotate-secrets",
            "up with a malformed env file",
            "up that crash-loops",
            "logs during a crash loop",
            "status after the failure",
            "down",
            "down again",
        )
        for stream in ("stdout", "stderr")
    ),
    "rendered manifests (helm get manifest)",
    "helm release records",
    *(
        f"API objects: {k}"
        for k in (
            "Deployment",
            "ReplicaSet",
            "Pod",
            "ConfigMap",
            "Service",
            "Ingress",
            "Event",
            "Namespace",
            "NetworkPolicy",
        )
    ),
    "tool command lines (spied)",
    "tool environments (spied)",
    "values files given to helm",
    "child command lines (sampled)",
    "child environments (sampled)",
    "files written by the runs (state dir, TMPDIR, logs)",
]


@pytest.mark.proof("secret leaks")
@pytest.mark.parametrize("sink", SINK_NAMES)
def test_no_secret_in(world: World, sink: str) -> None:
    assert sink in world.sinks, f"sink {sink} was not collected"
    hits = leaks(world.sinks[sink], ALL_VALUES)
    assert hits == [], f"{sink}: {hits}"


@pytest.mark.proof("secret leaks")
def test_the_sinks_were_really_filled(world: World) -> None:
    """A search of an empty place proves nothing: the places that must hold data do."""
    assert world.sinks["up: stdout"].count('"event"') > 10
    assert (
        "crash" in world.sinks["logs during a crash loop: stdout"].lower()
        or "could not connect" in world.sinks["logs during a crash loop: stdout"]
    )
    assert "***" in world.sinks["logs during a crash loop: stdout"]  # the printed DATABASE_URL, redacted
    assert world.sinks["values files given to helm"].count("existingSecret") >= 2
    assert sum(s.samples for s in world.samplers) > 50
    assert len(world.sinks["child command lines (sampled)"].splitlines()) > 10
    assert world.objects_checked > 10
    assert {c["tool"] for c in world.tool_calls} >= {"helm", "minikube"}


@pytest.mark.proof("secret leaks")
def test_only_the_secret_creates_carry_values(world: World) -> None:
    assert world.carrying_writes, "no write carried the values at all: the Secret was never written"
    assert all(m == "POST" and p.endswith(f"/namespaces/{NS}/secrets") for m, p in world.carrying_writes)
    assert len(world.carrying_writes) == world.secret_writes


@pytest.mark.proof("secret leaks")
def test_no_temp_files_left(world: World) -> None:
    assert world.sinks["temp files left behind"] == ""


@pytest.mark.proof("secret leaks")
def test_no_secret_in_the_git_tree() -> None:
    files = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "-co", "--exclude-standard", "-z"], capture_output=True, check=True
    ).stdout.split(b"\0")
    text = "\n".join(
        (ROOT / f.decode()).read_bytes().decode("utf-8", "replace")
        for f in files
        if f and (ROOT / f.decode()).is_file()
    )
    assert len(text) > 100_000
    assert leaks(text, ALL_VALUES) == []


@pytest.mark.proof("secret leaks")
@pytest.mark.parametrize("image", ["todo-backend", "todo-frontend"])
def test_no_secret_in_image_layers_or_history(world: World, image: str) -> None:
    import docker
    from orchestrator.images.policy import canary_needles, find_needles, scan_image_archive

    client = docker.from_env(timeout=300)
    ref = world.image_refs[image]  # the image the scenario deployed
    needles, short = canary_needles(dict(enumerate(ALL_VALUES)))  # type: ignore[arg-type]
    assert needles and not short
    scan = scan_image_archive(client.api.get_image(ref), needles)
    assert scan.layers >= 3 and scan.files > 1000
    assert scan.canary_hits == []
    history = str(client.api.history(ref)) + str(client.api.inspect_image(ref))
    assert find_needles(history.encode(), needles) == []
    assert leaks(history, ALL_VALUES) == []
    # base64 of a value, as a build arg or a COPY'd .env would carry it, is not in the history either
    assert not any(base64.b64encode(v.encode()).decode() in history for v in ALL_VALUES)


# --- day one: no env file, no keys; the values the runs generate are the canaries --------------------

DAY_ONE_STEPS = [
    "up",
    "up again (no-op)",
    "up --dry-run",
    "status",
    "logs",
    "logs backend",
    "rotate-secrets --generate JWT_SECRET",
    "up that crash-loops",
    "logs during a crash loop",
    "status after the failure",
    "down",
    "down again",
    "down --delete-data",
]
DAY_ONE_KINDS = (
    "Deployment",
    "StatefulSet",
    "ReplicaSet",
    "Pod",
    "ConfigMap",
    "Service",
    "Ingress",
    "Event",
    "NetworkPolicy",
    "PersistentVolumeClaim",
)


@pytest.fixture(scope="module")
def day_one(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """A newcomer's runs: no env file (the working directory has none), none of the keys in the
    environment. The generated JWT_SECRET (and the rotated one), the generated database password and
    the DATABASE_URL made from it are read from the cluster's Secrets as the runs go, and searched in
    every sink like the user's values above."""
    base = tmp_path_factory.mktemp("leaks-day-one")
    tmpdir, work = base / "tmp", base / "work"  # work: a directory without a .env
    tmpdir.mkdir()
    work.mkdir()
    world = World()

    def harvest(cluster: FakeCluster) -> None:
        for secret in app_secrets(cluster, NS):
            world.generated.update(decoded(secret).values())

    def step(cluster: FakeCluster, path: str, label: str, *args: str, **exported: str) -> CliRun:
        run = run_command(cluster, path, tmpdir, world, label, *args, env_file=None, exported=exported, cwd=work)
        harvest(cluster)
        return run

    with FakeCluster("healthy", timings=FAST, ingress_port="none") as cluster:
        path = spies.install(base / "spybin", base / "spylog", cluster.env["PATH"])
        first = step(cluster, path, "up", "up")
        assert first.returncode == 0, first.explain()
        step(cluster, path, "up again (no-op)", "up")
        step(cluster, path, "up --dry-run", "up", "--dry-run")
        step(cluster, path, "status", "status")
        step(cluster, path, "logs", "logs")
        step(cluster, path, "logs backend", "logs", "backend")
        rotated = step(
            cluster, path, "rotate-secrets --generate JWT_SECRET", "rotate-secrets", "--generate", "JWT_SECRET"
        )
        assert rotated.returncode == 0, rotated.explain()
        # A crash loop whose pods print their DATABASE_URL (the generated password in it), kept for `logs`;
        # LOG_LEVEL=DEBUG changes the release, so this is a real upgrade onto the crashing pods.
        cluster.set_scenario("crash-loop")
        crash = step(cluster, path, "up that crash-loops", "up", "--no-rollback", LOG_LEVEL="DEBUG")
        assert crash.returncode == 6 and "CrashLoopBackOff" in crash.output, crash.explain()
        step(cluster, path, "logs during a crash loop", "logs", "backend", "--tail", "50", LOG_LEVEL="DEBUG")
        probe_output_event(cluster, next(v for v in world.generated if v.startswith("postgresql://")))
        status = step(cluster, path, "status after the failure", "status", LOG_LEVEL="DEBUG")
        assert "Liveness probe failed: could not connect to ***" in status.output, status.explain()
        delete_event(cluster, PROBE_EVENT)  # this test's own write: not a sink of the tool's
        cluster.set_scenario("healthy")
        world.sinks["helm release records"] = "\n".join(helm_release_records(cluster, NS))
        for kind in DAY_ONE_KINDS:
            objects = cluster.objects(kind, NS)
            world.objects_checked += len(objects)
            world.sinks[f"API objects: {kind}"] = repr(objects)
        world.carrying_writes = [
            (r.method, r.path)
            for r in cluster.requests
            if r.is_write and any(r.mentions(v) for v in world.generated) and b".probe-output" not in r.body
        ]  # (the event above is this test's own write)
        world.secret_writes = sum(
            1
            for r in cluster.requests
            if r.method == "POST" and r.path.endswith(f"/namespaces/{NS}/secrets") and b"todo-app-secrets-" in r.body
        )
        for label, args in (
            ("down", ("down",)),
            ("down again", ("down",)),
            ("down --delete-data", ("down", "--delete-data")),
        ):
            down = run_command(cluster, path, tmpdir, world, label, *args, env_file=None, exported={}, cwd=work)
            assert down.returncode == 0, down.explain()
        world.tool_calls = spies.calls(base / "spylog")
        world.sinks["tool command lines and environments (spied)"] = "\n".join(
            " ".join(c["argv"]) + repr(c["env"]) for c in world.tool_calls
        )
        world.sinks["values files given to helm"] = "\n".join(
            text for c in world.tool_calls if c["tool"] == "helm" for text in c["files"].values()
        )
        world.sinks["child command lines and environments (sampled)"] = "\n".join(
            [cmd for s in world.samplers for cmd in s.cmdlines.values()]
            + [env for s in world.samplers for env in s.environs.values()]
        )
        files = [
            p
            for p in list(cluster.state_dir.rglob("*")) + list(tmpdir.rglob("*")) + list(work.rglob("*"))
            if p.is_file() and p.name not in ("minikube.json",)
        ]
        world.sinks["files written by the runs (state dir, TMPDIR, working directory)"] = "\n".join(
            p.read_bytes().decode("utf-8", "replace") for p in files if p.stat().st_size < 5_000_000
        )
    yield world


PROBE_EVENT = "todo-app-backend.probe-output"


def delete_event(cluster: FakeCluster, name: str) -> None:
    kubectl(cluster, "delete", "event", name, "-n", NS)


def probe_output_event(cluster: FakeCluster, value: str) -> None:
    """The kubelet's `Unhealthy` event for a restarted backend pod whose exec liveness probe printed
    `value`: an exec probe's message is its output (kubernetes/kubernetes pkg/kubelet/prober/prober.go,
    `runProbe` returns the command's output as the result's message; the event reason is
    events.ContainerUnhealthy). `invoke status` quotes the last such message."""
    pod = next(
        p["metadata"]["name"]
        for p in cluster.objects("Pod", NS)
        if "backend" in p["metadata"]["name"]
        and any(c.get("restartCount", 0) for c in p.get("status", {}).get("containerStatuses") or [])
    )
    event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": PROBE_EVENT, "namespace": NS},
        "involvedObject": {"kind": "Pod", "name": pod, "namespace": NS},
        "reason": "Unhealthy",
        "type": "Warning",
        "message": f"Liveness probe failed: could not connect to {value}",
        "count": 1,
        "source": {"component": "kubelet"},
    }
    kubectl(cluster, "create", "-f", "-", manifest=event)


DAY_ONE_SINKS = [
    *(f"{label}: {stream}" for label in DAY_ONE_STEPS for stream in ("stdout", "stderr")),
    "helm release records",
    *(f"API objects: {k}" for k in DAY_ONE_KINDS),
    "tool command lines and environments (spied)",
    "values files given to helm",
    "child command lines and environments (sampled)",
    "files written by the runs (state dir, TMPDIR, working directory)",
]


@pytest.mark.proof("secret leaks")
@pytest.mark.parametrize("sink", DAY_ONE_SINKS)
def test_no_generated_secret_in(day_one: World, sink: str) -> None:
    assert sink in day_one.sinks, f"sink {sink} was not collected"
    hits = leaks(day_one.sinks[sink], sorted(day_one.generated))
    assert hits == [], f"{sink}: {hits}"


@pytest.mark.proof("secret leaks")
def test_the_day_one_canaries_are_real(day_one: World) -> None:
    """Two JWT_SECRETs (the first, then the rotated one), one database password and its URL, each long;
    the run announced its defaults; the crash loop's log did print the URL (redacted); only the Secret
    creates carried the values."""
    values = sorted(day_one.generated)
    assert len(values) >= 4 and all(len(v) >= 32 for v in values), [len(v) for v in values]
    assert any(v.startswith("postgresql://") for v in values)
    assert '"default.used"' in day_one.sinks["up: stdout"]
    assert "could not connect to ***" in day_one.sinks["logs during a crash loop: stdout"]  # the URL, redacted
    assert day_one.sinks["values files given to helm"].count("existingSecret") >= 2
    assert day_one.objects_checked > 10
    assert day_one.carrying_writes, "no write carried the generated values: the Secret was never written"
    assert all(m == "POST" and p.endswith(f"/namespaces/{NS}/secrets") for m, p in day_one.carrying_writes)
    assert len(day_one.carrying_writes) == day_one.secret_writes
