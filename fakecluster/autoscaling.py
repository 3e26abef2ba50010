"""The HorizontalPodAutoscaler and disruption controllers, as far as a cluster without a metrics
server runs them.

HPA (kubernetes/kubernetes pkg/controller/podautoscaler/horizontal.go, reconcileAutoscaler): the
controller reads the target's scale (AbleToScale True `SucceededGetScale`); a target whose
spec.replicas is 0 has scaling disabled; below minReplicas (default 1) or above maxReplicas it
rescales to the bound without metrics (`SuccessfulRescale` "New size: N; reason: Current number of
replicas below Spec.MinReplicas", AbleToScale `SucceededRescale`); inside the bounds it asks the
resource metrics API, which is absent here: ScalingActive False `FailedGetResourceMetric`, the
status keeps its last desiredReplicas, and the FailedGetResourceMetric/FailedComputeMetricsReplicas
warnings are recorded. `currentReplicas` is the scale's status.replicas (the pods that exist).

Disruption (kubernetes/kubernetes pkg/controller/disruption/disruption.go, getExpectedPodCount,
countHealthyPods, updatePdbStatus; staging/src/k8s.io/api/policy/v1/types.go for the reasons):
an integer minAvailable wants that many healthy (Ready, not terminating) pods out of the pods the
selector matches; a percentage or maxUnavailable works from the replicas of the pods' controllers.
disruptionsAllowed = max(currentHealthy - desiredHealthy, 0), condition DisruptionAllowed True
`SufficientPods` / False `InsufficientPods`.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any

from .labelselectors import selector_matches
from .store import Obj, Store, now_iso

HPA_COMPONENT = "horizontal-pod-autoscaler"
NO_METRICS = (
    "unable to get metrics for resource {name}: unable to fetch metrics from resource metrics API: "
    "the server could not find the requested resource (get pods.metrics.k8s.io)"
)

Event = Callable[[Obj, str, str, str, str], None]  # (object, type, reason, message, component)


def _condition(previous: list[Obj], type_: str, status: str, reason: str, message: str) -> Obj:
    """A condition keeping its lastTransitionTime while its status does not change."""
    old = next((c for c in previous if c.get("type") == type_), None)
    stamp = old["lastTransitionTime"] if old and old.get("status") == status else now_iso()
    return {"type": type_, "status": status, "lastTransitionTime": stamp, "reason": reason, "message": message}


def hpa_decision(spec_replicas: int, current: int, min_replicas: int, max_replicas: int) -> tuple[int | None, str]:
    """(replicas to scale to or None, reason), before any metric is read (horizontal.go)."""
    if spec_replicas == 0 and min_replicas != 0:
        return None, "ScalingDisabled"
    if current > max_replicas:
        return max_replicas, "Current number of replicas above Spec.MaxReplicas"
    if current < min_replicas:
        return min_replicas, "Current number of replicas below Spec.MinReplicas"
    return None, ""


def _metric_names(hpa: Obj) -> list[str]:
    names = [
        ((m.get("resource") or {}).get("name") or "cpu")
        for m in (hpa.get("spec") or {}).get("metrics") or []
        if m.get("type") == "Resource"
    ]
    return names or ["cpu"]  # autoscaling/v2 defaults an empty metrics list to 80% CPU


def sync_hpa(store: Store, hpa: Obj, event: Event) -> None:
    spec, meta = hpa.get("spec") or {}, hpa["metadata"]
    ref = spec.get("scaleTargetRef") or {}
    namespace = meta.get("namespace", "")
    previous = (hpa.get("status") or {}).get("conditions") or []
    status: Obj = copy.deepcopy(hpa.get("status") or {})
    status.setdefault("desiredReplicas", 0)
    status.setdefault("currentReplicas", 0)
    if ref.get("kind") != "Deployment":
        return  # only Deployments are autoscaled here
    deployments = store.table.by_kind("Deployment")
    target = store.find(deployments, namespace, ref.get("name", ""))
    if target is None:
        message = (
            f"the HPA controller was unable to get the target's current scale: deployments/scale.apps "
            f'"{ref.get("name")}" not found'
        )
        status["conditions"] = [_condition(previous, "AbleToScale", "False", "FailedGetScale", message)]
        if not any(c.get("reason") == "FailedGetScale" for c in previous):
            event(
                hpa, "Warning", "FailedGetScale", f'deployments/scale.apps "{ref.get("name")}" not found', HPA_COMPONENT
            )
        _write(store, hpa, status)
        return
    spec_replicas = (target.get("spec") or {}).get("replicas", 1)
    current = (target.get("status") or {}).get("replicas", 0)
    min_replicas = spec.get("minReplicas", 1)
    desired, reason = hpa_decision(spec_replicas, current, min_replicas, spec.get("maxReplicas", min_replicas))
    able = _condition(
        previous,
        "AbleToScale",
        "True",
        "SucceededGetScale",
        "the HPA controller was able to get the target's current scale",
    )
    status["currentReplicas"] = current
    status["observedGeneration"] = meta.get("generation", 1)
    if reason == "ScalingDisabled":
        status["desiredReplicas"] = 0
        active: dict[str, Any] | None = _condition(
            previous,
            "ScalingActive",
            "False",
            "ScalingDisabled",
            "scaling is disabled since the replica count of the target is zero",
        )
    elif desired is not None:
        if spec_replicas != desired:
            scaled = copy.deepcopy(target)
            scaled["spec"]["replicas"] = desired  # through the Deployment's scale subresource
            store.replace(deployments, namespace, target["metadata"]["name"], scaled, subresource="scale")
            event(hpa, "Normal", "SuccessfulRescale", f"New size: {desired}; reason: {reason}", HPA_COMPONENT)
            status["lastScaleTime"] = now_iso()
        able = _condition(
            previous,
            "AbleToScale",
            "True",
            "SucceededRescale",
            f"the HPA controller was able to update the target scale to {desired}",
        )
        status["desiredReplicas"] = desired
        active = next((c for c in previous if c.get("type") == "ScalingActive"), None)  # untouched here
    else:
        name = _metric_names(hpa)[0]
        failure = f"failed to get {name} utilization: " + NO_METRICS.format(name=name)
        active = _condition(
            previous,
            "ScalingActive",
            "False",
            "FailedGetResourceMetric",
            f"the HPA was unable to compute the replica count: {failure}",
        )
        was_failing = any(
            c.get("type") == "ScalingActive" and c.get("reason") == "FailedGetResourceMetric" for c in previous
        )
        if not was_failing:
            event(hpa, "Warning", "FailedGetResourceMetric", failure, HPA_COMPONENT)
            event(
                hpa,
                "Warning",
                "FailedComputeMetricsReplicas",
                f"invalid metrics (1 invalid out of 1), first error is: {failure}",
                HPA_COMPONENT,
            )
    status["conditions"] = [able, *([active] if active else [])]
    _write(store, hpa, status)


def _write(store: Store, obj: Obj, status: Obj) -> None:
    if obj.get("status") == status:
        return
    updated = copy.deepcopy(obj)
    updated["status"] = status
    meta = obj["metadata"]
    store.replace(
        store.table.by_kind(obj["kind"]), meta.get("namespace", ""), meta["name"], updated, subresource="status"
    )


def _healthy(pod: Obj) -> bool:
    """countHealthyPods: Ready and not being deleted."""
    if pod["metadata"].get("deletionTimestamp"):
        return False
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in (pod.get("status") or {}).get("conditions") or []
    )


def _int_or_percent(value: Any, total: int, round_up: bool) -> int:
    if isinstance(value, str) and value.endswith("%"):
        raw = total * int(value[:-1]) / 100
        return math.ceil(raw) if round_up else math.floor(raw)
    return int(value)


def pdb_numbers(spec: Obj, pods: list[Obj], controller_replicas: int) -> tuple[int, int, int, int]:
    """(expectedPods, desiredHealthy, currentHealthy, disruptionsAllowed), as getExpectedPodCount and
    updatePdbStatus compute them."""
    current = sum(1 for p in pods if _healthy(p))
    if spec.get("maxUnavailable") is not None:
        expected = controller_replicas
        desired = max(expected - _int_or_percent(spec["maxUnavailable"], expected, round_up=True), 0)
    elif isinstance(spec.get("minAvailable"), int):
        expected = len(pods)
        desired = spec["minAvailable"]
    else:
        expected = controller_replicas
        desired = _int_or_percent(spec.get("minAvailable", "100%"), expected, round_up=True)
    return expected, desired, current, max(current - desired, 0)


def sync_pdb(store: Store, pdb: Obj) -> None:
    meta, spec = pdb["metadata"], pdb.get("spec") or {}
    namespace = meta.get("namespace", "")
    selector = spec.get("selector") or {}
    pods = [
        p
        for p in store.list(store.table.by_kind("Pod"), namespace)
        if selector and selector_matches(selector, p["metadata"].get("labels") or {})
    ]
    owners = {
        ref.get("uid") for p in pods for ref in p["metadata"].get("ownerReferences") or [] if ref.get("controller")
    }
    controller_replicas = sum(
        (rs.get("spec") or {}).get("replicas", 0)
        for rs in store.list(store.table.by_kind("ReplicaSet"), namespace)
        if rs["metadata"]["uid"] in owners
    )
    expected, desired, current, allowed = pdb_numbers(spec, pods, controller_replicas)
    previous = (pdb.get("status") or {}).get("conditions") or []
    condition = _condition(
        previous,
        "DisruptionAllowed",
        "True" if allowed > 0 else "False",
        "SufficientPods" if allowed > 0 else "InsufficientPods",
        "",
    )
    condition["observedGeneration"] = meta.get("generation", 1)
    _write(
        store,
        pdb,
        {
            "observedGeneration": meta.get("generation", 1),
            "disruptionsAllowed": allowed,
            "currentHealthy": current,
            "desiredHealthy": desired,
            "expectedPods": expected,
            "conditions": [condition],
        },
    )


def reconcile(store: Store, event: Event) -> None:
    for hpa in list(store.iter_kind("HorizontalPodAutoscaler")):
        if not hpa["metadata"].get("deletionTimestamp"):
            sync_hpa(store, hpa, event)
    for pdb in list(store.iter_kind("PodDisruptionBudget")):
        if not pdb["metadata"].get("deletionTimestamp"):
            sync_pdb(store, pdb)
