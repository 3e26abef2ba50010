"""Pure status of Kubernetes objects, computed from the dicts the API returns (camelCase keys).

Each kind has one function that applies its checks in a fixed order and returns the first verdict:
a `Result` with a closed `Status`, a one-word reason and a short message ("Ready: 1/2").

`diagnose_pod` is separate: it names what cannot heal by waiting (an image the node will never get,
a crash loop, a missing Secret key, a pod no node can hold, a container killed for memory). What to
*do* about each reason lives in `rollout.hints`, apart from the diagnosis.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

Obj = Mapping[str, Any]


class Status(str, Enum):
    IN_PROGRESS = "InProgress"
    CURRENT = "Current"
    FAILED = "Failed"
    NOT_FOUND = "NotFound"
    UNKNOWN = "Unknown"
    TERMINATING = "Terminating"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Result:
    status: Status
    reason: str
    message: str


@dataclass(frozen=True)
class Diagnosis:
    """Why a pod cannot become ready without a change from outside."""

    reason: str
    pod: str
    message: str
    container: str = ""
    image: str = ""
    secret: str = ""
    key: str = ""
    requests: Mapping[str, str] = field(default_factory=dict)
    limits: Mapping[str, str] = field(default_factory=dict)
    restarts: int = 0

    @property
    def wants_logs(self) -> bool:
        return self.reason in ("CrashLoopBackOff", "OOMKilled") and bool(self.container)


# First sight is not final. The kubelet shows CrashLoopBackOff after the very first crash and restarts
# the container with a growing back-off (10 s, 20 s, 40 s ... 5 min: kubernetes/kubernetes
# pkg/kubelet/kubelet.go, backOffPeriod and MaxContainerBackOff), so one crash can be a dependency
# that was not up yet. A pod is Unschedulable while a node is still becoming ready (or while a cluster
# autoscaler adds one). Only these two wait for more evidence; every other diagnosis is final at once.
CRASH_RESTARTS = 2  # CrashLoopBackOff with restartCount >= 2: it crashed again after being restarted
UNSCHEDULABLE_SECONDS = 20.0  # Unschedulable for this long, as seen by the wait


def hopeless(diagnosis: Diagnosis, seen_for_s: float) -> bool:
    """Whether waiting longer cannot help, given how long this diagnosis has been seen. Pure."""
    if diagnosis.reason == "CrashLoopBackOff":
        return diagnosis.restarts >= CRASH_RESTARTS
    if diagnosis.reason == "Unschedulable":
        return seen_for_s >= UNSCHEDULABLE_SECONDS
    return True


def waited_for(diagnosis: Diagnosis) -> str:
    """What the wait gave the pod before calling it hopeless: said in the failure message."""
    if diagnosis.reason == "CrashLoopBackOff":
        return f"still crashing after {diagnosis.restarts} restarts (a first crash alone is not final)"
    if diagnosis.reason == "Unschedulable":
        return f"still unschedulable after {UNSCHEDULABLE_SECONDS:.0f} s (a node may have been starting)"
    return ""


# --- small readers -------------------------------------------------------------------------------


def _get(obj: Obj, path: str, default: Any = None) -> Any:
    cur: Any = obj
    for part in path.split("."):
        if not isinstance(cur, Mapping) or part not in cur or cur[part] is None:
            return default
        cur = cur[part]
    return cur


def _int(obj: Obj, path: str, default: int) -> int:
    value = _get(obj, path, default)
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _conditions(obj: Obj) -> dict[str, Obj]:
    return {c.get("type", ""): c for c in _get(obj, "status.conditions", []) or [] if isinstance(c, Mapping)}


def _is_terminating(obj: Obj) -> bool:
    return bool(_get(obj, "metadata.deletionTimestamp"))


def name_of(obj: Obj) -> str:
    return str(_get(obj, "metadata.name", "?"))


# --- Deployment ----------------------------------------------------------------------------------


def deployment_status(obj: Obj) -> Result:
    """In order: deletion, generation observed, progress deadline, replica counts, conditions."""
    if _is_terminating(obj):
        return Result(Status.TERMINATING, "Deleting", "being deleted")

    generation = _get(obj, "metadata.generation")
    observed = _get(obj, "status.observedGeneration")
    if generation is not None and (observed is None or int(observed) < int(generation)):
        return Result(Status.IN_PROGRESS, "NotObserved", f"Generation: {observed or 0}/{generation}")

    conditions = _conditions(obj)
    progressing = conditions.get("Progressing")
    if progressing is not None and progressing.get("reason") == "ProgressDeadlineExceeded":
        return Result(Status.FAILED, "ProgressDeadlineExceeded", "Progress deadline exceeded")

    spec = _int(obj, "spec.replicas", 1)
    replicas = _int(obj, "status.replicas", 0)
    updated = _int(obj, "status.updatedReplicas", 0)
    ready = _int(obj, "status.readyReplicas", 0)
    available = _int(obj, "status.availableReplicas", 0)

    if spec > replicas:
        return Result(Status.IN_PROGRESS, "LessReplicas", f"Replicas: {replicas}/{spec}")
    if spec > updated:
        return Result(Status.IN_PROGRESS, "LessUpdated", f"Updated: {updated}/{spec}")
    if replicas > spec:
        return Result(Status.IN_PROGRESS, "ExtraPods", f"Pending termination: {replicas - spec}")
    if updated > available:
        return Result(Status.IN_PROGRESS, "LessAvailable", f"Available: {available}/{updated}")
    if spec > ready:
        return Result(Status.IN_PROGRESS, "LessReady", f"Ready: {ready}/{spec}")

    available_cond = conditions.get("Available")
    if available_cond is not None and available_cond.get("status") == "False":
        return Result(Status.IN_PROGRESS, "NotAvailable", "Deployment not Available")
    return Result(Status.CURRENT, "Ready", f"Ready: {ready}/{spec}")


# --- Pod -----------------------------------------------------------------------------------------


def _container_statuses(pod: Obj) -> list[Obj]:
    init = _get(pod, "status.initContainerStatuses", []) or []
    main = _get(pod, "status.containerStatuses", []) or []
    return [c for c in [*init, *main] if isinstance(c, Mapping)]


def _ready_counts(pod: Obj) -> tuple[int, int]:
    statuses = [c for c in _get(pod, "status.containerStatuses", []) or [] if isinstance(c, Mapping)]
    total = len(statuses) or len(_get(pod, "spec.containers", []) or [])
    return sum(1 for c in statuses if c.get("ready")), total


def pod_status(pod: Obj) -> Result:
    """In order: deletion, phase, cannot-heal diagnosis, readiness, scheduling."""
    if _is_terminating(pod):
        return Result(Status.TERMINATING, "Deleting", "being deleted")
    phase = _get(pod, "status.phase", "")
    if phase == "Succeeded":
        return Result(Status.CURRENT, "Completed", "completed")
    if phase == "Failed":
        reason = _get(pod, "status.reason", "") or "PodFailed"
        return Result(Status.FAILED, reason, "pod failed")
    diagnosis = diagnose_pod(pod)
    if diagnosis is not None:
        return Result(Status.FAILED, diagnosis.reason, diagnosis.message)
    ready, total = _ready_counts(pod)
    conditions = _conditions(pod)
    if phase == "Running":
        if conditions.get("Ready", {}).get("status") == "True":
            return Result(Status.CURRENT, "Ready", f"Ready: {ready}/{total}")
        for cs in _container_statuses(pod):
            waiting = _get(cs, "state.waiting")
            if waiting:
                return Result(Status.IN_PROGRESS, waiting.get("reason") or "Waiting", f"Ready: {ready}/{total}")
        return Result(Status.IN_PROGRESS, "NotReady", f"Ready: {ready}/{total}")
    if phase == "Pending":
        for cs in _container_statuses(pod):
            waiting = _get(cs, "state.waiting")
            if waiting and waiting.get("reason"):
                return Result(Status.IN_PROGRESS, waiting["reason"], f"Ready: {ready}/{total}")
        if conditions.get("PodScheduled", {}).get("status") == "True":
            return Result(Status.IN_PROGRESS, "Starting", f"Ready: {ready}/{total}")
        return Result(Status.IN_PROGRESS, "Pending", "waiting to be scheduled")
    if not phase:
        return Result(Status.IN_PROGRESS, "NotObserved", "no phase yet")
    return Result(Status.UNKNOWN, "UnknownPhase", f"phase {phase}")


STATUS_FUNCTIONS = {"Deployment": deployment_status, "Pod": pod_status}


def compute(obj: Obj | None, kind: str | None = None) -> Result:
    """Status of any supported object; None means it does not exist."""
    if obj is None:
        return Result(Status.NOT_FOUND, "NotFound", "not found")
    fn = STATUS_FUNCTIONS.get(kind or str(obj.get("kind", "")))
    if fn is None:
        return Result(Status.UNKNOWN, "UnsupportedKind", f"no status rule for {kind or obj.get('kind')}")
    return fn(obj)


# --- diagnosis -----------------------------------------------------------------------------------

IMAGE_REASONS = ("ErrImageNeverPull", "ErrImagePull", "ImagePullBackOff", "InvalidImageName")

_MISSING_KEY = re.compile(r"couldn't find key (?P<key>\S+) in Secret (?P<secret>\S+)")
_MISSING_SECRET = re.compile(r'secret "(?P<secret>[^"]+)" not found')


def _container_spec(pod: Obj, name: str) -> Obj:
    for c in [*(_get(pod, "spec.initContainers", []) or []), *(_get(pod, "spec.containers", []) or [])]:
        if isinstance(c, Mapping) and c.get("name") == name:
            return c
    return {}


def pod_requests(pod: Obj) -> dict[str, str]:
    """The pod's resource requests per resource, summed over containers when they are plain numbers."""
    totals: dict[str, list[str]] = {}
    for c in _get(pod, "spec.containers", []) or []:
        for res, qty in (_get(c, "resources.requests", {}) or {}).items():
            totals.setdefault(res, []).append(str(qty))
    return {res: "+".join(qtys) for res, qtys in totals.items()}


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def diagnose_pod(pod: Obj) -> Diagnosis | None:
    """What keeps this pod from ever becoming ready, or None when waiting may still help."""
    if _is_terminating(pod):
        return None
    name = name_of(pod)

    for cs in _container_statuses(pod):
        container = str(cs.get("name", ""))
        image = str(cs.get("image", "") or _container_spec(pod, container).get("image", ""))
        last_reason = _get(cs, "lastState.terminated.reason") or _get(cs, "state.terminated.reason")
        waiting = _get(cs, "state.waiting") or {}
        reason = waiting.get("reason", "")
        message = waiting.get("message", "") or ""

        if last_reason == "OOMKilled" and not cs.get("ready"):
            limits = dict(_get(_container_spec(pod, container), "resources.limits", {}) or {})
            memory = limits.get("memory", "no limit")
            return Diagnosis(
                "OOMKilled",
                name,
                f"container {container} was killed for memory (limit {memory})",
                container=container,
                image=image,
                limits=limits,
            )
        if reason in IMAGE_REASONS:
            return Diagnosis(
                reason, name, f"container {container} cannot get image {image}", container=container, image=image
            )
        if reason == "CrashLoopBackOff":
            restarts = cs.get("restartCount", 0)
            code = _get(cs, "lastState.terminated.exitCode")
            tail = f", last exit code {code}" if code is not None else ""
            return Diagnosis(
                "CrashLoopBackOff",
                name,
                f"container {container} keeps crashing ({restarts} restarts{tail})",
                container=container,
                image=image,
                restarts=int(restarts or 0),
            )
        if reason == "CreateContainerConfigError":
            key_match = _MISSING_KEY.search(message)
            secret_match = _MISSING_SECRET.search(message)
            if key_match:
                secret = key_match.group("secret").split("/")[-1]
                key = key_match.group("key")
                return Diagnosis(
                    reason, name, f"Secret {secret} has no key {key}", container=container, secret=secret, key=key
                )
            if secret_match:
                secret = secret_match.group("secret")
                return Diagnosis(reason, name, f"Secret {secret} does not exist", container=container, secret=secret)
            return Diagnosis(
                reason, name, _short(message) or f"container {container} config error", container=container
            )
        if reason == "RunContainerError":
            return Diagnosis(
                reason, name, _short(message) or f"container {container} cannot start", container=container, image=image
            )

    scheduled = _conditions(pod).get("PodScheduled")
    if scheduled is not None and scheduled.get("status") == "False" and scheduled.get("reason") == "Unschedulable":
        requests = pod_requests(pod)
        asked = ", ".join(f"{k}={v}" for k, v in sorted(requests.items())) or "no requests"
        return Diagnosis(
            "Unschedulable", name, f"{_short(scheduled.get('message', ''), 120)} (requests {asked})", requests=requests
        )
    return None
