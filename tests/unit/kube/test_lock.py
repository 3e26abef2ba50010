"""The deploy lock's pure rules: when a Lease holder counts as live, expired, ours or absent."""

from __future__ import annotations

import datetime as dt

from orchestrator.kube.lock import LeaseRecord, LockState, lease_seconds, lock_state

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _record(holder: str = "other", renewed: dt.datetime = T0, duration: int = 15) -> LeaseRecord:
    return LeaseRecord(holder, duration, renewed, renewed, 0, "7", "up")


def test_a_live_holder_holds_until_unchanged_for_a_whole_duration() -> None:
    record = _record()
    assert lock_state(record, "me", T0 + dt.timedelta(seconds=14), observed_at=T0) is LockState.HELD
    assert lock_state(record, "me", T0 + dt.timedelta(seconds=15), observed_at=T0) is LockState.EXPIRED
    assert lock_state(record, "other", T0 + dt.timedelta(hours=1), observed_at=T0) is LockState.OURS
    assert lock_state(None, "me", T0, T0) is LockState.FREE
    assert lock_state(_record(holder=""), "me", T0, T0) is LockState.FREE


def test_an_old_renew_time_is_expired_at_once_but_a_fresh_one_is_not() -> None:
    now = T0 + dt.timedelta(minutes=5)
    assert lock_state(_record(renewed=T0), "me", now, observed_at=now) is LockState.EXPIRED
    fresh = _record(renewed=now - dt.timedelta(seconds=3))
    assert lock_state(fresh, "me", now, observed_at=now) is LockState.HELD
    # A holder whose clock runs a little behind is not robbed: the margin covers the skew.
    behind = _record(renewed=now - dt.timedelta(seconds=17))
    assert lock_state(behind, "me", now, observed_at=now) is LockState.HELD


def test_lease_seconds_from_the_environment() -> None:
    assert lease_seconds({}) == 15
    assert lease_seconds({"TODO_LOCK_LEASE_SECONDS": "3"}) == 3
    assert lease_seconds({"TODO_LOCK_LEASE_SECONDS": "0"}) == 2
    assert lease_seconds({"TODO_LOCK_LEASE_SECONDS": "soon"}) == 15
