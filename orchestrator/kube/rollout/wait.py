"""Wait for Deployments to become Current: watch (fast), fall back to polling, fail fast on what cannot heal.

Three feeder threads (Deployments, ReplicaSets, Pods) list once, then watch from that resourceVersion and put what
they see on a queue; the caller's thread owns all state and all reporting. A change reaches the
verdict as soon as the API sends it (no poll interval in the way). When the server cannot watch,
a feeder switches to listing every `poll_interval` seconds.

API errors follow orchestrator.kube.api's rule: retryable ones (no answer, 429, 5xx but 501) are retried
and counted in `RolloutOutcome.retries`; others end the wait with a clear error.

Verdicts:
- every Deployment Current -> ok;
- a pod of a Deployment's *newest* ReplicaSet, while that Deployment is not Current, has a diagnosis
  (status.diagnose_pod) that is hopeless (status.hopeless: a crash loop after a restart, Unschedulable
  for a while; first sight is not final) -> stop now. Pods of older ReplicaSets share the Deployment's labels and keep
  running (and crashing) until the new ones are available: they are "old revision, being replaced" and
  never fail the wait (see `pod_revision`);
  crash loops get their last log lines through `logs_fn`, which the caller wraps with redaction;
- a Deployment Failed (progress deadline exceeded) -> stop;
- otherwise wait until the deadline. The outcome names every resource that is not ready.
"""

from __future__ import annotations

import enum
import functools
import json
import queue
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from orchestrator.errors import DeployNeedsAction, DeployRolledBack, OrchestratorError
from orchestrator.kube import api as kube
from orchestrator.kube.rollout.hints import hint_for
from orchestrator.kube.rollout.status import (
    Diagnosis,
    Result,
    Status,
    compute,
    diagnose_pod,
    hopeless,
    name_of,
    waited_for,
)
from orchestrator.run.events import Reporter

LogsFn = Callable[[str, str, str], list[str]]
# (namespace, pod) -> the kubelet's probe failure messages for that pod ("Readiness probe failed: ..."), oldest first
ProbeFailuresFn = Callable[[str, str], list[str]]
Obj = Mapping[str, Any]

WATCH_CHUNK_S = 30
MAX_SHORT_WATCHES = 3


@dataclass
class ResourceReport:
    resource: str
    result: Result
    diagnosis: Diagnosis | None = None
    hint: str = ""
    logs: list[str] = field(default_factory=list)
    probe_failures: list[str] = field(default_factory=list)
    waited: str = ""  # what the wait gave it before calling it hopeless

    def lines(self) -> list[str]:
        r = self.result
        out = [f"{self.resource}: {r.status} {r.reason} ({r.message})"]
        out += [f"  probe: {line}" for line in self.probe_failures]
        if self.waited:
            out.append(f"  {self.waited}")
        if self.hint:
            out.append(f"  fix: {self.hint}")
        out += [f"  | {line}" for line in self.logs]
        return out


@dataclass
class RolloutOutcome:
    ok: bool
    reason: str  # Ready | CannotHeal | Failed | DeadlineExceeded
    seconds: float
    not_ready: list[ResourceReport] = field(default_factory=list)
    retries: int = 0
    mode: str = "watch"  # watch | poll
    relists: int = 0  # watches the server ended as expired (410), each followed by a new list

    def details(self) -> list[str]:
        return [line for report in self.not_ready for line in report.lines()]

    def error(self, rolled_back: bool = False) -> OrchestratorError:
        """The error the deploy ends with: names every resource that is not ready and each fix."""
        names = ", ".join(r.resource for r in self.not_ready if r.resource.startswith("deployment/")) or "rollout"
        what = {
            "CannotHeal": "cannot become ready",
            "Failed": "failed",
            "DeadlineExceeded": "was not ready before the deadline",
        }.get(self.reason, "failed")
        hints = [r.hint for r in self.not_ready if r.hint]
        hint = hints[0] if hints else "look at `kubectl get pods` and `kubectl describe` for the resources above"
        if rolled_back:
            return DeployRolledBack(f"{names} {what}; the release was rolled back", hint, details=self.details())
        return DeployNeedsAction(f"{names} {what}", hint, details=self.details())


# --- feeders (threads) ---------------------------------------------------------------------------


@dataclass
class _Lister:
    kind: str
    list_fn: Callable[..., Any]


class _Feed(threading.Thread):
    """List, then watch from the list's resourceVersion; on a non-watchable server, list repeatedly."""

    def __init__(
        self,
        lister: _Lister,
        namespace: str,
        selector: str | None,
        out: queue.Queue[tuple[Any, ...]],
        stop: threading.Event,
        poll_interval: float,
        counter: kube.RetryCounter,
        lock: threading.Lock,
        deadline: float,
    ) -> None:
        super().__init__(name=f"rollout-{lister.kind.lower()}", daemon=True)
        self.lister = lister
        self.namespace = namespace
        self.selector = selector
        self.out = out
        self.stop_event = stop
        self.poll_interval = poll_interval
        self.counter = counter
        self.lock = lock
        self.deadline = deadline
        self.polling = False
        self._resp: Any = None

    def _selector_kwargs(self) -> dict[str, Any]:
        return {"label_selector": self.selector} if self.selector else {}

    def _retry(self, exc: BaseException, backoff: float) -> float:
        with self.lock:
            self.counter.record(exc)
        self.stop_event.wait(backoff)
        return min(backoff * 2, 3.0)

    def _list(self) -> tuple[list[dict[str, Any]], str | None]:
        resp = self.lister.list_fn(
            self.namespace, _preload_content=False, _request_timeout=(5, 15), **self._selector_kwargs()
        )
        data = json.loads(resp.data)
        items = [dict(item, kind=self.lister.kind) for item in data.get("items") or []]
        return items, (data.get("metadata") or {}).get("resourceVersion")

    def run(self) -> None:
        backoff = 0.2
        short_watches = 0
        expired_in_a_row = 0
        while not self.stop_event.is_set():
            try:
                items, version = self._list()
            except Exception as exc:
                if kube.is_retryable(exc):
                    backoff = self._retry(exc, backoff)
                    continue
                self.out.put(("fatal", self.lister.kind, exc))
                return
            backoff = 0.2
            self.out.put(("sync", self.lister.kind, items))
            if self.polling:
                self.stop_event.wait(self.poll_interval)
                continue
            remaining = max(1, int(min(WATCH_CHUNK_S, self.deadline - time.monotonic() + 1)))
            began, events = time.monotonic(), 0
            try:
                for event in self._watch_stream(version, remaining):
                    if self.stop_event.is_set():
                        break
                    events += 1
                    if event.kind is not EventKind.BOOKMARK:
                        self.out.put(
                            ("event", self.lister.kind, event.kind.value, dict(event.obj, kind=self.lister.kind))
                        )
            except Exception as exc:
                if self.stop_event.is_set():
                    return
                status = kube.status_of(exc)
                if status == EXPIRED:
                    # The resourceVersion is older than the server keeps (compaction, a small watch
                    # cache): list again and watch from the new list, as client-go's reflector does.
                    self.out.put(("relist", self.lister.kind))
                    expired_in_a_row += 1
                    if expired_in_a_row > 1:
                        self.stop_event.wait(min(0.2 * 2 ** (expired_in_a_row - 2), 3.0))
                    continue
                if status is not None and kube.is_retryable_status(status):
                    backoff = self._retry(exc, backoff)
                    continue
                self.polling = True
                self.out.put(("mode", self.lister.kind, "poll"))
                continue
            expired_in_a_row = 0
            if events == 0 and time.monotonic() - began < 1.0:
                short_watches += 1
                if short_watches >= MAX_SHORT_WATCHES:
                    self.polling = True
                    self.out.put(("mode", self.lister.kind, "poll"))

    def _watch_stream(self, version: str | None, remaining: int) -> Iterator[WatchEvent]:
        """One watch request, read line by line; an ERROR event raises ApiException with its code.

        Not `kubernetes.watch.Watch`: its `deserialize=False` (which keeps the client from building a
        model object per event) does not exist before client 34.1 (the argument reaches the API call:
        TypeError), and from 34.1 to 37 an ERROR event in that mode raises KeyError('raw_object')
        instead of the ApiException with the 410 (kubernetes-client/python
        kubernetes/base/watch/watch.py, `stream`). Reading the stream here behaves the same on every
        client version in pyproject.toml's range.
        """
        kwargs: dict[str, Any] = dict(
            self._selector_kwargs(),
            watch=True,
            timeout_seconds=remaining,
            _preload_content=False,
            _request_timeout=(5, remaining + 5),
        )
        if version:
            kwargs["resource_version"] = version
        resp = self._opening(self.lister.list_fn)(self.namespace, **kwargs)
        try:
            for line in _lines(resp):
                event = parse_event(line)
                if event is None:
                    continue
                if event.kind is EventKind.ERROR:
                    from kubernetes.client.exceptions import ApiException

                    raise ApiException(status=event.code, reason=event.reason)
                yield event
        finally:
            # close() drops the connection (a watch's leftovers must not be read by the next request);
            # shutdown() is only for cutting a blocked read from another thread (see shutdown below).
            resp.close()
            resp.release_conn()

    def _opening(self, list_fn: Callable[..., Any]) -> Callable[..., Any]:
        """Wrap the list call the watch makes, to hold its response: shutdown() can then cut it.

        The stop flag is checked after the response is registered, and shutdown() sets the flag before
        reading the response, so a watch opening while the wait ends is closed either way.
        """

        @functools.wraps(list_fn)
        def opened(*args: Any, **kwargs: Any) -> Any:
            resp = list_fn(*args, **kwargs)
            self._resp = resp
            if self.stop_event.is_set():
                _cut(resp)
            return resp

        return opened

    def shutdown(self) -> None:
        """Stop at once: also cut a watch blocked in a read."""
        self.stop_event.set()
        resp = self._resp
        if resp is not None:
            _cut(resp)


EXPIRED = 410  # Gone: "too old resource version"


class EventKind(enum.Enum):
    ADDED = "ADDED"
    MODIFIED = "MODIFIED"
    DELETED = "DELETED"
    BOOKMARK = "BOOKMARK"
    ERROR = "ERROR"


@dataclass(frozen=True)
class WatchEvent:
    kind: EventKind
    obj: dict[str, Any]
    code: int = 0  # ERROR events: the Status code (410 when the resourceVersion expired)
    reason: str = ""  # ERROR events: "<reason>: <message>" of the Status


def parse_event(line: bytes) -> WatchEvent | None:
    """One line of a watch stream; None for a blank line. Raises ValueError for anything else.

    The API server ends a watch it cannot serve with one ERROR event whose object is a Status
    (kubernetes/kubernetes staging/src/k8s.io/apiserver/pkg/endpoints/handlers/watch.go); an expired
    resourceVersion is code 410, reason Expired (staging/src/k8s.io/apiserver/pkg/storage/cacher/watch_cache.go).
    """
    if not line.strip():
        return None
    data = json.loads(line)
    kind, obj = EventKind(data.get("type")), data.get("object")
    if not isinstance(obj, dict):
        raise ValueError("a watch event without an object")
    if kind is EventKind.ERROR:
        code = obj.get("code")
        return WatchEvent(
            kind,
            obj,
            code=code if isinstance(code, int) else 500,
            reason=f"{obj.get('reason', '')}: {obj.get('message', '')}",
        )
    return WatchEvent(kind, obj)


def _lines(resp: Any) -> Iterator[bytes]:
    """The lines of a streamed response, as they arrive (a chunk may hold part of a line, or several)."""
    pending = b""
    for chunk in resp.stream(amt=None, decode_content=False):
        pending += chunk
        *complete, pending = pending.split(b"\n")
        yield from complete
    if pending:
        yield pending


def _cut(resp: Any) -> None:
    try:
        (getattr(resp, "shutdown", None) or resp.close)()
    except Exception:  # already closed or half-open: nothing left to stop
        pass


# --- pure evaluation -----------------------------------------------------------------------------


def _owns(deployment: Obj, pod: Obj) -> bool:
    match = ((deployment.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    labels = (pod.get("metadata") or {}).get("labels") or {}
    return bool(match) and all(labels.get(k) == v for k, v in match.items())


REVISION = "deployment.kubernetes.io/revision"
TEMPLATE_HASH = "pod-template-hash"
OLD_REVISION = Result(Status.IN_PROGRESS, "OldRevision", "old revision, being replaced")


def _meta(obj: Obj) -> Obj:
    return obj.get("metadata") or {}


def _controlled_by(obj: Obj, owner: Obj, kind: str) -> bool:
    """Whether `owner` is in obj's ownerReferences (by uid; by kind and name when the owner has no uid)."""
    uid, name = _meta(owner).get("uid"), _meta(owner).get("name")
    for ref in _meta(obj).get("ownerReferences") or []:
        if uid and ref.get("uid") == uid:
            return True
        if not uid and ref.get("kind") == kind and ref.get("name") == name:
            return True
    return False


def pod_revision(deployment: Obj, pod: Obj, replica_sets: Sequence[Obj]) -> str:
    """ "new" when the pod belongs to the Deployment's newest ReplicaSet, "old" otherwise. Pure.

    The deployment controller (kubernetes/kubernetes pkg/controller/deployment/sync.go, getNewReplicaSet)
    owns one ReplicaSet per pod template (ownerReferences), stamps it with the revision annotation and
    copies that revision onto the Deployment (pkg/controller/deployment/util/deployment_util.go,
    SetDeploymentRevision); the ReplicaSet's pods carry its `pod-template-hash` label and an
    ownerReference to it. Until the controller has observed the Deployment's current generation, no
    ReplicaSet is the new one yet. With no ReplicaSet of the Deployment in sight there is nothing to
    tell apart, and every matching pod counts as new.
    """
    owned = [rs for rs in replica_sets if _controlled_by(rs, deployment, "Deployment")]
    if not owned:
        return "new"
    generation = _meta(deployment).get("generation")
    observed = (deployment.get("status") or {}).get("observedGeneration")
    if generation is not None and (observed is None or int(observed) < int(generation)):
        return "old"
    revision = (_meta(deployment).get("annotations") or {}).get(REVISION)
    newest = next(
        (rs for rs in owned if revision and (_meta(rs).get("annotations") or {}).get(REVISION) == revision), None
    )
    if newest is None:
        return "old"
    if _controlled_by(pod, newest, "ReplicaSet"):
        return "new"
    if _meta(pod).get("ownerReferences"):  # owned by another ReplicaSet
        return "old"
    rs_hash = (_meta(newest).get("labels") or {}).get(TEMPLATE_HASH)
    pod_hash = (_meta(pod).get("labels") or {}).get(TEMPLATE_HASH)
    return "new" if rs_hash and pod_hash == rs_hash else "old"  # an orphan: its template hash decides


@dataclass
class Verdict:
    done: bool
    ok: bool = False
    reason: str = ""
    deployments: dict[str, Result] = field(default_factory=dict)
    pods: dict[str, tuple[Result, Diagnosis | None, str]] = field(default_factory=dict)  # pod -> result, diag, owner
    hopeless: set[str] = field(default_factory=set)  # pods whose diagnosis waiting cannot help
    pending: bool = False  # a diagnosis is being given time: evaluate again even without news


def diagnosis_key(pod: str, diagnosis: Diagnosis) -> str:
    return f"{pod}:{diagnosis.reason}"


def evaluate(
    names: Sequence[str],
    deployments: Mapping[str, Obj],
    pods: Mapping[str, Obj],
    replica_sets: Mapping[str, Obj] | None = None,
    *,
    first_seen: Mapping[str, float] | None = None,
    now: float = 0.0,
) -> Verdict:
    """The state of the rollout from what was last seen. Pure. Old-revision pods never fail it.

    `first_seen`: when each diagnosis (`diagnosis_key`) was first seen, on the clock of `now`; a
    diagnosis not in it is seen for the first time now.
    """
    verdict = Verdict(done=False)
    sets = list((replica_sets or {}).values())
    for name in names:
        verdict.deployments[name] = compute(deployments.get(name), "Deployment")
    for pod_name, pod in sorted(pods.items()):
        owner = next((n for n in names if n in deployments and _owns(deployments[n], pod)), "")
        if not owner:
            continue
        if pod_revision(deployments[owner], pod, sets) == "old":
            result = compute(pod, "Pod")
            verdict.pods[pod_name] = (result if result.status is Status.TERMINATING else OLD_REVISION, None, owner)
            continue
        verdict.pods[pod_name] = (compute(pod, "Pod"), diagnose_pod(pod), owner)

    if all(r.status is Status.CURRENT for r in verdict.deployments.values()):
        verdict.done, verdict.ok, verdict.reason = True, True, "Ready"
        return verdict
    since = first_seen or {}
    for pod_name, (_result, diagnosis, owner) in verdict.pods.items():
        if diagnosis is None or verdict.deployments[owner].status is Status.CURRENT:
            continue
        if hopeless(diagnosis, now - since.get(diagnosis_key(pod_name, diagnosis), now)):
            verdict.hopeless.add(pod_name)
        else:
            verdict.pending = True
    if verdict.hopeless:
        verdict.done, verdict.reason = True, "CannotHeal"
        return verdict
    if any(r.status is Status.FAILED for r in verdict.deployments.values()):
        verdict.done, verdict.reason = True, "Failed"
    return verdict


def _unready_container(pod: Obj | None) -> str:
    for status in (pod or {}).get("status", {}).get("containerStatuses") or []:
        if not status.get("ready"):
            return str(status.get("name", ""))
    return ""


def _probe_report(
    report: ResourceReport, namespace: str, pod: Obj | None, logs_fn: LogsFn | None, probes_fn: ProbeFailuresFn | None
) -> None:
    """A pod that runs but never turns Ready: what its probes said, and its own log."""
    if probes_fn is None:
        return
    try:
        failures = probes_fn(namespace, report.resource.removeprefix("pod/"))
    except Exception as exc:  # the events are a bonus; never hide the report
        failures = [f"(events unavailable: {type(exc).__name__})"]
    if not failures:
        return
    report.probe_failures = failures[-3:]
    container = _unready_container(pod)
    report.hint = (
        f"the container {container or '?'} runs but its probe keeps failing: fix what the probe "
        "checks (for /ready: the database it must reach), then `invoke up`; "
        f"`kubectl describe pod {report.resource.removeprefix('pod/')}` shows every probe result"
    )
    if logs_fn is not None and container:
        try:
            report.logs = list(logs_fn(namespace, report.resource.removeprefix("pod/"), container))[-20:]
        except Exception as exc:  # logs are a bonus; never hide the diagnosis
            report.logs = [f"(logs unavailable: {type(exc).__name__})"]


def _reports(
    verdict: Verdict,
    namespace: str,
    logs_fn: LogsFn | None,
    probes_fn: ProbeFailuresFn | None = None,
    pods: Mapping[str, Obj] | None = None,
) -> list[ResourceReport]:
    reports: list[ResourceReport] = []
    for name, result in verdict.deployments.items():
        if result.status is Status.CURRENT:
            continue
        hint = ""
        if result.status is Status.NOT_FOUND:
            hint = "the chart did not create it: check `helm get manifest` and the release name"
        reports.append(ResourceReport(f"deployment/{name}", result, hint=hint))
        for pod_name, (pod_result, diagnosis, owner) in verdict.pods.items():
            if owner != name or pod_result.status in (Status.CURRENT, Status.TERMINATING):
                continue
            report = ResourceReport(f"pod/{pod_name}", pod_result, diagnosis)
            if diagnosis is not None:
                report.hint = hint_for(diagnosis)
                report.waited = waited_for(diagnosis) if pod_name in verdict.hopeless else ""
                if diagnosis.wants_logs and logs_fn is not None:
                    try:
                        report.logs = list(logs_fn(namespace, pod_name, diagnosis.container))[-20:]
                    except Exception as exc:  # logs are a bonus; never hide the diagnosis
                        report.logs = [f"(logs unavailable: {type(exc).__name__})"]
            elif pod_result.status is Status.IN_PROGRESS:
                _probe_report(report, namespace, (pods or {}).get(pod_name), logs_fn, probes_fn)
            reports.append(report)
    return reports


# --- the wait ------------------------------------------------------------------------------------


def _listers(api_client: Any) -> list[_Lister]:
    from orchestrator.kube.rest import Rest, core_path, group_path

    rest = Rest(api_client)
    return [
        _Lister("Deployment", rest.lister(lambda ns: group_path("apps/v1", ns, "deployments"))),
        _Lister("ReplicaSet", rest.lister(lambda ns: group_path("apps/v1", ns, "replicasets"))),
        _Lister("Pod", rest.lister(lambda ns: core_path(ns, "pods"))),
    ]


def wait_for_rollout(
    api_client: Any,
    namespace: str,
    deployments: list[str],
    deadline_s: float,
    reporter: Reporter,
    poll_interval: float = 1.0,
    logs_fn: LogsFn | None = None,
    *,
    probes_fn: ProbeFailuresFn | None = None,
    selector: str | None = None,
    listers: list[_Lister] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> RolloutOutcome:
    """Wait until every named Deployment is Current, something cannot heal, or the deadline passes.

    `selector` narrows both feeds (e.g. `app.kubernetes.io/instance=todo-app`). Emits `rollout.status`
    (resource, status, reason, message) when a resource's status changes. Raises only for API errors
    that retrying cannot fix (from orchestrator.kube.api.api_error).
    """
    started = clock()
    deadline = started + deadline_s
    events: queue.Queue[tuple[Any, ...]] = queue.Queue()
    stop = threading.Event()
    counter = kube.RetryCounter()
    lock = threading.Lock()
    feeds = [
        _Feed(lister, namespace, selector, events, stop, poll_interval, counter, lock, time.monotonic() + deadline_s)
        for lister in (listers or _listers(api_client))
    ]
    seen: dict[str, dict[str, Obj]] = {"Deployment": {}, "ReplicaSet": {}, "Pod": {}}
    synced: set[str] = set()
    modes: dict[str, str] = {}
    relists = 0
    last: dict[str, tuple[object, ...]] = {}
    first_seen: dict[str, float] = {}

    def judge() -> Verdict:
        now = clock()
        verdict = evaluate(
            deployments, seen["Deployment"], seen["Pod"], seen["ReplicaSet"], first_seen=first_seen, now=now
        )
        for pod_name, (_result, diagnosis, _owner) in verdict.pods.items():
            if diagnosis is not None:
                first_seen.setdefault(diagnosis_key(pod_name, diagnosis), now)
        return verdict

    def report_changes(verdict: Verdict) -> None:
        current: dict[str, Result] = {f"deployment/{n}": r for n, r in verdict.deployments.items()}
        current.update({f"pod/{p}": r for p, (r, _d, _o) in verdict.pods.items()})
        for resource, result in current.items():
            kind, _, name = resource.partition("/")
            extra = {"restarts": _restarts(seen["Pod"].get(name))} if kind == "pod" else {}
            key = (result.status.value, result.reason, result.message, *extra.values())
            if last.get(resource) != key:
                last[resource] = key
                reporter.emit(
                    "rollout.status",
                    resource=resource,
                    status=result.status.value,
                    reason=result.reason,
                    message=result.message,
                    **extra,
                )

    for feed in feeds:
        feed.start()
    verdict = Verdict(done=False)
    try:
        while True:
            timeout = max(0.0, deadline - clock())
            try:
                item = events.get(timeout=min(timeout, 0.5)) if timeout > 0 else None
            except queue.Empty:
                item = None
            batch = [item] if item is not None else []
            while True:
                try:
                    batch.append(events.get_nowait())
                except queue.Empty:
                    break
            for entry in batch:
                tag, kind = entry[0], entry[1]
                if tag == "fatal":
                    raise kube.api_error(entry[2], f"watching {kind}s in {namespace}") from entry[2]
                if tag == "mode":
                    modes[kind] = entry[2]
                elif tag == "relist":
                    relists += 1
                elif tag == "sync":
                    seen[kind] = {name_of(o): o for o in entry[2]}
                    synced.add(kind)
                elif tag == "event":
                    _, _, change, obj = entry
                    if change == "DELETED":
                        seen[kind].pop(name_of(obj), None)
                    else:
                        seen[kind][name_of(obj)] = obj
            if len(synced) == len(feeds) and (batch or not last or verdict.pending):
                verdict = judge()
                report_changes(verdict)
                if verdict.done:
                    break
            if clock() >= deadline:
                if len(synced) == len(feeds):
                    verdict = judge()
                    report_changes(verdict)
                verdict.reason = verdict.reason if verdict.done else "DeadlineExceeded"
                break
    finally:
        stop.set()
        for feed in feeds:
            feed.shutdown()

    if not verdict.deployments:  # never synced: everything is unknown
        verdict.deployments = {n: Result(Status.UNKNOWN, "NoData", "no answer from the API") for n in deployments}
    return RolloutOutcome(
        ok=verdict.ok,
        reason=verdict.reason,
        seconds=round(clock() - started, 3),
        not_ready=[] if verdict.ok else _reports(verdict, namespace, logs_fn, probes_fn, seen["Pod"]),
        retries=counter.count,
        mode="poll" if "poll" in modes.values() else "watch",
        relists=relists,
    )


def _restarts(pod: Obj | None) -> int:
    """Container restarts of a pod, summed (0 for a pod not seen)."""
    statuses = ((pod or {}).get("status") or {}).get("containerStatuses") or []
    return sum(int(c.get("restartCount") or 0) for c in statuses)


def api_probe_failures_fn(api_client: Any) -> ProbeFailuresFn:
    """The pod's `Unhealthy` events (the kubelet's probe failures), oldest first, with their counts."""
    from orchestrator.kube.rest import Rest, core_path

    rest = Rest(api_client)

    def fetch(namespace: str, pod: str) -> list[str]:
        answer = rest.get(
            core_path(namespace, "events"),
            request_timeout=10,
            fieldSelector=f"involvedObject.name={pod},reason=Unhealthy",
        )
        items = answer.get("items") or []
        items.sort(key=lambda e: e.get("lastTimestamp") or e.get("eventTime") or "")
        return [
            f"{e.get('message', '')}" + (f" ({e['count']} times)" if (e.get("count") or 1) > 1 else "") for e in items
        ]

    return fetch


def api_logs_fn(api_client: Any, tail_lines: int = 20) -> LogsFn:
    """Last log lines of a container (its previous run when it restarted). Wrap it with redaction."""
    from orchestrator.kube.rest import Rest

    rest = Rest(api_client)

    def fetch(namespace: str, pod: str, container: str) -> list[str]:
        try:
            text = rest.pod_log(namespace, pod, container, tail_lines=tail_lines, previous=True, request_timeout=10)
        except Exception:  # no previous run: the current one
            text = rest.pod_log(namespace, pod, container, tail_lines=tail_lines, request_timeout=10)
        return text.splitlines()[-tail_lines:]

    return fetch
