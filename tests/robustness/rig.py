"""What the interrupt and fault tests share: a held or killable Docker engine connection, a backend
image that must be rebuilt (from the layer cache), a /health that answers 503 until told otherwise,
and waiting for one phase event of a CLI running in the background."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from fakecluster import FakeCluster
from tests.e2e.harness import Background, CliRun, invoke

DOCKER = "/usr/bin/docker"
ENGINE_SOCKET = "/var/run/docker.sock"


def wait_for(
    background: Background, event: str, phase: str | None = None, timeout: float = 600, **fields: Any
) -> dict[str, Any]:
    """The first event named `event` (with `phase` and `fields`, when given) the CLI printed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in background.stdout_so_far().splitlines():
            if not line.startswith("{") or f'"{event}"' not in line:
                continue
            record = json.loads(line)
            if record.get("event") != event or (phase is not None and record.get("phase") != phase):
                continue
            if all(record.get(k) == v for k, v in fields.items()):
                return record
        if background.proc.poll() is not None:
            break
        time.sleep(0.05)
    raise AssertionError(f"no {event} {phase or ''} event\n{background.finish().explain()}")


# The engine's words when an image this build relies on was deleted under it by another client (the
# benchmarks share the engine and remove images at times). Not a fault of the code under test.
IMAGE_VANISHED = ("unknown parent image id", "no such image", "failed to get destination image")


def image_vanished(run: CliRun) -> bool:
    text = run.output.lower()
    return run.returncode == 4 and any(words in text for words in IMAGE_VANISHED)


def converge(cluster: FakeCluster, *args: str, attempts: int = 3, **kwargs: Any) -> CliRun:
    """`invoke up ...`, run again only when another client deleted an image in the middle of its build."""
    for _ in range(attempts):
        run = invoke(cluster, "up", *args, **kwargs)
        if not image_vanished(run):
            return run
    return run


def docker(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run([DOCKER, *args], capture_output=True, text=True, check=check, timeout=300)


def tag_exists(ref: str) -> bool:
    return docker("image", "inspect", ref, check=False).returncode == 0


@dataclass
class HeldEngine:
    """A proxy process in front of the engine that holds every build (tests/robustness/docker_hold.py)."""

    socket: Path
    proc: subprocess.Popen[str]

    @property
    def docker_host(self) -> str:
        return f"unix://{self.socket}"

    def wait_held(self, timeout: float = 600) -> None:
        """Block until a build request has reached the proxy (and is held there)."""
        assert self.proc.stdout is not None
        result: list[str] = []
        reader = threading.Thread(target=lambda: result.append(self.proc.stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout)
        assert result and result[0].strip() == "held", f"no build reached the engine proxy ({result})"

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=10)


@contextmanager
def held_engine(directory: Path, hold: str = "request") -> Iterator[HeldEngine]:
    """`hold`: "request" (the engine never gets the build) or "response" (the client stops hearing from it)."""
    sock = directory / "engine.sock"
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("docker_hold.py")), str(sock), ENGINE_SOCKET, hold],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    engine = HeldEngine(sock, proc)
    try:
        yield engine
    finally:
        if proc.poll() is None:
            engine.kill()


class HealthSwitch:
    """An HTTP upstream whose /health answers 503 until `heal()`; the fake cluster's NodePort forwards to it."""

    def __init__(self) -> None:
        self.healthy = threading.Event()
        self.hits = 0
        switch = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server API
                switch.hits += 1
                ok = switch.healthy.is_set()
                body = json.dumps({"status": "ok" if ok else "starting"}).encode()
                self.send_response(200 if ok else 503)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def heal(self) -> None:
        self.healthy.set()

    def __enter__(self) -> HealthSwitch:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
