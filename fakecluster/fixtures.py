"""The pytest fixture for suites that run against the fake cluster: one `cluster` fixture for all.

Register it once in a top-level conftest.py (`from fakecluster.fixtures import cluster, cluster_options`).
A suite sets its defaults by overriding `cluster_options` in its own conftest.py; a test changes them
through indirect parametrisation, which wins over the suite's options:

    @pytest.fixture
    def cluster_options() -> dict[str, Any]:
        return {"timings": FAST, "ingress_port": "none"}

    @pytest.mark.parametrize("cluster", [{"scenario": "crash-loop"}], indirect=True)
    def test_x(cluster: FakeCluster) -> None: ...
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .cluster import FakeCluster


@pytest.fixture
def cluster_options() -> dict[str, Any]:
    """Keyword arguments of FakeCluster for `cluster` (scenario "healthy" unless given)."""
    return {}


@pytest.fixture
def cluster(request: pytest.FixtureRequest, cluster_options: dict[str, Any]) -> Iterator[FakeCluster]:
    options = {"scenario": "healthy", **cluster_options, **(getattr(request, "param", None) or {})}
    with FakeCluster(**options) as fake:
        yield fake
