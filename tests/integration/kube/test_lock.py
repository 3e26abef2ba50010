"""The deploy lock (a coordination.k8s.io/v1 Lease) through the real `kubernetes` client against the
fake API server: taking, renewing, waiting for, taking over and releasing it."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from orchestrator.errors import ExitCode, LockBusy
from orchestrator.kube.lock import DeployLock
from orchestrator.run.events import Reporter

NS = "todo-lock"


@pytest.fixture
def api(cluster: Any) -> Iterator[Any]:
    from kubernetes import client, config

    api_client = config.new_client_from_config(config_file=str(cluster.kubeconfig))
    client.CoreV1Api(api_client).create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=NS)))
    yield api_client


def _lock(api: Any, events: list[dict[str, Any]], **kwargs: Any) -> DeployLock:
    return DeployLock(api, NS, "todo-app", "up", Reporter([events.append]), **kwargs)


def test_hold_writes_the_holder_renews_and_releases(api: Any) -> None:
    from kubernetes import client

    events: list[dict[str, Any]] = []
    lock = _lock(api, events, duration_s=3)
    with lock.hold():
        lease = client.CoordinationV1Api(api).read_namespaced_lease("todo-app-deploy-lock", NS)
        assert lease.spec.holder_identity == lock.me and lease.spec.lease_duration_seconds == 3
        assert lease.metadata.annotations["todo-deploy/command"] == "up"
        first_renewal = lease.spec.renew_time
        assert lock.renew()
        again = client.CoordinationV1Api(api).read_namespaced_lease("todo-app-deploy-lock", NS)
        assert again.spec.renew_time > first_renewal and again.spec.acquire_time == lease.spec.acquire_time
    released = client.CoordinationV1Api(api).read_namespaced_lease("todo-app-deploy-lock", NS)
    assert not released.spec.holder_identity
    assert [e["event"] for e in events] == ["lock.acquired", "lock.released"]


def test_a_second_run_waits_for_a_live_holder_and_goes_on_once_it_releases(api: Any) -> None:
    first_events: list[dict[str, Any]] = []
    second_events: list[dict[str, Any]] = []
    first = _lock(api, first_events, duration_s=3)
    first.acquire()
    order: list[str] = []

    def second_run() -> None:
        with _lock(api, second_events, duration_s=3).hold():
            order.append("second holds")

    thread = threading.Thread(target=second_run)
    thread.start()
    deadline = dt.datetime.now() + dt.timedelta(seconds=10)
    while not any(e["event"] == "lock.waiting" for e in second_events) and dt.datetime.now() < deadline:
        threading.Event().wait(0.05)
    # The holder renews (every second): the waiting run must not take over, however long it waits.
    threading.Event().wait(4.5)
    assert order == []
    order.append("first releases")
    first.release()
    thread.join(10)
    assert order == ["first releases", "second holds"]
    waiting = next(e for e in second_events if e["event"] == "lock.waiting")
    assert waiting["holder"] == first.me and "waiting for `up`" in waiting["message"]
    assert "took_over_from" not in next(e for e in second_events if e["event"] == "lock.acquired")


def test_no_wait_fails_at_once_with_exit_7_naming_the_holder(api: Any) -> None:
    first = _lock(api, [], duration_s=3)
    first.acquire()
    try:
        with pytest.raises(LockBusy) as err:
            _lock(api, [], wait=False).acquire()
        assert err.value.exit_code is ExitCode.LOCKED == 7
        assert "being changed by another run" in err.value.message and "--recover" not in err.value.render()
    finally:
        first.release()


def test_a_holder_that_stopped_renewing_is_taken_over_after_expiry(api: Any) -> None:
    dead = _lock(api, [], duration_s=2)
    dead.acquire()
    dead._stop.set()  # as if killed: no renewal, no release
    events: list[dict[str, Any]] = []
    started = dt.datetime.now()
    with _lock(api, events, duration_s=2).hold():
        waited = (dt.datetime.now() - started).total_seconds()
    acquired = next(e for e in events if e["event"] == "lock.acquired")
    assert acquired["took_over_from"] == dead.me
    assert 1.0 <= waited < 6, waited
