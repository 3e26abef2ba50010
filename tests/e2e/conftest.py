"""End-to-end fixtures: the fake cluster (real HTTP API, real helm, real Docker images, a real
backend answering /health through the NodePort), and env files with canary secrets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import FAST, write_env
from fakecluster import FakeCluster


@pytest.fixture
def env_file(tmp_path: Path) -> Path:
    return write_env(tmp_path / "deploy.env")


@pytest.fixture
def cluster() -> Iterator[FakeCluster]:
    with FakeCluster("healthy", timings=FAST, ingress_port="none") as fake:
        yield fake
