"""rollout.wait against a real local HTTP server speaking the Kubernetes list/watch protocol.

The server (`StubApi`) holds Deployments and Pods, streams watch events as the test changes them,
and can refuse watches (to force polling) or fail requests with chosen status codes. The real
`kubernetes` client talks to it over a socket, so list/watch, resourceVersion and error handling are
exercised for real.
"""

from __future__ import annotations

import copy
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from orchestrator.errors import DeployNeedsAction, DeployRolledBack, EnvironmentProblem
from orchestrator.kube.rollout.status import Status
from orchestrator.kube.rollout.wait import EventKind, evaluate, parse_event, wait_for_rollout
from orchestrator.run.events import Reporter

NS = "todo-app"
RELEASE_LABELS = {"app.kubernetes.io/instance": "todo-app"}


class StubApi:
    def __init__(self) -> None:
        self.lock = threading.Condition()
        self.version = 1
        self.objects: dict[str, dict[str, dict[str, Any]]] = {"deployments": {}, "replicasets": {}, "pods": {}}
        self.log: list[tuple[int, str, str, dict[str, Any]]] = []
        self.watch_supported = True
        self.failures: dict[str, list[int]] = {}  # "list:pods" / "watch:deployments" -> statuses to answer
        self.requests: list[str] = []
        self.logs: dict[str, str] = {}
        self.expire_next: set[str] = set()  # plurals whose next watch answers the in-stream 410 ERROR event

    # -- state changes, as a controller would make them
    def put(self, plural: str, obj: dict[str, Any]) -> None:
        with self.lock:
            self.version += 1
            obj = copy.deepcopy(obj)
            obj["metadata"]["resourceVersion"] = str(self.version)
            existed = obj["metadata"]["name"] in self.objects[plural]
            self.objects[plural][obj["metadata"]["name"]] = obj
            self.log.append((self.version, plural, "MODIFIED" if existed else "ADDED", obj))
            self.lock.notify_all()

    def delete(self, plural: str, name: str) -> None:
        with self.lock:
            self.version += 1
            obj = self.objects[plural].pop(name)
            self.log.append((self.version, plural, "DELETED", obj))
            self.lock.notify_all()

    def fail(self, key: str, *statuses: int) -> None:
        self.failures.setdefault(key, []).extend(statuses)

    def take_failure(self, key: str) -> int | None:
        with self.lock:
            queue = self.failures.get(key) or []
            return queue.pop(0) if queue else None


def make_handler(api: StubApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # watches stream as chunks, as the real API server does

        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _status(self, code: int) -> None:
            self._send(
                code,
                {
                    "kind": "Status",
                    "apiVersion": "v1",
                    "status": "Failure",
                    "code": code,
                    "reason": "Scripted",
                    "message": f"scripted {code}",
                },
            )

        def do_GET(self) -> None:  # noqa: N802
            url = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            parts = url.path.strip("/").split("/")
            api.requests.append(f"{time.monotonic():.3f} {self.path}")
            if parts[-1] == "log":
                text = api.logs.get(parts[-2], "")
                data = text.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
            plural = parts[-1]
            if plural not in api.objects:
                self._status(404)
                return
            watching = query.get("watch") in ("true", "1", "True")
            failure = api.take_failure(f"{'watch' if watching else 'list'}:{plural}")
            if failure is not None:
                self._status(failure)
                return
            selector = dict(p.split("=", 1) for p in query.get("labelSelector", "").split(",") if "=" in p)
            if watching:
                if not api.watch_supported:
                    self._status(404)
                    return
                self._watch(
                    plural, int(query.get("resourceVersion") or 0), float(query.get("timeoutSeconds") or 30), selector
                )
                return
            with api.lock:
                items = [o for o in api.objects[plural].values() if matches(o, selector)]
                self._send(
                    200,
                    {
                        "kind": "List",
                        "apiVersion": "v1",
                        "metadata": {"resourceVersion": str(api.version)},
                        "items": items,
                    },
                )

        def _watch(self, plural: str, since: int, timeout: float, selector: dict[str, str]) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            end = time.monotonic() + timeout
            sent = since
            with api.lock:
                expired = plural in api.expire_next
                api.expire_next.discard(plural)
            if expired:  # as the API server ends a watch from a compacted resourceVersion
                line = (
                    json.dumps(
                        {
                            "type": "ERROR",
                            "object": {
                                "kind": "Status",
                                "apiVersion": "v1",
                                "status": "Failure",
                                "reason": "Expired",
                                "code": 410,
                                "message": f"too old resource version: {since} ({since + 1})",
                            },
                        }
                    ).encode()
                    + b"\n"
                )
                self.wfile.write(f"{len(line):x}\r\n".encode() + line + b"\r\n0\r\n\r\n")
                self.wfile.flush()
                return
            try:
                while time.monotonic() < end:
                    with api.lock:
                        fresh = [e for e in api.log if e[0] > sent and e[1] == plural]
                        if not fresh:
                            api.lock.wait(min(0.5, max(0.0, end - time.monotonic())))
                            continue
                    for version, _plural, kind, obj in fresh:
                        sent = version
                        if matches(obj, selector):
                            line = json.dumps({"type": kind, "object": obj}).encode() + b"\n"
                            self.wfile.write(f"{len(line):x}\r\n".encode() + line + b"\r\n")
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                return

    return Handler


def matches(obj: dict[str, Any], selector: dict[str, str]) -> bool:
    labels = obj.get("metadata", {}).get("labels") or {}
    return all(labels.get(k) == v for k, v in selector.items())


@pytest.fixture
def api() -> Iterator[StubApi]:
    state = StubApi()
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(state))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"  # type: ignore[attr-defined]
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def client(api: StubApi) -> Any:
    from kubernetes.client import ApiClient, Configuration

    config = Configuration()
    config.host = api.url  # type: ignore[attr-defined]
    return ApiClient(config)


# --- objects as a controller would write them ----------------------------------------------------


def deployment(
    name: str, *, ready: int = 0, replicas: int = 1, generation: int = 1, observed: int = 1
) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": NS, "generation": generation, "labels": dict(RELEASE_LABELS)},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app.kubernetes.io/name": name}}},
        "status": {
            "observedGeneration": observed,
            "replicas": replicas,
            "updatedReplicas": replicas,
            "readyReplicas": ready,
            "availableReplicas": ready,
        },
    }


def pod(
    name: str, owner: str, *, ready: bool = False, waiting: tuple[str, str] | None = None, phase: str = "Running"
) -> dict[str, Any]:
    state: dict[str, Any] = (
        {"running": {}} if not waiting else {"waiting": {"reason": waiting[0], "message": waiting[1]}}
    )
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": NS, "labels": {**RELEASE_LABELS, "app.kubernetes.io/name": owner}},
        "spec": {
            "containers": [{"name": owner, "image": f"todo-{owner}:abc123", "resources": {"requests": {"cpu": "100m"}}}]
        },
        "status": {
            "phase": phase,
            "conditions": [
                {"type": "PodScheduled", "status": "True"},
                {"type": "Ready", "status": "True" if ready else "False"},
            ],
            "containerStatuses": [
                {
                    "name": owner,
                    "image": f"todo-{owner}:abc123",
                    "ready": ready,
                    "restartCount": 3 if waiting and waiting[0] == "CrashLoopBackOff" else 0,
                    "state": state,
                }
            ],
        },
    }


def later(delay: float, fn: Any) -> threading.Thread:
    thread = threading.Thread(target=lambda: (time.sleep(delay), fn()), daemon=True)
    thread.start()
    return thread


def statuses(reporter: Reporter, resource: str) -> list[str]:
    return [e["status"] for e in reporter.named("rollout.status") if e["resource"] == resource]


# --- tests ---------------------------------------------------------------------------------------


def test_watch_sees_readiness_within_a_fraction_of_a_second(api: StubApi, client: Any) -> None:
    for name in ("backend", "frontend"):
        api.put("deployments", deployment(name))
        api.put("pods", pod(f"{name}-1", name, waiting=("ContainerCreating", "")))
    became_ready: list[float] = []

    def ready() -> None:
        # change the world only once both watches are open, so the measurement is the watch's latency
        while sum("watch=true" in r.lower() for r in api.requests) < 2:
            time.sleep(0.01)
        time.sleep(0.2)
        for name in ("backend", "frontend"):
            api.put("pods", pod(f"{name}-1", name, ready=True))
            api.put("deployments", deployment(name, ready=1))
        became_ready.append(time.monotonic())

    later(0, ready)
    reporter = Reporter()
    outcome = wait_for_rollout(
        client,
        NS,
        ["backend", "frontend"],
        20,
        reporter,
        poll_interval=10.0,
        selector="app.kubernetes.io/instance=todo-app",
    )
    finished = time.monotonic()
    assert outcome.ok and outcome.reason == "Ready"
    assert outcome.mode == "watch"
    assert outcome.not_ready == []
    latency = finished - became_ready[0]
    assert latency < 0.15, f"readiness noticed {latency:.3f}s after it happened"
    assert statuses(reporter, "deployment/backend") == ["InProgress", "Current"]
    assert all("labelSelector=app.kubernetes.io/instance=todo-app" in unquote(r) for r in api.requests)


def test_status_events_only_on_change(api: StubApi, client: Any) -> None:
    api.put("deployments", deployment("backend"))

    def churn() -> None:
        for _ in range(5):  # same status written again and again: no new events
            api.put("deployments", deployment("backend"))
            time.sleep(0.02)
        api.put("deployments", deployment("backend", ready=1))

    later(0.3, churn)
    reporter = Reporter()
    outcome = wait_for_rollout(client, NS, ["backend"], 10, reporter)
    assert outcome.ok
    assert statuses(reporter, "deployment/backend") == ["InProgress", "Current"]


def test_crash_loop_fails_fast_names_every_resource_and_attaches_logs(api: StubApi, client: Any) -> None:
    api.put("deployments", deployment("backend"))
    api.put("deployments", deployment("frontend"))
    api.put("pods", pod("frontend-1", "frontend", waiting=("ContainerCreating", "")))
    api.put("pods", pod("backend-1", "backend", waiting=("CrashLoopBackOff", "back-off 40s")))
    asked: list[tuple[str, str, str]] = []

    def logs_fn(namespace: str, pod_name: str, container: str) -> list[str]:
        asked.append((namespace, pod_name, container))
        return ["Traceback (most recent call last):", "RuntimeError: DATABASE_URL is not reachable"]

    started = time.monotonic()
    outcome = wait_for_rollout(client, NS, ["backend", "frontend"], 30, Reporter(), logs_fn=logs_fn)
    assert time.monotonic() - started < 5
    assert not outcome.ok and outcome.reason == "CannotHeal"
    names = [r.resource for r in outcome.not_ready]
    assert names == ["deployment/backend", "pod/backend-1", "deployment/frontend", "pod/frontend-1"]
    crash = outcome.not_ready[1]
    assert crash.diagnosis is not None and crash.diagnosis.reason == "CrashLoopBackOff"
    assert crash.logs[-1] == "RuntimeError: DATABASE_URL is not reachable"
    assert asked == [(NS, "backend-1", "backend")]
    assert "kubectl logs backend-1" in crash.hint
    error = outcome.error()
    assert isinstance(error, DeployNeedsAction) and error.exit_code == 6
    assert "deployment/backend" in error.message and "deployment/frontend" in error.message
    assert any("RuntimeError" in line for line in error.details)
    assert isinstance(outcome.error(rolled_back=True), DeployRolledBack)


def test_image_not_loaded_and_missing_key_are_both_reported(api: StubApi, client: Any) -> None:
    api.put("deployments", deployment("backend"))
    api.put("deployments", deployment("frontend"))
    api.put(
        "pods",
        pod(
            "frontend-1",
            "frontend",
            phase="Pending",
            waiting=(
                "ErrImageNeverPull",
                'Container image "todo-frontend:abc123" is not present with pull policy of Never',
            ),
        ),
    )
    api.put(
        "pods",
        pod(
            "backend-1",
            "backend",
            phase="Pending",
            waiting=(
                "CreateContainerConfigError",
                "couldn't find key COHERE_API_KEY in Secret todo-app/todo-app-secrets-v1",
            ),
        ),
    )
    outcome = wait_for_rollout(client, NS, ["backend", "frontend"], 30, Reporter())
    reasons = {r.resource: r.diagnosis.reason for r in outcome.not_ready if r.diagnosis}
    assert reasons == {"pod/backend-1": "CreateContainerConfigError", "pod/frontend-1": "ErrImageNeverPull"}
    hints = " ".join(r.hint for r in outcome.not_ready)
    assert "add COHERE_API_KEY to your .env" in hints and "minikube image ls" in hints


def test_falls_back_to_polling_when_the_server_cannot_watch(api: StubApi, client: Any) -> None:
    api.watch_supported = False
    api.put("deployments", deployment("backend"))
    later(0.4, lambda: api.put("deployments", deployment("backend", ready=1)))
    outcome = wait_for_rollout(client, NS, ["backend"], 10, Reporter(), poll_interval=0.1)
    assert outcome.ok and outcome.mode == "poll"


def test_retryable_api_errors_are_retried_and_counted(api: StubApi, client: Any) -> None:
    api.put("deployments", deployment("backend", ready=1))
    api.fail("list:deployments", 503, 429)
    api.fail("list:pods", 500)
    outcome = wait_for_rollout(client, NS, ["backend"], 10, Reporter())
    assert outcome.ok
    assert outcome.retries == 3


def test_watch_errors_are_retried_and_the_wait_still_sees_changes(api: StubApi, client: Any) -> None:
    api.put("deployments", deployment("backend"))
    api.fail("watch:deployments", 503)
    later(0.5, lambda: api.put("deployments", deployment("backend", ready=1)))
    outcome = wait_for_rollout(client, NS, ["backend"], 10, Reporter(), poll_interval=10.0)
    assert outcome.ok and outcome.mode == "watch"
    assert outcome.retries >= 1


def test_an_expired_watch_lists_again_and_keeps_watching(api: StubApi, client: Any) -> None:
    api.put("deployments", deployment("backend"))
    api.expire_next.update({"deployments", "pods"})

    def ready_once_watching_again() -> None:  # two expired watches, then two new ones
        while sum("watch=true" in r.lower() for r in api.requests) < 4:
            time.sleep(0.01)
        api.put("deployments", deployment("backend", ready=1))

    later(0, ready_once_watching_again)
    outcome = wait_for_rollout(client, NS, ["backend"], 20, Reporter(), poll_interval=10.0)
    assert outcome.ok and outcome.mode == "watch"
    assert outcome.relists == 2 and outcome.retries == 0
    deployment_calls = [("watch" if "watch=true" in r.lower() else "list") for r in api.requests if "/deployments" in r]
    assert deployment_calls[:4] == ["list", "watch", "list", "watch"]


def test_parse_event() -> None:
    assert parse_event(b"") is None and parse_event(b"  ") is None
    added = parse_event(b'{"type": "ADDED", "object": {"metadata": {"name": "a"}}}')
    assert added is not None and added.kind is EventKind.ADDED and added.obj["metadata"]["name"] == "a"
    error = parse_event(
        b'{"type": "ERROR", "object": {"kind": "Status", "code": 410, "reason": "Expired", '
        b'"message": "too old resource version: 5 (9)"}}'
    )
    assert error is not None and error.kind is EventKind.ERROR and error.code == 410
    assert error.reason == "Expired: too old resource version: 5 (9)"
    with pytest.raises(ValueError):
        parse_event(b'{"type": "SURPRISE", "object": {}}')
    with pytest.raises(ValueError):
        parse_event(b"not json")


def test_forbidden_is_not_retried(api: StubApi, client: Any) -> None:
    api.fail("list:deployments", 403)
    with pytest.raises(EnvironmentProblem) as err:
        wait_for_rollout(client, NS, ["backend"], 10, Reporter())
    assert "403" in err.value.message


def test_deadline_names_what_is_not_ready(api: StubApi, client: Any) -> None:
    api.put("deployments", deployment("backend", generation=2, observed=1))
    api.put("pods", pod("backend-1", "backend"))
    started = time.monotonic()
    outcome = wait_for_rollout(client, NS, ["backend", "frontend"], 1.0, Reporter())
    elapsed = time.monotonic() - started
    assert 0.9 <= elapsed < 3
    assert not outcome.ok and outcome.reason == "DeadlineExceeded"
    by_name = {r.resource: r.result for r in outcome.not_ready}
    assert by_name["deployment/backend"].reason == "NotObserved"
    assert by_name["deployment/frontend"].status is Status.NOT_FOUND
    assert by_name["pod/backend-1"].status is Status.IN_PROGRESS


def test_a_pod_whose_probe_keeps_failing_is_reported_with_the_failures_and_its_log(api: StubApi, client: Any) -> None:
    api.put("deployments", deployment("backend"))
    api.put("pods", pod("backend-1", "backend"))
    failures = {("todo-app", "backend-1"): ["Readiness probe failed: HTTP probe failed with statuscode: 503 (7 times)"]}
    outcome = wait_for_rollout(
        client,
        NS,
        ["backend"],
        1.0,
        Reporter(),
        logs_fn=lambda ns, p, c: [f"{p}/{c}: database unreachable"],
        probes_fn=lambda ns, p: failures.get((ns, p), []),
    )
    assert not outcome.ok and outcome.reason == "DeadlineExceeded"
    report = next(r for r in outcome.not_ready if r.resource == "pod/backend-1")
    assert report.probe_failures == failures[("todo-app", "backend-1")]
    assert report.logs == ["backend-1/backend: database unreachable"]
    assert "probe keeps failing" in report.hint and "database" in report.hint
    lines = "\n".join(outcome.error().details)
    assert "probe: Readiness probe failed: HTTP probe failed with statuscode: 503" in lines
    assert "| backend-1/backend: database unreachable" in lines
    # Without probe failures, nothing is invented.
    quiet = wait_for_rollout(client, NS, ["backend"], 0.5, Reporter(), probes_fn=lambda ns, p: [])
    assert all(not r.probe_failures and not r.hint for r in quiet.not_ready if r.resource.startswith("pod/"))


def test_deleted_pod_is_forgotten(api: StubApi, client: Any) -> None:
    api.put("deployments", deployment("backend"))
    api.put("pods", pod("backend-old", "backend", phase="Pending", waiting=("ContainerCreating", "")))

    def replace() -> None:
        api.delete("pods", "backend-old")
        api.put("pods", pod("backend-new", "backend"))

    later(0.3, replace)
    outcome = wait_for_rollout(client, NS, ["backend"], 1.2, Reporter())
    assert [r.resource for r in outcome.not_ready] == ["deployment/backend", "pod/backend-new"]


def test_pod_logs_through_the_api(api: StubApi, client: Any) -> None:
    from orchestrator.kube.rollout.wait import api_logs_fn

    api.logs["backend-1"] = "one\ntwo\nthree\n"
    assert api_logs_fn(client, tail_lines=2)(NS, "backend-1", "backend")[-1] == "three"


# --- pure evaluation -----------------------------------------------------------------------------


def test_a_bad_pod_of_a_current_deployment_does_not_fail_the_rollout() -> None:
    deployments = {"backend": deployment("backend", ready=1)}
    pods = {"old": pod("old", "backend", waiting=("ImagePullBackOff", ""))}
    verdict = evaluate(["backend"], deployments, pods)
    assert verdict.done and verdict.ok


def test_pods_of_other_apps_are_ignored() -> None:
    deployments = {"backend": deployment("backend")}
    pods = {"other": pod("other", "unrelated", waiting=("CrashLoopBackOff", ""))}
    verdict = evaluate(["backend"], deployments, pods)
    assert not verdict.done and verdict.pods == {}


def test_progress_deadline_exceeded_ends_the_wait() -> None:
    obj = deployment("backend")
    obj["status"]["conditions"] = [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}]
    verdict = evaluate(["backend"], {"backend": obj}, {})
    assert verdict.done and not verdict.ok and verdict.reason == "Failed"


def test_first_crash_is_not_final_a_crash_after_a_restart_is() -> None:
    deployments = {"backend": deployment("backend")}
    first = pod("b-1", "backend", waiting=("CrashLoopBackOff", "back-off 10s"))
    first["status"]["containerStatuses"][0]["restartCount"] = 1
    verdict = evaluate(["backend"], deployments, {"b-1": first})
    assert not verdict.done and verdict.pending  # one crash: maybe a dependency was not up yet
    again = copy.deepcopy(first)
    again["status"]["containerStatuses"][0]["restartCount"] = 2
    verdict = evaluate(["backend"], deployments, {"b-1": again})
    assert verdict.done and verdict.reason == "CannotHeal" and verdict.hopeless == {"b-1"}


def test_unschedulable_gets_a_window_before_it_is_final() -> None:
    from orchestrator.kube.rollout.status import UNSCHEDULABLE_SECONDS
    from orchestrator.kube.rollout.wait import _reports, diagnosis_key

    stuck = pod("b-1", "backend", phase="Pending")
    stuck["status"] = {
        "phase": "Pending",
        "conditions": [
            {
                "type": "PodScheduled",
                "status": "False",
                "reason": "Unschedulable",
                "message": "0/1 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }.",
            }
        ],
    }
    deployments = {"backend": deployment("backend")}
    fresh = evaluate(["backend"], deployments, {"b-1": stuck}, now=100.0)
    assert not fresh.done and fresh.pending
    seen = {diagnosis_key("b-1", fresh.pods["b-1"][1]): 100.0}  # type: ignore[arg-type]
    assert not evaluate(["backend"], deployments, {"b-1": stuck}, first_seen=seen, now=110.0).done
    late = evaluate(["backend"], deployments, {"b-1": stuck}, first_seen=seen, now=100.0 + UNSCHEDULABLE_SECONDS)
    assert late.done and late.reason == "CannotHeal"
    report = next(r for r in _reports(late, NS, None) if r.resource == "pod/b-1")
    assert f"still unschedulable after {UNSCHEDULABLE_SECONDS:.0f} s" in "\n".join(report.lines())


def _revisioned(revision: int, *, generation: int = 2, observed: int = 2) -> tuple[dict[str, Any], dict[str, Any]]:
    """A backend Deployment at `revision` and its ReplicaSets 1..revision (uid rs-N, hash hN)."""
    dep = deployment("backend", generation=generation, observed=observed)
    dep["metadata"].update(uid="dep-uid", annotations={"deployment.kubernetes.io/revision": str(revision)})
    sets = {}
    for n in range(1, revision + 1):
        sets[f"backend-h{n}"] = {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": f"backend-h{n}",
                "uid": f"rs-{n}",
                "labels": {"pod-template-hash": f"h{n}"},
                "annotations": {"deployment.kubernetes.io/revision": str(n)},
                "ownerReferences": [{"kind": "Deployment", "name": "backend", "uid": "dep-uid"}],
            },
        }
    return dep, sets


def _pod_of(rs: int, name: str, **kwargs: Any) -> dict[str, Any]:
    obj = pod(name, "backend", **kwargs)
    obj["metadata"]["labels"]["pod-template-hash"] = f"h{rs}"
    obj["metadata"]["ownerReferences"] = [{"kind": "ReplicaSet", "name": f"backend-h{rs}", "uid": f"rs-{rs}"}]
    return obj


def test_old_revisions_crashing_pod_is_being_replaced_not_a_failure() -> None:
    # break, fix, redeploy: revision 1 still crashes while revision 2 (the fix) starts
    dep, sets = _revisioned(2)
    pods = {
        "old": _pod_of(1, "old", waiting=("CrashLoopBackOff", "back-off 40s")),
        "new": _pod_of(2, "new", waiting=("ContainerCreating", "")),
    }
    verdict = evaluate(["backend"], {"backend": dep}, pods, sets)
    assert not verdict.done
    assert verdict.pods["old"][0].reason == "OldRevision" and verdict.pods["old"][1] is None
    assert "old revision, being replaced" in verdict.pods["old"][0].message


def test_the_new_revisions_crashing_pod_still_fails_fast() -> None:
    dep, sets = _revisioned(2)
    pods = {"old": _pod_of(1, "old", ready=True), "new": _pod_of(2, "new", waiting=("CrashLoopBackOff", "back-off"))}
    verdict = evaluate(["backend"], {"backend": dep}, pods, sets)
    assert verdict.done and verdict.reason == "CannotHeal"
    assert verdict.pods["old"][0].reason == "OldRevision"


def test_before_the_controller_observes_the_change_every_pod_is_old() -> None:
    # helm just wrote generation 3; the revision annotation still names the crashing ReplicaSet
    dep, sets = _revisioned(2, generation=3, observed=2)
    pods = {"crashing": _pod_of(2, "crashing", waiting=("CrashLoopBackOff", "back-off"))}
    verdict = evaluate(["backend"], {"backend": dep}, pods, sets)
    assert not verdict.done and verdict.pods["crashing"][0].reason == "OldRevision"


def test_wait_follows_the_new_replica_set_through_the_api(api: StubApi, client: Any) -> None:
    dep, sets = _revisioned(2)
    for rs in sets.values():
        api.put("replicasets", rs)
    api.put("deployments", dep)
    api.put("pods", _pod_of(1, "backend-old", waiting=("CrashLoopBackOff", "back-off 40s")))
    api.put("pods", _pod_of(2, "backend-new", waiting=("ContainerCreating", "")))

    def fixed() -> None:
        api.put("pods", _pod_of(2, "backend-new", ready=True))
        api.delete("pods", "backend-old")
        done = copy.deepcopy(dep)
        done["status"].update(readyReplicas=1, availableReplicas=1)
        api.put("deployments", done)

    later(0.6, fixed)
    reporter = Reporter()
    outcome = wait_for_rollout(client, NS, ["backend"], 10, reporter)
    assert outcome.ok, outcome.details()
    old = [e for e in reporter.named("rollout.status") if e["resource"] == "pod/backend-old"]
    assert old and old[0]["reason"] == "OldRevision"
