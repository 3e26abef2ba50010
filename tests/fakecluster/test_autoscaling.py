"""HPA bounds without a metrics server, PDB status, and the Deployment's replicas default
(fakecluster/autoscaling.py; the real sources are cited there)."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client, config

from fakecluster import FakeCluster
from fakecluster.autoscaling import hpa_decision, pdb_numbers

from .conftest import run


def _deployment(name: str, image: str) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "selector": {"matchLabels": {"app": name}},  # no replicas: left to the HPA
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "web", "image": image, "imagePullPolicy": "Never"}]},
            },
        },
    }


def _hpa(name: str, minimum: int, maximum: int) -> dict[str, Any]:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": minimum,
            "maxReplicas": maximum,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}},
                }
            ],
        },
    }


def _pdb(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": name},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": name}}},
    }


@pytest.fixture
def api(cluster: FakeCluster) -> client.ApiClient:
    return config.new_client_from_config(config_file=str(cluster.kubeconfig))


def test_hpa_decision_follows_the_bounds_before_metrics() -> None:
    assert hpa_decision(1, 1, 2, 5) == (2, "Current number of replicas below Spec.MinReplicas")
    assert hpa_decision(7, 7, 2, 5) == (5, "Current number of replicas above Spec.MaxReplicas")
    assert hpa_decision(0, 0, 2, 5) == (None, "ScalingDisabled")
    assert hpa_decision(3, 3, 2, 5) == (None, "")


def test_pdb_numbers_for_min_available_and_max_unavailable() -> None:
    ready = {"metadata": {}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}}
    unready = {"metadata": {}, "status": {"conditions": [{"type": "Ready", "status": "False"}]}}
    deleting = {"metadata": {"deletionTimestamp": "x"}, "status": ready["status"]}
    assert pdb_numbers({"minAvailable": 1}, [ready, ready], 2) == (2, 1, 2, 1)
    assert pdb_numbers({"minAvailable": 1}, [ready, unready, deleting], 2) == (3, 1, 1, 0)
    assert pdb_numbers({"minAvailable": "50%"}, [ready, ready, ready], 4) == (4, 2, 3, 1)
    assert pdb_numbers({"maxUnavailable": 1}, [ready, ready], 2) == (2, 1, 2, 1)


def test_hpa_scales_a_deployment_without_replicas_to_its_floor_and_the_pdb_counts_it(
    cluster: FakeCluster, api: client.ApiClient, namespace: str, local_image: str
) -> None:
    run(["minikube", "image", "load", local_image], cluster.env)
    apps = client.AppsV1Api(api)
    created = apps.create_namespaced_deployment(namespace, _deployment("web", local_image))
    assert created.spec.replicas == 1  # SetDefaults_Deployment
    client.PolicyV1Api(api).create_namespaced_pod_disruption_budget(namespace, _pdb("web"))
    client.AutoscalingV2Api(api).create_namespaced_horizontal_pod_autoscaler(namespace, _hpa("web", 2, 4))

    def settled() -> dict[str, Any] | None:
        hpa = cluster.get("HorizontalPodAutoscaler", namespace, "web")
        conditions = {c["type"]: c for c in (hpa.get("status") or {}).get("conditions") or []}
        active = conditions.get("ScalingActive", {})
        return hpa if active.get("reason") == "FailedGetResourceMetric" else None

    hpa = cluster.wait_for(settled, timeout=15)
    status = hpa["status"]
    assert (status["currentReplicas"], status["desiredReplicas"]) == (2, 2)
    conditions = {c["type"]: c for c in status["conditions"]}
    assert conditions["AbleToScale"]["status"] == "True"
    assert conditions["ScalingActive"]["status"] == "False"
    assert "unable to compute the replica count" in conditions["ScalingActive"]["message"]
    assert cluster.get("Deployment", namespace, "web")["spec"]["replicas"] == 2
    events = [
        e
        for e in cluster.objects("Event", namespace)
        if e["involvedObject"]["name"] == "web" and e["involvedObject"]["kind"] == "HorizontalPodAutoscaler"
    ]
    assert any(
        e["reason"] == "SuccessfulRescale"
        and e["message"] == "New size: 2; reason: Current number of replicas below Spec.MinReplicas"
        for e in events
    )
    assert any(e["reason"] == "FailedGetResourceMetric" and e["type"] == "Warning" for e in events)

    def pdb_ready() -> dict[str, Any] | None:
        status = cluster.get("PodDisruptionBudget", namespace, "web").get("status") or {}
        return status if status.get("currentHealthy") == 2 else None

    pdb = cluster.wait_for(pdb_ready, timeout=15)
    assert (pdb["expectedPods"], pdb["desiredHealthy"], pdb["disruptionsAllowed"]) == (2, 1, 1)
    assert pdb["conditions"][0]["type"] == "DisruptionAllowed"
    assert (pdb["conditions"][0]["status"], pdb["conditions"][0]["reason"]) == ("True", "SufficientPods")
    # the typed client reads both back
    read = client.AutoscalingV2Api(api).read_namespaced_horizontal_pod_autoscaler_status("web", namespace)
    assert read.status.desired_replicas == 2
    assert (
        client.PolicyV1Api(api).read_namespaced_pod_disruption_budget("web", namespace).status.disruptions_allowed == 1
    )
