"""The one node of the fake minikube, in the shape a real kubelet registers and reports it.

Sources (read, not copied):
- kubernetes/kubernetes pkg/kubelet/nodestatus/setters.go: the status setters (addresses, machine
  info with capacity/allocatable, version info, daemon endpoints, images with at most 5 names each,
  the MemoryPressure/DiskPressure/PIDPressure/Ready conditions and their reasons and messages).
- kubernetes/kubernetes staging/src/k8s.io/api/core/v1/types.go: every NodeSystemInfo string field
  is serialised without omitempty, so an unset one is "" (the API schema lists all ten as required).
- kubernetes/kubernetes pkg/features/kube_features.go: DisableNodeKubeProxyVersion defaults to true
  from 1.33, so a 1.35 kubelet leaves kubeProxyVersion empty.
- kubernetes/minikube pkg/minikube/bootstrapper/kubeadm/kubeadm.go: the minikube.k8s.io/* labels
  minikube puts on its node; kubeadm adds the control-plane role and exclusion labels and the
  cri-socket annotation.
"""

from __future__ import annotations

import copy
import hashlib
import platform
import uuid
from collections.abc import Mapping

from .resources import KUBERNETES_VERSION
from .store import Obj, Store, now_iso

NODE_NAME = "minikube"
# The fake `minikube ip` answers 127.0.0.1 (node ports listen there), so the node reports that address.
NODE_IP = "127.0.0.1"
MINIKUBE_VERSION = "v1.37.0"
MINIKUBE_COMMIT = "65318f4cfff9c12cc87ec9eb8f4cdd57b25047f3"
MAX_IMAGES = 50  # the kubelet's default nodeStatusMaxImages
MAX_NAMES_PER_IMAGE = 5  # nodestatus.MaxNamesPerImageInNodeStatus

_CONDITIONS = (
    ("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
    ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
    ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
    ("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
)


def _stable_hex(seed: str) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()


def node_images(images: Mapping[str, str], sizes: Mapping[str, int] | None = None) -> list[Obj]:
    """`status.images`: one entry per image id (its tags as names, at most 5), largest first, at most 50."""
    by_id: dict[str, list[str]] = {}
    for ref, image_id in sorted(images.items()):
        by_id.setdefault(image_id or ref, []).append(ref)
    sizes = sizes or {}
    entries = [{"names": refs[:MAX_NAMES_PER_IMAGE], "sizeBytes": max((sizes.get(r, 0) for r in refs), default=0)}
               for _, refs in sorted(by_id.items())]
    entries.sort(key=lambda e: -e["sizeBytes"])
    return entries[:MAX_IMAGES]


def node_object(images: Mapping[str, str] | None = None) -> Obj:
    """The Node as the kubelet registers it and then reports its status (metadata, spec, status)."""
    stamp = now_iso()
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {
            "name": NODE_NAME,
            "labels": {
                "beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64", "kubernetes.io/hostname": NODE_NAME, "kubernetes.io/os": "linux",
                "minikube.k8s.io/commit": MINIKUBE_COMMIT, "minikube.k8s.io/name": "minikube",
                "minikube.k8s.io/primary": "true",
                "minikube.k8s.io/updated_at": stamp.replace("-", "_").replace(":", "_").replace("Z", "_0000"),
                "minikube.k8s.io/version": MINIKUBE_VERSION,
                "node-role.kubernetes.io/control-plane": "",
                "node.kubernetes.io/exclude-from-external-load-balancers": "",
            },
            "annotations": {
                "kubeadm.alpha.kubernetes.io/cri-socket": "unix:///var/run/cri-dockerd.sock",
                "node.alpha.kubernetes.io/ttl": "0",
                "volumes.kubernetes.io/controller-managed-attach-detach": "true",
            },
        },
        "spec": {"podCIDR": "10.244.0.0/24", "podCIDRs": ["10.244.0.0/24"]},
        "status": {
            "capacity": {"cpu": "2", "ephemeral-storage": "102107096Ki", "hugepages-1Gi": "0",
                         "hugepages-2Mi": "0", "memory": "3912364Ki", "pods": "110"},
            "allocatable": {"cpu": "2", "ephemeral-storage": "102107096Ki", "hugepages-1Gi": "0",
                            "hugepages-2Mi": "0", "memory": "3912364Ki", "pods": "110"},
            "conditions": [{"type": t, "status": s, "lastHeartbeatTime": stamp, "lastTransitionTime": stamp,
                            "reason": r, "message": m} for t, s, r, m in _CONDITIONS],
            "addresses": [{"type": "InternalIP", "address": NODE_IP}, {"type": "Hostname", "address": NODE_NAME}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                # The docker driver's node is a container: it shares the host's kernel.
                "machineID": _stable_hex(NODE_NAME)[:32],
                "systemUUID": str(uuid.UUID(_stable_hex("system-" + NODE_NAME)[:32])),
                "bootID": str(uuid.uuid4()),
                "kernelVersion": platform.release(),
                "osImage": "Ubuntu 22.04.5 LTS",
                "containerRuntimeVersion": "docker://28.4.0",
                "kubeletVersion": KUBERNETES_VERSION["gitVersion"],
                "kubeProxyVersion": "",
                "operatingSystem": "linux",
                "architecture": "amd64",
            },
            "images": node_images(images or {}),
        },
    }


def ensure_node(store: Store, images: Mapping[str, str] | None = None) -> Obj:
    """Register the node (create, then write its status as the kubelet does) unless it exists."""
    nodes = store.table.by_kind("Node")
    existing = store.find(nodes, "", NODE_NAME)
    if existing is not None:
        return existing
    full = node_object(images)
    created = store.create(nodes, "", {k: v for k, v in full.items() if k != "status"})
    with_status = copy.deepcopy(created)
    with_status["status"] = full["status"]
    return store.replace(nodes, "", NODE_NAME, with_status, subresource="status")


def sync_images(store: Store, images: Mapping[str, str]) -> None:
    """Report the node's images again when they changed (the kubelet's Images setter)."""
    nodes = store.table.by_kind("Node")
    node = store.find(nodes, "", NODE_NAME)
    if node is None:
        return
    wanted = node_images(images)
    if node.get("status", {}).get("images") == wanted:
        return
    updated = copy.deepcopy(node)
    updated.setdefault("status", {})["images"] = wanted
    store.replace(nodes, "", NODE_NAME, updated, subresource="status")
