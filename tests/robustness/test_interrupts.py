"""Ctrl-C at every point of `invoke up`, through the real CLI against the fake cluster.

Each case sends SIGINT to the running `invoke` process group at a known moment, as a terminal's
Ctrl-C does (the CLI and the tools it runs get it at once; helm upgrade runs in a session of its
own so it is not cut in half), and checks: exit code 130, the usual "interrupted" message,
exactly one `run.finished` event carrying 130, no temporary file left (the CLI runs with TMPDIR set
to a fresh empty directory: the frozen kubeconfig and the helm values file must be gone), and that a
plain re-run of `invoke up` reaches success with no manual step. Inside the helm upgrade the
interrupt is held until helm ends; a second Ctrl-C stops at once.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from fakecluster import FakeCluster, Timings
from tests.e2e.harness import (
    FAST,
    ROOT,
    Background,
    CliRun,
    helm_release_records,
    unbuilt_backend,
)
from tests.robustness import rig, wrappers

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.docker,
    pytest.mark.proof("interrupts"),
    pytest.mark.usefixtures("images_built"),
]
NS = "todo-app"
SLOW = Timings(
    ready_after=0.3,
    slow_ready_after=8.0,
    crash_interval=0.5,
    flaky_delay=0.2,
    flaky_error_seconds=1.5,
    outage_seconds=3.0,
    tick=0.1,
)


@pytest.fixture
def tmpdir_for_cli(tmp_path: Path) -> Path:
    path = tmp_path / "cli-tmp"
    path.mkdir()
    return path


def start(cluster: FakeCluster, env_file: Path, tmpdir: Path, root: Path = ROOT, **extra_env: str) -> Background:
    return Background(cluster, "up", env_file=env_file, extra_env={"TMPDIR": str(tmpdir), **extra_env}, root=root)


def interrupt(background: Background) -> float:
    """SIGINT to the invoke process group (a terminal's Ctrl-C); returns the monotonic time it was sent."""
    os.killpg(os.getpgid(background.proc.pid), signal.SIGINT)
    return time.monotonic()


def assert_stopped_cleanly(run: CliRun, tmpdir: Path) -> None:
    assert run.returncode == 130, run.explain()
    finished = run.named("run.finished")
    assert len(finished) == 1 and finished[0]["exit_code"] == 130, run.explain()
    assert finished[0]["error"] == "interrupted" and "interrupted\nfix: run the same command again" in run.stderr
    assert "Traceback" not in run.output, run.explain()
    assert sorted(p.name for p in tmpdir.iterdir()) == [], "temporary files left behind"


def assert_rerun_succeeds(cluster: FakeCluster, env_file: Path, tmpdir: Path, root: Path = ROOT) -> CliRun:
    rerun = rig.converge(cluster, env_file=env_file, extra_env={"TMPDIR": str(tmpdir)}, root=root)
    assert rerun.returncode == 0, rerun.explain()
    assert rerun.named("health.ok") and rerun.finished["exit_code"] == 0
    assert '"status":"deployed"' in helm_release_records(cluster, NS)[-1].replace(" ", "")
    assert sorted(p.name for p in tmpdir.iterdir()) == []
    return rerun


@pytest.mark.parametrize("hold", ["response", "request"], ids=["engine-building", "engine-not-answered-yet"])
def test_during_the_build(
    cluster: FakeCluster, env_file: Path, tmpdir_for_cli: Path, tmp_path: Path, hold: str
) -> None:
    with unbuilt_backend(tmp_path) as (root, _):
        with rig.held_engine(tmp_path, hold=hold) as engine:
            background = start(cluster, env_file, tmpdir_for_cli, root, DOCKER_HOST=engine.docker_host)
            # response: the backend build runs and the CLI reads its stalled output stream;
            # request: the engine never gets the whole context, so the CLI still waits for an answer
            engine.wait_held()
            rig.wait_for(background, "image.building", image="todo-backend")
            sent = interrupt(background)
            run = background.finish(timeout=120)
            assert time.monotonic() - sent < 15, "the interrupt waited for the build"
            assert_stopped_cleanly(run, tmpdir_for_cli)
            assert "todo-backend" not in [e["image"] for e in run.named("image.built")]
            assert not [r for r in cluster.requests if r.is_write]
        assert_rerun_succeeds(cluster, env_file, tmpdir_for_cli, root)


def test_during_the_cluster_check(cluster: FakeCluster, env_file: Path, tmpdir_for_cli: Path, tmp_path: Path) -> None:
    slow = wrappers.install(tmp_path / "bin", "minikube", cluster.env["PATH"], ("status",), sleep=60)
    background = start(cluster, env_file, tmpdir_for_cli, PATH=slow.path)
    pid = slow.wait_started(background.proc)
    sent = interrupt(background)
    run = background.finish(timeout=120)
    assert time.monotonic() - sent < 10, "the interrupt waited for `minikube status`"
    assert_stopped_cleanly(run, tmpdir_for_cli)
    assert [e["phase"] for e in run.named("phase.failed")] == ["cluster"]
    assert wrappers.process_gone(pid, 10)
    assert not [r for r in cluster.requests if r.is_write]
    assert_rerun_succeeds(cluster, env_file, tmpdir_for_cli)


def test_during_the_release_history(cluster: FakeCluster, env_file: Path, tmpdir_for_cli: Path, tmp_path: Path) -> None:
    slow = wrappers.install(tmp_path / "bin", "helm", cluster.env["PATH"], ("history",), sleep=60)
    background = start(cluster, env_file, tmpdir_for_cli, PATH=slow.path)
    slow.wait_started(background.proc)
    sent = interrupt(background)
    run = background.finish(timeout=120)
    assert time.monotonic() - sent < 10, "the interrupt waited for `helm history`"
    assert_stopped_cleanly(run, tmpdir_for_cli)
    # the first `helm history` is the plan phase's (what helm would do decides whether to take the lock)
    assert [e["phase"] for e in run.named("phase.failed")] == ["plan"] and not run.named("helm.upgraded")
    assert_rerun_succeeds(cluster, env_file, tmpdir_for_cli)


def test_after_the_build(cluster: FakeCluster, env_file: Path, tmpdir_for_cli: Path) -> None:
    background = start(cluster, env_file, tmpdir_for_cli)
    rig.wait_for(background, "phase.finished", "images")
    interrupt(background)
    run = background.finish(timeout=120)
    assert_stopped_cleanly(run, tmpdir_for_cli)
    assert not run.named("helm.upgraded")
    assert_rerun_succeeds(cluster, env_file, tmpdir_for_cli)


def test_during_the_image_load(cluster: FakeCluster, env_file: Path, tmpdir_for_cli: Path, tmp_path: Path) -> None:
    slow = wrappers.install(tmp_path / "bin", "minikube", cluster.env["PATH"], ("image", "load"), sleep=60)
    background = start(cluster, env_file, tmpdir_for_cli, PATH=slow.path)
    pid = slow.wait_started(background.proc)
    sent = interrupt(background)
    run = background.finish(timeout=120)
    assert time.monotonic() - sent < 10, "the interrupt waited for the load"
    assert_stopped_cleanly(run, tmpdir_for_cli)
    assert wrappers.process_gone(pid, 10), "the slow `minikube image load` outlived the CLI"
    assert not run.named("image.loaded") and not run.named("secret.written")
    assert_rerun_succeeds(cluster, env_file, tmpdir_for_cli)


def test_after_the_secret_write(cluster: FakeCluster, env_file: Path, tmpdir_for_cli: Path) -> None:
    background = start(cluster, env_file, tmpdir_for_cli)
    rig.wait_for(background, "secret.written")
    interrupt(background)
    run = background.finish(timeout=120)
    assert_stopped_cleanly(run, tmpdir_for_cli)
    rerun = assert_rerun_succeeds(cluster, env_file, tmpdir_for_cli)
    assert rerun.named("secret.unchanged")  # the Secret written before the interrupt is reused


def test_during_helm_upgrade_the_interrupt_waits_for_helm(
    cluster: FakeCluster, env_file: Path, tmpdir_for_cli: Path, tmp_path: Path
) -> None:
    hold = 4.0
    slow = wrappers.install(tmp_path / "bin", "helm", cluster.env["PATH"], ("upgrade",), sleep=hold)
    background = start(cluster, env_file, tmpdir_for_cli, PATH=slow.path)
    slow.wait_started(background.proc)
    sent = interrupt(background)
    time.sleep(0.5)
    assert background.proc.poll() is None, "the CLI quit while helm was writing the release"
    run = background.finish(timeout=120)
    assert time.monotonic() - sent >= hold - 1, "the interrupt did not wait for helm"
    assert_stopped_cleanly(run, tmpdir_for_cli)
    assert "finishing the current step" in run.stderr
    assert run.named("helm.upgraded"), run.explain()  # helm ran to its end ...
    assert not run.named("phase.started") or "rollout" not in [e["phase"] for e in run.named("phase.started")]
    records = helm_release_records(cluster, NS)
    assert len(records) == 1 and '"status":"deployed"' in records[0].replace(" ", "")  # ... and left no lock
    rerun = assert_rerun_succeeds(cluster, env_file, tmpdir_for_cli)
    assert rerun.named("helm.skipped")  # the upgrade that finished is not repeated


def test_during_the_rollout_wait(env_file: Path, tmpdir_for_cli: Path) -> None:
    with FakeCluster("slow", timings=SLOW, ingress_port="none", upstream="builtin") as cluster:
        background = start(cluster, env_file, tmpdir_for_cli)
        rig.wait_for(background, "phase.started", "rollout")
        time.sleep(1.0)  # inside the watch
        sent = interrupt(background)
        run = background.finish(timeout=120)
        assert time.monotonic() - sent < 10, "the interrupt waited for the rollout"
        assert_stopped_cleanly(run, tmpdir_for_cli)
        assert not run.named("rollout.result")
        assert cluster.objects("Deployment", NS)  # the release stays: a re-run watches it again
        assert_rerun_succeeds(cluster, env_file, tmpdir_for_cli)


def test_during_the_health_poll(env_file: Path, tmpdir_for_cli: Path) -> None:
    with (
        rig.HealthSwitch() as health,
        FakeCluster("healthy", timings=FAST, ingress_port="none", upstream=health.url) as cluster,
    ):
        background = start(cluster, env_file, tmpdir_for_cli)
        rig.wait_for(background, "phase.started", "health")
        deadline = time.monotonic() + 30
        while health.hits < 2 and time.monotonic() < deadline:  # /health answered 503 at least twice
            time.sleep(0.05)
        assert health.hits >= 2, "the health poll never reached the app"
        sent = interrupt(background)
        run = background.finish(timeout=120)
        assert time.monotonic() - sent < 10, "the interrupt waited for the health timeout"
        assert_stopped_cleanly(run, tmpdir_for_cli)
        assert not run.named("health.ok") and not run.named("health.failed")
        assert [e["phase"] for e in run.named("phase.failed")] == ["health"]
        assert "did not answer" not in run.output  # the interruption is not blamed on the app
        health.heal()
        assert_rerun_succeeds(cluster, env_file, tmpdir_for_cli)


def test_second_interrupt_during_helm_stops_at_once(
    cluster: FakeCluster, env_file: Path, tmpdir_for_cli: Path, tmp_path: Path
) -> None:
    slow = wrappers.install(tmp_path / "bin", "helm", cluster.env["PATH"], ("upgrade",), sleep=8.0)
    background = start(cluster, env_file, tmpdir_for_cli, PATH=slow.path)
    helm_pid = slow.wait_started(background.proc)
    interrupt(background)
    time.sleep(0.5)
    assert background.proc.poll() is None  # the first one is held ...
    sent = interrupt(background)
    run = background.finish(timeout=60)
    assert time.monotonic() - sent < 3, "the second interrupt did not stop at once"  # ... the second is not
    assert run.returncode == 130, run.explain()
    assert "stopping now" in run.stderr
    assert sorted(p.name for p in tmpdir_for_cli.iterdir()) == []  # kubeconfig and values file gone even so
    # helm runs in its own session: it finishes on its own, and a re-run converges from there.
    assert wrappers.process_gone(helm_pid, 60)
    fresh = tmp_path / "rerun-tmp"
    fresh.mkdir()
    assert_rerun_succeeds(cluster, env_file, fresh)
