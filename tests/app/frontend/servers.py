"""The real backend (uvicorn) and the real frontend (`node server.js`) as child processes.

free_port() -> int
ServerProcess(name, argv, cwd, env, port, log_path).start() / .stop() / .url
backend_process(db_path, log_dir) -> ServerProcess       (not started)
frontend_process(app_dir, backend_url, log_dir) -> ServerProcess   (not started)
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

ROOT = Path(__file__).resolve().parents[3]
BACKEND_DIR = ROOT / "app" / "backend"
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServerProcess:
    name: str
    argv: list[str]
    cwd: Path
    env: dict[str, str]
    port: int
    log_path: Path
    health_path: str = "/health"
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _log: IO[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def start(self, timeout: float = START_TIMEOUT_S) -> ServerProcess:
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            self.argv,
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._wait_healthy(timeout)
        return self

    def _wait_healthy(self, timeout: float) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.proc.returncode} before it was healthy:\n{self.log_tail()}"
                )
            try:
                if httpx.get(self.url + self.health_path, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{self.name} not healthy after {timeout:.0f}s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=STOP_TIMEOUT_S)
        if self._log is not None:
            self._log.close()
            self._log = None


def _base_env() -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "HOME": "/tmp",
        "LANG": "C.UTF-8",
    }


def backend_process(db_path: Path, log_dir: Path) -> ServerProcess:
    """The backend on a free port with SQLite at `db_path`; no Cohere key, so the local parser."""
    port = free_port()
    env = _base_env() | {
        "DATABASE_URL": f"sqlite:///{db_path}",
        "JWT_SECRET": secrets.token_urlsafe(48),
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    return ServerProcess(
        name="backend",
        argv=[str(VENV_PYTHON), "-m", "uvicorn", "todo_api.main:app", "--host", "127.0.0.1", "--port", str(port)],
        cwd=BACKEND_DIR,
        env=env,
        port=port,
        log_path=log_dir / f"backend-{port}.log",
    )


def frontend_process(app_dir: Path, backend_url: str, log_dir: Path) -> ServerProcess:
    """`node server.js` from an assembled standalone tree, as the image runs it."""
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("node is not on PATH")
    port = free_port()
    env = _base_env() | {
        "NODE_ENV": "production",
        "NEXT_TELEMETRY_DISABLED": "1",
        "HOSTNAME": "127.0.0.1",
        "PORT": str(port),
        "BACKEND_URL": backend_url,
    }
    return ServerProcess(
        name="frontend",
        argv=[node, "server.js"],
        cwd=app_dir,
        env=env,
        port=port,
        log_path=log_dir / f"frontend-{port}.log",
        health_path="/api/health",
    )
