"""The general check (issue #18): after a real `helm upgrade --install` of the project chart through the
fake, every object the fake returns for the kinds the tool reads validates against the Kubernetes
OpenAPI schema of the served version (kubernetes-validate's offline schemas, strict: unknown fields
fail too) and deserializes in the typed client (a missing required field raises there)."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import kubernetes_validate
import pytest
from kubernetes import client, config

from fakecluster import FakeCluster
from fakecluster.resources import KUBERNETES_VERSION

from .conftest import FAST, run

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "todo-app"
SERVED = f"{KUBERNETES_VERSION['major']}.{KUBERNETES_VERSION['minor']}"
# kind -> (cluster-wide list path, typed list model)
KINDS = {
    "Namespace": ("/api/v1/namespaces", "V1NamespaceList"),
    "Node": ("/api/v1/nodes", "V1NodeList"),
    "Pod": ("/api/v1/pods", "V1PodList"),
    "Service": ("/api/v1/services", "V1ServiceList"),
    "Secret": ("/api/v1/secrets", "V1SecretList"),
    "ConfigMap": ("/api/v1/configmaps", "V1ConfigMapList"),
    "Deployment": ("/apis/apps/v1/deployments", "V1DeploymentList"),
    "ReplicaSet": ("/apis/apps/v1/replicasets", "V1ReplicaSetList"),
    "Event": ("/api/v1/events", "CoreV1EventList"),
    "Ingress": ("/apis/networking.k8s.io/v1/ingresses", "V1IngressList"),
}


@pytest.fixture(scope="module")
def deployed(local_image: str) -> Iterator[tuple[FakeCluster, str]]:
    """The project chart installed with --wait (ingress addon on), plus a bare pod and a rollout."""
    with FakeCluster("healthy", upstream="builtin", timings=FAST) as cluster:
        env = cluster.env
        namespace = f"t-{uuid.uuid4().hex[:6]}"
        run(["minikube", "addons", "enable", "ingress"], env)
        run(["minikube", "image", "load", local_image], env)
        run(["kubectl", "create", "namespace", namespace], env)
        for name in ("todo-backend", "todo-frontend"):
            run(["/usr/bin/docker", "tag", local_image, f"{name}:fake1"], env)
            run(["minikube", "image", "load", f"{name}:fake1"], env)
        run(
            [
                "kubectl",
                "-n",
                namespace,
                "create",
                "secret",
                "generic",
                "todo-secrets",
                "--from-literal=COHERE_API_KEY=c",
                "--from-literal=DATABASE_URL=sqlite:////tmp/x.db",
                "--from-literal=JWT_SECRET=j",
            ],
            env,
        )
        helm = [
            "helm",
            "upgrade",
            "--install",
            "todo",
            str(CHART),
            "-n",
            namespace,
            "--wait",
            "--timeout",
            "60s",
            "--set",
            "secrets.existingSecret=todo-secrets",
            "--set",
            "backend.image.tag=fake1",
            "--set",
            "frontend.image.tag=fake1",
            "--set",
            "database.enabled=false",  # the chart's postgres:15 is not loaded into this fake's node
        ]
        run(helm, env, timeout=120)
        run([*helm, "--set", "secrets.version=2"], env, timeout=120)  # a second revision: two ReplicaSets
        run(["kubectl", "-n", namespace, "run", "bare", f"--image={local_image}", "--image-pull-policy=Never"], env)
        cluster.wait_for(
            lambda: (cluster.get("Pod", namespace, "bare") or {}).get("status", {}).get("phase") == "Running",
            timeout=10,
        )
        yield cluster, namespace


def _schema_errors(obj: dict[str, Any]) -> list[str]:
    try:
        kubernetes_validate.validate(obj, SERVED, strict=True)
    except kubernetes_validate.ValidationError as exc:
        return [
            f"{obj['kind']} {obj['metadata'].get('namespace', '')}/{obj['metadata']['name']}: "
            f"{'.'.join(str(p) for p in exc.path)}: {exc.message}"
        ]
    return []


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_object_validates_against_the_served_schema(deployed: tuple[FakeCluster, str], kind: str) -> None:
    cluster, namespace = deployed
    path, model = KINDS[kind]
    response = httpx.get(cluster.url + path)
    assert response.status_code == 200
    listing = response.json()
    items = listing["items"]
    assert items, f"no {kind} objects to check"
    if kind not in ("Namespace", "Node"):
        assert any(i["metadata"].get("namespace") == namespace for i in items), f"no {kind} from the release"
    errors: list[str] = []
    for item in items:
        # List items carry no kind/apiVersion (as from the real server); clients put them back.
        errors += _schema_errors({"kind": kind, "apiVersion": listing["apiVersion"], **item})
        meta = item["metadata"]
        single_path = (
            path
            if "namespace" not in meta
            else path.replace(path.rsplit("/", 1)[1], f"namespaces/{meta['namespace']}/{path.rsplit('/', 1)[1]}")
        )
        single = httpx.get(f"{cluster.url}{single_path}/{meta['name']}")
        if single.status_code == 404:  # deleted meanwhile (an event folded, a pod replaced)
            continue
        errors += _schema_errors(single.json())
    assert not errors, "\n".join(errors[:20])

    # The typed client: a missing required field or a wrong type raises while deserializing.
    api = config.new_client_from_config(config_file=str(cluster.kubeconfig))
    typed = api.deserialize(response.text, model, "application/json")
    assert len(typed.items) == len(items)


def test_the_typed_list_calls_work(deployed: tuple[FakeCluster, str]) -> None:
    cluster, namespace = deployed
    api = config.new_client_from_config(config_file=str(cluster.kubeconfig))
    core, apps, net = client.CoreV1Api(api), client.AppsV1Api(api), client.NetworkingV1Api(api)
    assert core.list_node().items[0].status.node_info.kube_proxy_version == ""
    assert core.list_namespace().items
    pods = core.list_namespaced_pod(namespace).items
    assert {p.status.qos_class for p in pods} >= {"BestEffort", "Burstable"}
    assert all(s.status.load_balancer is not None for s in core.list_namespaced_service(namespace).items)
    assert core.list_namespaced_secret(namespace).items and core.list_namespaced_config_map(namespace).items
    assert len(apps.list_namespaced_replica_set(namespace).items) >= 3  # backend x2 revisions + frontend
    assert apps.list_namespaced_deployment(namespace).items and core.list_namespaced_event(namespace).items
    assert net.list_namespaced_ingress(namespace).items


def test_kubectl_reads_them_too(deployed: tuple[FakeCluster, str]) -> None:
    cluster, namespace = deployed
    out = subprocess.run(
        ["kubectl", "get", "pods,svc,deploy,rs,ing,cm,secret,events", "-n", namespace, "-o", "json"],
        env=cluster.env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    kinds = {i["kind"] for i in json.loads(out)["items"]}
    assert {"Pod", "Service", "Deployment", "ReplicaSet", "Ingress", "ConfigMap", "Secret", "Event"} <= kinds


def test_the_check_catches_a_missing_required_field() -> None:
    """The checks above can fail: the Node the fake served before #18 (no machineID, bootID, ...) is
    refused by both the schema and the typed client."""
    from fakecluster.node import node_object

    node = node_object()
    node["metadata"]["uid"] = "u"
    assert not _schema_errors(node)
    for field in ("machineID", "systemUUID", "bootID", "kernelVersion", "kubeProxyVersion"):
        del node["status"]["nodeInfo"][field]
    assert "'machineID' is a required property" in _schema_errors(node)[0]
    with pytest.raises(ValueError, match="machineID"):
        client.ApiClient().deserialize(
            json.dumps({"kind": "NodeList", "apiVersion": "v1", "metadata": {}, "items": [node]}),
            "V1NodeList",
            "application/json",
        )
