"""health.py with urllib3 against real local HTTP servers, and a fake kubectl for the port-forward."""

from __future__ import annotations

import os
import socket
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from orchestrator.kube.health import (
    Candidate,
    PortForward,
    build_candidates,
    check_health,
    gives_up,
    parse_forwarded_port,
    port_forwarded,
)
from orchestrator.run.events import Reporter


class Server:
    """A local server whose answers come from a script: a list of status codes, the last one repeats."""

    def __init__(self, codes: list[int]) -> None:
        self.codes = codes
        self.hits: list[tuple[str, str | None]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                outer.hits.append((self.path, self.headers.get("Host")))
                code = outer.codes[min(len(outer.hits) - 1, len(outer.codes) - 1)]
                body = b'{"status":"ok"}'
                self.send_response(code)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def serve() -> Iterator[Callable[[list[int]], Server]]:
    servers: list[Server] = []

    def make(codes: list[int]) -> Server:
        servers.append(Server(codes))
        return servers[-1]

    yield make
    for s in servers:
        s.close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- pure candidate builder ----------------------------------------------------------------------


def test_candidates_in_order() -> None:
    pf = PortForward("todo-app-frontend", "todo-app", "/tmp/kc", "minikube")
    candidates = build_candidates(
        url="http://localhost:8080", minikube_ip="192.168.49.2", node_port=30080, port_forward=pf
    )
    assert [c.label for c in candidates] == ["url", "ingress", "nodeport", "port-forward"]
    assert candidates[0].url == "http://localhost:8080/health"
    assert (candidates[1].url, candidates[1].host) == ("http://192.168.49.2/health", "todo-app.local")
    assert candidates[2].url == "http://192.168.49.2:30080/health"
    argv = pf.argv()
    assert argv[:4] == ["kubectl", "port-forward", "svc/todo-app-frontend", "0:3000"]
    assert argv[argv.index("--kubeconfig") + 1] == "/tmp/kc" and argv[argv.index("--context") + 1] == "minikube"


def test_candidates_without_cluster_facts() -> None:
    assert build_candidates() == []
    assert [c.label for c in build_candidates(minikube_ip="10.0.0.1")] == ["ingress"]
    assert build_candidates(url="http://x/health")[0].url == "http://x/health"
    assert build_candidates(minikube_ip="127.0.0.1", ingress_port=8080)[0].url == "http://127.0.0.1:8080/health"


def test_parse_forwarded_port() -> None:
    assert parse_forwarded_port("Forwarding from 127.0.0.1:40123 -> 3000") == 40123
    assert parse_forwarded_port("Forwarding from [::1]:40123 -> 3000") == 40123
    assert parse_forwarded_port("error: unable to forward") is None


# --- polling against real servers ----------------------------------------------------------------


def test_503_twice_then_200(serve: Callable[[list[int]], Server]) -> None:
    server = serve([503, 503, 200])
    reporter = Reporter()
    result = check_health([Candidate("url", f"{server.url}/health")], reporter, timeout_s=10, initial_wait_s=0.05)
    assert result.ok and result.status == 200
    assert len(server.hits) == 3
    ok = reporter.named("health.ok")
    assert ok and ok[0]["url"] == f"{server.url}/health" and ok[0]["status"] == 200
    assert ok[0]["seconds"] < 5


def test_404_fails_fast(serve: Callable[[list[int]], Server]) -> None:
    server = serve([404])
    reporter = Reporter()
    started = time.monotonic()
    result = check_health([Candidate("url", f"{server.url}/health")], reporter, timeout_s=30)
    assert time.monotonic() - started < 2
    assert not result.ok and len(server.hits) == 1
    failed = reporter.named("health.failed")
    assert failed and "HTTP 404" in failed[0]["tried"][0]
    error = result.error()
    assert error.exit_code == 6 and "HTTP 404" in error.details[0]


def test_ingress_host_header_and_fallthrough_to_next_candidate(serve: Callable[[list[int]], Server]) -> None:
    ingress = serve([404])  # an ingress that does not know the host yet
    nodeport = serve([200])
    candidates = [
        Candidate("ingress", f"{ingress.url}/health", host="todo-app.local"),
        Candidate("nodeport", f"{nodeport.url}/health"),
    ]
    result = check_health(candidates, Reporter(), timeout_s=10)
    assert result.ok and result.url == f"{nodeport.url}/health"
    assert ingress.hits == [("/health", "todo-app.local")]


def test_an_ingress_404_means_not_synced_yet_until_the_deadline(serve: Callable[[list[int]], Server]) -> None:
    ingress = serve([404, 404, 200])  # ingress-nginx's catch-all server until it syncs the new Ingress
    result = check_health(
        [Candidate("ingress", f"{ingress.url}/health", host="todo-app.local")],
        Reporter(),
        timeout_s=10,
        initial_wait_s=0.05,
    )
    assert result.ok and result.url == f"{ingress.url}/health" and len(ingress.hits) == 3
    assert gives_up(Candidate("url", "http://x/health"), 404) and gives_up(Candidate("ingress"), 403)
    assert not gives_up(Candidate("ingress"), 404) and not gives_up(Candidate("nodeport"), 503)


def test_transport_errors_are_retried_until_the_deadline() -> None:
    reporter = Reporter()
    started = time.monotonic()
    result = check_health(
        [Candidate("url", f"http://127.0.0.1:{closed_port()}/health")],
        reporter,
        timeout_s=1.0,
        initial_wait_s=0.05,
        max_wait_s=0.2,
    )
    elapsed = time.monotonic() - started
    assert not result.ok and 0.9 <= elapsed < 3
    assert "no answer (connection refused)" in reporter.named("health.failed")[0]["tried"][0]


# --- port-forward through a fake kubectl ---------------------------------------------------------

FAKE_KUBECTL = textwrap.dedent(
    """\
    #!{python}
    # Stands in for `kubectl port-forward`: serves /health itself on a free port and says so like kubectl.
    import http.server, os, sys
    open(os.environ["FAKE_KUBECTL_ARGS"], "w").write(" ".join(sys.argv[1:]))
    if os.environ.get("FAKE_KUBECTL_FAIL"):
        print("error: services \\"todo-app-frontend\\" not found", flush=True)
        sys.exit(1)
    class H(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a): pass
        def do_GET(self):
            self.send_response(200 if self.path == "/health" else 404); self.end_headers()
    server = http.server.HTTPServer(("127.0.0.1", 0), H)
    open(os.environ["FAKE_KUBECTL_PID"], "w").write(str(os.getpid()))
    print(f"Forwarding from 127.0.0.1:{{server.server_address[1]}} -> 3000", flush=True)
    server.serve_forever()
    """
)


@pytest.fixture
def fake_kubectl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "kubectl"
    script.write_text(FAKE_KUBECTL.format(python=sys.executable))
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_KUBECTL_ARGS", str(tmp_path / "args"))
    monkeypatch.setenv("FAKE_KUBECTL_PID", str(tmp_path / "pid"))
    return tmp_path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "State:\tZ" in status.read_text())


def test_port_forward_is_used_last_and_always_terminated(fake_kubectl: Path) -> None:
    pf = PortForward("todo-app-frontend", "todo-app", "/tmp/kc")
    candidates = [
        Candidate("nodeport", f"http://127.0.0.1:{closed_port()}/health"),
        Candidate("port-forward", port_forward=pf),
    ]
    reporter = Reporter()
    result = check_health(candidates, reporter, timeout_s=15, initial_wait_s=0.05)
    assert result.ok and result.url.startswith("http://127.0.0.1:")
    assert "port-forward svc/todo-app-frontend 0:3000" in (fake_kubectl / "args").read_text()
    pid = int((fake_kubectl / "pid").read_text())
    assert not _alive(pid)


def test_port_forward_waits_while_the_ingress_is_syncing(
    fake_kubectl: Path, serve: Callable[[list[int]], Server]
) -> None:
    ingress = serve([404, 404, 200])
    candidates = [
        Candidate("ingress", f"{ingress.url}/health", host="todo-app.local"),
        Candidate("port-forward", port_forward=PortForward("todo-app-frontend", "todo-app", "/tmp/kc")),
    ]
    result = check_health(candidates, Reporter(), timeout_s=15, initial_wait_s=0.05)
    assert result.ok and result.url == f"{ingress.url}/health"
    assert not (fake_kubectl / "args").exists()  # kubectl port-forward was never started


def test_port_forward_that_cannot_start_is_dropped(fake_kubectl: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_KUBECTL_FAIL", "1")
    pf = PortForward("todo-app-frontend", "todo-app", "/tmp/kc")
    started = time.monotonic()
    result = check_health([Candidate("port-forward", port_forward=pf)], Reporter(), timeout_s=20)
    assert not result.ok and time.monotonic() - started < 10
    assert "port-forward" in result.tried[0]


def test_port_forwarded_context_manager_terminates_on_error(fake_kubectl: Path) -> None:
    pf = PortForward("todo-app-frontend", "todo-app", "/tmp/kc")
    with pytest.raises(RuntimeError):
        with port_forwarded(pf) as port:
            assert port > 0
            raise RuntimeError("stop")
    assert not _alive(int((fake_kubectl / "pid").read_text()))


def test_frontend_node_port_read_through_the_api() -> None:
    import json as _json

    from kubernetes.client import ApiClient, Configuration

    from orchestrator.kube.health import frontend_node_port

    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "todo-app-frontend", "namespace": "todo-app"},
        "spec": {"type": "NodePort", "ports": [{"name": "http", "port": 3000, "targetPort": 3000, "nodePort": 30517}]},
    }

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            found = self.path == "/api/v1/namespaces/todo-app/services/todo-app-frontend"
            body = _json.dumps(service if found else {"kind": "Status", "code": 404}).encode()
            self.send_response(200 if found else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        config = Configuration()
        config.host = f"http://127.0.0.1:{httpd.server_address[1]}"
        client = ApiClient(config)
        assert frontend_node_port(client, "todo-app", "todo-app-frontend") == 30517
        assert frontend_node_port(client, "todo-app", "missing") is None
    finally:
        httpd.shutdown()
        httpd.server_close()
