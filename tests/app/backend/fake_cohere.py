"""A fake Cohere v2 chat endpoint: a real HTTP server on 127.0.0.1 with scripted replies."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def chat_response(text: str) -> dict[str, Any]:
    """The body of a successful non-streaming POST /v2/chat."""
    return {
        "id": "5a50480a-cf52-46f0-af01-53d18539bd31",
        "message": {"role": "assistant", "content": [{"type": "text", "text": text}]},
        "finish_reason": "COMPLETE",
        "usage": {
            "billed_units": {"input_tokens": 17, "output_tokens": 12},
            "tokens": {"input_tokens": 215, "output_tokens": 12},
        },
    }


def intent_response(**intent: Any) -> dict[str, Any]:
    return chat_response(json.dumps(intent))


@dataclass
class ScriptedReply:
    status: int = 200
    body: Any = None
    delay: float = 0.0


@dataclass
class RecordedRequest:
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class FakeCohere:
    replies: deque[ScriptedReply] = field(default_factory=deque)
    requests: list[RecordedRequest] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def script(self, status: int = 200, body: Any = None, delay: float = 0.0) -> None:
        self.replies.append(ScriptedReply(status, body, delay))

    def start(self) -> FakeCohere:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length", 0))
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = raw.decode(errors="replace")
                fake.requests.append(RecordedRequest(self.path, dict(self.headers.items()), body))
                reply = fake.replies.popleft() if fake.replies else ScriptedReply(500, {"message": "no scripted reply"})
                if reply.delay:
                    time.sleep(reply.delay)
                payload = reply.body
                if payload is None:
                    payload = {"message": f"status {reply.status}"}
                data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        self._server = server
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
