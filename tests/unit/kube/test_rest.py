"""orchestrator/kube/rest.py against a local HTTP server: paths, queries, text logs and a followed log."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from orchestrator.kube.rest import Rest, core_path

# The followed log arrives in pieces that cut a line and a UTF-8 character in two.
FOLLOWED = [b"first li", b"ne\nsecond \xc3", b"\xa9\nthird, no newline"]


class Server(ThreadingHTTPServer):
    seen: list[tuple[str, dict[str, list[str]]]]


@pytest.fixture
def rest() -> Iterator[tuple[Rest, Server]]:
    from kubernetes.client import ApiClient, Configuration

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            url = urlsplit(self.path)
            query = parse_qs(url.query)
            server.seen.append((url.path, query))
            if url.path.endswith("/log") and query.get("follow") == ["true"]:
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for piece in FOLLOWED:
                    self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")
                return
            if url.path.endswith("/log"):
                body = b"one\ntwo \xff\nthree\n"
                kind = "text/plain"
            else:
                body = json.dumps({"items": [{"message": "m"}]}).encode()
                kind = "application/json"
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = Server(("127.0.0.1", 0), Handler)
    server.seen = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    configuration = Configuration()
    configuration.host = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield Rest(ApiClient(configuration)), server
    finally:
        server.shutdown()


def test_pod_log_is_text_with_its_query(rest: tuple[Rest, Server]) -> None:
    client, server = rest
    text = client.pod_log("todo-app", "backend-1", "backend", tail_lines=20, previous=True)
    assert text.splitlines() == ["one", "two \ufffd", "three"]  # an undecodable byte is replaced, not fatal
    path, query = server.seen[-1]
    assert path == "/api/v1/namespaces/todo-app/pods/backend-1/log"
    assert query == {"container": ["backend"], "tailLines": ["20"], "previous": ["true"]}
    client.pod_log("todo-app", "backend-1", "backend")
    assert server.seen[-1][1] == {"container": ["backend"]}  # no previous=false, no tailLines


def test_a_followed_log_comes_line_by_line_across_chunks(rest: tuple[Rest, Server]) -> None:
    client, server = rest
    lines = list(client.follow_log("todo-app", "backend-1", "backend", tail_lines=5))
    assert lines == ["first line", "second \u00e9", "third, no newline"]
    assert server.seen[-1][1] == {"container": ["backend"], "tailLines": ["5"], "follow": ["true"]}


def test_get_sends_the_query_and_reads_json(rest: tuple[Rest, Server]) -> None:
    client, server = rest
    answer = client.get(core_path("todo-app", "events"), fieldSelector="involvedObject.name=p,reason=Unhealthy")
    assert answer == {"items": [{"message": "m"}]}
    assert server.seen[-1] == (
        "/api/v1/namespaces/todo-app/events",
        {"fieldSelector": ["involvedObject.name=p,reason=Unhealthy"]},
    )
