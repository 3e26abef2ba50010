"""The simulated control plane: pod fates derived from real state and from the scenario."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from kubernetes import client, config

from fakecluster import FakeCluster

from .conftest import FAST, run


def deployment(
    name: str,
    image: str,
    *,
    secret: str = "app-secrets",
    key: str = "API_KEY",
    policy: str = "Never",
    deadline: int = 600,
) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": 1,
            "progressDeadlineSeconds": deadline,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "containers": [
                        {
                            "name": "web",
                            "image": image,
                            "imagePullPolicy": policy,
                            "env": [{"name": key, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}],
                        }
                    ]
                },
            },
        },
    }


@pytest.fixture
def apps(cluster: FakeCluster) -> client.AppsV1Api:
    return client.AppsV1Api(config.new_client_from_config(config_file=str(cluster.kubeconfig)))


@pytest.fixture
def core(cluster: FakeCluster) -> client.CoreV1Api:
    return client.CoreV1Api(config.new_client_from_config(config_file=str(cluster.kubeconfig)))


@pytest.fixture
def loaded(cluster: FakeCluster, local_image: str) -> str:
    run(["minikube", "image", "load", local_image], cluster.env)
    return local_image


@pytest.fixture
def secret(core: client.CoreV1Api, namespace: str) -> None:
    core.create_namespaced_secret(
        namespace, client.V1Secret(metadata=client.V1ObjectMeta(name="app-secrets"), string_data={"API_KEY": "canary"})
    )


def waiting_reason(cluster: FakeCluster, namespace: str) -> tuple[str, str]:
    def probe() -> tuple[str, str] | None:
        for pod in cluster.objects("Pod", namespace):
            for status in pod.get("status", {}).get("containerStatuses") or []:
                waiting = status.get("state", {}).get("waiting")
                if waiting and waiting.get("reason") not in ("ContainerCreating",):
                    return waiting["reason"], waiting.get("message", "")
        return None

    return cluster.wait_for(probe, timeout=5)


def reasons(cluster: FakeCluster, namespace: str) -> set[str]:
    return {e["reason"] for e in cluster.objects("Event", namespace)}


def test_healthy_rollout_writes_replicaset_pod_status_and_events(
    cluster: FakeCluster, apps: client.AppsV1Api, namespace: str, loaded: str, secret: None
) -> None:
    apps.create_namespaced_deployment(namespace, deployment("web", loaded))
    cluster.wait_for(
        lambda: (apps.read_namespaced_deployment_status("web", namespace).status.available_replicas or 0) == 1,
        timeout=5,
    )
    status = apps.read_namespaced_deployment_status("web", namespace).status
    assert status.observed_generation == 1 and status.updated_replicas == 1 and status.ready_replicas == 1
    conditions = {c.type: (c.status, c.reason) for c in status.conditions}
    assert conditions == {
        "Available": ("True", "MinimumReplicasAvailable"),
        "Progressing": ("True", "NewReplicaSetAvailable"),
    }
    [rs] = cluster.objects("ReplicaSet", namespace)
    assert rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
    [pod] = cluster.objects("Pod", namespace)
    assert pod["metadata"]["ownerReferences"][0]["name"] == rs["metadata"]["name"]
    assert pod["status"]["phase"] == "Running"
    assert {"ScalingReplicaSet", "SuccessfulCreate", "Scheduled", "Pulled", "Created", "Started"} <= reasons(
        cluster, namespace
    )
    event = next(e for e in cluster.objects("Event", namespace) if e["reason"] == "Scheduled")
    assert event["involvedObject"]["kind"] == "Pod" and event["type"] == "Normal"
    assert event["message"] == f"Successfully assigned {namespace}/{pod['metadata']['name']} to minikube"


def test_template_change_rolls_out_a_new_replicaset(
    cluster: FakeCluster, apps: client.AppsV1Api, namespace: str, loaded: str, secret: None
) -> None:
    apps.create_namespaced_deployment(namespace, deployment("web", loaded))
    cluster.wait_for(lambda: apps.read_namespaced_deployment_status("web", namespace).status.available_replicas)
    apps.patch_namespaced_deployment(
        "web", namespace, {"spec": {"template": {"metadata": {"annotations": {"checksum/secret": "v2"}}}}}
    )

    def rolled() -> bool:
        replica_sets = cluster.objects("ReplicaSet", namespace)
        deploy = cluster.get("Deployment", namespace, "web")
        return (
            len(replica_sets) == 2
            and sorted(rs["spec"]["replicas"] for rs in replica_sets) == [0, 1]
            and deploy["status"].get("observedGeneration") == 2
            and deploy["status"]["conditions"][1]["reason"] == "NewReplicaSetAvailable"
        )

    cluster.wait_for(rolled, timeout=5)
    assert (
        cluster.get("Deployment", namespace, "web")["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
        == "2"
    )
    assert len(cluster.objects("Pod", namespace)) == 1


def test_image_never_loaded_gives_err_image_never_pull(
    cluster: FakeCluster, apps: client.AppsV1Api, namespace: str, secret: None
) -> None:
    apps.create_namespaced_deployment(namespace, deployment("web", "todo-backend:never-loaded"))
    reason, message = waiting_reason(cluster, namespace)
    assert reason == "ErrImageNeverPull"
    assert message == 'Container image "todo-backend:never-loaded" is not present with pull policy of Never'
    assert "ErrImageNeverPull" in reasons(cluster, namespace)


def test_image_not_loaded_scenario_makes_minikube_load_a_silent_no_op(
    cluster: FakeCluster, apps: client.AppsV1Api, namespace: str, local_image: str, secret: None
) -> None:
    cluster.set_scenario("image-not-loaded")
    proc = run(["minikube", "image", "load", local_image], cluster.env)
    assert proc.returncode == 0
    assert "fakecluster-test-web" not in run(["minikube", "image", "ls"], cluster.env).stdout
    apps.create_namespaced_deployment(namespace, deployment("web", local_image))
    assert waiting_reason(cluster, namespace)[0] == "ErrImageNeverPull"


def test_after_docker_env_the_local_engine_is_the_nodes_engine(
    cluster: FakeCluster, apps: client.AppsV1Api, namespace: str, local_image: str, secret: None
) -> None:
    run(["minikube", "docker-env"], cluster.env)  # what --build-in-cluster does; no `image load`
    apps.create_namespaced_deployment(namespace, deployment("web", local_image))
    cluster.wait_for(
        lambda: (cluster.get("Deployment", namespace, "web").get("status") or {}).get("availableReplicas") == 1,
        timeout=5,
    )
    assert f"docker.io/library/{local_image}" in run(["minikube", "image", "ls"], cluster.env).stdout


def test_missing_secret_key_gives_create_container_config_error(
    cluster: FakeCluster, apps: client.AppsV1Api, namespace: str, loaded: str, secret: None
) -> None:
    apps.create_namespaced_deployment(namespace, deployment("web", loaded, key="COHERE_API_KEY"))
    reason, message = waiting_reason(cluster, namespace)
    assert reason == "CreateContainerConfigError"
    assert message == f"couldn't find key COHERE_API_KEY in Secret {namespace}/app-secrets"
    failed = [e for e in cluster.objects("Event", namespace) if e["reason"] == "Failed"]
    assert failed and failed[0]["message"] == f"Error: {message}" and failed[0]["type"] == "Warning"


def test_missing_secret_gives_create_container_config_error(
    cluster: FakeCluster, apps: client.AppsV1Api, namespace: str, loaded: str
) -> None:
    apps.create_namespaced_deployment(namespace, deployment("web", loaded, secret="absent"))
    assert waiting_reason(cluster, namespace) == ("CreateContainerConfigError", 'secret "absent" not found')


def test_crash_loop_restarts_and_prints_a_traceback(
    cluster: FakeCluster, core: client.CoreV1Api, apps: client.AppsV1Api, namespace: str, loaded: str, secret: None
) -> None:
    cluster.set_scenario("crash-loop")
    apps.create_namespaced_deployment(namespace, deployment("web", loaded))
    assert waiting_reason(cluster, namespace)[0] == "CrashLoopBackOff"
    [pod] = cluster.objects("Pod", namespace)
    first = pod["status"]["containerStatuses"][0]
    assert first["lastState"]["terminated"]["exitCode"] == 1
    cluster.wait_for(
        lambda: (
            cluster.objects("Pod", namespace)[0]["status"]["containerStatuses"][0]["restartCount"]
            > first["restartCount"]
        ),
        timeout=3,
    )
    logs = core.read_namespaced_pod_log(pod["metadata"]["name"], namespace, tail_lines=3)
    assert "Traceback" in core.read_namespaced_pod_log(pod["metadata"]["name"], namespace)
    assert "Traceback" in core.read_namespaced_pod_log(pod["metadata"]["name"], namespace, previous=True)
    assert len(logs.splitlines()) == 3
    assert "BackOff" in reasons(cluster, namespace)
    # Following the log ends when the container dies again.
    started = time.monotonic()
    stream = core.read_namespaced_pod_log(pod["metadata"]["name"], namespace, follow=True, _preload_content=False)
    followed = stream.data.decode()
    assert "Traceback" in followed and time.monotonic() - started < cluster.timings.crash_interval + 2
    assert apps.read_namespaced_deployment_status("web", namespace).status.available_replicas is None


@pytest.mark.parametrize("cluster", [{"scenario": "crash-loop", "scenario_components": ["backend"]}], indirect=True)
def test_a_scenario_scoped_to_a_component_leaves_the_others_healthy(
    cluster: FakeCluster, apps: client.AppsV1Api, namespace: str, loaded: str, secret: None
) -> None:
    for component in ("backend", "frontend"):
        body = deployment(component, loaded)
        body["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"] = component
        apps.create_namespaced_deployment(namespace, body)

    def states() -> dict[str, str] | None:
        seen = {}
        for pod in cluster.objects("Pod", namespace):
            [status] = pod.get("status", {}).get("containerStatuses") or [{}]
            waiting = status.get("state", {}).get("waiting", {}).get("reason", "")
            seen[pod["metadata"]["labels"]["app"]] = waiting or ("Ready" if status.get("ready") else "")
        return seen if seen == {"backend": "CrashLoopBackOff", "frontend": "Ready"} else None

    cluster.wait_for(states, timeout=5)


def test_unschedulable_pod_stays_pending(
    cluster: FakeCluster, apps: client.AppsV1Api, namespace: str, loaded: str, secret: None
) -> None:
    cluster.set_scenario("unschedulable")
    apps.create_namespaced_deployment(namespace, deployment("web", loaded))

    def scheduled_condition() -> dict[str, Any] | None:
        pods = cluster.objects("Pod", namespace)
        conditions = pods[0].get("status", {}).get("conditions") if pods else None
        return conditions[0] if conditions else None

    condition = cluster.wait_for(scheduled_condition, timeout=5)
    assert condition["type"] == "PodScheduled" and condition["status"] == "False"
    assert condition["reason"] == "Unschedulable"
    assert condition["message"] == "0/1 nodes are available: 1 Insufficient cpu."
    assert cluster.objects("Pod", namespace)[0]["status"]["phase"] == "Pending"
    assert "FailedScheduling" in reasons(cluster, namespace)


def test_slow_scenario_becomes_ready_late_and_progress_deadline_is_reported(
    cluster: FakeCluster, apps: client.AppsV1Api, namespace: str, loaded: str, secret: None
) -> None:
    cluster.set_scenario("slow")
    started = time.monotonic()
    apps.create_namespaced_deployment(namespace, deployment("web", loaded, deadline=1))
    cluster.wait_for(
        lambda: (
            (cluster.get("Deployment", namespace, "web").get("status", {}).get("conditions") or [{}, {}])[1].get(
                "reason"
            )
            == "ProgressDeadlineExceeded"
        ),
        timeout=5,
    )
    cluster.wait_for(lambda: cluster.get("Deployment", namespace, "web")["status"].get("readyReplicas"), timeout=5)
    assert time.monotonic() - started >= cluster.timings.slow_ready_after


def test_scenario_switch_through_the_state_file(cluster: FakeCluster) -> None:
    cluster.scenario_file.write_text("crash-loop\n")
    cluster.wait_for(lambda: cluster.scenario.value == "crash-loop", timeout=3)


@pytest.mark.parametrize("cluster", [{"scenario": "crash-loop"}], indirect=True)
def test_shared_fixture_takes_options(cluster: FakeCluster, local_image: str) -> None:
    assert cluster.timings is FAST  # the suite's options (conftest.cluster_options) stay; the test's win
    env = cluster.env
    run(["minikube", "image", "load", local_image], env)
    run(["kubectl", "create", "secret", "generic", "app-secrets", "--from-literal=API_KEY=x"], env)
    manifest = cluster.state_dir / "d.json"
    manifest.write_text(json.dumps(deployment("web", local_image)))
    run(["kubectl", "apply", "-f", str(manifest)], env)
    assert waiting_reason(cluster, "default")[0] == "CrashLoopBackOff"
