"""An expired watch (410 Gone) during `invoke up`: the rollout wait lists again and keeps watching.

The API server ends a watch whose resourceVersion was compacted away with one ERROR event (code 410);
the fake sends it on demand (`FakeCluster.expire_watches`). Before, the tool used the client's
`Watch.stream(deserialize=False)`, which fails on that event with KeyError (client 34.1+) or does not
accept the argument (31-33): the wait silently fell back to polling every second.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fakecluster import FakeCluster
from tests.e2e.harness import FAST, invoke

pytestmark = [pytest.mark.e2e, pytest.mark.docker]
NS = "todo-app"


def test_an_expired_watch_is_followed_by_a_new_list_and_watch(env_file: Path) -> None:
    with FakeCluster("slow", timings=FAST, ingress_port="none") as cluster:  # pods get ready while it watches
        cluster.expire_watches(1)  # the first watch the rollout wait opens (Deployments or Pods)
        run = invoke(cluster, "up", env_file=env_file)
        requests = cluster.requests
    assert run.returncode == 0, run.explain()
    (result,) = run.named("rollout.result")
    assert result["mode"] == "watch", run.explain()  # not the 1 s polling fallback
    assert result["relists"] >= 1  # 2 when the other feed's first watch also started after the compaction
    watched = [
        r
        for r in requests
        if r.path.endswith(("/deployments", "/pods")) and r.method == "GET" and f"/namespaces/{NS}/" in r.path
    ]
    calls = {
        plural: ["watch" if r.query.get("watch") else "list" for r in watched if r.path.endswith(plural)]
        for plural in ("deployments", "pods")
    }
    # The expired feed: list, watch (410), list again, watch again.
    assert ["list", "watch", "list", "watch"] in [c[:4] for c in calls.values()], calls
