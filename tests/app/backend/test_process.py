"""A real server process: JSON logs without secrets, refusal of unfit settings, SIGTERM shutdown."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from .fake_cohere import FakeCohere, intent_response
from .pgserver import PostgresServer, free_port

BACKEND_DIR = Path(__file__).resolve().parents[3] / "app" / "backend"
JWT_CANARY = "jwt-canary-4f1e9c0b7d2a46b8a3c5e6f708192a3b"
COHERE_CANARY = "cohere-canary-8d3b2f1a0e9c4d57"
PASSWORD_CANARY = "user-pass-canary-6a2e"
DB_PASSWORD_CANARY = "dbpw-canary-93f1c7"
SHUTDOWN_TIMEOUT = 2.0
# After a clean shutdown uvicorn re-raises the signal it caught, so the exit status is "killed by
# SIGTERM" (143 in a shell); as PID 1 in a container the re-raised signal is ignored and it is 0.
CLEAN_EXIT = {0, -signal.SIGTERM}


def base_env(**extra: str) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "HOME": "/tmp",
    }
    env.update(extra)
    return env


class ServerProcess:
    def __init__(self, argv: list[str], env: dict[str, str], port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen(
            argv, cwd=BACKEND_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )

    def wait_healthy(self, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited early: {self.proc.communicate()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError("server did not become healthy")

    def terminate(self, timeout: float = 10) -> tuple[float, str, str]:
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        out, err = self.proc.communicate(timeout=timeout)
        return time.monotonic() - started, out, err

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


@pytest.fixture
def run_server() -> Iterator:
    started: list[ServerProcess] = []

    def run(env: dict[str, str], argv: list[str] | None = None) -> ServerProcess:
        port = free_port()
        env = {**env, "PORT": str(port)}
        server = ServerProcess(argv or [sys.executable, "-m", "todo_api"], env, port)
        started.append(server)
        return server

    yield run
    for server in started:
        server.kill()


def json_lines(text: str) -> list[dict]:
    lines = [line for line in text.splitlines() if line.strip()]
    return [json.loads(line) for line in lines]  # every line must be JSON


def assert_no_secrets(text: str, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in text, "a secret value reached the logs"
    assert "Bearer ey" not in text and "authorization" not in text.lower()


def exercise(url: str) -> str:
    """Sign up, log in, use the token in a header and a query string; return the token."""
    with httpx.Client(base_url=url, timeout=10) as client:
        assert (
            client.post(
                "/api/auth/register", json={"email": "ada@example.com", "password": PASSWORD_CANARY}
            ).status_code
            == 201
        )
        token = client.post("/api/auth/login", json={"email": "ada@example.com", "password": PASSWORD_CANARY}).json()[
            "access_token"
        ]
        auth = {"Authorization": f"Bearer {token}"}
        assert client.get("/api/auth/me", headers=auth).status_code == 200
        assert client.get("/api/auth/me", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert client.get(f"/ready?token={token}").status_code == 200
        assert client.post("/api/tasks", json={"title": "buy milk"}, headers=auth).status_code == 201
        turn = client.post("/api/chat", json={"message": "note: milk"}, headers=auth)
        assert turn.status_code == 200 and turn.json()["actions"][0]["type"] == "add"
        fallback = client.post("/api/chat", json={"message": "list my tasks"}, headers=auth)
        assert "rate limited" in fallback.json()["reply"]
    return token


def test_logs_are_json_and_hold_no_secret_and_sigterm_stops_fast(
    run_server, fake_cohere: FakeCohere, tmp_path: Path
) -> None:
    fake_cohere.script(body=intent_response(intent="add", title="milk", reply="ok"))
    fake_cohere.script(status=429, body={"message": "slow down"})
    fake_cohere.script(body=intent_response(intent="list"), delay=30)  # in flight at SIGTERM
    env = base_env(
        DATABASE_URL=f"sqlite:///{tmp_path}/todo.db",
        JWT_SECRET=JWT_CANARY,
        COHERE_API_KEY=COHERE_CANARY,
        COHERE_BASE_URL=fake_cohere.base_url,
        COHERE_TIMEOUT_SECONDS="60",
        LOG_LEVEL="DEBUG",
        SHUTDOWN_TIMEOUT_SECONDS=str(SHUTDOWN_TIMEOUT),
    )
    server = run_server(env)
    server.wait_healthy()
    token = exercise(server.url)
    assert fake_cohere.requests[0].headers["Authorization"] == f"Bearer {COHERE_CANARY}"

    # Leave one request hanging on the slow Cohere reply, then ask the server to stop.
    with httpx.Client(base_url=server.url, timeout=30) as client:
        token_header = {"Authorization": f"Bearer {token}"}
        hanging = threading.Thread(
            target=lambda: _ignore_errors(
                lambda: client.post("/api/chat", json={"message": "list"}, headers=token_header)
            ),
            daemon=True,
        )
        hanging.start()
        deadline = time.monotonic() + 10
        while len(fake_cohere.requests) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(fake_cohere.requests) == 3
        elapsed, out, err = server.terminate()

    assert server.proc.returncode in CLEAN_EXIT, err
    assert elapsed < SHUTDOWN_TIMEOUT + 3, f"shutdown took {elapsed:.1f}s"
    records = json_lines(out)
    assert err.strip() == "" or all(json_lines(err))
    messages = [r["msg"] for r in records]
    assert "started" in messages and "stopped" in messages
    access = [r for r in records if r["logger"] == "todo_api.access"]
    assert {"method": "POST", "path": "/api/auth/login", "status": 200} in [
        {k: r[k] for k in ("method", "path", "status")} for r in access
    ]
    assert any(r["path"] == "/api/auth/me" and r["status"] == 401 for r in access)
    assert_no_secrets(out + err, JWT_CANARY, COHERE_CANARY, PASSWORD_CANARY, token)


def _ignore_errors(call) -> None:
    try:
        call()
    except httpx.HTTPError:
        pass


@pytest.mark.postgres
def test_database_password_is_redacted(run_server, pg_server: PostgresServer, pg_database: str) -> None:
    url = pg_server.url(pg_database, password=DB_PASSWORD_CANARY)  # trust auth ignores it
    server = run_server(base_env(DATABASE_URL=url, JWT_SECRET=JWT_CANARY, LOG_LEVEL="DEBUG"))
    server.wait_healthy()
    assert httpx.get(f"{server.url}/ready", timeout=5).json() == {"status": "ready"}
    exercise_tasks_only(server.url)
    elapsed, out, err = server.terminate()
    assert server.proc.returncode in CLEAN_EXIT and elapsed < 5
    started = next(r for r in json_lines(out) if r["msg"] == "started")
    assert started["database"] == (f"postgresql+psycopg://postgres:***@127.0.0.1:{pg_server.port}/{pg_database}")
    assert_no_secrets(out + err, DB_PASSWORD_CANARY, JWT_CANARY, PASSWORD_CANARY)


def exercise_tasks_only(url: str) -> None:
    with httpx.Client(base_url=url, timeout=10) as client:
        client.post("/api/auth/register", json={"email": "a@example.com", "password": PASSWORD_CANARY})
        token = client.post("/api/auth/login", json={"email": "a@example.com", "password": PASSWORD_CANARY}).json()[
            "access_token"
        ]
        created = client.post("/api/tasks", json={"title": "t"}, headers={"Authorization": f"Bearer {token}"})
        assert created.status_code == 201


@pytest.mark.parametrize(
    "argv",
    [
        [sys.executable, "-m", "todo_api"],
        [sys.executable, "-m", "uvicorn", "todo_api.main:app", "--port", "0"],
    ],
    ids=["python-m", "uvicorn-cli"],
)
def test_production_placeholder_refused_at_startup(run_server, argv: list[str]) -> None:
    env = base_env(ENVIRONMENT="production", JWT_SECRET="short-canary-19ab", LOG_LEVEL="INFO")
    server = run_server(env, argv)
    out, err = server.proc.communicate(timeout=20)
    assert server.proc.returncode == 2
    refusal = [r for r in json_lines(out) if r["level"] == "CRITICAL"]
    assert len(refusal) == 1 and refusal[0]["keys"] == ["JWT_SECRET"]
    assert "JWT_SECRET" in refusal[0]["msg"]
    assert "short-canary-19ab" not in out + err


READ_ONLY_ROOT = """set -e
mount -t tmpfs tmpfs /mnt
mkdir -p /mnt/code /mnt/site
mount --bind "$CODE_DIR" /mnt/code
mount --bind "$SITE_DIR" /mnt/site
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -o remount,bind,ro /
if touch /.rofs-probe 2>/dev/null; then echo "root filesystem still writable" >&2; exit 99; fi
exec setpriv --reuid 10001 --regid 10001 --clear-groups "$@"
"""


def test_runs_as_uid_10001_on_a_read_only_root_filesystem(run_server) -> None:
    """Root fs remounted read-only, a fresh tmpfs on /tmp, uid/gid 10001: the app must still work."""
    import fastapi

    system_python = Path("/usr/bin/python3")
    assert os.geteuid() == 0, "this check needs root to build the read-only mount namespace"
    assert system_python.exists(), "needs /usr/bin/python3 (a python readable by any uid)"
    version = subprocess.run(
        [str(system_python), "-c", "import sys; print(sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert version == str(sys.version_info[:2]), "system python must match the test python"
    site_packages = Path(fastapi.__file__).resolve().parents[1]
    env = base_env(
        # the code is bind-mounted outside /tmp first: a checkout under /tmp is hidden by the tmpfs
        CODE_DIR=str(BACKEND_DIR),
        SITE_DIR=str(site_packages),
        PYTHONPATH=f"/mnt/code{os.pathsep}/mnt/site",
        ENVIRONMENT="production",
        JWT_SECRET=JWT_CANARY,
    )
    argv = [
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        READ_ONLY_ROOT,
        "sh",
        str(system_python),
        "-m",
        "todo_api",
    ]
    server = run_server(env, argv)
    server.wait_healthy()
    status = Path(f"/proc/{server.proc.pid}/status").read_text()
    uid_line = next(line for line in status.splitlines() if line.startswith("Uid:"))
    assert uid_line.split()[1:] == ["10001"] * 4
    assert httpx.get(f"{server.url}/ready", timeout=5).json() == {"status": "ready"}
    exercise_tasks_only(server.url)  # writes the SQLite file under the tmpfs /tmp
    elapsed, out, err = server.terminate()
    assert server.proc.returncode in CLEAN_EXIT, err
    assert "sqlite:////tmp/todo.db" in out
    assert_no_secrets(out + err, JWT_CANARY, PASSWORD_CANARY)
