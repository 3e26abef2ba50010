"""Fixtures of the robustness suite: one fake cluster per module with spy wrappers on PATH."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.harness import FAST
from tests.fakecluster import FakeCluster
from tests.proof import spies


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
def spied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SpiedCluster]:
    base = tmp_path_factory.mktemp("spied")
    with FakeCluster("healthy", timings=FAST, ingress_port="none") as cluster:
        path = spies.install(base / "spybin", base / "spylog", cluster.env["PATH"])
        yield SpiedCluster(cluster, base / "spylog", path)
