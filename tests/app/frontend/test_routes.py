"""The frontend's own routes against the real backend: liveness, end-to-end /health, the /api proxy."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from .servers import ServerProcess, backend_process, free_port, frontend_process

pytestmark = pytest.mark.browser

PASSWORD = "correct-horse-battery-9"


def tree(root: Path) -> dict[str, float]:
    return {
        str(Path(d, f).relative_to(root)): Path(d, f).stat().st_mtime
        for d, _dirs, files in os.walk(root)
        for f in files
    }


def sign_in(base: str, email: str) -> dict[str, str]:
    assert httpx.post(f"{base}/api/auth/register", json={"email": email, "password": PASSWORD}).status_code == 201
    token = httpx.post(f"{base}/api/auth/login", json={"email": email, "password": PASSWORD}).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def test_liveness_needs_no_backend(
    frontend_app: Path, tmp_path: Path, start_server: Callable[[ServerProcess], ServerProcess]
) -> None:
    nothing_there = f"http://127.0.0.1:{free_port()}"
    frontend = start_server(frontend_process(frontend_app, nothing_there, tmp_path))

    live = httpx.get(f"{frontend.url}/api/health")
    assert (live.status_code, live.json()) == (200, {"status": "ok"})

    health = httpx.get(f"{frontend.url}/health")
    assert health.status_code == 502
    assert health.json()["status"] == "unavailable"

    proxied = httpx.get(f"{frontend.url}/api/tasks")
    assert proxied.status_code == 502
    assert "unreachable" in proxied.json()["detail"]


def test_health_proxies_backend_then_502_when_it_stops(backend: ServerProcess, frontend: ServerProcess) -> None:
    direct = httpx.get(f"{backend.url}/health")
    through = httpx.get(f"{frontend.url}/health")
    assert through.status_code == direct.status_code == 200
    assert through.json() == direct.json() == {"status": "ok"}

    backend.stop()

    down = httpx.get(f"{frontend.url}/health")
    assert down.status_code == 502
    assert down.headers["content-type"].startswith("application/json")
    assert down.json() == {"status": "unavailable", "detail": "The backend is unreachable."}
    assert httpx.get(f"{frontend.url}/api/health").status_code == 200


def test_backend_url_is_read_at_run_time(
    frontend_app: Path, tmp_path: Path, start_server: Callable[[ServerProcess], ServerProcess]
) -> None:
    """One build, two backends: each frontend reaches the one its environment names."""
    first = start_server(backend_process(tmp_path / "one.db", tmp_path))
    second = start_server(backend_process(tmp_path / "two.db", tmp_path))
    front_one = start_server(frontend_process(frontend_app, first.url, tmp_path))
    front_two = start_server(frontend_process(frontend_app, second.url, tmp_path))

    sign_in(front_one.url, "only-here@example.com")

    login = {"email": "only-here@example.com", "password": PASSWORD}
    assert httpx.post(f"{first.url}/api/auth/login", json=login).status_code == 200
    assert httpx.post(f"{second.url}/api/auth/login", json=login).status_code == 401
    assert httpx.post(f"{front_two.url}/api/auth/login", json=login).status_code == 401


def test_proxy_passes_methods_status_body_and_authorization(frontend: ServerProcess) -> None:
    base = frontend.url
    assert httpx.get(f"{base}/api/tasks").status_code == 401  # no token, backend says so
    auth = sign_in(base, "proxy@example.com")

    me = httpx.get(f"{base}/api/auth/me", headers=auth)
    assert (me.status_code, me.json()["email"]) == (200, "proxy@example.com")

    created = httpx.post(f"{base}/api/tasks", json={"title": "water plants"}, headers=auth)
    assert created.status_code == 201
    task = created.json()
    assert (task["title"], task["completed"]) == ("water plants", False)

    patched = httpx.patch(f"{base}/api/tasks/{task['id']}", json={"completed": True}, headers=auth)
    assert (patched.status_code, patched.json()["completed"]) == (200, True)

    deleted = httpx.delete(f"{base}/api/tasks/{task['id']}", headers=auth)
    assert (deleted.status_code, deleted.content) == (204, b"")
    assert httpx.delete(f"{base}/api/tasks/{task['id']}", headers=auth).status_code == 404
    assert httpx.get(f"{base}/api/tasks", headers=auth).json() == []

    invalid = httpx.post(f"{base}/api/tasks", content=b"{not json", headers=auth | {"content-type": "application/json"})
    assert invalid.status_code == 422

    chat = httpx.post(f"{base}/api/chat", json={"message": "add buy milk"}, headers=auth)
    assert chat.status_code == 200
    assert {"conversation_id", "reply", "actions"} <= chat.json().keys()
    assert [t["title"] for t in httpx.get(f"{base}/api/tasks", headers=auth).json()] == ["buy milk"]


def test_proxy_stays_under_api(frontend: ServerProcess) -> None:
    """Encoded dot segments must not reach backend paths outside /api."""
    for path in ("/api/%2e%2e/health", "/api/tasks/%2e%2e/%2e%2e/ready", "/api/%2E%2E/ready"):
        response = httpx.get(f"{frontend.url}{path}")
        assert response.status_code == 404, path
        assert response.content != b'{"status":"ok"}'


def test_server_writes_nothing_to_its_tree(frontend_app: Path, frontend: ServerProcess) -> None:
    """The image runs with a read-only root filesystem: serving must not create or change files."""
    before = tree(frontend_app)
    for path in ("/", "/login", "/health", "/api/health", "/api/tasks", "/nope", "/api/%2e%2e/health", "/favicon.svg"):
        httpx.get(f"{frontend.url}{path}")
    assert tree(frontend_app) == before
    assert "EACCES" not in frontend.log_tail(200)


def test_a_real_next_build_leaves_the_frontend_image_tag_alone(frontend_app, tmp_path) -> None:
    """After `next build` ran in app/frontend (the fixture), the image context is still exactly what a
    fresh clone holds: the content tag does not move because the tests ran."""
    import shutil
    import subprocess

    from orchestrator.images.build import default_specs
    from orchestrator.images.context import context_digest_lines, context_files

    spec = next(s for s in default_specs() if s.name == "todo-frontend")
    assert (spec.context / "next-env.d.ts").exists()  # what the build writes
    tracked = (
        subprocess.run(["git", "-C", str(spec.context), "ls-files", "-z", "--", "."], capture_output=True, check=True)
        .stdout.decode()
        .split("\0")
    )
    clone = tmp_path / "clone"
    for rel in filter(None, tracked):
        (clone / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(spec.context / rel, clone / rel)

    def lines(context):
        return context_digest_lines(context, context_files(context, spec.dockerfile))

    assert lines(spec.context) == lines(clone)
