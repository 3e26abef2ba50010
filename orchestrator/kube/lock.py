"""The deploy lock: one coordination.k8s.io/v1 Lease per release, in the release's namespace.

Two runs against the same release (two terminals, CI and a person) must not interleave their
writes: a second `helm upgrade` while the first is in flight fails with "another operation is in
progress", and the advice that follows (`--recover`) would roll back the other run's upgrade. So
every command that changes a release holds this lock while it does, and a run that finds it held
waits for it (or, with --no-wait-lock, stops at once with exit 7).

The record follows client-go's leader-election lease lock (kubernetes/kubernetes
staging/src/k8s.io/client-go/tools/leaderelection/resourcelock/leaselock.go): `holderIdentity`,
`leaseDurationSeconds`, `acquireTime`, `renewTime`, `leaseTransitions`
(staging/src/k8s.io/api/coordination/v1/types.go, LeaseSpec). As there, the holder renews well within
the duration (every third of it), a candidate takes the lease over only once it has expired, and
every write carries the resourceVersion it read, so two candidates racing for an expired lease cannot
both win (the API server answers the loser 409 Conflict). Expiry is judged as client-go's
leaderelection.go does: `leaseDurationSeconds` after this run last saw the record change (its own
clock, so another machine's clock does not matter), or at once when the recorded renewTime is older
than the duration plus a margin for clock skew. Releasing empties `holderIdentity` (client-go writes
the same on ReleaseOnCancel), so a waiting run proceeds at once; a run killed with SIGKILL blocks
others only until the lease expires.

Pure decisions (`lock_state`, `is_expired`) are separate from the calls; the `kubernetes` client is
imported inside functions.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from typing import Any

from orchestrator.errors import LockBusy
from orchestrator.run.events import Reporter

DEFAULT_LEASE_SECONDS = 15  # client-go's usual LeaseDuration
LEASE_SECONDS_ENV = "TODO_LOCK_LEASE_SECONDS"
SKEW_MARGIN_S = 5.0  # a recorded renewTime older than duration + this is expired without waiting
COMMAND_ANNOTATION = "todo-deploy/command"
WAIT_REPORT_EVERY_S = 10.0


def lease_name(release: str) -> str:
    return f"{release}-deploy-lock"


def lease_seconds(environ: Mapping[str, str] | None = None) -> int:
    """The lease duration: 15 s, or TODO_LOCK_LEASE_SECONDS (at least 2)."""
    env = os.environ if environ is None else environ
    try:
        return max(2, int(env.get(LEASE_SECONDS_ENV, "") or DEFAULT_LEASE_SECONDS))
    except ValueError:
        return DEFAULT_LEASE_SECONDS


def new_identity(command: str) -> str:
    """Who holds the lease: host, process and a random part (client-go uses hostname + uuid)."""
    return f"{socket.gethostname()}_{os.getpid()}_{uuid.uuid4().hex[:8]}"


# --- the record and the pure decisions ----------------------------------------------------------


@dataclass(frozen=True)
class LeaseRecord:
    holder: str
    duration_s: int
    acquire_time: dt.datetime | None
    renew_time: dt.datetime | None
    transitions: int
    resource_version: str
    command: str = ""

    @property
    def pid(self) -> str:
        parts = self.holder.split("_")
        return parts[-2] if len(parts) >= 3 else "?"

    @property
    def host(self) -> str:
        return self.holder.rsplit("_", 2)[0] if self.holder.count("_") >= 2 else self.holder


class LockState(str, Enum):
    FREE = "free"  # no lease, or released (no holder)
    OURS = "ours"
    HELD = "held"  # a live holder
    EXPIRED = "expired"  # a holder that stopped renewing


def is_expired(record: LeaseRecord, now: dt.datetime, observed_at: dt.datetime) -> bool:
    """Pure: expired `duration` after the record was last seen changing, or when its own renewTime
    is older than the duration plus the skew margin."""
    duration = dt.timedelta(seconds=max(1, record.duration_s))
    if observed_at + duration <= now:
        return True
    renewed = record.renew_time or record.acquire_time
    return renewed is not None and renewed + duration + dt.timedelta(seconds=SKEW_MARGIN_S) <= now


def lock_state(record: LeaseRecord | None, me: str, now: dt.datetime, observed_at: dt.datetime) -> LockState:
    """Pure: what the lease means to the run called `me`."""
    if record is None or not record.holder:
        return LockState.FREE
    if record.holder == me:
        return LockState.OURS
    return LockState.EXPIRED if is_expired(record, now, observed_at) else LockState.HELD


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def micro_time(moment: dt.datetime) -> str:
    """metav1.MicroTime's wire form: RFC 3339 with microseconds."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def lease_body(
    name: str,
    namespace: str,
    me: str,
    command: str,
    duration_s: int,
    acquired: dt.datetime,
    renewed: dt.datetime,
    transitions: int,
    resource_version: str | None,
) -> dict[str, Any]:
    """Pure: the Lease object to write (create without, replace with the resourceVersion read)."""
    metadata: dict[str, Any] = {
        "name": name,
        "namespace": namespace,
        "annotations": {COMMAND_ANNOTATION: command},
        "labels": {"app.kubernetes.io/managed-by": "todo-deploy"},
    }
    if resource_version:
        metadata["resourceVersion"] = resource_version
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": metadata,
        "spec": {
            "holderIdentity": me,
            "leaseDurationSeconds": duration_s,
            "acquireTime": micro_time(acquired),
            "renewTime": micro_time(renewed),
            "leaseTransitions": transitions,
        },
    }


def holder_text(record: LeaseRecord, now: dt.datetime) -> str:
    """`up` (pid 123 on host-a), renewed 2s ago — for messages."""
    renewed = record.renew_time or record.acquire_time
    ago = f", renewed {max(0.0, (now - renewed).total_seconds()):.0f}s ago" if renewed else ""
    command = f"`{record.command}` " if record.command else ""
    return f"{command}(pid {record.pid} on {record.host}{ago})"


# --- the calls ------------------------------------------------------------------------------------


def _parse_time(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    try:
        return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def record_of(lease: Mapping[str, Any]) -> LeaseRecord:
    """The Lease's JSON (coordination.k8s.io/v1) as the lock reads it."""
    spec, meta = lease.get("spec") or {}, lease.get("metadata") or {}
    return LeaseRecord(
        holder=str(spec.get("holderIdentity") or ""),
        duration_s=int(spec.get("leaseDurationSeconds") or DEFAULT_LEASE_SECONDS),
        acquire_time=_parse_time(spec.get("acquireTime")),
        renew_time=_parse_time(spec.get("renewTime")),
        transitions=int(spec.get("leaseTransitions") or 0),
        resource_version=str(meta.get("resourceVersion") or ""),
        command=str((meta.get("annotations") or {}).get(COMMAND_ANNOTATION, "")),
    )


class DeployLock:
    """The lease of one release. `wait_free()` for a run that only reads; `hold()` around writes."""

    def __init__(
        self,
        api_client: Any,
        namespace: str,
        release: str,
        command: str,
        reporter: Reporter,
        *,
        wait: bool = True,
        duration_s: int | None = None,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        from orchestrator.kube.rest import Rest, group_path

        self.api = Rest(api_client)
        self.path = group_path("coordination.k8s.io/v1", namespace, "leases", lease_name(release))
        self.collection = group_path("coordination.k8s.io/v1", namespace, "leases")
        self.namespace = namespace
        self.release_name = release
        self.name = lease_name(release)
        self.command = command
        self.reporter = reporter
        self.wait = wait
        self.duration_s = duration_s or lease_seconds()
        self.me = new_identity(command)
        self._sleep = sleep
        self._now = now
        self._held: LeaseRecord | None = None
        self._acquired_at: dt.datetime | None = None
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None
        self._lost = False
        self._write_lock = threading.Lock()

    # reading

    def read(self) -> LeaseRecord | None:
        from orchestrator.kube.api import api_error, call, status_of

        try:
            return record_of(call(self.api.get, self.path))
        except Exception as exc:
            if status_of(exc) == 404:
                return None
            raise api_error(exc, f"reading the deploy lock (Lease {self.namespace}/{self.name})") from None

    def wait_free(self) -> LeaseRecord | None:
        """Return once no live holder other than this run holds the lease (the last record read).
        While one does: report `lock.waiting` (and again every 10 s), or raise LockBusy without --wait."""
        observed: tuple[str, dt.datetime] | None = None
        reported_at: float | None = None
        started = time.monotonic()
        while True:
            record = self.read()
            now = self._now()
            if record is None:
                return None
            if observed is None or observed[0] != record.resource_version:
                observed = (record.resource_version, now)
            state = lock_state(record, self.me, now, observed[1])
            if state is not LockState.HELD:
                if reported_at is not None:
                    self.reporter.emit(
                        "lock.free",
                        lease=self.name,
                        namespace=self.namespace,
                        waited=round(time.monotonic() - started, 2),
                        expired=state is LockState.EXPIRED,
                    )
                return record
            if not self.wait:
                raise LockBusy(
                    f"release {self.release_name} is being changed by another run: {holder_text(record, now)} "
                    f"holds the deploy lock (Lease {self.namespace}/{self.name})",
                    "wait for it to finish and run the command again (without --no-wait-lock it waits by itself)",
                )
            if reported_at is None or time.monotonic() - reported_at >= WAIT_REPORT_EVERY_S:
                self.reporter.emit(
                    "lock.waiting",
                    lease=self.name,
                    namespace=self.namespace,
                    holder=record.holder,
                    holder_command=record.command,
                    pid=record.pid,
                    host=record.host,
                    lease_seconds=record.duration_s,
                    message=f"waiting for {holder_text(record, now)} to finish with release {self.release_name}",
                )
                reported_at = time.monotonic()
            self._sleep(min(1.0, max(0.2, record.duration_s / 5)))

    # holding

    def acquire(self) -> None:
        """Wait for the lease to be free or expired, then take it (create, or replace with the
        resourceVersion read: a 409 means another run was faster, so wait again)."""
        from orchestrator.kube.api import api_error, call, status_of

        while True:
            record = self.wait_free()
            now = self._now()
            taken_over = record is not None and bool(record.holder) and record.holder != self.me
            transitions = (record.transitions + (1 if taken_over else 0)) if record else 0
            body = lease_body(
                self.name,
                self.namespace,
                self.me,
                self.command,
                self.duration_s,
                now,
                now,
                transitions,
                record.resource_version if record else None,
            )
            try:
                if record is None:
                    lease = call(self.api.create, self.collection, body, attempts=1)
                else:
                    lease = call(self.api.replace, self.path, body, attempts=1)
            except Exception as exc:
                if status_of(exc) == 409:  # AlreadyExists or Conflict: someone else wrote first
                    continue
                raise api_error(exc, f"taking the deploy lock (Lease {self.namespace}/{self.name})") from None
            self._held = record_of(lease)
            self._acquired_at = now
            self.reporter.emit(
                "lock.acquired",
                lease=self.name,
                namespace=self.namespace,
                holder=self.me,
                lease_seconds=self.duration_s,
                **({"took_over_from": record.holder} if taken_over and record else {}),
            )
            self._start_renewing()
            return

    def _start_renewing(self) -> None:
        self._stop.clear()
        # Everything the renewals call has been imported by the acquisition above, on this thread:
        # the renewer imports nothing (see tests/robustness/test_import_race.py).
        self._renewer = threading.Thread(target=self._renew_loop, name="deploy-lock-renewer", daemon=True)
        self._renewer.start()

    def _renew_loop(self) -> None:
        interval = max(0.5, self.duration_s / 3)
        while not self._stop.wait(interval):
            try:
                self.renew()
            except Exception:  # a missed renewal is retried; the lease lasts three intervals
                continue

    def renew(self) -> bool:
        """One renewal (replace with the last resourceVersion). False when the lease was lost."""
        with self._write_lock:
            if self._held is None or self._lost:
                return False
            now = self._now()
            body = lease_body(
                self.name,
                self.namespace,
                self.me,
                self.command,
                self.duration_s,
                self._acquired_at or now,
                now,
                self._held.transitions,
                self._held.resource_version,
            )
            try:
                self._held = record_of(self.api.replace(self.path, body))
            except Exception as exc:
                from orchestrator.kube.api import status_of

                status = status_of(exc)
                if status in (404, 409):  # deleted with its namespace (`down`), or taken over after expiry
                    self._lost = True
                    if status == 409:
                        self.reporter.emit("lock.lost", lease=self.name, namespace=self.namespace)
                    return False
                raise
            return True

    def release(self) -> None:
        """Stop renewing and empty the holder (only if the lease is still ours)."""
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join(timeout=10)
            self._renewer = None
        with self._write_lock:
            held, self._held = self._held, None
            if held is None or self._lost:
                return
            now = self._now()
            body = lease_body(
                self.name, self.namespace, "", self.command, 1, now, now, held.transitions, held.resource_version
            )
            body["spec"]["holderIdentity"] = None
            try:
                self.api.replace(self.path, body, retries=False)  # once: an unfreed lease expires by itself
            except Exception:  # gone with its namespace (down), taken over, or no answer: nothing to free
                return
            self.reporter.emit("lock.released", lease=self.name, namespace=self.namespace)

    @contextmanager
    def hold(self) -> Iterator[DeployLock]:
        self.acquire()
        try:
            yield self
        finally:
            self.release()


def open_lock(cluster: Any, command: str, reporter: Reporter, *, wait: bool = True) -> DeployLock:
    """The lock of the cluster's release (a `Cluster`), for `command`."""
    settings = cluster.settings
    return DeployLock(cluster.api, settings.namespace, settings.release, command, reporter, wait=wait)
