"""Two runs at once on one release, through the real CLI: the deploy lock (a Lease) serialises them.

Without it the second `up` failed with exit 6 ("release: already exists", or "another operation is
in progress ... run `invoke up --recover`", advice that would roll back the first run's upgrade).
The first run's rollout is slow (the `slow` scenario: pods Ready after 10 s), so it holds the lock
long enough for the second to arrive.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import CANARIES, Background, CliRun, invoke, write_env
from fakecluster import FakeCluster, Timings

pytestmark = [pytest.mark.e2e, pytest.mark.docker]
NS = "todo-app"
LEASE = "todo-app-deploy-lock"
SLOW = Timings(ready_after=0.3, slow_ready_after=10.0, crash_interval=0.5, flaky_delay=0.2,
               flaky_error_seconds=1.5, outage_seconds=3.0, tick=0.1)
SHORT_LEASE = {"TODO_LOCK_LEASE_SECONDS": "3"}


@pytest.fixture
def slow_cluster() -> Any:
    with FakeCluster("slow", timings=SLOW, ingress_port="none") as fake:
        yield fake


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
    one, two = first.finish(), second.finish()

    assert busy.returncode == 7, busy.explain()
    assert "being changed by another run" in busy.output and "--recover" not in busy.output
    assert one.returncode == 0, one.explain()
    assert two.returncode == 0, two.explain()
    assert one.named("helm.upgraded")[0]["action"] == "install"
    waiting = two.named("lock.waiting")
    assert waiting and "waiting for `up`" in waiting[0]["message"], two.explain()
    assert ts(two, "lock.free") >= ts(one, "lock.released")
    # The first run deployed exactly what the second would: the second changes nothing, writes nothing.
    assert two.named("helm.skipped") and not two.named("lock.acquired") and not two.named("secret.written")
    assert not [e for e in one.events + two.events if "--recover" in str(e.get("hint", ""))]
    lease = slow_cluster.get("Lease", NS, LEASE)
    assert lease is not None and not lease["spec"].get("holderIdentity")  # released


@pytest.mark.parametrize("command", ["down", "rotate-secrets"])
def test_down_and_rotate_wait_for_a_running_up(slow_cluster: FakeCluster, env_file: Path, tmp_path: Path,
                                               command: str) -> None:
    slow_cluster.set_scenario("healthy")
    assert invoke(slow_cluster, "up", env_file=env_file).returncode == 0
    slow_cluster.set_scenario("slow")
    changed = write_env(tmp_path / "changed.env", {**CANARIES, "COHERE_API_KEY": CANARIES["COHERE_API_KEY"] + "-2"})
    rotated = write_env(tmp_path / "rotated.env", {**CANARIES, "COHERE_API_KEY": CANARIES["COHERE_API_KEY"] + "-3"})

    up = holding(slow_cluster, "up", env_file=changed)
    other = Background(slow_cluster, command, env_file=rotated)
    first, second = up.finish(), other.finish()

    assert first.returncode == 0, first.explain()
    assert second.returncode == 0, second.explain()
    assert second.named("lock.waiting"), second.explain()
    assert ts(second, "lock.acquired") >= ts(first, "lock.released")
    if command == "down":
        assert slow_cluster.objects("Deployment", NS) == []
    else:
        assert second.named("helm.upgraded") and second.named("secret.written")


def test_a_killed_holder_blocks_only_until_its_lease_expires(slow_cluster: FakeCluster, env_file: Path) -> None:
    first = Background(slow_cluster, "up", env_file=env_file, extra_env=SHORT_LEASE)
    first.wait_for_event("rollout")  # helm has written the release; the lock is held
    os.kill(first.proc.pid, signal.SIGKILL)  # no finally runs: the lease stays, unrenewed
    killed = first.finish()
    assert killed.returncode == -signal.SIGKILL
    holder = slow_cluster.get("Lease", NS, LEASE)["spec"]["holderIdentity"]
    assert holder

    second = invoke(slow_cluster, "up", env_file=env_file, extra_env=SHORT_LEASE)
    assert second.returncode == 0, second.explain()
    assert second.named("lock.waiting"), second.explain()
    free = second.named("lock.free")[-1]
    assert free["expired"] is True and free["waited"] <= 3 + 2, free  # one lease duration, plus polling
