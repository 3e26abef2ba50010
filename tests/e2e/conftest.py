"""End-to-end fixtures: the fake cluster (real HTTP API, real helm, real Docker images, a real
backend answering /health through the NodePort), and env files with canary secrets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import FAST, write_env


@pytest.fixture
def env_file(tmp_path: Path) -> Path:
    return write_env(tmp_path / "deploy.env")


@pytest.fixture
def cluster_options() -> dict[str, Any]:
    """The shared `cluster` fixture (fakecluster/fixtures.py) with the real backend behind the node port."""
    return {"timings": FAST, "ingress_port": "none"}
