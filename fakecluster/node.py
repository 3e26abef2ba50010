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
from .topology import NodeSpec

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
    entries: list[Obj] = [
        {"names": refs[:MAX_NAMES_PER_IMAGE], "sizeBytes": max((sizes.get(r, 0) for r in refs), default=0)}
        for _, refs in sorted(by_id.items())
    ]
    entries.sort(key=lambda e: -e["sizeBytes"])
    return entries[:MAX_IMAGES]


def node_ip(index: int) -> str:
    """The first node answers on 127.0.0.1 (`minikube ip`); the others on 127.0.0.<n+1> (loopback too)."""
    return NODE_IP if index == 0 else f"127.0.0.{index + 1}"


def node_object(images: Mapping[str, str] | None = None, spec: NodeSpec | None = None, index: int = 0) -> Obj:
    """The Node as the kubelet registers it and then reports its status (metadata, spec, status).
    Node `index` > 0 is a worker of a multi-node minikube: minikube.k8s.io/primary "false" and no
    control-plane role (kubernetes/minikube pkg/minikube/bootstrapper/kubeadm/kubeadm.go, labelAndUntaintNode);
    a zone, when given, is the well-known `topology.kubernetes.io/zone` label a cloud's nodes carry."""
    stamp = now_iso()
    spec = spec or NodeSpec(NODE_NAME)
    name, primary = spec.name, index == 0
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {
                "beta.kubernetes.io/arch": "amd64",
                "beta.kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "minikube.k8s.io/commit": MINIKUBE_COMMIT,
                "minikube.k8s.io/name": "minikube",
                "minikube.k8s.io/primary": "true" if primary else "false",
                "minikube.k8s.io/updated_at": stamp.replace("-", "_").replace(":", "_").replace("Z", "_0000"),
                "minikube.k8s.io/version": MINIKUBE_VERSION,
                **(
                    {
                        "node-role.kubernetes.io/control-plane": "",
                        "node.kubernetes.io/exclude-from-external-load-balancers": "",
                    }
                    if primary
                    else {}
                ),
                **spec.labels,
            },
            "annotations": {
                "kubeadm.alpha.kubernetes.io/cri-socket": "unix:///var/run/cri-dockerd.sock",
                "node.alpha.kubernetes.io/ttl": "0",
                "volumes.kubernetes.io/controller-managed-attach-detach": "true",
            },
        },
        "spec": {"podCIDR": f"10.244.{index}.0/24", "podCIDRs": [f"10.244.{index}.0/24"]},
        "status": {
            "capacity": {
                "cpu": "2",
                "ephemeral-storage": "102107096Ki",
                "hugepages-1Gi": "0",
                "hugepages-2Mi": "0",
                "memory": "3912364Ki",
                "pods": "110",
            },
            "allocatable": {
                "cpu": "2",
                "ephemeral-storage": "102107096Ki",
                "hugepages-1Gi": "0",
                "hugepages-2Mi": "0",
                "memory": "3912364Ki",
                "pods": "110",
            },
            "conditions": [
                {
                    "type": t,
                    "status": s,
                    "lastHeartbeatTime": stamp,
                    "lastTransitionTime": stamp,
                    "reason": r,
                    "message": m,
                }
                for t, s, r, m in _CONDITIONS
            ],
            "addresses": [{"type": "InternalIP", "address": node_ip(index)}, {"type": "Hostname", "address": name}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                # The docker driver's node is a container: it shares the host's kernel.
                "machineID": _stable_hex(name)[:32],
                "systemUUID": str(uuid.UUID(_stable_hex("system-" + name)[:32])),
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


def ensure_node(store: Store, images: Mapping[str, str] | None = None, specs: list[NodeSpec] | None = None) -> None:
    """Register each node (create, then write its status as the kubelet does) unless it exists."""
    nodes = store.table.by_kind("Node")
    for index, spec in enumerate(specs or [NodeSpec(NODE_NAME)]):
        if store.find(nodes, "", spec.name) is not None:
            continue
        full = node_object(images, spec, index)
        created = store.create(nodes, "", {k: v for k, v in full.items() if k != "status"})
        with_status = copy.deepcopy(created)
        with_status["status"] = full["status"]
        store.replace(nodes, "", spec.name, with_status, subresource="status")


def sync_images(store: Store, images: Mapping[str, str]) -> None:
    """Report the nodes' images again when they changed (the kubelet's Images setter). `minikube image
    load` loads into every node of a profile."""
    nodes = store.table.by_kind("Node")
    wanted = node_images(images)
    for node in list(store.iter_kind("Node")):
        if node.get("status", {}).get("images") == wanted:
            continue
        updated = copy.deepcopy(node)
        updated.setdefault("status", {})["images"] = wanted
        store.replace(nodes, "", node["metadata"]["name"], updated, subresource="status")
