"""Strategic-merge-patch list semantics per field, from the Go struct tags of the served types
(`patchStrategy:"merge" patchMergeKey:"..."`) in kubernetes/kubernetes staging/src/k8s.io/api/core/v1/types.go
and staging/src/k8s.io/apimachinery/pkg/apis/meta/v1/types.go. A list without a merge strategy is
atomic: the patch's list replaces the whole list
(staging/src/k8s.io/apimachinery/pkg/util/strategicpatch/patch.go, mergeSliceHandler).

A field is found by its path of field names from the object root (list positions left out).
"""

from __future__ import annotations

ATOMIC = ""  # replace the whole list
MERGE_PRIMITIVES = "$primitives"  # a merged list of scalars (a set, e.g. metadata.finalizers)

# PodSpec fields (core/v1 PodSpec).
_POD_SPEC = {
    "volumes": "name",
    "initContainers": "name",
    "containers": "name",
    "ephemeralContainers": "name",
    "imagePullSecrets": "name",
    "hostAliases": "ip",
    "topologySpreadConstraints": "topologyKey",
    "resourceClaims": "name",
    "schedulingGates": "name",
}
# Container fields (core/v1 Container).
_CONTAINER = {"ports": "containerPort", "env": "name", "volumeMounts": "mountPath", "volumeDevices": "devicePath"}
_CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")
# Where a PodSpec sits, per kind.
_POD_SPEC_PATHS = {
    "Pod": ("spec",),
    "PodTemplate": ("template", "spec"),
    "Deployment": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
# Other merged lists, per kind (path from the root).
_BY_KIND: dict[str, dict[tuple[str, ...], str]] = {
    "Service": {("spec", "ports"): "port"},  # ServiceSpec.Ports: patchMergeKey=port
    "Node": {("status", "addresses"): "type", ("status", "conditions"): "type"},
    "Pod": {("status", "conditions"): "type"},
    "Namespace": {("status", "conditions"): "type"},
    "PersistentVolumeClaim": {("status", "conditions"): "type"},
    # apps/v1 and batch/v1 status conditions (staging/src/k8s.io/api/apps/v1/types.go, batch/v1/types.go)
    **{
        kind: {("status", "conditions"): "type"}
        for kind in ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job")
    },
}


def merge_key(kind: str, path: tuple[str, ...]) -> str:
    """The merge key of the list at `path` in an object of `kind`; ATOMIC or MERGE_PRIMITIVES otherwise."""
    if not path:
        return ATOMIC
    *parent, field = path
    parent_path = tuple(parent)
    if parent and parent[-1] == "metadata":  # ObjectMeta, at the root or in a template
        return {"ownerReferences": "uid", "finalizers": MERGE_PRIMITIVES}.get(field, ATOMIC)
    pod_spec = _POD_SPEC_PATHS.get(kind)
    if pod_spec is not None:
        if parent_path == pod_spec:
            return _POD_SPEC.get(field, ATOMIC)
        if (
            len(parent_path) == len(pod_spec) + 1
            and parent_path[:-1] == pod_spec
            and parent_path[-1] in _CONTAINER_LISTS
        ):
            return _CONTAINER.get(field, ATOMIC)
    return _BY_KIND.get(kind, {}).get(path, ATOMIC)
