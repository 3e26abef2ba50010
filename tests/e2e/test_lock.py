"""Two runs at once on one release, through the real CLI: the deploy lock (a Lease) serialises them.

Without it the second `up` failed with exit 6 ("release: already exists", or "another operation is
in progress ... run `invoke up --recover`", advice that would roll back the first run's upgrade).
The first run's rollout waits for pods the test releases, so the second run always finds the lock held.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import signal
from pathlib import Path
from typing import Any

import pytest

from fakecluster import FakeCluster
from orchestrator.kube.lock import SKEW_MARGIN_S
from tests.e2e.harness import CANARIES, FAST, Background, CliRun, invoke, write_env

pytestmark = [pytest.mark.e2e, pytest.mark.docker]
NS = "todo-app"
LEASE = "todo-app-deploy-lock"
# The first run's pods stay unready (the `slow` scenario) until the test lets them go, so it holds
# the lock for as long as the test needs, however slow the machine is.
HELD = dataclasses.replace(FAST, slow_ready_after=600.0)
LEASE_S = 6
SHORT_LEASE = {"TODO_LOCK_LEASE_SECONDS": str(LEASE_S)}


@pytest.fixture
def slow_cluster() -> Any:
    with FakeCluster(
        "slow", timings=HELD, ingress_port="none", real_pods=False
    ) as fake:  # scripted: the test holds the pods
        yield fake


def let_pods_go(cluster: FakeCluster) -> None:
    cluster.set_timings(FAST)


def ts(run: CliRun, name: str) -> float:
    events = run.named(name)
    assert events, f"no {name}\n{run.explain()}"
    return float(events[-1]["ts"])


def holding(cluster: FakeCluster, *args: str, env_file: Path, extra_env: dict[str, str] | None = None) -> Background:
    """Start a run and return once it holds the deploy lock."""
    run = Background(cluster, *args, env_file=env_file, extra_env=extra_env)
    run.wait_for_event("lock.acquired")
    return run


def test_two_concurrent_ups_both_succeed_the_second_after_the_first(slow_cluster: FakeCluster, env_file: Path) -> None:
    first = holding(slow_cluster, "up", env_file=env_file)
    busy = invoke(slow_cluster, "up", "--no-wait-lock", env_file=env_file)
    second = Background(slow_cluster, "up", env_file=env_file)
    second.wait_for_event("lock.waiting")
    let_pods_go(slow_cluster)
    one, two = first.finish(), second.finish()

    assert busy.returncode == 7, busy.explain()
    assert "being changed by another run" in busy.output and "--recover" not in busy.output
    assert one.returncode == 0, one.explain()
    assert two.returncode == 0, two.explain()
    assert one.named("helm.upgraded")[0]["action"] == "install"
    assert "waiting for `up`" in two.named("lock.waiting")[0]["message"]
    assert ts(two, "lock.free") >= ts(one, "lock.released")
    # The first run deployed exactly what the second would: the second changes nothing, writes nothing.
    assert two.named("helm.skipped") and not two.named("lock.acquired") and not two.named("secret.written")
    assert not [e for e in one.events + two.events if "--recover" in str(e.get("hint", ""))]
    lease = slow_cluster.get("Lease", NS, LEASE)
    assert lease is not None and not lease["spec"].get("holderIdentity")  # released


@pytest.mark.parametrize("command", ["down", "rotate-secrets"])
def test_down_and_rotate_wait_for_a_running_up(
    slow_cluster: FakeCluster, env_file: Path, tmp_path: Path, command: str
) -> None:
    slow_cluster.set_scenario("healthy")
    deployed = invoke(slow_cluster, "up", env_file=env_file)
    assert deployed.returncode == 0, deployed.explain()
    slow_cluster.set_scenario("slow")
    changed = write_env(tmp_path / "changed.env", {**CANARIES, "COHERE_API_KEY": CANARIES["COHERE_API_KEY"] + "-2"})
    rotated = write_env(tmp_path / "rotated.env", {**CANARIES, "COHERE_API_KEY": CANARIES["COHERE_API_KEY"] + "-3"})

    up = holding(slow_cluster, "up", env_file=changed)
    other = Background(slow_cluster, command, env_file=rotated)
    other.wait_for_event("lock.waiting")
    let_pods_go(slow_cluster)
    first, second = up.finish(), other.finish()

    assert first.returncode == 0, first.explain()
    assert second.returncode == 0, second.explain()
    assert ts(second, "lock.acquired") >= ts(first, "lock.released")
    if command == "down":
        assert slow_cluster.objects("Deployment", NS) == []
    else:
        assert second.named("helm.upgraded") and second.named("secret.written")


def test_a_killed_holder_blocks_only_until_its_lease_expires(
    slow_cluster: FakeCluster, env_file: Path, tmp_path: Path
) -> None:
    first = Background(slow_cluster, "up", env_file=env_file, extra_env=SHORT_LEASE)
    first.wait_for_event("rollout")  # helm has written the release; the lock is held
    os.kill(first.proc.pid, signal.SIGKILL)  # no finally runs: the lease stays, unrenewed
    killed = first.finish()
    assert killed.returncode == -signal.SIGKILL
    spec = slow_cluster.get("Lease", NS, LEASE)["spec"]
    dead, renewed = spec["holderIdentity"], dt.datetime.fromisoformat(spec["renewTime"].replace("Z", "+00:00"))
    assert dead and spec["leaseDurationSeconds"] == LEASE_S

    # A run that changes something takes the lock over from the dead holder: not before the lease
    # expired, and (waiting if it came early) soon after.
    changed = write_env(tmp_path / "changed.env", {**CANARIES, "COHERE_API_KEY": CANARIES["COHERE_API_KEY"] + "-2"})
    second = Background(slow_cluster, "up", env_file=changed, extra_env=SHORT_LEASE)
    acquired = second.wait_for_event("lock.acquired")
    let_pods_go(slow_cluster)
    done = second.finish()
    assert done.returncode == 0, done.explain()
    assert acquired["took_over_from"] == dead
    expiry = renewed.timestamp() + LEASE_S
    arrived = next(float(e["ts"]) for e in done.named("phase.started") if e["phase"] == "plan")
    assert acquired["ts"] >= expiry - 0.5, (acquired, expiry)  # never while the holder could be alive
    assert acquired["ts"] <= max(arrived, expiry) + SKEW_MARGIN_S + 3, (acquired, expiry, arrived)
    if arrived < expiry - 1:
        assert done.named("lock.waiting"), done.explain()
