"""/ready answers 503 while the database is down and recovers when it is back."""

from __future__ import annotations

import psycopg
import pytest
from fastapi.testclient import TestClient

from todo_api.main import create_app

from .conftest import make_settings, signup
from .pgserver import PostgresServer, free_port


def test_sqlite_unopenable_is_not_ready(tmp_path) -> None:
    url = f"sqlite:///{tmp_path}/missing-dir/todo.db"
    with TestClient(create_app(make_settings(database_url=url))) as client:
        assert client.get("/health").status_code == 200
        ready = client.get("/ready")
        assert ready.status_code == 503
        assert ready.json()["status"] == "not ready"
        assert ready.json()["reason"] == "database unreachable"
        (tmp_path / "missing-dir").mkdir()
        assert client.get("/ready").json() == {"status": "ready"}


def test_postgres_nobody_listening_is_not_ready() -> None:
    url = f"postgresql://postgres:pw@127.0.0.1:{free_port()}/app"
    with TestClient(create_app(make_settings(database_url=url))) as client:
        assert client.get("/health").json() == {"status": "ok"}
        ready = client.get("/ready")
        assert ready.status_code == 503
        assert ready.json() == {"status": "not ready", "reason": "database unreachable"}


def _set_connections(server: PostgresServer, database: str, allowed: bool) -> None:
    with psycopg.connect(server.url(), autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS {str(allowed).lower()}')
        if not allowed:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (database,),
            )


@pytest.mark.postgres
def test_postgres_going_down_and_coming_back(pg_server: PostgresServer, pg_database: str) -> None:
    url = pg_server.url(pg_database)
    with TestClient(create_app(make_settings(database_url=url))) as client:
        auth = signup(client)
        assert client.get("/ready").status_code == 200
        _set_connections(pg_server, pg_database, allowed=False)
        try:
            ready = client.get("/ready")
            assert ready.status_code == 503
            assert ready.json() == {"status": "not ready", "reason": "database unreachable"}
            tasks = client.get("/api/tasks", headers=auth)
            assert tasks.status_code == 503 and tasks.json() == {"detail": "Database unavailable"}
            assert client.get("/health").status_code == 200
        finally:
            _set_connections(pg_server, pg_database, allowed=True)
        assert client.get("/ready").json() == {"status": "ready"}
        assert client.get("/api/tasks", headers=auth).json() == []
