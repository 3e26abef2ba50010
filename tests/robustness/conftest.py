"""Fixtures of the robustness suite: one fake cluster per module with spy wrappers on PATH."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from fakecluster import FakeCluster
from tests.e2e.harness import FAST, INVOKE, ROOT, environ_without_secrets, write_env
from tests.robustness import spies


@dataclass
class SpiedCluster:
    cluster: FakeCluster
    spy_log: Path
    path: str

    @property
    def env(self) -> dict[str, str]:
        return {**self.cluster.env, "PATH": self.path}

    def tool_calls(self, tool: str | None = None) -> list[dict]:
        return spies.calls(self.spy_log, tool)

    def reset(self) -> None:
        for record in self.spy_log.glob("*.json"):
            record.unlink()
        self.cluster.clear_requests()


@pytest.fixture(scope="module")
def images_built(tmp_path_factory: pytest.TempPathFactory) -> None:
    """A cold image cache builds here (minutes), so time bounds and interrupt windows in the tests
    measure what they are about, not a build."""
    env_file = write_env(tmp_path_factory.mktemp("build") / "deploy.env")
    done = subprocess.run(
        [str(INVOKE), "build", "--json", "--env-file", str(env_file)],
        cwd=ROOT,
        env=environ_without_secrets(),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


@pytest.fixture
def env_file(tmp_path: Path) -> Path:
    return write_env(tmp_path / "deploy.env")


@pytest.fixture
def cluster_options() -> dict[str, Any]:
    """The shared `cluster` fixture (fakecluster/fixtures.py) with the /health stub upstream."""
    return {"timings": FAST, "ingress_port": "none", "upstream": "builtin"}


@pytest.fixture(scope="module")
def spied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SpiedCluster]:
    base = tmp_path_factory.mktemp("spied")
    with FakeCluster("healthy", timings=FAST, ingress_port="none") as cluster:
        path = spies.install(base / "spybin", base / "spylog", cluster.env["PATH"])
        yield SpiedCluster(cluster, base / "spylog", path)
