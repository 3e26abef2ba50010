"""Fixtures for the fake cluster's own tests: a running FakeCluster, a real local image, helpers."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from fakecluster import FakeCluster, Timings

DOCKER = "/usr/bin/docker"
CHART = Path(__file__).resolve().parent / "chart"
FAST = Timings(
    ready_after=0.2,
    slow_ready_after=2.0,
    crash_interval=0.5,
    flaky_delay=0.5,
    flaky_error_seconds=1.5,
    outage_seconds=2.0,
    tick=0.1,
)


def run(
    cmd: list[str], env: dict[str, str], check: bool = True, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} -> {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture(scope="session")
def local_image() -> str:
    """A real (empty) image in the local Docker engine, so the fake `minikube image load` accepts it."""
    tag = "fakecluster-test-web:1"
    if subprocess.run([DOCKER, "image", "inspect", tag], capture_output=True).returncode != 0:
        tar = subprocess.run(["tar", "cf", "-", "--files-from", "/dev/null"], capture_output=True, check=True).stdout
        subprocess.run([DOCKER, "import", "-", tag], input=tar, capture_output=True, check=True)
    return tag


@pytest.fixture
def cluster_options() -> dict[str, Any]:
    """The shared `cluster` fixture (fakecluster/fixtures.py) with the /health stub upstream."""
    return {"upstream": "builtin", "timings": FAST}


@pytest.fixture
def namespace(cluster: FakeCluster) -> str:
    name = f"t-{uuid.uuid4().hex[:6]}"
    run(["kubectl", "create", "namespace", name], cluster.env)
    return name
