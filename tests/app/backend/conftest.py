"""Fixtures for the backend: settings isolated from the caller's environment, an app per test
on SQLite or on a real PostgreSQL server, and a fake Cohere endpoint."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from todo_api.core import security
from todo_api.core.config import Settings
from todo_api.main import create_app

from .fake_cohere import FakeCohere
from .pgserver import PostgresServer, start_server

JWT_SECRET = "test-signing-secret-0123456789abcdef0123456789"


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No setting leaks in from the shell running the tests (a real COHERE_API_KEY, say)."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)


@pytest.fixture(autouse=True)
def _cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process tests hash with a light Argon2 profile (the server processes use the real one)."""
    light = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),))
    monkeypatch.setattr(security, "_hasher", light)


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {"jwt_secret": JWT_SECRET, "log_level": "DEBUG"}
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    try:
        server = start_server()
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_database(pg_server: PostgresServer) -> Iterator[str]:
    """A fresh, empty database on the shared server; its name."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server.url(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield name
    with psycopg.connect(pg_server.url(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/todo.db"
    server: PostgresServer = request.getfixturevalue("pg_server")
    return server.url(request.getfixturevalue("pg_database"))


AppFactory = Callable[..., TestClient]


@pytest.fixture
def make_client(db_url: str) -> Iterator[AppFactory]:
    """Build a started app (lifespan run) on this test's database with extra settings."""
    clients: list[TestClient] = []

    def build(*, enforce_config: bool = True, **overrides: Any) -> TestClient:
        overrides.setdefault("database_url", db_url)
        client = TestClient(create_app(make_settings(**overrides), enforce_config=enforce_config))
        client.__enter__()
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: AppFactory) -> TestClient:
    return make_client()


def signup(client: TestClient, email: str = "ada@example.com", password: str = "correct-horse-1") -> dict[str, str]:
    """Register and log in; the Authorization header for that user."""
    created = client.post("/api/auth/register", json={"email": email, "password": password})
    assert created.status_code == 201, created.text
    login = client.post("/api/auth/login", json={"email": email, "password": password})
    assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


@pytest.fixture
def fake_cohere() -> Iterator[FakeCohere]:
    fake = FakeCohere().start()
    yield fake
    fake.stop()
