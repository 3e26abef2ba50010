"""The production profile end to end: a real registry on loopback, three fake nodes in two zones,
`invoke up --profile production --registry ...` (health through `kubectl port-forward`, as on a cluster
with no minikube to reach it by), a rolling update of both components watched in the fake's store,
`down`."""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from fakecluster import FakeCluster
from fakecluster.registry import BINARY, LocalRegistry
from fakecluster.store import WatchEvent
from tests.e2e.harness import CANARIES, invoke, write_env

pytestmark = [pytest.mark.e2e, pytest.mark.docker]
NS = "todo-app"
COMPONENTS = ("backend", "frontend")


@pytest.fixture
def registry() -> Iterator[LocalRegistry]:
    if not Path(BINARY).exists():
        pytest.fail(f"{BINARY} is missing: `apt-get install docker-registry` (scripts/test installs it)")
    with LocalRegistry() as running:
        yield running


class PodHistory:
    """Every write of a Pod in the fake's store, in order (a store listener on the server loop)."""

    def __init__(self, cluster: FakeCluster) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()
        cluster.call(self._start(cluster))

    def _start(self, cluster: FakeCluster) -> Callable[[], None]:
        def start() -> None:  # on the server loop: the pods as they are now, then every later write
            assert cluster.store is not None
            for pod in cluster.store.iter_kind("Pod"):
                if pod["metadata"].get("namespace") == NS:
                    self.events.append(("ADDED", copy.deepcopy(pod)))
            cluster.store.add_listener(self._record)

        return start

    def _record(self, event: WatchEvent) -> None:
        if event.resource.kind == "Pod" and event.object["metadata"].get("namespace") == NS:
            with self._lock:
                self.events.append((event.type, event.object))

    def counts(self, component: str) -> list[tuple[int, int]]:
        """(Ready pods, all pods) of `component` after each recorded write of one of its pods."""
        ready: dict[str, bool] = {}
        counts = []
        with self._lock:
            events = list(self.events)
        for kind, pod in events:
            if pod["metadata"].get("labels", {}).get("app.kubernetes.io/component") != component:
                continue
            name = pod["metadata"]["name"]
            if kind == "DELETED":
                ready.pop(name, None)
            else:
                ready[name] = any(
                    c.get("type") == "Ready" and c.get("status") == "True"
                    for c in (pod.get("status") or {}).get("conditions") or []
                )
            counts.append((sum(ready.values()), len(ready)))
        return counts


def _ready_pods(cluster: FakeCluster, component: str) -> list[dict[str, Any]]:
    return [
        p
        for p in cluster.objects("Pod", NS)
        if p["metadata"].get("labels", {}).get("app.kubernetes.io/component") == component
        and any(
            c.get("type") == "Ready" and c.get("status") == "True" for c in p.get("status", {}).get("conditions") or []
        )
    ]


@pytest.mark.parametrize("cluster", [{"nodes": 3, "zones": ["zone-a", "zone-b"]}], indirect=True)
def test_production_profile_through_a_registry_on_three_nodes(
    cluster: FakeCluster, registry: LocalRegistry, env_file: Path, tmp_path: Path
) -> None:
    target = f"{registry.address}/team"
    # No --url: with a registry there is no minikube ip or node port to try, so /health is reached the
    # ordinary way, through `kubectl port-forward` to the frontend Service (the fake's kubectl shim).
    first = invoke(cluster, "up", "--profile", "production", "--registry", target, env_file=env_file)
    assert first.returncode == 0, first.explain()
    [health] = first.named("health.ok")
    assert health["url"].startswith("http://127.0.0.1:") and health["url"] != f"{cluster.upstream_url()}/health"

    # both images are in the registry, and the Deployments run them by the digest the tool pushed
    pushed = {e.get("ref", "") for e in first.events if "@sha256:" in str(e.get("ref", ""))}
    deployments = {d["metadata"]["name"]: d for d in cluster.objects("Deployment", NS)}
    images = {name: d["spec"]["template"]["spec"]["containers"][0]["image"] for name, d in deployments.items()}
    for image in images.values():
        assert image.startswith(f"{target}/") and "@sha256:" in image, images
        repository = image.split("@")[0].removeprefix(f"{registry.address}/").rsplit(":", 1)[0]
        assert registry.tags(repository), f"{repository} not in the registry"
    if pushed:
        assert set(images.values()) <= pushed, (images, pushed)

    # the HPA floor: 2 ready pods per component, on 2 different nodes; pod statuses name the digest
    for component in COMPONENTS:
        pods = cluster.wait_for(
            lambda c=component: (lambda ps: ps if len(ps) >= 2 else None)(_ready_pods(cluster, c)), timeout=30
        )
        assert len({p["spec"]["nodeName"] for p in pods}) == 2, [p["spec"]["nodeName"] for p in pods]
        for pod in pods:
            digest = pod["spec"]["containers"][0]["image"].split("@")[1]
            assert pod["status"]["containerStatuses"][0]["imageID"].endswith(f"@{digest}")
    hpas = {h["metadata"]["name"]: h for h in cluster.objects("HorizontalPodAutoscaler", NS)}
    assert len(hpas) == 2 and all(h["status"]["desiredReplicas"] == 2 for h in hpas.values()), hpas
    pdbs = cluster.objects("PodDisruptionBudget", NS)
    assert len(pdbs) == 2 and all(p["status"]["disruptionsAllowed"] == 1 for p in pdbs), pdbs

    # A new revision of both components (a changed secret value rolls the backend's template, a changed
    # FEATURE_FLAGS the shared ConfigMap's checksum in both templates), watched in the store. The chart's
    # strategy (maxUnavailable 0, maxSurge 1) steps it as the real controller does (fakecluster/rolling.py).
    history = PodHistory(cluster)
    revisions = {
        name: d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] for name, d in deployments.items()
    }
    changed = write_env(
        tmp_path / "changed.env", {**CANARIES, "COHERE_API_KEY": "co-canary-changed-4f1e", "FEATURE_FLAGS": "rolled"}
    )
    second = invoke(cluster, "up", "--profile", "production", "--registry", target, env_file=changed)
    assert second.returncode == 0, second.explain()
    for name, revision in revisions.items():
        after = cluster.get("Deployment", NS, name)
        assert after["metadata"]["annotations"]["deployment.kubernetes.io/revision"] != revision, name
        assert after["spec"]["replicas"] == 2  # helm left the replica count to the HPA
    for component in COMPONENTS:
        counts = history.counts(component)
        assert counts, f"no {component} pod was written during the rollout"
        assert min(ready for ready, _ in counts) >= 1, (component, counts)  # a ready pod after every write
        assert max(pods for _, pods in counts) == 3, (component, counts)  # maxSurge 1 over 2 replicas
        deleted = [pod for kind, pod in history.events if kind == "DELETED"]
        assert any(p["metadata"]["labels"].get("app.kubernetes.io/component") == component for p in deleted)
        assert len(_ready_pods(cluster, component)) == 2

    down = invoke(cluster, "down", env_file=env_file)
    assert down.returncode == 0, down.explain()
    for kind in ("Deployment", "Pod", "HorizontalPodAutoscaler", "PodDisruptionBudget", "Service"):
        assert not cluster.objects(kind, NS), kind
