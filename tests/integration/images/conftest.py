"""Image tests: a real Docker engine, the seeded (or official) base images, and cleanup.

Every image, container and network a test makes carries the `todo-imgtest` prefix (or is one of
the project's content-tagged images) and is removed at the end; the engine itself is never stopped.
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from orchestrator.images.build import ImageSpec, connect
from orchestrator.run.events import Reporter

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
PREFIX = "todo-imgtest"


@pytest.fixture(scope="session")
def docker_client():
    """The engine (started when needed by scripts/ensure-docker) with the base images present."""
    for script in ("ensure-docker", "seed-base-images"):
        done = subprocess.run([str(ROOT / "scripts" / script)], capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"scripts/{script} failed:\n{done.stdout}\n{done.stderr}"
    client = connect()
    yield client
    client.close()


@dataclass
class Cleanup:
    """What a test made; removed afterwards, newest first."""

    client: object
    refs: list[str] = field(default_factory=list)
    containers: list[str] = field(default_factory=list)
    networks: list[str] = field(default_factory=list)

    def run(self) -> None:
        import docker

        api = self.client.api
        for container in reversed(self.containers):
            try:
                api.remove_container(container, force=True)
            except docker.errors.NotFound:
                pass
        for network in reversed(self.networks):
            try:
                api.remove_network(network)
            except docker.errors.NotFound:
                pass
        for ref in reversed(self.refs):
            try:
                api.remove_image(ref, force=True)
            except docker.errors.ImageNotFound:
                pass


@pytest.fixture
def cleanup(docker_client) -> Iterator[Cleanup]:
    made = Cleanup(docker_client)
    yield made
    made.run()


@pytest.fixture
def fixture_context(tmp_path: Path) -> Path:
    """A fresh copy of tests/integration/images/fixtures/context that a test may add files to."""
    context = tmp_path / "context"
    shutil.copytree(FIXTURES / "context", context)
    return context


def fixture_spec(kind: str, context: Path, **build_args: str) -> ImageSpec:
    """tests/integration/images/fixtures/<kind>.Dockerfile as an image named todo-imgtest-<kind>."""
    return ImageSpec(f"{PREFIX}-{kind}", FIXTURES / f"{kind}.Dockerfile", context, dict(build_args))


def nonce() -> str:
    return uuid.uuid4().hex[:12]


def quiet_reporter() -> Reporter:
    return Reporter()
