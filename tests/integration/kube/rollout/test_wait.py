"""kube/rollout/wait.py against the project's fake cluster (simulated controllers, real HTTP)."""

from __future__ import annotations

from typing import Any

import pytest

from orchestrator.kube.rollout.wait import wait_for_rollout
from orchestrator.run.events import Reporter

NS = "todo-app"
RELEASE_LABELS = {"app.kubernetes.io/instance": "todo-app"}


def _fake_cluster_deployment(name: str) -> dict[str, Any]:
    labels = {**RELEASE_LABELS, "app.kubernetes.io/name": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [
                        {
                            "name": name,
                            "image": f"todo-{name}:abc123",
                            "imagePullPolicy": "IfNotPresent",
                            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
                        }
                    ]
                },
            },
        },
    }


@pytest.mark.parametrize(
    ("scenario", "load_images", "ok", "reason", "diagnosis"),
    [
        ("healthy", True, True, "Ready", None),
        ("crash-loop", True, False, "CannotHeal", "CrashLoopBackOff"),
        ("healthy", False, False, "CannotHeal", "ImagePullBackOff"),
        ("unschedulable", True, False, "CannotHeal", "Unschedulable"),
    ],
)
def test_against_the_fake_cluster(
    scenario: str, load_images: bool, ok: bool, reason: str, diagnosis: str | None
) -> None:
    from kubernetes.client import AppsV1Api, CoreV1Api

    from fakecluster.cluster import FakeCluster
    from orchestrator.kube import api as kube
    from orchestrator.kube.rollout.wait import api_logs_fn

    with FakeCluster(scenario=scenario) as cluster:
        if load_images:
            cluster.load_image("todo-backend:abc123")
            cluster.load_image("todo-frontend:abc123")
        client = kube.api_client(str(cluster.kubeconfig), "minikube")
        CoreV1Api(client).create_namespace({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
        for name in ("backend", "frontend"):
            AppsV1Api(client).create_namespaced_deployment(NS, _fake_cluster_deployment(name))
        outcome = wait_for_rollout(
            client,
            NS,
            ["backend", "frontend"],
            30,
            Reporter(),
            logs_fn=api_logs_fn(client),
            selector="app.kubernetes.io/instance=todo-app",
        )
    assert (outcome.ok, outcome.reason, outcome.mode) == (ok, reason, "watch")
    from orchestrator.kube.rollout.status import UNSCHEDULABLE_SECONDS

    assert outcome.seconds < 10 + (UNSCHEDULABLE_SECONDS if diagnosis == "Unschedulable" else 0)
    diagnosed = [r for r in outcome.not_ready if r.diagnosis]
    if diagnosis is None:
        assert outcome.not_ready == []
        return
    assert diagnosed and diagnosed[0].diagnosis is not None and diagnosed[0].diagnosis.reason == diagnosis
    assert {"deployment/backend", "deployment/frontend"} <= {r.resource for r in outcome.not_ready}
    if diagnosis == "CrashLoopBackOff":
        assert any("RuntimeError" in line for line in diagnosed[0].logs)
