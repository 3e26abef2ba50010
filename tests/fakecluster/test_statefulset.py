"""The fake's StatefulSet controller (fakecluster/statefulset.py): claims before pods, claims outlive
the set, the pod `<set>-0` with the claim mounted, status counts."""

from __future__ import annotations

from fakecluster import FakeCluster
from fakecluster.statefulset import claims_for

STS = {
    "apiVersion": "apps/v1",
    "kind": "StatefulSet",
    "metadata": {"name": "db", "namespace": "default", "uid": "u1"},
    "spec": {
        "serviceName": "db",
        "replicas": 1,
        "selector": {"matchLabels": {"app": "db"}},
        "template": {
            "metadata": {"labels": {"app": "db"}},
            "spec": {"containers": [{"name": "postgres", "image": "registry.k8s.io/pause:3.10"}]},
        },
        "volumeClaimTemplates": [
            {
                "metadata": {"name": "data", "labels": {"tier": "storage"}},
                "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
            }
        ],
    },
}


def test_claim_names_and_labels_follow_the_real_controller() -> None:
    [claim] = claims_for(STS, 0)
    assert claim["metadata"]["name"] == "data-db-0"
    assert claim["metadata"]["labels"] == {"tier": "storage", "app": "db"}


def test_the_set_gets_a_bound_claim_and_a_ready_pod_and_the_claim_outlives_it(cluster: FakeCluster) -> None:
    import copy
    import subprocess

    import yaml

    body = copy.deepcopy(STS)
    del body["metadata"]["uid"]
    subprocess.run(
        ["kubectl", "apply", "-f", "-"],
        input=yaml.safe_dump(body),
        text=True,
        env=cluster.env,
        check=True,
        capture_output=True,
    )
    cluster.wait_for(
        lambda: (cluster.get("StatefulSet", "default", "db") or {}).get("status", {}).get("readyReplicas") == 1,
        timeout=10,
    )
    claim = cluster.get("PersistentVolumeClaim", "default", "data-db-0")
    assert claim["status"]["phase"] == "Bound"
    pod = cluster.get("Pod", "default", "db-0")
    assert {"name": "data", "persistentVolumeClaim": {"claimName": "data-db-0"}} in pod["spec"]["volumes"]
    assert pod["metadata"]["ownerReferences"][0]["kind"] == "StatefulSet"
    subprocess.run(["kubectl", "delete", "statefulset", "db"], env=cluster.env, check=True, capture_output=True)
    cluster.wait_for(lambda: cluster.get("Pod", "default", "db-0") is None, timeout=10)
    assert cluster.get("PersistentVolumeClaim", "default", "data-db-0") is not None
