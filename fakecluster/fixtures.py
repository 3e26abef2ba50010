"""pytest fixtures for suites that run against the fake cluster.

In a conftest.py: `from fakecluster.fixtures import fake_cluster  # noqa: F401`. Options through
indirect parametrisation:

    @pytest.mark.parametrize("fake_cluster", [{"scenario": "crash-loop"}], indirect=True)
    def test_x(fake_cluster): ...
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .cluster import FakeCluster


@pytest.fixture
def fake_cluster(request: pytest.FixtureRequest) -> Iterator[FakeCluster]:
    options = dict(getattr(request, "param", None) or {})
    options.setdefault("upstream", "builtin")
    with FakeCluster(**options) as cluster:
        yield cluster
