"""The fake's API as an independent client sees it: defaults the real control plane adds and the
shapes it returns (issue #18). Each test names the behaviour it pins; the sources are cited where the
behaviour is emulated (fakecluster/*.py) and in fakecluster/README.md."""

from __future__ import annotations

import json
import time
import uuid

import httpx
import pytest
from kubernetes import client, config
from kubernetes.client.rest import ApiException

from fakecluster import FakeCluster, Timings
from fakecluster.admission import qos_class
from fakecluster.patches import strategic_merge_patch

from .conftest import FAST, run


@pytest.fixture
def api(cluster: FakeCluster) -> client.ApiClient:
    return config.new_client_from_config(config_file=str(cluster.kubeconfig))


def _pod(name: str, image: str, **spec: object) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"containers": [{"name": "web", "image": image, "imagePullPolicy": "Never"}], **spec},
    }


def _wait_sa(core: client.CoreV1Api, namespace: str) -> None:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if any(sa.metadata.name == "default" for sa in core.list_namespaced_service_account(namespace).items):
            return
        time.sleep(0.05)
    raise AssertionError("no default ServiceAccount")


# --- 2. bare pods --------------------------------------------------------------------------------------


def test_bare_pod_create_response_has_status_then_it_is_bound_and_runs(
    cluster: FakeCluster, api: client.ApiClient, namespace: str, local_image: str
) -> None:
    run(["minikube", "image", "load", local_image], cluster.env)
    core = client.CoreV1Api(api)
    created = core.create_namespaced_pod(namespace, _pod("bare", local_image))
    assert created.status.phase == "Pending" and created.status.qos_class == "BestEffort"
    assert created.spec.node_name is None and created.spec.service_account_name == "default"
    # the v1 defaults and the admission plugins' additions
    assert (created.spec.dns_policy, created.spec.termination_grace_period_seconds, created.spec.priority) == (
        "ClusterFirst",
        30,
        0,
    )
    assert created.spec.containers[0].termination_message_policy == "File"
    assert {(t.key, t.toleration_seconds) for t in created.spec.tolerations} == {
        ("node.kubernetes.io/not-ready", 300),
        ("node.kubernetes.io/unreachable", 300),
    }

    def running() -> client.V1Pod | None:
        pod = core.read_namespaced_pod("bare", namespace)
        return pod if pod.status.phase == "Running" else None

    pod = cluster.wait_for(running, timeout=5)
    assert pod.spec.node_name == "minikube"
    assert {c.type: c.status for c in pod.status.conditions}["PodScheduled"] == "True"
    assert pod.metadata.generation == 1  # the binding is not a spec update
    events = [e for e in cluster.objects("Event", namespace) if e["involvedObject"]["name"] == "bare"]
    assert any(e["reason"] == "Scheduled" and e["source"]["component"] == "default-scheduler" for e in events)


def test_pods_binding_subresource_binds_once(
    cluster: FakeCluster, api: client.ApiClient, namespace: str, local_image: str
) -> None:
    core = client.CoreV1Api(api)
    core.create_namespaced_pod(namespace, _pod("custom", local_image, schedulerName="my-scheduler"))
    time.sleep(0.3)  # the fake's default scheduler leaves it alone
    assert core.read_namespaced_pod("custom", namespace).spec.node_name is None
    binding = client.V1Binding(
        metadata=client.V1ObjectMeta(name="custom"), target=client.V1ObjectReference(kind="Node", name="minikube")
    )
    response = httpx.post(
        f"{cluster.url}/api/v1/namespaces/{namespace}/pods/custom/binding", json=api.sanitize_for_serialization(binding)
    )
    assert response.status_code == 201 and response.json()["status"] == "Success"
    assert core.read_namespaced_pod("custom", namespace).spec.node_name == "minikube"
    with pytest.raises(ApiException) as err:
        core.create_namespaced_pod_binding("custom", namespace, binding, _preload_content=False)
    assert err.value.status == 409
    assert 'pod custom is already assigned to node "minikube"' in json.loads(err.value.body)["message"]


def test_qos_class_follows_requests_and_limits() -> None:
    def pod(*resources: dict[str, object]) -> dict[str, object]:
        return {"spec": {"containers": [{"name": str(i), "resources": r} for i, r in enumerate(resources)]}}

    assert qos_class(pod({})) == "BestEffort"
    assert qos_class(pod({"limits": {"cpu": "100m", "memory": "64Mi"}})) == "Guaranteed"  # requests default
    assert (
        qos_class(pod({"requests": {"cpu": "0.1", "memory": "64Mi"}, "limits": {"cpu": "100m", "memory": "67108864"}}))
        == "Guaranteed"
    )
    assert qos_class(pod({"requests": {"cpu": "50m"}, "limits": {"cpu": "100m", "memory": "64Mi"}})) == "Burstable"
    assert qos_class(pod({"limits": {"cpu": "1", "memory": "1Gi"}}, {})) == "Burstable"


# --- 3. the node ---------------------------------------------------------------------------------------


def test_node_has_the_shape_a_minikube_kubelet_reports(
    cluster: FakeCluster, api: client.ApiClient, local_image: str
) -> None:
    core = client.CoreV1Api(api)
    [node] = core.list_node().items  # the typed client refuses a NodeSystemInfo lacking a required field
    info = node.status.node_info
    assert info.machine_id and info.system_uuid and info.boot_id and info.kernel_version
    assert info.kube_proxy_version == "" and info.kubelet_version == "v1.35.0"
    assert [c.type for c in node.status.conditions] == ["MemoryPressure", "DiskPressure", "PIDPressure", "Ready"]
    assert {a.type for a in node.status.addresses} == {"InternalIP", "Hostname"}
    assert node.status.daemon_endpoints.kubelet_endpoint.port == 10250
    assert {"cpu", "memory", "pods", "ephemeral-storage"} <= set(node.status.allocatable)
    assert node.metadata.labels["minikube.k8s.io/primary"] == "true"
    run(["minikube", "image", "load", local_image], cluster.env)

    def listed() -> bool:
        names = [n for image in core.read_node("minikube").status.images or [] for n in image.names]
        return "docker.io/library/" + local_image in names

    cluster.wait_for(listed, timeout=5)


# --- 4. services ---------------------------------------------------------------------------------------


def test_service_status_and_ports_merge_by_port(cluster: FakeCluster, api: client.ApiClient, namespace: str) -> None:
    core = client.CoreV1Api(api)
    core.create_namespaced_service(
        namespace,
        client.V1Service(
            metadata=client.V1ObjectMeta(name="web"),
            spec=client.V1ServiceSpec(
                selector={"app": "web"},
                ports=[
                    client.V1ServicePort(name="http", port=80, target_port=8000),
                    client.V1ServicePort(name="metrics", port=9090),
                ],
            ),
        ),
    )
    raw = json.loads(core.read_namespaced_service("web", namespace, _preload_content=False).data)
    assert raw["status"] == {"loadBalancer": {}}
    assert (raw["spec"]["ipFamilyPolicy"], raw["spec"]["internalTrafficPolicy"]) == ("SingleStack", "Cluster")
    # A strategic merge patch matches ports by `port` (its patchMergeKey), not by name:
    # renaming port 80 changes that entry instead of adding a third one.
    patched = core.patch_namespaced_service("web", namespace, {"spec": {"ports": [{"port": 80, "name": "web"}]}})
    assert [(p.name, p.port, p.target_port) for p in patched.spec.ports] == [("web", 80, 8000), ("metrics", 9090, 9090)]
    assert patched.status.load_balancer is not None


def test_strategic_merge_uses_each_fields_merge_key() -> None:
    deployment = {
        "metadata": {"finalizers": ["a"]},
        "spec": {
            "template": {
                "spec": {
                    "containers": [{"name": "c", "ports": [{"containerPort": 80, "name": "http"}], "args": ["x", "y"]}],
                    "tolerations": [{"key": "k1"}],
                }
            }
        },
    }
    patched = strategic_merge_patch(
        deployment,
        {
            "metadata": {"finalizers": ["b"]},
            "spec": {
                "template": {
                    "spec": {
                        "containers": [{"name": "c", "ports": [{"containerPort": 80, "name": "web"}], "args": ["z"]}],
                        "tolerations": [{"key": "k2"}],
                    }
                }
            },
        },
        "Deployment",
    )
    pod_spec = patched["spec"]["template"]["spec"]
    assert patched["metadata"]["finalizers"] == ["a", "b"]  # a merged set of scalars
    assert pod_spec["containers"][0]["ports"] == [{"containerPort": 80, "name": "web"}]  # by containerPort
    assert pod_spec["containers"][0]["args"] == ["z"]  # atomic
    assert pod_spec["tolerations"] == [{"key": "k2"}]  # no merge strategy: replaced whole


# --- 5. wire format ------------------------------------------------------------------------------------


def test_status_bodies_are_compact_go_json(cluster: FakeCluster, namespace: str) -> None:
    response = httpx.get(f"{cluster.url}/api/v1/namespaces/{namespace}/secrets/missing")
    assert response.status_code == 404
    assert response.text == (
        '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",'
        '"message":"secrets \\"missing\\" not found","reason":"NotFound",'
        '"details":{"name":"missing","kind":"secrets"},"code":404}\n'
    )


def test_list_items_carry_no_type_meta(cluster: FakeCluster, namespace: str) -> None:
    listing = httpx.get(f"{cluster.url}/api/v1/namespaces").json()
    assert listing["kind"] == "NamespaceList" and listing["apiVersion"] == "v1"
    assert listing["items"] and all("kind" not in i and "apiVersion" not in i for i in listing["items"])
    single = httpx.get(f"{cluster.url}/api/v1/namespaces/{namespace}").json()
    assert single["kind"] == "Namespace" and single["apiVersion"] == "v1"


# --- 1. the default ServiceAccount -----------------------------------------------------------------------


def test_a_new_namespace_gets_its_default_service_account_and_root_ca(api: client.ApiClient) -> None:
    core = client.CoreV1Api(api)
    name = f"t-{uuid.uuid4().hex[:6]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    assert not core.list_namespaced_service_account(name).items  # not at once: a controller makes it
    _wait_sa(core, name)
    assert "ca.crt" in core.read_namespaced_config_map("kube-root-ca.crt", name).data
    core.delete_namespaced_service_account("default", name)
    _wait_sa(core, name)  # and again when it is deleted


def test_pods_wait_for_the_default_service_account_and_get_the_token_volume(
    api: client.ApiClient, local_image: str
) -> None:
    """A pod created right after its namespace is admitted once `default` exists (the plugin retries)."""
    core = client.CoreV1Api(api)
    name = f"t-{uuid.uuid4().hex[:6]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    pod = core.create_namespaced_pod(name, _pod("early", local_image))
    [volume] = [v for v in pod.spec.volumes if v.name.startswith("kube-api-access-")]
    assert volume.projected.sources[1].config_map.name == "kube-root-ca.crt"
    assert pod.spec.containers[0].volume_mounts[0].mount_path == "/var/run/secrets/kubernetes.io/serviceaccount"
    opted_out = core.create_namespaced_pod(name, _pod("no-token", local_image, automountServiceAccountToken=False))
    assert not opted_out.spec.volumes


def test_until_the_service_account_exists_pods_are_refused_and_the_replicaset_retries(local_image: str) -> None:
    slow = Timings(**{**FAST.__dict__, "service_account_delay": 3.0})
    with FakeCluster("healthy", upstream="builtin", timings=slow) as cluster:
        api = config.new_client_from_config(config_file=str(cluster.kubeconfig))
        core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
        run(["minikube", "image", "load", local_image], cluster.env)
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="fresh")))
        with pytest.raises(ApiException) as err:
            core.create_namespaced_pod("fresh", _pod("early", local_image))
        status = json.loads(err.value.body)
        assert err.value.status == 403 and status["reason"] == "Forbidden"
        assert status["message"] == (
            'pods "early" is forbidden: error looking up service account fresh/default: '
            'serviceaccount "default" not found'
        )
        apps.create_namespaced_deployment(
            "fresh",
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "web"},
                "spec": {
                    "replicas": 1,
                    "selector": {"matchLabels": {"app": "web"}},
                    "template": {
                        "metadata": {"labels": {"app": "web"}},
                        "spec": {"containers": [{"name": "web", "image": local_image, "imagePullPolicy": "Never"}]},
                    },
                },
            },
        )

        def failure_condition() -> tuple[str, str] | None:
            found = {
                c.type: (c.reason, c.message)
                for c in apps.read_namespaced_deployment("web", "fresh").status.conditions or []
            }
            return found.get("ReplicaFailure")

        reason, message = cluster.wait_for(failure_condition, timeout=3)
        assert reason == "FailedCreate" and 'serviceaccount "default" not found' in message
        [rs] = apps.list_namespaced_replica_set("fresh").items
        assert [(c.type, c.reason) for c in rs.status.conditions] == [("ReplicaFailure", "FailedCreate")]
        cluster.wait_for(
            lambda: (apps.read_namespaced_deployment("web", "fresh").status.available_replicas or 0) == 1, timeout=10
        )
        assert failure_condition() is None  # gone once a create succeeded
        assert not apps.list_namespaced_replica_set("fresh").items[0].status.conditions
        failed = [e for e in cluster.objects("Event", "fresh") if e["reason"] == "FailedCreate"]
        assert failed and failed[0]["type"] == "Warning" and failed[0]["source"]["component"] == "replicaset-controller"
        assert (
            failed[0]["message"].startswith('Error creating: pods "web-')
            and 'is forbidden: error looking up service account fresh/default: serviceaccount "default" not found'
            in failed[0]["message"]
        )


# --- 6. not emulated, said so ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "code", "words"),
    [
        ("GET", "/api/v1/namespaces/default/replicationcontrollers", 404, "does not emulate ReplicationControllers"),
        ("GET", "/apis/apiregistration.k8s.io/v1/apiservices", 404, "does not emulate the apiregistration.k8s.io"),
        ("GET", "/apis/apiregistration.k8s.io", 404, "does not emulate the apiregistration.k8s.io"),
        ("POST", "/api/v1/namespaces/default/pods/p/exec", 501, "pods/exec is not implemented by the fake cluster"),
        ("GET", "/api/v1/namespaces/default/pods/p/attach", 501, "pods/attach is not implemented by the fake cluster"),
    ],
)
def test_what_is_not_emulated_fails_loudly(cluster: FakeCluster, method: str, path: str, code: int, words: str) -> None:
    response = httpx.request(method, cluster.url + path)
    assert response.status_code == code
    body = response.json()
    assert body["kind"] == "Status" and words in body["message"] and "README" in body["message"]
