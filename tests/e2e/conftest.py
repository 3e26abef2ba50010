"""End-to-end fixtures: the fake cluster with real pods (real HTTP API, real helm, the real images
running as containers under the chart's pod specs), a PostgreSQL server the containers reach, and env
files with canary secrets."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import CANARIES, DATABASE_PASSWORD, FAST, database_url, write_env


@pytest.fixture
def env_file(tmp_path: Path) -> Path:
    return write_env(tmp_path / "deploy.env")


@pytest.fixture(scope="session")
def database() -> Iterator[str]:
    """The test PostgreSQL server on the Docker bridge's gateway (where every container reaches the
    host), role `todo` with the canary password, database `todo`; CANARIES' DATABASE_URL names it."""
    import psycopg
    from psycopg import sql

    from fakecluster.kubelet import host_address_for_containers
    from tests.app.backend.pgserver import start_server

    host = host_address_for_containers()
    try:
        server = start_server(listen=("127.0.0.1", host), hba=("host all all 0.0.0.0/0 scram-sha-256",))
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    original = CANARIES["DATABASE_URL"]
    try:
        with psycopg.connect(server.url(), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE ROLE todo LOGIN PASSWORD {}").format(sql.Literal(DATABASE_PASSWORD)))
            conn.execute("CREATE DATABASE todo OWNER todo")
        CANARIES["DATABASE_URL"] = database_url(host, server.port)
        yield CANARIES["DATABASE_URL"]
    finally:
        CANARIES["DATABASE_URL"] = original
        server.stop()


@pytest.fixture
def cluster_options(database: str) -> dict[str, Any]:
    """The shared `cluster` fixture (fakecluster/fixtures.py) with real pods: the chart's pods run as
    containers, and the backend's database is the `database` server. E2E_PODS=scripted runs the same
    tests on the scripted node (for comparison: time, and the tests in test_real_pods.py that only
    real pods can pass)."""
    return {"timings": FAST, "ingress_port": "none", "real_pods": os.environ.get("E2E_PODS", "real") != "scripted"}
