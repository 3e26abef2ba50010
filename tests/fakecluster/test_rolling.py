"""The Deployment controller's rolling update (fakecluster/rolling.py) steps maxSurge and
maxUnavailable as kubernetes/kubernetes pkg/controller/deployment/rolling.go does: pure, then
through the API with the chart's strategy (maxUnavailable 0, maxSurge 1) and two replicas."""

from __future__ import annotations

import copy
import threading
from typing import Any

import pytest
from kubernetes import client, config

from fakecluster import FakeCluster
from fakecluster.rolling import Counts, fenceposts, new_replicas, step
from fakecluster.store import WatchEvent

from .conftest import run
from .test_controller import deployment


def rollout(desired: int, strategy: dict[str, Any], old_size: int, *, new_ready: bool = True) -> list[str]:
    """The scale operations of a whole rollout from one full old ReplicaSet, pods becoming available
    between syncs (never, for the new ones, when `new_ready` is False)."""
    surge, unavailable = fenceposts(strategy, desired)
    new = Counts(new_replicas(desired, surge, Counts(0, 0), old_size), 0)
    old = [Counts(old_size, old_size)]
    ops = [f"new+{new.replicas}"] if new.replicas else []
    for _ in range(20):
        new = Counts(new.replicas, new.replicas if new_ready else 0)
        old = [Counts(rs.replicas, rs.replicas) for rs in old]
        size, sizes = step(desired, surge, unavailable, new, old)
        if size != new.replicas:
            ops.append(f"new{size - new.replicas:+d}")
        ops += [f"old{after - rs.replicas:+d}" for rs, after in zip(old, sizes, strict=True) if after != rs.replicas]
        if (size, sizes) == (new.replicas, [rs.replicas for rs in old]):
            break
        new, old = (
            Counts(size, new.available),
            [Counts(s, min(s, rs.available)) for rs, s in zip(old, sizes, strict=True)],
        )
    return ops


@pytest.mark.parametrize(
    ("desired", "surge", "unavailable", "ops"),
    [  # the examples in deployment_util.go's ResolveFenceposts comment
        (2, "0%", "1%", ["old-1", "new+1", "old-1", "new+1"]),
        (1, "0%", "1%", ["old-1", "new+1"]),
        (2, "1%", "25%", ["new+1", "old-1", "new+1", "old-1"]),
        (1, "1%", "25%", ["new+1", "old-1"]),
        (2, "1%", "0%", ["new+1", "old-1", "new+1", "old-1"]),
        (1, "1%", "0%", ["new+1", "old-1"]),
        (2, 1, 0, ["new+1", "old-1", "new+1", "old-1"]),  # the chart's strategy at the HPA floor
    ],
)
def test_the_fenceposts_step_like_the_real_controller(
    desired: int, surge: Any, unavailable: Any, ops: list[str]
) -> None:
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}}
    assert rollout(desired, strategy, desired) == ops


def test_defaults_are_25_percent_and_both_zero_means_one_unavailable() -> None:
    assert fenceposts({}, 4) == (1, 1)
    assert fenceposts({"rollingUpdate": {"maxSurge": 0, "maxUnavailable": "10%"}}, 4) == (0, 1)
    assert fenceposts({"rollingUpdate": {"maxSurge": 0, "maxUnavailable": 5}}, 2) == (0, 2)


def test_new_pods_that_never_become_available_never_cost_an_old_one() -> None:
    chart = {"rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    assert rollout(2, chart, 2, new_ready=False) == ["new+1"]
    # an unavailable old pod goes first and costs nothing: 1 of 2 old pods not ready, the surge pod ready
    assert step(2, 1, 0, Counts(1, 1), [Counts(2, 1)]) == (1, [1])
    # but not while the new pod is not available either: that would leave one available pod
    assert step(2, 1, 0, Counts(1, 0), [Counts(2, 1)]) == (1, [2])


@pytest.fixture
def apps(cluster: FakeCluster) -> client.AppsV1Api:
    return client.AppsV1Api(config.new_client_from_config(config_file=str(cluster.kubeconfig)))


def test_a_rolling_update_with_max_unavailable_0_keeps_every_replica_available_and_surges_one(
    cluster: FakeCluster, apps: client.AppsV1Api, namespace: str, local_image: str
) -> None:
    run(["minikube", "image", "load", local_image], cluster.env)
    run(
        ["kubectl", "-n", namespace, "create", "secret", "generic", "app-secrets", "--from-literal=API_KEY=x"],
        cluster.env,
    )
    body = deployment("web", local_image)
    body["spec"]["replicas"] = 2
    body["spec"]["strategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    apps.create_namespaced_deployment(namespace, body)
    cluster.wait_for(lambda: apps.read_namespaced_deployment_status("web", namespace).status.available_replicas == 2)

    pods: dict[str, dict[str, Any]] = {}
    seen: list[tuple[int, int]] = []  # (ready pods, all pods) after every Pod write
    lock = threading.Lock()

    def record(event: WatchEvent) -> None:
        if event.resource.kind != "Pod" or event.object["metadata"].get("namespace") != namespace:
            return
        with lock:
            name = event.object["metadata"]["name"]
            if event.type == "DELETED":
                pods.pop(name, None)
            else:
                pods[name] = copy.deepcopy(event.object)
            ready = sum(
                1
                for p in pods.values()
                if any(
                    c.get("type") == "Ready" and c.get("status") == "True"
                    for c in p.get("status", {}).get("conditions") or []
                )
            )
            seen.append((ready, len(pods)))

    def listen() -> None:
        assert cluster.store is not None
        for pod in cluster.store.iter_kind("Pod"):
            if pod["metadata"].get("namespace") == namespace:
                pods[pod["metadata"]["name"]] = copy.deepcopy(pod)
        cluster.store.add_listener(record)

    cluster.call(listen)
    apps.patch_namespaced_deployment(
        "web", namespace, {"spec": {"template": {"metadata": {"annotations": {"checksum/config": "v2"}}}}}
    )

    def rolled() -> bool:
        status = cluster.get("Deployment", namespace, "web")["status"]
        return status.get("updatedReplicas") == 2 and status.get("replicas") == 2 and status.get("readyReplicas") == 2

    cluster.wait_for(rolled, timeout=10)
    with lock:
        history = list(seen)
    assert history, "no pod was written during the rollout"
    assert min(ready for ready, _ in history) >= 2, history  # maxUnavailable 0: never below the replicas
    assert max(total for _, total in history) == 3, history  # maxSurge 1: one extra pod at a time, never two
    scaling = [
        e["message"]
        for e in sorted(cluster.objects("Event", namespace), key=lambda e: e["metadata"]["creationTimestamp"])
        if e["reason"] == "ScalingReplicaSet"
    ]
    steps = [m.split(" replica set ")[0] + " " + m.rsplit(" ", 3)[-3] + "->" + m.rsplit(" ", 1)[-1] for m in scaling]
    assert steps[-4:] == ["Scaled up 0->1", "Scaled down 2->1", "Scaled up 1->2", "Scaled down 1->0"], scaling
