"""Unit-test fixtures: canary secret values and a tiny Kubernetes API on a real local socket.

`mini_api` serves just what orchestrator.kube.secret_store needs (namespaces and Secrets: get, list, create,
delete) so the real `kubernetes` client is exercised over HTTP. Like a stock kmock it ignores
label selectors, which checks that our own client-side filtering holds. Faults are scripted per
(method, path suffix) with `fail`, and every request is recorded with its raw body.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest

CANARY_COHERE = "co-CANARY-cohere-5a1f9e3d7b"
CANARY_DB_PASSWORD = "CANARY-dbpass-8c2e41"
CANARY_DATABASE_URL = f"postgresql://todo:{CANARY_DB_PASSWORD}@db.internal:5432/todo?sslmode=require"
CANARY_JWT = "CANARY-jwt-0123456789abcdef0123456789abcdef"
CANARIES = (CANARY_COHERE, CANARY_DB_PASSWORD, CANARY_DATABASE_URL, CANARY_JWT)


def good_values() -> dict[str, str]:
    return {"COHERE_API_KEY": CANARY_COHERE, "DATABASE_URL": CANARY_DATABASE_URL, "JWT_SECRET": CANARY_JWT}


@dataclass
class Recorded:
    method: str
    path: str
    body: bytes


@dataclass
class MiniApi:
    """State and scripting of the tiny API server."""

    url: str = ""
    namespaces: dict[str, dict[str, Any]] = field(default_factory=dict)
    secrets: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    fail: dict[tuple[str, str], int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def writes(self) -> list[Recorded]:
        return [r for r in self.requests if r.method in ("POST", "PUT", "PATCH", "DELETE")]

    def rest(self) -> Any:
        """What orchestrator.kube.secret_store calls through: a Rest over a client of this server."""
        from kubernetes import client

        from orchestrator.kube.rest import Rest

        configuration = client.Configuration()
        configuration.host = self.url
        return Rest(client.ApiClient(configuration))


_NS = re.compile(r"^/api/v1/namespaces(?:/([^/]+))?$")
_SECRET = re.compile(r"^/api/v1/namespaces/([^/]+)/secrets(?:/([^/]+))?$")


def _status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "code": code,
        "reason": reason,
        "message": message,
    }


class _Handler(BaseHTTPRequestHandler):
    state: MiniApi  # set on the subclass per server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        return

    def _send(self, code: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = urlsplit(self.path).path
        state = self.state
        with state.lock:
            state.requests.append(Recorded(self.command, path, body))
            for (method, suffix), code in state.fail.items():
                if method == self.command and path.endswith(suffix):
                    # A failure body that echoes the request, as a careless server might.
                    return self._send(code, _status(code, "Scripted", body.decode(errors="replace")))
            code, answer = self._route(self.command, path, body)
        self._send(code, answer)

    def _route(self, method: str, path: str, body: bytes) -> tuple[int, dict[str, Any]]:
        state = self.state
        if match := _SECRET.match(path):
            namespace, name = match.groups()
            if method == "GET" and name is None:
                items = [s for (ns, _), s in state.secrets.items() if ns == namespace]
                return 200, {"kind": "SecretList", "apiVersion": "v1", "metadata": {}, "items": items}
            if method == "GET":
                found = state.secrets.get((namespace, name))
                return (200, found) if found else (404, _status(404, "NotFound", f'secrets "{name}" not found'))
            if method == "POST":
                obj = json.loads(body)
                key = (namespace, obj["metadata"]["name"])
                if key in state.secrets:
                    return 409, _status(409, "AlreadyExists", "already exists")
                obj["metadata"]["namespace"] = namespace
                obj["metadata"]["creationTimestamp"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
                state.secrets[key] = obj
                return 201, obj
            if method == "DELETE":
                gone = state.secrets.pop((namespace, name), None)
                return (200, _status(200, "", "deleted")) if gone else (404, _status(404, "NotFound", "not found"))
        if match := _NS.match(path):
            (name,) = match.groups()
            if method == "GET" and name:
                found = state.namespaces.get(name)
                return (200, found) if found else (404, _status(404, "NotFound", "not found"))
            if method == "POST":
                obj = json.loads(body)
                if obj["metadata"]["name"] in state.namespaces:
                    return 409, _status(409, "AlreadyExists", "already exists")
                state.namespaces[obj["metadata"]["name"]] = obj
                return 201, obj
        return 404, _status(404, "NotFound", "no route")

    do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = _handle


@pytest.fixture
def mini_api() -> Iterator[MiniApi]:
    state = MiniApi()
    handler = type("BoundHandler", (_Handler,), {"state": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
