"""Several nodes named like a multi-node minikube, and pods placed by their spread constraints
(fakecluster/topology.py; the real sources are cited there)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from kubernetes import client, config

from fakecluster import FakeCluster
from fakecluster.topology import choose_node, node_names, node_specs

from .conftest import run

SPREAD = [
    {
        "maxSkew": 1,
        "topologyKey": "kubernetes.io/hostname",
        "whenUnsatisfiable": "DoNotSchedule",
        "labelSelector": {"matchLabels": {"app": "web"}},
    },
    {
        "maxSkew": 1,
        "topologyKey": "topology.kubernetes.io/zone",
        "whenUnsatisfiable": "ScheduleAnyway",
        "labelSelector": {"matchLabels": {"app": "web"}},
    },
]


def _node(name: str, zone: str = "") -> dict[str, Any]:
    labels = {"kubernetes.io/hostname": name, **({"topology.kubernetes.io/zone": zone} if zone else {})}
    return {"metadata": {"name": name, "labels": labels}}


def _pod(name: str, node: str = "", constraints: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": "ns", "labels": {"app": "web"}},
        "spec": {"nodeName": node, "topologySpreadConstraints": constraints or SPREAD},
    }


def test_nodes_are_named_like_a_multi_node_minikube() -> None:
    assert node_names(1) == ["minikube"]
    assert node_names(3) == ["minikube", "minikube-m02", "minikube-m03"]
    assert [(s.name, s.zone) for s in node_specs(3, ["a", "b"])] == [
        ("minikube", "a"),
        ("minikube-m02", "b"),
        ("minikube-m03", "a"),
    ]


def test_hostname_spread_avoids_a_node_that_would_exceed_the_skew() -> None:
    nodes = [_node("minikube", "a"), _node("minikube-m02", "b"), _node("minikube-m03", "a")]
    placed = [_pod("p1", "minikube")]
    # minikube already has one: the others are preferred; zone b is emptier, so minikube-m02
    assert choose_node(_pod("p2"), nodes, placed).node == "minikube-m02"
    placed.append(_pod("p2", "minikube-m02"))
    assert choose_node(_pod("p3"), nodes, placed).node == "minikube-m03"


def test_a_pod_that_fits_nowhere_gets_the_schedulers_message() -> None:
    nodes = [_node("minikube"), _node("minikube-m02")]
    placed = [_pod("p1", "minikube"), _pod("p2", "minikube")]  # minikube-m02 lacks the zone label
    hard_zone = [{**SPREAD[1], "whenUnsatisfiable": "DoNotSchedule"}]
    placement = choose_node(_pod("p3", constraints=hard_zone), nodes, placed)
    assert placement.node is None
    assert placement.message == (
        "0/2 nodes are available: 2 node(s) didn't match pod topology spread constraints (missing required "
        "label). preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling."
    )
    # minikube holds 2 matching pods, minikube-m02 1: minikube would make the skew 2 > maxSkew 1
    skew = choose_node(
        _pod("p3", constraints=SPREAD[:1]),
        [_node("minikube"), _node("minikube-m02")],
        placed + [_pod("q", "minikube-m02", [])],
    )
    assert skew.node == "minikube-m02"


@pytest.mark.parametrize("cluster", [{"nodes": 3, "zones": ["zone-a", "zone-b"]}], indirect=True)
def test_three_nodes_with_zones_and_replicas_spread_over_them(
    cluster: FakeCluster, namespace: str, local_image: str
) -> None:
    api = config.new_client_from_config(config_file=str(cluster.kubeconfig))
    nodes = {n.metadata.name: n.metadata.labels for n in client.CoreV1Api(api).list_node().items}
    assert sorted(nodes) == ["minikube", "minikube-m02", "minikube-m03"]
    assert nodes["minikube-m02"]["topology.kubernetes.io/zone"] == "zone-b"
    assert nodes["minikube-m02"]["minikube.k8s.io/primary"] == "false"
    assert "node-role.kubernetes.io/control-plane" not in nodes["minikube-m02"]
    run(["minikube", "image", "load", local_image], cluster.env)
    client.AppsV1Api(api).create_namespaced_deployment(
        namespace,
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web"},
            "spec": {
                "replicas": 4,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {
                        "topologySpreadConstraints": SPREAD,
                        "containers": [{"name": "web", "image": local_image, "imagePullPolicy": "Never"}],
                    },
                },
            },
        },
    )

    def placed() -> Counter[str] | None:
        pods = cluster.objects("Pod", namespace)
        bound = Counter(p["spec"].get("nodeName") for p in pods if p["spec"].get("nodeName"))
        return bound if sum(bound.values()) == 4 else None

    assert sorted(cluster.wait_for(placed, timeout=10).values()) == [1, 1, 2]
    events = [e["message"] for e in cluster.objects("Event", namespace) if e["reason"] == "Scheduled"]
    assert any(m.endswith("to minikube-m03") for m in events)
