"""kube/secret_store.py: the whole flow through the frozen context against the project's fake cluster."""

from __future__ import annotations

from orchestrator.kube.secret_store import ensure_namespace, garbage_collect, read_secret_keys, write_secret
from tests.unit.conftest import CANARIES, good_values

NS = "todo-app"
REL = "todo-app"


def test_whole_flow_through_the_frozen_context_against_the_fake_cluster() -> None:
    """Guard -> frozen kubeconfig -> real client -> namespace, Secret, no-op rewrite, rotation, GC."""
    from fakecluster import FakeCluster
    from orchestrator.kube.guard import freeze_context
    from orchestrator.kube.rest import Rest
    from orchestrator.settings.config import Target

    with FakeCluster("healthy") as cluster:
        with freeze_context(Target.MINIKUBE, environ={"KUBECONFIG": str(cluster.kubeconfig)}) as frozen:
            assert frozen.server == cluster.url and frozen.remote is False
            api = Rest(frozen.api_client())
            ensure_namespace(api, NS)
            first = write_secret(api, NS, REL, good_values())
            cluster.clear_requests()
            assert write_secret(api, NS, REL, good_values()).written is False
            assert not [r for r in cluster.requests if r.is_write]
            versions = [
                write_secret(api, NS, REL, {**good_values(), "COHERE_API_KEY": f"co-rotated-{i:04d}"}) for i in range(3)
            ]
            stored = cluster.get("Secret", NS, versions[-1].name)
            assert stored is not None and stored["immutable"] is True and stored["type"] == "Opaque"
            assert read_secret_keys(api, NS, first.name) == set(good_values())
            deleted = garbage_collect(api, NS, REL, keep={first.name}, keep_last=2)
            assert deleted == [versions[0].name]
            left = {s["metadata"]["name"] for s in cluster.objects("Secret", NS)}
            assert {first.name, versions[1].name, versions[2].name} <= left and versions[0].name not in left
        # Only the Secret create requests may carry the values.
        for request in cluster.requests:
            if not (request.method == "POST" and request.path.endswith("/secrets")):
                assert not any(request.mentions(c) for c in CANARIES), request.path
