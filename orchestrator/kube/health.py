"""Is the deployed app healthy: GET /health through the first way in that works.

Candidates, in order: an explicit `--url`, the ingress (http://<minikube ip>/health with
`Host: todo-app.local`), the frontend Service's NodePort, then `kubectl port-forward` to the frontend
Service (started only when the others did not answer, always terminated). The ingress alone is not
enough: with the docker driver on macOS/Windows the node IP is not reachable from the host.

Polling follows one rule: transport errors and 5xx are retried with exponential backoff until the
deadline; a 4xx answer will not change by asking again, so that candidate is dropped at once, except
a 404 from the ingress: ingress-nginx answers 404 from its catch-all server until it has synced a new
Ingress (it syncs at most every ~3 s: kubernetes/ingress-nginx pkg/flags/flags.go --sync-rate-limit),
so there a 404 means "not synced yet" until the deadline. `build_candidates` and `gives_up` are pure;
I/O is at the edges.
"""

from __future__ import annotations

import re
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import urllib3
from tenacity import RetryError, Retrying, retry_if_exception_type, stop_after_delay, wait_exponential

from orchestrator.errors import DeployNeedsAction
from orchestrator.run.events import Reporter

DEFAULT_HOST = "todo-app.local"
HEALTH_PATH = "/health"
FRONTEND_PORT = 3000

_FORWARDING = re.compile(r"Forwarding from (?:127\.0\.0\.1|\[::1\]|localhost):(?P<port>\d+)")


@dataclass(frozen=True)
class PortForward:
    """`kubectl port-forward svc/<service> 0:<port>` with the frozen kubeconfig."""

    service: str
    namespace: str
    kubeconfig: str
    kube_context: str | None = None
    remote_port: int = FRONTEND_PORT
    kubectl: str = "kubectl"

    def argv(self) -> list[str]:
        argv = [
            self.kubectl,
            "port-forward",
            f"svc/{self.service}",
            f"0:{self.remote_port}",
            "--namespace",
            self.namespace,
            "--kubeconfig",
            self.kubeconfig,
            "--address",
            "127.0.0.1",
        ]
        if self.kube_context:
            argv += ["--context", self.kube_context]
        return argv


@dataclass(frozen=True)
class Candidate:
    label: str
    url: str = ""
    host: str | None = None
    port_forward: PortForward | None = None

    def describe(self) -> str:
        if self.port_forward is not None:
            return f"{self.label} (kubectl port-forward svc/{self.port_forward.service})"
        return f"{self.label} {self.url}" + (f" (Host: {self.host})" if self.host else "")


def build_candidates(
    *,
    url: str | None = None,
    minikube_ip: str | None = None,
    node_port: int | None = None,
    ingress_host: str = DEFAULT_HOST,
    ingress_port: int | None = None,
    port_forward: PortForward | None = None,
    path: str = HEALTH_PATH,
) -> list[Candidate]:
    """The ways to reach /health, most direct first. Pure. `ingress_port` is for a tunnel or a test rig."""
    out: list[Candidate] = []
    if url:
        out.append(Candidate("url", url if url.rstrip("/").endswith(path) else url.rstrip("/") + path))
    if minikube_ip:
        port = f":{ingress_port}" if ingress_port and ingress_port != 80 else ""
        out.append(Candidate("ingress", f"http://{minikube_ip}{port}{path}", host=ingress_host))
        if node_port:
            out.append(Candidate("nodeport", f"http://{minikube_ip}:{node_port}{path}"))
    if port_forward is not None:
        out.append(Candidate("port-forward", port_forward=port_forward))
    return out


def gives_up(candidate: Candidate, status: int) -> bool:
    """Whether an answer ends a candidate for good: a 4xx, but not the ingress's 404 (not synced yet). Pure."""
    if candidate.label == "ingress" and status == 404:
        return False
    return 400 <= status < 500


def parse_forwarded_port(line: str) -> int | None:
    match = _FORWARDING.search(line)
    return int(match.group("port")) if match else None


@contextmanager
def port_forwarded(pf: PortForward, start_timeout_s: float = 15.0) -> Iterator[int]:
    """Start kubectl port-forward, yield the local port it picked, always terminate it."""
    import os

    from orchestrator.shell import child_environment

    proc = subprocess.Popen(
        pf.argv(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        env=child_environment(os.environ),
    )
    found: list[int] = []
    ready = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            port = parse_forwarded_port(line)
            if port is not None and not found:
                found.append(port)
                ready.set()
        ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        ready.wait(start_timeout_s)
        if not found:
            raise OSError("kubectl port-forward did not report a local port")
        yield found[0]
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@dataclass
class HealthResult:
    ok: bool
    url: str = ""
    status: int | None = None
    seconds: float = 0.0
    tried: list[str] = field(default_factory=list)
    via: str = ""  # the label of the candidate that answered (ingress, nodeport, port-forward, url)

    def error(self) -> DeployNeedsAction:
        return DeployNeedsAction(
            "the app did not answer /health",
            "check `kubectl get pods,svc,ingress -n <namespace>`; with the docker driver on macOS/Windows run "
            "`minikube tunnel` and map todo-app.local to 127.0.0.1, or pass --url",
            details=self.tried,
        )


class _NotYet(Exception):
    pass


class _Probe:
    """One candidate's state across rounds: its last outcome and whether it is still worth asking."""

    def __init__(self, candidate: Candidate) -> None:
        self.candidate = candidate
        self.alive = True
        self.last = "not tried"
        self._forward: Any = None
        self._url = candidate.url

    def url(self) -> str:
        if self.candidate.port_forward is None:
            return self._url
        if self._forward is None:
            forward = port_forwarded(self.candidate.port_forward)
            port = forward.__enter__()
            self._forward = forward
            self._url = f"http://127.0.0.1:{port}{HEALTH_PATH}"
        return self._url

    def close(self) -> None:
        if self._forward is not None:
            self._forward.__exit__(None, None, None)
            self._forward = None


def no_answer_reason(exc: BaseException) -> str:
    """Why a request got no HTTP answer, in a few words. Pure."""
    if isinstance(exc, (urllib3.exceptions.NewConnectionError, ConnectionRefusedError)):  # (a TimeoutError too)
        return "connection refused"
    if isinstance(exc, urllib3.exceptions.TimeoutError):
        return "timed out"
    if isinstance(exc, urllib3.exceptions.ProtocolError):
        return "connection dropped"
    return type(exc).__name__


def check_health(
    candidates: Sequence[Candidate],
    reporter: Reporter,
    timeout_s: float,
    *,
    client: urllib3.PoolManager | None = None,
    request_timeout_s: float = 3.0,
    initial_wait_s: float = 0.25,
    max_wait_s: float = 4.0,
    port_forward_grace_s: float = 15.0,
) -> HealthResult:
    """Poll the candidates until one answers 2xx; emit health.ok or health.failed; never raises for a miss.

    `kubectl port-forward` (a process) starts in the first round in which no direct way answered at
    all; while the ingress or the NodePort answers something that may change (an ingress's 404 before
    it synced, a 503) it waits for them up to `port_forward_grace_s`."""
    started = time.monotonic()
    own_client = client is None
    # urllib3 (loaded with the kubernetes client already) reads no proxy from the environment: a proxy
    # must not carry requests meant for the local cluster
    http = client or urllib3.PoolManager(timeout=urllib3.Timeout(total=request_timeout_s), retries=False)
    probes = [_Probe(c) for c in candidates]
    winner: dict[str, Any] = {}

    def one_round() -> None:
        answering = False  # a direct way answered something that may still turn into 200
        for probe in probes:
            if not probe.alive:
                continue
            if (
                probe.candidate.port_forward is not None
                and probe._forward is None
                and answering
                and time.monotonic() - started < port_forward_grace_s
            ):
                probe.last = "not started: a direct way is answering, waiting for it first"
                continue
            try:
                url = probe.url()
                headers: Mapping[str, str] = {"Host": probe.candidate.host} if probe.candidate.host else {}
                status = http.request("GET", url, headers=dict(headers), redirect=False).status
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                probe.last = f"no answer ({no_answer_reason(exc)})"
                if probe.candidate.port_forward is not None and probe._forward is None:
                    probe.alive = False  # kubectl could not forward: asking again will not help
                continue
            if 200 <= status < 300:
                winner.update(url=url, status=status, via=probe.candidate.label)
                return
            probe.last = f"HTTP {status}"
            if gives_up(probe.candidate, status):
                probe.alive = False
                continue
            answering = answering or probe.candidate.port_forward is None
            if status == 404:
                probe.last = "HTTP 404 (the ingress controller has not routed the host yet)"
        if not any(p.alive for p in probes):
            return
        raise _NotYet()

    try:
        for attempt in Retrying(
            stop=stop_after_delay(timeout_s),
            wait=wait_exponential(multiplier=initial_wait_s, max=max_wait_s),
            retry=retry_if_exception_type(_NotYet),
        ):
            with attempt:
                one_round()
    except RetryError:
        pass
    finally:
        for probe in probes:
            probe.close()
        if own_client:
            http.clear()

    seconds = round(time.monotonic() - started, 3)
    tried = [f"{p.candidate.describe()}: {p.last}" for p in probes]
    if winner:
        reporter.emit("health.ok", url=winner["url"], status=winner["status"], seconds=seconds)
        return HealthResult(True, winner["url"], winner["status"], seconds, tried, winner["via"])
    reporter.emit("health.failed", tried=tried, seconds=seconds)
    return HealthResult(False, "", None, seconds, tried)


def frontend_node_port(api_client: Any, namespace: str, service: str, port: int = FRONTEND_PORT) -> int | None:
    """The NodePort of the frontend Service's `port`, or None when it has none (read via the API)."""
    from orchestrator.kube import api as kube
    from orchestrator.kube.rest import Rest, core_path

    try:
        svc = kube.call(Rest(api_client).get, core_path(namespace, "services", service))
    except Exception:
        return None
    for entry in (svc.get("spec") or {}).get("ports") or []:
        if entry.get("port") == port and entry.get("nodePort"):
            return int(entry["nodePort"])
    return None


def access_lines(
    url: str,
    via: str,
    *,
    ip: str | None,
    host: str = DEFAULT_HOST,
    node_port: int | None = None,
    host_addresses: frozenset[str] = frozenset(),
    namespace: str = "todo-app",
    service: str = "todo-app-frontend",
) -> list[str]:
    """The final summary (pure): the URL that works now, and when `host` does not resolve to the
    cluster here (`host_addresses`), the /etc/hosts line (or the tunnel advice) that makes it work.
    `via`: the health candidate that answered (ingress, nodeport, port-forward, url)."""
    pretty = f"http://{host}/"
    if via == "ingress" and ip and ip in host_addresses:
        return [f"todo-app is up: {pretty}"]
    forward = f"`kubectl -n {namespace} port-forward svc/{service} 3000:3000`, then http://localhost:3000/"
    if via == "ingress":
        now = f"http://{ip}:{node_port}/" if node_port else f"http://{ip}/ with the header `Host: {host}`"
    elif via == "port-forward":
        now = f"through a port-forward: {forward}"
    else:
        now = url.removesuffix(HEALTH_PATH).rstrip("/") + "/"
    lines = [f"todo-app is up: {now}"]
    if ip and ip not in host_addresses:
        lines.append(
            f"{host} does not point at the cluster here; for {pretty} add this line to /etc/hosts: "
            f"`{ip} {host}` (macOS/Windows with the docker driver: run `minikube tunnel` and use "
            f"`127.0.0.1 {host}` instead)"
        )
    return lines


def resolve_host(host: str = DEFAULT_HOST) -> frozenset[str]:
    """The addresses `host` resolves to on this machine (empty when it does not)."""
    import socket

    try:
        return frozenset(str(info[4][0]) for info in socket.getaddrinfo(host, 80, proto=socket.IPPROTO_TCP))
    except OSError:
        return frozenset()
