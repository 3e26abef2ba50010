"""Binding pods to the node: what kube-scheduler asks for and what the pods/binding subresource does.

Every pod without `spec.nodeName` that names the default scheduler is bound to the one node, owned
by a ReplicaSet or not (kubernetes/kubernetes pkg/scheduler/schedule_one.go: the scheduler's queue
holds every unassigned pod whose schedulerName is one of its profiles). The binding itself is the
registry's (pkg/registry/core/pod/storage/storage.go, BindingREST.Create -> assignPod ->
setPodNodeAndMetadata): it sets spec.nodeName and the PodScheduled=True condition in one write, and
refuses a pod that is already bound or being deleted.
"""

from __future__ import annotations

import copy

from .store import ApiError, Obj, Store, now_iso

DEFAULT_SCHEDULER = "default-scheduler"


def wants_default_scheduler(pod: Obj) -> bool:
    spec = pod.get("spec") or {}
    return (
        not spec.get("nodeName")
        and (spec.get("schedulerName") or DEFAULT_SCHEDULER) == DEFAULT_SCHEDULER
        and not pod["metadata"].get("deletionTimestamp")
    )


def bind(store: Store, namespace: str, name: str, node_name: str) -> Obj:
    """The pods/binding subresource: assign the pod to `node_name`; 409 when it is already assigned."""
    pods = store.table.by_kind("Pod")
    pod = store.get(pods, namespace, name)
    if pod["metadata"].get("deletionTimestamp"):
        raise ApiError(
            409,
            "Conflict",
            f'Operation cannot be fulfilled on pods/binding "{name}": pod {name} '
            "is being deleted, cannot be assigned to a host",
            {"name": name, "kind": "pods/binding"},
        )
    assigned = (pod.get("spec") or {}).get("nodeName")
    if assigned:
        raise ApiError(
            409,
            "Conflict",
            f'Operation cannot be fulfilled on pods/binding "{name}": pod {name} '
            f'is already assigned to node "{assigned}"',
            {"name": name, "kind": "pods/binding"},
        )
    bound = copy.deepcopy(pod)
    bound.setdefault("spec", {})["nodeName"] = node_name
    status = bound.setdefault("status", {})
    conditions = [c for c in status.get("conditions") or [] if c.get("type") != "PodScheduled"]
    conditions.append(
        {"type": "PodScheduled", "status": "True", "lastProbeTime": None, "lastTransitionTime": now_iso()}
    )
    status["conditions"] = conditions
    return store.replace(pods, namespace, name, bound, subresource="binding")


def binding_request(store: Store, namespace: str, name: str, body: Obj) -> Obj:
    """POST .../pods/{name}/binding with a Binding body: bind, answer a Success Status (201)."""
    target = (body or {}).get("target") or {}
    if not target.get("name"):
        raise ApiError(
            422,
            "Invalid",
            f'Binding.core "{name}" is invalid: target.name: Required value',
            {"name": name, "kind": "Binding"},
        )
    bind(store, namespace, name, target["name"])
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}
