"""Pure status and diagnosis over objects shaped like the API's JSON, one fixture per reason."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from orchestrator.kube.rollout.hints import HINTS, hint_for
from orchestrator.kube.rollout.status import Diagnosis, Status, compute, deployment_status, diagnose_pod, pod_status


def deployment(**status: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "todo-app-backend",
            "namespace": "todo-app",
            "generation": 2,
            "labels": {"app.kubernetes.io/instance": "todo-app"},
        },
        "spec": {
            "replicas": 2,
            "progressDeadlineSeconds": 600,
            "selector": {"matchLabels": {"app.kubernetes.io/name": "backend"}},
        },
        "status": {
            "observedGeneration": 2,
            "replicas": 2,
            "updatedReplicas": 2,
            "readyReplicas": 2,
            "availableReplicas": 2,
            "conditions": [
                {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
                {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"},
            ],
        },
    }
    obj["status"].update(status)
    return obj


def pod(
    phase: str = "Running",
    *,
    ready: bool = False,
    container_status: dict[str, Any] | None = None,
    conditions: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    cs = {
        "name": "backend",
        "image": "todo-backend:3f2a9c1b",
        "ready": ready,
        "restartCount": 0,
        "state": {"running": {"startedAt": "2026-01-01T00:00:00Z"}},
    }
    if container_status:
        cs.update(container_status)
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "todo-app-backend-6d4f9-x2k8p",
            "namespace": "todo-app",
            "labels": {"app.kubernetes.io/name": "backend"},
        },
        "spec": {
            "containers": [
                {
                    "name": "backend",
                    "image": "todo-backend:3f2a9c1b",
                    "resources": {
                        "requests": {"cpu": "100m", "memory": "128Mi"},
                        "limits": {"cpu": "500m", "memory": "512Mi"},
                    },
                }
            ]
        },
        "status": {
            "phase": phase,
            "conditions": conditions
            if conditions is not None
            else [
                {"type": "PodScheduled", "status": "True"},
                {"type": "Ready", "status": "True" if ready else "False"},
            ],
            "containerStatuses": [cs],
        },
    }


def waiting(reason: str, message: str = "") -> dict[str, Any]:
    return {"state": {"waiting": {"reason": reason, "message": message}}}


# --- Deployment ----------------------------------------------------------------------------------


def test_ready_deployment_is_current() -> None:
    result = deployment_status(deployment())
    assert result.status is Status.CURRENT
    assert result.message == "Ready: 2/2"


def test_unobserved_generation_is_in_progress_even_when_counts_look_ready() -> None:
    obj = deployment(observedGeneration=1)
    result = deployment_status(obj)
    assert (result.status, result.reason) == (Status.IN_PROGRESS, "NotObserved")
    assert result.message == "Generation: 1/2"


@pytest.mark.parametrize(
    ("status", "reason", "message"),
    [
        ({"replicas": 1}, "LessReplicas", "Replicas: 1/2"),
        ({"updatedReplicas": 1}, "LessUpdated", "Updated: 1/2"),
        ({"replicas": 3}, "ExtraPods", "Pending termination: 1"),
        ({"availableReplicas": 1, "readyReplicas": 1}, "LessAvailable", "Available: 1/2"),
        ({"readyReplicas": 1}, "LessReady", "Ready: 1/2"),
    ],
)
def test_replica_counts_in_fixed_order(status: dict[str, int], reason: str, message: str) -> None:
    result = deployment_status(deployment(**status))
    assert (result.status, result.reason, result.message) == (Status.IN_PROGRESS, reason, message)


def test_progress_deadline_exceeded_is_failed_before_counts() -> None:
    obj = deployment(
        readyReplicas=0,
        availableReplicas=0,
        conditions=[
            {
                "type": "Progressing",
                "status": "False",
                "reason": "ProgressDeadlineExceeded",
                "message": 'ReplicaSet "todo-app-backend-6d4f9" has timed out progressing.',
            }
        ],
    )
    result = deployment_status(obj)
    assert (result.status, result.reason) == (Status.FAILED, "ProgressDeadlineExceeded")


def test_available_condition_false_keeps_it_in_progress() -> None:
    obj = deployment(conditions=[{"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable"}])
    assert deployment_status(obj).status is Status.IN_PROGRESS


def test_fresh_deployment_without_status_is_in_progress() -> None:
    obj = deployment()
    obj["status"] = {}
    obj["metadata"].pop("generation")
    result = deployment_status(obj)
    assert (result.status, result.message) == (Status.IN_PROGRESS, "Replicas: 0/2")


def test_deleting_deployment_is_terminating_and_missing_is_not_found() -> None:
    obj = deployment()
    obj["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    assert deployment_status(obj).status is Status.TERMINATING
    assert compute(None, "Deployment").status is Status.NOT_FOUND
    assert compute({"kind": "CronJob", "metadata": {"name": "x"}}).status is Status.UNKNOWN


# --- Pod -----------------------------------------------------------------------------------------


def test_ready_pod_is_current_and_starting_pod_in_progress() -> None:
    assert pod_status(pod(ready=True)).status is Status.CURRENT
    starting = pod("Pending", container_status=waiting("ContainerCreating"))
    result = pod_status(starting)
    assert (result.status, result.reason) == (Status.IN_PROGRESS, "ContainerCreating")
    assert diagnose_pod(starting) is None
    assert pod_status(pod("Running", ready=False)).reason == "NotReady"


@pytest.mark.parametrize("reason", ["ErrImageNeverPull", "ErrImagePull", "ImagePullBackOff", "InvalidImageName"])
def test_image_reasons_are_diagnosed(reason: str) -> None:
    obj = pod("Pending", container_status=waiting(reason, 'Container image "todo-backend:3f2a9c1b" is not present'))
    diagnosis = diagnose_pod(obj)
    assert diagnosis is not None
    assert diagnosis.reason == reason
    assert diagnosis.image == "todo-backend:3f2a9c1b"
    assert diagnosis.container == "backend"
    assert pod_status(obj).status is Status.FAILED


def test_crash_loop_is_diagnosed_with_restarts_and_exit_code() -> None:
    obj = pod(
        container_status={
            **waiting("CrashLoopBackOff", "back-off 40s restarting failed container"),
            "restartCount": 4,
            "lastState": {"terminated": {"reason": "Error", "exitCode": 3}},
        }
    )
    diagnosis = diagnose_pod(obj)
    assert diagnosis is not None and diagnosis.reason == "CrashLoopBackOff"
    assert "4 restarts" in diagnosis.message and "exit code 3" in diagnosis.message
    assert diagnosis.wants_logs


def test_missing_secret_key_names_secret_and_key() -> None:
    obj = pod(
        "Pending",
        container_status=waiting(
            "CreateContainerConfigError", "couldn't find key JWT_SECRET in Secret todo-app/todo-app-secrets-v3"
        ),
    )
    diagnosis = diagnose_pod(obj)
    assert diagnosis is not None
    assert (diagnosis.reason, diagnosis.secret, diagnosis.key) == (
        "CreateContainerConfigError",
        "todo-app-secrets-v3",
        "JWT_SECRET",
    )
    assert hint_for(diagnosis) == "add JWT_SECRET to your .env then `invoke rotate-secrets`"


def test_missing_secret_names_the_secret() -> None:
    obj = pod(
        "Pending", container_status=waiting("CreateContainerConfigError", 'secret "todo-app-secrets-v9" not found')
    )
    diagnosis = diagnose_pod(obj)
    assert diagnosis is not None and diagnosis.secret == "todo-app-secrets-v9" and diagnosis.key == ""
    assert "todo-app-secrets-v9" in hint_for(diagnosis)


def test_unschedulable_reports_requests() -> None:
    obj = pod(
        "Pending",
        conditions=[
            {
                "type": "PodScheduled",
                "status": "False",
                "reason": "Unschedulable",
                "message": "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available.",
            }
        ],
    )
    obj["status"].pop("containerStatuses")
    diagnosis = diagnose_pod(obj)
    assert diagnosis is not None and diagnosis.reason == "Unschedulable"
    assert dict(diagnosis.requests) == {"cpu": "100m", "memory": "128Mi"}
    assert "cpu=100m" in diagnosis.message
    assert "minikube start --cpus" in hint_for(diagnosis)


def test_oom_killed_wins_over_crash_loop_and_shows_limit() -> None:
    obj = pod(
        container_status={
            **waiting("CrashLoopBackOff"),
            "restartCount": 2,
            "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137}},
        }
    )
    diagnosis = diagnose_pod(obj)
    assert diagnosis is not None and diagnosis.reason == "OOMKilled"
    assert "512Mi" in diagnosis.message
    assert "512Mi" in hint_for(diagnosis)


def test_recovered_pod_with_old_oom_is_not_diagnosed() -> None:
    obj = pod(ready=True, container_status={"lastState": {"terminated": {"reason": "OOMKilled"}}})
    assert diagnose_pod(obj) is None
    assert pod_status(obj).status is Status.CURRENT


def test_terminating_pod_is_never_diagnosed() -> None:
    obj = pod("Pending", container_status=waiting("ErrImageNeverPull"))
    obj["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    assert diagnose_pod(obj) is None
    assert pod_status(obj).status is Status.TERMINATING


def test_inputs_are_not_mutated() -> None:
    obj = pod("Pending", container_status=waiting("ErrImagePull"))
    before = copy.deepcopy(obj)
    diagnose_pod(obj)
    pod_status(obj)
    assert obj == before


# --- hints ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("diagnosis", "expected"),
    [
        (
            Diagnosis("ErrImageNeverPull", "p", "m", image="docker.io/library/todo-backend:abc"),
            "minikube image ls | grep todo-backend",
        ),
        (Diagnosis("ErrImagePull", "p", "m", image="todo-frontend:1"), "invoke up"),
        (Diagnosis("CrashLoopBackOff", "p", "m", container="backend"), "kubectl logs p -c backend --previous"),
        (Diagnosis("SomethingNew", "p", "m"), "kubectl describe pod p"),
    ],
)
def test_hints_are_filled_from_the_diagnosis(diagnosis: Diagnosis, expected: str) -> None:
    assert expected in hint_for(diagnosis)


def test_every_hint_template_formats() -> None:
    for reason in HINTS:
        base = reason.split(":")[0]
        text = hint_for(
            Diagnosis(
                base,
                "pod-1",
                "m",
                container="c",
                image="i:1",
                secret="s",
                key="K",
                requests={"cpu": "1"},
                limits={"memory": "1Gi"},
            )
        )
        assert "{" not in text
