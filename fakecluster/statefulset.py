"""The StatefulSet controller, as far as the chart's database needs it: one claim per volume claim
template and ordinal, then the pods `<set>-<ordinal>` with those claims as volumes, then the status.

What it follows (kubernetes/kubernetes):
- claim names `<template>-<set>-<ordinal>` and claim labels = the template's labels plus the set's
  selector labels: pkg/controller/statefulset/stateful_set_utils.go (getPersistentVolumeClaimName,
  getPersistentVolumeClaims);
- the claims are created before the pod and are not owned by the set under the default retention
  policy (whenDeleted: Retain), so deleting the set (`helm uninstall`) leaves them, and deleting the
  namespace removes them: pkg/controller/statefulset/stateful_pod_control.go (createPersistentVolumeClaims);
- the pod is named `<set>-<ordinal>`, carries the `statefulset.kubernetes.io/pod-name` and
  `apps.kubernetes.io/pod-index` labels and the set as controller owner: stateful_set_utils.go (newStatefulSetPod);
- status replicas/readyReplicas/currentReplicas/updatedReplicas/availableReplicas and
  observedGeneration: pkg/controller/statefulset/stateful_set_control.go (updateStatefulSet).
A claim is Bound at once (minikube's default storage class provisions hostPath volumes immediately:
kubernetes/minikube deploy/addons/storageclass/storageclass.yaml, volumeBindingMode Immediate).
"""

from __future__ import annotations

import copy
from typing import Any, Protocol

Obj = dict[str, Any]


class _Controller(Protocol):  # the parts of controller.Controller used here
    store: Any

    def _res(self, kind: str) -> Any: ...

    def _write_status(self, kind: str, obj: Obj, status: Obj) -> Obj: ...

    def event(self, involved: Obj, type_: str, reason: str, message: str, component: str) -> None: ...


def claim_name(template: str, set_name: str, ordinal: int) -> str:
    return f"{template}-{set_name}-{ordinal}"


def claims_for(sts: Obj, ordinal: int) -> list[Obj]:
    """The PersistentVolumeClaims a pod of `sts` with `ordinal` uses (pure)."""
    meta = sts["metadata"]
    selector = (sts.get("spec", {}).get("selector") or {}).get("matchLabels") or {}
    claims = []
    for template in sts.get("spec", {}).get("volumeClaimTemplates") or []:
        tmeta = template.get("metadata") or {}
        labels = {**(tmeta.get("labels") or {}), **selector}
        spec = copy.deepcopy(template.get("spec") or {})
        spec.setdefault("volumeMode", "Filesystem")
        spec.setdefault("storageClassName", "standard")
        claims.append(
            {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": {
                    "name": claim_name(tmeta.get("name", ""), meta["name"], ordinal),
                    "namespace": meta["namespace"],
                    "labels": labels,
                },
                "spec": spec,
            }
        )
    return claims


def sync(ctrl: _Controller, sts: Obj) -> None:
    meta = sts["metadata"]
    if meta.get("deletionTimestamp"):
        return
    namespace, name = meta["namespace"], meta["name"]
    store = ctrl.store
    pvc_res, pod_res = ctrl._res("PersistentVolumeClaim"), ctrl._res("Pod")
    replicas = sts.get("spec", {}).get("replicas", 1)
    for ordinal in range(replicas):
        for claim in claims_for(sts, ordinal):
            if store.find(pvc_res, namespace, claim["metadata"]["name"]) is None:
                created = store.create(pvc_res, namespace, claim)
                bound = copy.deepcopy(created)
                bound["spec"]["volumeName"] = f"pvc-{created['metadata']['uid']}"
                bound["status"] = {
                    "phase": "Bound",
                    "accessModes": claim["spec"].get("accessModes", []),
                    "capacity": {
                        "storage": claim["spec"].get("resources", {}).get("requests", {}).get("storage", "1Gi")
                    },
                }
                store.replace(pvc_res, namespace, created["metadata"]["name"], bound, subresource="status")
                ctrl.event(
                    sts,
                    "Normal",
                    "SuccessfulCreate",
                    f"create Claim {claim['metadata']['name']} Pod {name}-{ordinal} in StatefulSet {name} success",
                    "statefulset-controller",
                )
        pod_name = f"{name}-{ordinal}"
        if store.find(pod_res, namespace, pod_name) is None:
            template = copy.deepcopy(sts.get("spec", {}).get("template", {}))
            pod_meta, pod_spec = template.get("metadata", {}), template.get("spec", {})
            volumes = pod_spec.setdefault("volumes", [])
            for template_claim in sts.get("spec", {}).get("volumeClaimTemplates") or []:
                vol = template_claim["metadata"]["name"]
                volumes.append({"name": vol, "persistentVolumeClaim": {"claimName": claim_name(vol, name, ordinal)}})
            pod_spec.setdefault("restartPolicy", "Always")
            pod_spec.setdefault("hostname", pod_name)
            pod_spec.setdefault("subdomain", sts.get("spec", {}).get("serviceName", ""))
            # nodeName stays unset: the scheduler binds the pod (fakecluster/scheduler.py)
            labels = {
                **(pod_meta.get("labels") or {}),
                "statefulset.kubernetes.io/pod-name": pod_name,
                "apps.kubernetes.io/pod-index": str(ordinal),
            }
            store.create(
                pod_res,
                namespace,
                {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {
                        "name": pod_name,
                        "namespace": namespace,
                        "labels": labels,
                        "annotations": pod_meta.get("annotations") or {},
                        "ownerReferences": [
                            {
                                "apiVersion": "apps/v1",
                                "kind": "StatefulSet",
                                "name": name,
                                "uid": meta["uid"],
                                "controller": True,
                                "blockOwnerDeletion": True,
                            }
                        ],
                    },
                    "spec": pod_spec,
                    "status": {"phase": "Pending", "qosClass": "Burstable"},
                },
            )
            ctrl.event(
                sts,
                "Normal",
                "SuccessfulCreate",
                f"create Pod {pod_name} in StatefulSet {name} successful",
                "statefulset-controller",
            )


def status(ctrl: _Controller, sts: Obj) -> None:
    meta = sts["metadata"]
    pods = [
        p
        for p in ctrl.store.list(ctrl._res("Pod"), meta["namespace"])
        if any(ref.get("uid") == meta["uid"] for ref in p["metadata"].get("ownerReferences") or [])
    ]
    ready = sum(
        1
        for p in pods
        if any(
            c.get("type") == "Ready" and c.get("status") == "True"
            for c in (p.get("status") or {}).get("conditions") or []
        )
    )
    body = {
        "observedGeneration": meta.get("generation", 1),
        "replicas": len(pods),
        "readyReplicas": ready,
        "currentReplicas": len(pods),
        "updatedReplicas": len(pods),
        "availableReplicas": ready,
        "collisionCount": 0,
    }
    ctrl._write_status(
        "StatefulSet", sts, {k: v for k, v in body.items() if v or k in ("replicas", "observedGeneration")}
    )
