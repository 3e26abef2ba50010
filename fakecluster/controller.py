"""The simulated control plane: deployment and replica-set controllers, scheduler and kubelet.

Pod fates follow from real state first (is the image loaded into the fake minikube? does the
Secret hold the referenced key?) and from the scenario second (crash loop, slow, unschedulable).
A ReplicaSet keeps the scenario in force when it was first seen, and its pods follow it: switching
scenarios affects new rollouts only, and a rollback to an older ReplicaSet brings its old fate back.
Pods without a ReplicaSet take the scenario in force when they are created.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import datetime
import hashlib
import json
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import autoscaling, minikube, node, pulls, rolling, scheduler, statefulset, topology
from .addons import INGRESS_IMAGE, INGRESS_NAMESPACE
from .admission import qos_class
from .apiserver import PodLog
from .kubelet import NodeAgent
from .labelselectors import selector_matches
from .node import NODE_NAME
from .resources import Resource
from .scenarios import CRASH_LOG, HEALTHY_LOG, Scenario, Timings
from .store import ApiError, Obj, Store, now_iso

SAFE_CHARS = "bcdfghjklmnpqrstvwxz2456789"
UNSCHEDULABLE_MESSAGE = "0/1 nodes are available: 1 Insufficient cpu."
# node-not-ready: the node carries the node.kubernetes.io/not-ready taint until its kubelet reports Ready
# (kubernetes/kubernetes pkg/controller/nodelifecycle/node_lifecycle_controller.go, TaintNodeNotReady),
# and the scheduler's TaintToleration plugin says so (pkg/scheduler/framework/plugins/tainttoleration/
# taint_toleration.go: "node(s) had untolerated taint").
NOT_READY_MESSAGE = "0/1 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }."
# Pods here belong to the cluster itself (addons): scenarios never touch them, their images are present.
SYSTEM_NAMESPACES = frozenset({"kube-system", INGRESS_NAMESPACE})
SYSTEM_IMAGES = {minikube.normalise_image(i): "sha256:system" for i in (*minikube.SYSTEM_IMAGES, INGRESS_IMAGE)}
# With a node agent these scenarios' pods run for real; the others stay scripted (they cannot be real here).
REAL_SCENARIOS = frozenset(
    {Scenario.HEALTHY, Scenario.MISSING_SECRET_KEY, Scenario.IMAGE_NOT_LOADED, Scenario.API_FLAKY}
)


def _iso(wall: float) -> str:
    return datetime.datetime.fromtimestamp(wall, tz=datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _pruned(value: Any) -> Any:
    """Drop nulls and empty maps, as decoding into the typed struct does before hashing."""
    if isinstance(value, dict):
        pruned = {k: _pruned(v) for k, v in value.items() if v is not None}
        return {k: v for k, v in pruned.items() if v != {}}
    if isinstance(value, list):
        return [_pruned(v) for v in value]
    return value


def template_hash(template: Obj) -> str:
    template = copy.deepcopy(_pruned(template))
    template.get("metadata", {}).get("labels", {}).pop("pod-template-hash", None)
    digest = int(hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest(), 16)
    chars = []
    for _ in range(10):
        digest, index = divmod(digest, len(SAFE_CHARS))
        chars.append(SAFE_CHARS[index])
    return "".join(chars)


def _random_suffix(length: int = 5) -> str:
    return "".join(random.choice(SAFE_CHARS) for _ in range(length))


def _owned_by(obj: Obj, owner: Obj) -> bool:
    uid = owner["metadata"]["uid"]
    return any(ref.get("uid") == uid for ref in obj["metadata"].get("ownerReferences") or [])


def _owner_ref(owner: Obj) -> Obj:
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


@dataclass
class PodRecord:
    scenario: Scenario
    created: float  # monotonic
    created_wall: float
    emitted: set[str] = field(default_factory=set)
    restarts: int = 0


@dataclass
class ContainerFate:
    """Why a container cannot start (empty reason: it can)."""

    reason: str = ""
    message: str = ""
    event_reason: str = ""
    event_message: str = ""


class Controller:
    def __init__(
        self,
        store: Store,
        logs: dict[tuple[str, str, str], PodLog],
        minikube_state: Path,
        scenario: Callable[[Obj], Scenario],
        timings: Timings,
        agent: NodeAgent | None = None,
        nodes: list[topology.NodeSpec] | None = None,
    ) -> None:
        self.store, self.logs, self.minikube_state = store, logs, minikube_state
        self.agent = agent  # runs pods as containers (real-pod mode); None: every pod is scripted
        self.nodes = nodes or topology.node_specs(1)
        self.pulls = pulls.RegistryPuller()  # images from a registry on loopback: pulls.py
        self.scenario, self.timings = scenario, timings
        self.pods: dict[str, PodRecord] = {}
        self.rs_fates: dict[str, Scenario] = {}  # ReplicaSet uid -> scenario its pods follow
        self.progress_started: dict[tuple[str, str], float] = {}  # (deployment uid, rs name) -> monotonic
        self.create_errors: dict[str, str] = {}  # ReplicaSet uid -> why its last pod create was refused
        self.terminating: dict[str, float] = {}  # namespace uid -> monotonic time its deletion was seen
        self._wake = asyncio.Event()
        self._images: dict[str, str] = {}
        self._node_images: dict[str, str] = dict(SYSTEM_IMAGES)
        self._engine_images: dict[str, str] = {}
        self._engine_shared = False
        self._images_mtime = 0.0
        store.add_listener(lambda event: self._wake.set())

    # --- the loop -----------------------------------------------------------------------------------
    def wake(self) -> None:
        """Reconcile soon (the node agent calls this when a container or probe result changes)."""
        self._wake.set()

    async def run(self) -> None:
        self._ensure_node()
        engine = asyncio.create_task(self._poll_engine())
        try:
            await self._loop()
        finally:
            engine.cancel()

    async def _poll_engine(self) -> None:
        """After `minikube docker-env`, the local Docker engine plays the node's engine: whatever it
        holds is present on the node (images built with --build-in-cluster need no load)."""
        import aiohttp

        socket_path = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock").removeprefix("unix://")
        while True:
            await asyncio.sleep(0.5)
            if not self._engine_shared:
                continue
            try:
                async with aiohttp.ClientSession(connector=aiohttp.UnixConnector(path=socket_path)) as session:
                    async with session.get("http://docker/images/json", timeout=aiohttp.ClientTimeout(total=5)) as r:
                        listing = await r.json()
            except (aiohttp.ClientError, OSError, TimeoutError, ValueError):
                continue
            self._engine_images = {
                minikube.normalise_image(tag): image["Id"]
                for image in listing
                for tag in image.get("RepoTags") or []
                if tag != "<none>:<none>"
            }
            self._wake.set()

    async def _loop(self) -> None:
        while True:
            try:
                self.reconcile()
            except ApiError:
                pass  # an object vanished under us; the next pass sees the new world
            self._wake.clear()
            try:
                # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation.
                async with asyncio.timeout(self.timings.tick):
                    await self._wake.wait()
            except TimeoutError:
                pass

    def reconcile(self) -> None:
        self._refresh_images()
        self._finish_namespaces()  # first: a create refused in a Terminating namespace cannot hold it up
        for deployment in list(self.store.iter_kind("Deployment")):
            self._sync_deployment(deployment)
        for rs in list(self.store.iter_kind("ReplicaSet")):
            self._sync_replica_set(rs)
        for sts in list(self.store.iter_kind("StatefulSet")):
            statefulset.sync(self, sts)
        for pod in list(self.store.iter_kind("Pod")):
            self._sync_pod(pod)
        for rs in list(self.store.iter_kind("ReplicaSet")):
            self._rs_status(rs)
        for deployment in list(self.store.iter_kind("Deployment")):
            self._deployment_status(deployment)
        for sts in list(self.store.iter_kind("StatefulSet")):
            statefulset.status(self, sts)
        autoscaling.reconcile(self.store, self.event)  # HPA bounds and PDB status: autoscaling.py
        self._forget_gone_pods()

    # --- namespace controller -------------------------------------------------------------------------
    def _finish_namespaces(self) -> None:
        """Terminating namespaces go after `Timings.namespace_termination`: deletion is not instant
        (kubernetes/kubernetes pkg/controller/namespace/deletion/namespaced_resources_deleter.go deletes
        the content, then removes the `kubernetes` finalizer). While Terminating, creates are refused."""
        now = time.monotonic()
        terminating = {
            ns["metadata"]["uid"]: ns["metadata"]["name"]
            for ns in self.store.iter_kind("Namespace")
            if ns["metadata"].get("deletionTimestamp")
        }
        for uid in [uid for uid in self.terminating if uid not in terminating]:
            del self.terminating[uid]
        for uid, name in terminating.items():
            started = self.terminating.setdefault(uid, now)
            found = self.store.find(self._res("Namespace"), "", name) or {}
            held = (found.get("metadata") or {}).get("finalizers")
            # metadata.finalizers (someone else's) hold it Terminating until they are removed
            if now - started < self.timings.namespace_termination:
                continue
            self.store.empty_namespace(name)
            if not held:
                self.store.remove_namespace(name)
                del self.terminating[uid]

    # --- helpers ------------------------------------------------------------------------------------
    def _res(self, kind: str) -> Resource:
        return self.store.table.by_kind(kind, "" if kind == "Event" else None)

    def _refresh_images(self) -> None:
        try:
            mtime = self.minikube_state.stat().st_mtime
        except OSError:
            return
        if mtime != self._images_mtime:
            self._images_mtime = mtime
            state = minikube.read_state(self.minikube_state)
            self._engine_shared = bool(state.get("docker_env_used"))
            self._node_images = {**SYSTEM_IMAGES, **(state.get("images") or {})}
        images = {**(self._engine_images if self._engine_shared else {}), **self._node_images}
        if images != self._images:
            self._images = images
            node.sync_images(self.store, images)

    def _ensure_node(self) -> None:
        services = self._res("Service")
        if self.store.find(services, "default", "kubernetes") is None:
            self.store.create(
                services,
                "default",
                {
                    "apiVersion": "v1",
                    "kind": "Service",
                    "metadata": {"name": "kubernetes", "labels": {"component": "apiserver", "provider": "kubernetes"}},
                    "spec": {
                        "type": "ClusterIP",
                        "clusterIP": "10.96.0.1",
                        "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 8443}],
                    },
                },
            )
        node.ensure_node(self.store, self._images, self.nodes)  # each kubelet registers its node: node.py

    def event(self, involved: Obj, type_: str, reason: str, message: str, component: str) -> None:
        """Write a core/v1 Event, folding repeats into `count` as the real recorder does."""
        events = self._res("Event")
        meta = involved["metadata"]
        namespace = meta.get("namespace", "default")
        for existing in self.store.list(events, namespace):
            inv = existing.get("involvedObject", {})
            if (
                inv.get("uid") == meta["uid"]
                and existing.get("reason") == reason
                and existing.get("message") == message
            ):
                updated = copy.deepcopy(existing)
                updated["count"] = existing.get("count", 1) + 1
                updated["lastTimestamp"] = now_iso()
                self.store.replace(events, namespace, existing["metadata"]["name"], updated)
                return
        stamp = now_iso()
        self.store.create(
            events,
            namespace,
            {
                "apiVersion": "v1",
                "kind": "Event",
                "metadata": {"name": f"{meta['name']}.{time.time_ns():x}", "namespace": namespace},
                "involvedObject": {
                    "kind": involved["kind"],
                    "namespace": namespace,
                    "name": meta["name"],
                    "uid": meta["uid"],
                    "apiVersion": involved["apiVersion"],
                    "resourceVersion": meta.get("resourceVersion", ""),
                },
                "reason": reason,
                "message": message,
                "type": type_,
                "count": 1,
                "source": {"component": component, **({"host": NODE_NAME} if component == "kubelet" else {})},
                "firstTimestamp": stamp,
                "lastTimestamp": stamp,
                "reportingComponent": component,
                "reportingInstance": NODE_NAME if component == "kubelet" else "",
            },
        )

    def _write_status(self, kind: str, obj: Obj, status: Obj) -> Obj:
        if obj.get("status") == status:
            return obj
        updated = copy.deepcopy(obj)
        updated["status"] = status
        meta = obj["metadata"]
        return self.store.replace(
            self._res(kind), meta.get("namespace", ""), meta["name"], updated, subresource="status"
        )

    def _children(self, kind: str, owner: Obj) -> list[Obj]:
        namespace = owner["metadata"].get("namespace", "")
        return [o for o in self.store.list(self._res(kind), namespace) if _owned_by(o, owner)]

    # --- deployment controller ------------------------------------------------------------------------
    def _sync_deployment(self, deployment: Obj) -> None:
        if deployment["metadata"].get("deletionTimestamp"):
            return
        spec = deployment.get("spec", {})
        namespace, name = deployment["metadata"]["namespace"], deployment["metadata"]["name"]
        template = spec.get("template", {})
        pod_hash = template_hash(template)
        replica_sets = self._children("ReplicaSet", deployment)
        new_rs = next(
            (rs for rs in replica_sets if rs["metadata"].get("labels", {}).get("pod-template-hash") == pod_hash), None
        )
        desired = spec.get("replicas", 1)
        revisions = [
            int(rs["metadata"].get("annotations", {}).get("deployment.kubernetes.io/revision", 0))
            for rs in replica_sets
        ]
        rs_res = self._res("ReplicaSet")
        strategy = spec.get("strategy") or {}
        recreate = strategy.get("type") == "Recreate"
        surge, unavailable = rolling.fenceposts(strategy, desired)
        if new_rs is None:
            # Created at the size a first scale-up step allows (sync.go getNewReplicaSet, NewRSNewReplicas).
            old_total = sum(rs["spec"].get("replicas", 0) for rs in replica_sets)
            size = desired if recreate else rolling.new_replicas(desired, surge, rolling.Counts(0, 0), old_total)
            revision = max(revisions, default=0) + 1
            labels = {**template.get("metadata", {}).get("labels", {}), "pod-template-hash": pod_hash}
            rs_template = copy.deepcopy(template)
            rs_template.setdefault("metadata", {})["labels"] = labels
            selector = copy.deepcopy(spec.get("selector", {}))
            selector.setdefault("matchLabels", {})["pod-template-hash"] = pod_hash
            new_rs = self.store.create(
                rs_res,
                namespace,
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "metadata": {
                        "name": f"{name}-{pod_hash}",
                        "namespace": namespace,
                        "labels": labels,
                        "annotations": {
                            "deployment.kubernetes.io/revision": str(revision),
                            "deployment.kubernetes.io/desired-replicas": str(desired),
                            "deployment.kubernetes.io/max-replicas": str(desired + surge),
                        },
                        "ownerReferences": [_owner_ref(deployment)],
                    },
                    "spec": {
                        "replicas": size,
                        "selector": selector,
                        "template": rs_template,
                        "minReadySeconds": spec.get("minReadySeconds", 0),
                    },
                },
            )
            self.progress_started[(deployment["metadata"]["uid"], new_rs["metadata"]["name"])] = time.monotonic()
            if size:
                self.event(
                    deployment,
                    "Normal",
                    "ScalingReplicaSet",
                    f"Scaled up replica set {new_rs['metadata']['name']} from 0 to {size}",
                    "deployment-controller",
                )
        else:
            revision = int(new_rs["metadata"].get("annotations", {}).get("deployment.kubernetes.io/revision", 0))
            if revision < max(revisions, default=0):  # a rollback reuses the old ReplicaSet under a new revision
                updated = copy.deepcopy(new_rs)
                updated["metadata"].setdefault("annotations", {})["deployment.kubernetes.io/revision"] = str(
                    max(revisions) + 1
                )
                new_rs = self.store.replace(rs_res, namespace, new_rs["metadata"]["name"], updated)
                self.progress_started[(deployment["metadata"]["uid"], new_rs["metadata"]["name"])] = time.monotonic()
        new_revision = new_rs["metadata"].get("annotations", {}).get("deployment.kubernetes.io/revision")
        if deployment["metadata"].get("annotations", {}).get("deployment.kubernetes.io/revision") != new_revision:
            updated = copy.deepcopy(deployment)
            updated["metadata"].setdefault("annotations", {})["deployment.kubernetes.io/revision"] = new_revision
            self.store.replace(self._res("Deployment"), namespace, name, updated)
        old = sorted(
            (rs for rs in replica_sets if rs["metadata"]["uid"] != new_rs["metadata"]["uid"]),
            key=lambda rs: rs["metadata"].get("creationTimestamp", ""),
        )
        if recreate:
            if new_rs["spec"].get("replicas") != desired:
                self._scale(new_rs, desired, deployment)
            for rs in old:
                if rs["spec"].get("replicas", 0):
                    self._scale(rs, 0, deployment)
        else:
            # One rolling-update step per sync (fakecluster/rolling.py: kubernetes/kubernetes
            # pkg/controller/deployment/rolling.go): the new ReplicaSet up within maxSurge, else old
            # ones down within maxUnavailable.
            new_size, old_sizes = rolling.step(
                desired, surge, unavailable, _rs_counts(new_rs), [_rs_counts(rs) for rs in old]
            )
            if new_size != new_rs["spec"].get("replicas", 0):
                self._scale(new_rs, new_size, deployment)
            for rs, size in zip(old, old_sizes, strict=True):
                if size != rs["spec"].get("replicas", 0):
                    self._scale(rs, size, deployment)
        limit = spec.get("revisionHistoryLimit", 10)
        idle = sorted(
            (rs for rs in old if not rs["spec"].get("replicas")),
            key=lambda rs: int(rs["metadata"].get("annotations", {}).get("deployment.kubernetes.io/revision", 0)),
        )
        for rs in idle[: max(len(idle) - limit, 0)]:
            self.store.delete(rs_res, namespace, rs["metadata"]["name"])

    def _scale(self, rs: Obj, replicas: int, deployment: Obj) -> None:
        before = rs["spec"].get("replicas", 0)
        updated = copy.deepcopy(rs)
        updated["spec"]["replicas"] = replicas
        self.store.replace(self._res("ReplicaSet"), rs["metadata"]["namespace"], rs["metadata"]["name"], updated)
        verb = "up" if replicas > before else "down"
        self.event(
            deployment,
            "Normal",
            "ScalingReplicaSet",
            f"Scaled {verb} replica set {rs['metadata']['name']} from {before} to {replicas}",
            "deployment-controller",
        )

    def _deployment_status(self, deployment: Obj) -> None:
        spec, meta = deployment.get("spec", {}), deployment["metadata"]
        desired = spec.get("replicas", 1)
        pod_hash = template_hash(spec.get("template", {}))
        replica_sets = self._children("ReplicaSet", deployment)
        new_rs = next(
            (rs for rs in replica_sets if rs["metadata"].get("labels", {}).get("pod-template-hash") == pod_hash), None
        )
        if new_rs is None:
            return
        pods = [p for rs in replica_sets for p in self._children("Pod", rs)]
        new_pods = self._children("Pod", new_rs)
        ready = sum(1 for p in pods if _pod_ready(p))
        updated_ready = sum(1 for p in new_pods if _pod_ready(p))
        strategy = spec.get("strategy") or {}  # Available: MaxUnavailable in deployment_util.go (Recreate: 0)
        max_unavailable = 0 if strategy.get("type") == "Recreate" else rolling.fenceposts(strategy, desired)[1]
        previous = {c["type"]: c for c in deployment.get("status", {}).get("conditions", [])}
        rs_name = new_rs["metadata"]["name"]
        now = now_iso()

        def condition(type_: str, status: str, reason: str, message: str) -> Obj:
            old = previous.get(type_) or {}
            same = bool(old) and old.get("status") == status
            same_reason = same and old.get("reason") == reason
            return {
                "type": type_,
                "status": status,
                "lastUpdateTime": old["lastUpdateTime"] if same_reason else now,
                "lastTransitionTime": old["lastTransitionTime"] if same else now,
                "reason": reason,
                "message": message,
            }

        available = ready >= desired - max_unavailable
        conditions = [
            condition("Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability.")
            if available
            else condition(
                "Available", "False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability."
            )
        ]
        complete = updated_ready >= desired and len(new_pods) == desired and len(pods) == desired
        started = self.progress_started.setdefault((meta["uid"], rs_name), time.monotonic())
        deadline = spec.get("progressDeadlineSeconds", 600)
        old_progress = previous.get("Progressing", {})
        if complete:
            progressing = condition(
                "Progressing", "True", "NewReplicaSetAvailable", f'ReplicaSet "{rs_name}" has successfully progressed.'
            )
        elif (
            old_progress.get("reason") == "ProgressDeadlineExceeded" and rs_name in old_progress.get("message", "")
        ) or time.monotonic() - started > deadline:
            progressing = condition(
                "Progressing", "False", "ProgressDeadlineExceeded", f'ReplicaSet "{rs_name}" has timed out progressing.'
            )
        elif not pods or not new_pods:
            progressing = condition(
                "Progressing", "True", "NewReplicaSetCreated", f'Created new replica set "{rs_name}"'
            )
        else:
            progressing = condition(
                "Progressing", "True", "ReplicaSetUpdated", f'ReplicaSet "{rs_name}" is progressing.'
            )
        if (
            progressing["reason"] == "ProgressDeadlineExceeded"
            and old_progress.get("reason") != "ProgressDeadlineExceeded"
        ):
            self.event(
                deployment,
                "Warning",
                "ProgressDeadlineExceeded",
                f'Deployment "{meta["name"]}" has timed out progressing.',
                "deployment-controller",
            )
        status: Obj = {
            "observedGeneration": meta.get("generation", 1),
            "replicas": len(pods),
            "updatedReplicas": len(new_pods),
            "readyReplicas": ready,
            "availableReplicas": ready,
            "conditions": [conditions[0], progressing, *deployment_replica_failure(new_rs)],
        }
        if desired - ready > 0:
            status["unavailableReplicas"] = max(len(pods), desired) - ready
        for key in ("readyReplicas", "availableReplicas", "updatedReplicas", "replicas"):
            if not status[key]:
                del status[key]
        self._write_status("Deployment", deployment, status)

    # --- replica set controller -----------------------------------------------------------------------
    def _sync_replica_set(self, rs: Obj) -> None:
        if rs["metadata"].get("deletionTimestamp"):
            return
        self._fate_of_rs(rs)
        namespace = rs["metadata"]["namespace"]
        pods = self._children("Pod", rs)
        desired = rs["spec"].get("replicas", 0)
        pod_res = self._res("Pod")
        if desired > len(pods):
            self.create_errors.pop(rs["metadata"]["uid"], None)
        for _ in range(desired - len(pods)):
            template = copy.deepcopy(rs["spec"].get("template", {}))
            name = f"{rs['metadata']['name']}-{_random_suffix()}"
            pod_meta = template.get("metadata", {})
            pod_spec = template.get("spec", {})
            pod_spec.setdefault("restartPolicy", "Always")
            pod_spec.setdefault("serviceAccountName", "default")
            pod_spec.setdefault("schedulerName", "default-scheduler")
            try:
                pod = self.store.create(
                    pod_res,
                    namespace,
                    {
                        "apiVersion": "v1",
                        "kind": "Pod",
                        "metadata": {
                            "name": name,
                            "namespace": namespace,
                            "labels": pod_meta.get("labels", {}),
                            "annotations": pod_meta.get("annotations", {}) or {},
                            "generateName": f"{rs['metadata']['name']}-",
                            "ownerReferences": [_owner_ref(rs)],
                        },
                        "spec": pod_spec,
                    },
                )
            except ApiError as err:
                # Refused (e.g. by ServiceAccount admission in a brand-new namespace): the controller
                # records it and retries on its next sync (kubernetes/kubernetes
                # pkg/controller/controller_utils.go, createPods: FailedCreate "Error creating: ...").
                self.event(rs, "Warning", "FailedCreate", f"Error creating: {err.message}", "replicaset-controller")
                self.create_errors[rs["metadata"]["uid"]] = err.message
                break
            self.event(
                rs, "Normal", "SuccessfulCreate", f"Created pod: {pod['metadata']['name']}", "replicaset-controller"
            )
        if len(pods) > desired:
            doomed = sorted(pods, key=_pod_ready)[: len(pods) - desired]
            for pod in doomed:
                self.store.delete(pod_res, namespace, pod["metadata"]["name"])
                self.event(
                    rs, "Normal", "SuccessfulDelete", f"Deleted pod: {pod['metadata']['name']}", "replicaset-controller"
                )

    def _fate_of_rs(self, rs: Obj) -> Scenario:
        meta = rs["metadata"]
        if meta["uid"] not in self.rs_fates:
            self.rs_fates[meta["uid"]] = (
                Scenario.HEALTHY if meta["namespace"] in SYSTEM_NAMESPACES else self.scenario(rs)
            )
        return self.rs_fates[meta["uid"]]

    def _rs_status(self, rs: Obj) -> None:
        pods = self._children("Pod", rs)
        ready = sum(1 for p in pods if _pod_ready(p))
        status = {
            "replicas": len(pods),
            "fullyLabeledReplicas": len(pods),
            "readyReplicas": ready,
            "availableReplicas": ready,
            "observedGeneration": rs["metadata"].get("generation", 1),
        }
        status = {k: v for k, v in status.items() if v or k == "replicas"}
        failure = replica_failure(rs, self.create_errors.get(rs["metadata"]["uid"]))
        if failure:
            status["conditions"] = [failure]
        self._write_status("ReplicaSet", rs, status)

    # --- scheduler + kubelet --------------------------------------------------------------------------
    def _forget_gone_pods(self) -> None:
        live = {p["metadata"]["uid"] for p in self.store.iter_kind("Pod")}
        for uid in [uid for uid in self.pods if uid not in live]:
            del self.pods[uid]
        live_rs = {rs["metadata"]["uid"] for rs in self.store.iter_kind("ReplicaSet")}
        for uid in [uid for uid in self.rs_fates if uid not in live_rs]:
            del self.rs_fates[uid]
        for uid in [uid for uid in self.create_errors if uid not in live_rs]:
            del self.create_errors[uid]
        live_keys = {(p["metadata"]["namespace"], p["metadata"]["name"]) for p in self.store.iter_kind("Pod")}
        if self.agent is not None:
            self.agent.forget(live)
        for key in [k for k in self.logs if (k[0], k[1]) not in live_keys]:
            self.logs[key].close()
            del self.logs[key]

    def _container_fate(self, pod: Obj, container: Obj) -> ContainerFate:
        namespace = pod["metadata"]["namespace"]
        image = container.get("image", "")
        ref = minikube.normalise_image(image)
        tag = ref.rsplit(":", 1)[-1] if "@" not in ref else ""
        policy = container.get("imagePullPolicy") or ("Always" if tag == "latest" else "IfNotPresent")
        pulled = self.pulls.digest(ref) if self.pulls.handles(ref) and policy != "Never" else ""
        loaded = ref in self._images or bool(pulled)
        if policy == "Never" and not loaded:
            message = f'Container image "{image}" is not present with pull policy of Never'
            return ContainerFate("ErrImageNeverPull", message, "ErrImageNeverPull", message)
        if self.pulls.handles(ref) and not loaded:  # the registry lacks it or does not answer: pulls.py
            error = self.pulls.error(ref)
            reason = self.pulls.failing_reason(pod["metadata"]["uid"], ref)
            return ContainerFate(
                reason,
                error if reason == "ErrImagePull" else f'Back-off pulling image "{image}"',
                "Failed",
                f'Failed to pull image "{image}": {error}',
            )
        if (policy == "Always" and not pulled) or not loaded:
            message = (
                f'failed to pull and unpack image "{ref}": failed to resolve reference "{ref}": pull access '
                "denied, repository does not exist or may require authorization: server message: "
                "insufficient_scope: authorization failed"
            )
            return ContainerFate(
                "ImagePullBackOff",
                f'Back-off pulling image "{image}"',
                "Failed",
                f'Failed to pull image "{image}": {message}',
            )
        secrets, config_maps = self._res("Secret"), self._res("ConfigMap")
        for env in container.get("env") or []:
            source = env.get("valueFrom") or {}
            for ref_key, res, label in (
                ("secretKeyRef", secrets, "Secret"),
                ("configMapKeyRef", config_maps, "ConfigMap"),
            ):
                key_ref = source.get(ref_key)
                if not key_ref:
                    continue
                obj = self.store.find(res, namespace, key_ref.get("name", ""))
                if obj is None:
                    if key_ref.get("optional"):
                        continue
                    message = f'{label.lower()} "{key_ref.get("name")}" not found'
                    return ContainerFate("CreateContainerConfigError", message, "Failed", f"Error: {message}")
                data = {**(obj.get("data") or {}), **(obj.get("binaryData") or {})}
                if key_ref.get("key") not in data and not key_ref.get("optional"):
                    message = f"couldn't find key {key_ref.get('key')} in {label} {namespace}/{key_ref.get('name')}"
                    return ContainerFate("CreateContainerConfigError", message, "Failed", f"Error: {message}")
        for env_from in container.get("envFrom") or []:
            for ref_key, res, label in (("secretRef", secrets, "secret"), ("configMapRef", config_maps, "configmap")):
                source = env_from.get(ref_key)
                if (
                    source
                    and not source.get("optional")
                    and self.store.find(res, namespace, source.get("name", "")) is None
                ):
                    message = f'{label} "{source.get("name")}" not found'
                    return ContainerFate("CreateContainerConfigError", message, "Failed", f"Error: {message}")
        return ContainerFate()

    def _secret_env(self, pod: Obj, container: Obj, name: str) -> str | None:
        """The value an env var of `container` gets from a Secret (as the kubelet would inject it)."""
        namespace = pod["metadata"].get("namespace", "")
        for env in container.get("env") or []:
            ref = (env.get("valueFrom") or {}).get("secretKeyRef")
            if env.get("name") != name or not ref:
                continue
            obj = self.store.find(self._res("Secret"), namespace, ref.get("name", ""))
            raw = ((obj or {}).get("data") or {}).get(ref.get("key", ""))
            return base64.b64decode(raw).decode("utf-8", "replace") if raw else None
        return None

    def _mount_problem(self, pod: Obj) -> str:
        namespace = pod["metadata"]["namespace"]
        for volume in pod.get("spec", {}).get("volumes") or []:
            for key, res, label, name_key in (
                ("secret", self._res("Secret"), "secret", "secretName"),
                ("configMap", self._res("ConfigMap"), "configmap", "name"),
            ):
                source = volume.get(key)
                if (
                    source
                    and not source.get("optional")
                    and self.store.find(res, namespace, source.get(name_key, "")) is None
                ):
                    return (
                        f'MountVolume.SetUp failed for volume "{volume.get("name")}" : {label} '
                        f'"{source.get(name_key)}" not found'
                    )
        return ""

    def _once(
        self, record: PodRecord, pod: Obj, key: str, type_: str, reason: str, message: str, component: str = "kubelet"
    ) -> None:
        if key not in record.emitted:
            record.emitted.add(key)
            self.event(pod, type_, reason, message, component)

    def _sync_pod(self, pod: Obj) -> None:
        meta, spec = pod["metadata"], pod.get("spec", {})
        if meta.get("deletionTimestamp"):
            return
        record = self.pods.get(meta["uid"])
        if record is None:
            owners = [ref["uid"] for ref in meta.get("ownerReferences") or [] if ref.get("kind") == "ReplicaSet"]
            scenario = next((self.rs_fates[uid] for uid in owners if uid in self.rs_fates), None) or (
                Scenario.HEALTHY if meta["namespace"] in SYSTEM_NAMESPACES else self.scenario(pod)
            )
            record = self.pods[meta["uid"]] = PodRecord(scenario, time.monotonic(), time.time())
        created = _iso(record.created_wall)
        namespace, name = meta["namespace"], meta["name"]
        unschedulable = (
            UNSCHEDULABLE_MESSAGE,
            f"{UNSCHEDULABLE_MESSAGE} preemption: 0/1 nodes are available: "
            "1 No preemption victims found for incoming pod.",
        )
        node_starting = (
            record.scenario is Scenario.NODE_NOT_READY
            and time.monotonic() - record.created < self.timings.node_ready_after
        )
        if node_starting:
            unschedulable = (
                NOT_READY_MESSAGE,
                f"{NOT_READY_MESSAGE} preemption: 0/1 nodes are available: "
                "1 No preemption victims found for incoming pod.",
            )
        if (
            record.scenario is not Scenario.UNSCHEDULABLE
            and not node_starting
            and scheduler.wants_default_scheduler(pod)
        ):
            # kube-scheduler picks a node (topology.py: spread constraints), then binds
            placement = topology.choose_node(pod, list(self.store.iter_kind("Node")), list(self.store.iter_kind("Pod")))
            if placement.node is not None:
                pod = scheduler.bind(self.store, namespace, name, placement.node)
                meta, spec = pod["metadata"], pod["spec"]
            else:
                unschedulable = (placement.message.split(" preemption:")[0], placement.message)
        if record.scenario is Scenario.UNSCHEDULABLE or not spec.get("nodeName") or node_starting:
            self._once(record, pod, "sched", "Warning", "FailedScheduling", unschedulable[1], "default-scheduler")
            self._write_status(
                "Pod",
                pod,
                {
                    "phase": "Pending",
                    "qosClass": qos_class(pod),
                    "conditions": [
                        {
                            "type": "PodScheduled",
                            "status": "False",
                            "lastProbeTime": None,
                            "lastTransitionTime": created,
                            "reason": "Unschedulable",
                            "message": unschedulable[0],
                        }
                    ],
                },
            )
            return
        self._once(
            record,
            pod,
            "scheduled",
            "Normal",
            "Scheduled",
            f"Successfully assigned {namespace}/{name} to {spec['nodeName']}",
            "default-scheduler",
        )
        elapsed = time.monotonic() - record.created
        mount_problem = self._mount_problem(pod)
        if mount_problem:
            self._once(record, pod, "mount", "Warning", "FailedMount", mount_problem)
        statuses, all_ready, any_running = [], True, False
        real = self._runs_for_real(pod, record, mount_problem)
        for container in spec.get("containers") or []:
            cname, image = container.get("name", ""), container.get("image", "")
            log = self.logs.setdefault((namespace, name, cname), PodLog())
            fate = (
                ContainerFate()
                if real
                else ContainerFate("ContainerCreating")
                if mount_problem
                else self._container_fate(pod, container)
            )
            base = {
                "name": cname,
                "image": image,
                "imageID": "",
                "started": False,
                "ready": False,
                "restartCount": record.restarts,
            }
            if fate.reason:
                all_ready = False
                log.waiting_reason = fate.reason
                state: Obj = {"waiting": {"reason": fate.reason}}
                if fate.message and fate.reason != "ContainerCreating":
                    state["waiting"]["message"] = fate.message
                if fate.event_reason:
                    self._once(
                        record, pod, f"fate:{cname}:{fate.reason}", "Warning", fate.event_reason, fate.event_message
                    )
                    if fate.reason == "ImagePullBackOff":
                        self._once(
                            record, pod, f"backoff:{cname}", "Normal", "BackOff", f'Back-off pulling image "{image}"'
                        )
                statuses.append({**base, "state": state, "lastState": {}})
                continue
            image_id = self._images.get(minikube.normalise_image(image), "")
            base["imageID"] = f"docker://{image_id}" if image_id else ""
            registry_digest = self.pulls.digest(minikube.normalise_image(image))
            source = pulls.parse(image)
            if registry_digest and source:  # pulled from a registry: the runtime reports the repo digest
                base["imageID"] = f"docker-pullable://{source.host}/{source.repository}@{registry_digest}"
                self._once(record, pod, f"pulling:{cname}", "Normal", "Pulling", f'Pulling image "{image}"')
                self._once(record, pod, f"pulled:{cname}", "Normal", "Pulled", f'Successfully pulled image "{image}"')
            self._once(
                record,
                pod,
                f"pulled:{cname}",
                "Normal",
                "Pulled",
                f'Container image "{image}" already present on machine',
            )
            self._once(record, pod, f"created:{cname}", "Normal", "Created", f"Created container: {cname}")
            self._once(record, pod, f"started:{cname}", "Normal", "Started", f"Started container {cname}")
            if real and self.agent is not None:
                status = self.agent.container_status(pod, cname, base)
                all_ready = all_ready and status["ready"]
                any_running = any_running or "containerID" in status
                statuses.append(status)
                continue
            # crash-once: the first run crashes (a dependency not up yet) and the kubelet's restart after
            # the back-off succeeds: CrashLoopBackOff shows after that very first crash
            # (kubernetes/kubernetes pkg/kubelet/kubelet.go, backOffPeriod: restarts after 10 s, 20 s, ...).
            crash_once = record.scenario is Scenario.CRASH_ONCE and elapsed < 2 * self.timings.crash_interval
            if record.scenario is Scenario.CRASH_LOOP or crash_once:
                all_ready = False
                statuses.append(self._crash_status(record, pod, container, base, log, elapsed))
                any_running = True
                continue
            if not log.lines:
                for line in HEALTHY_LOG:
                    log.append(line)
            delay = (
                self.timings.ingress_ready_after
                if namespace == INGRESS_NAMESPACE
                else self.timings.ready_delay(record.scenario)
            )
            ready = elapsed >= delay
            all_ready = all_ready and ready
            any_running = True
            statuses.append(
                {**base, "started": True, "ready": ready, "lastState": {}, "state": {"running": {"startedAt": created}}}
            )
        containers_ready = "True" if all_ready and statuses else "False"
        pod_ip = (self.agent.pod_ip(meta["uid"]) if real and self.agent is not None else "") or _pod_ip(meta["uid"])
        conditions: list[Obj] = [
            {"type": "PodReadyToStartContainers", "status": "False" if mount_problem else "True"},
            {"type": "Initialized", "status": "True"},
            {"type": "Ready", "status": containers_ready},
            {"type": "ContainersReady", "status": containers_ready},
            {"type": "PodScheduled", "status": "True"},
        ]
        previous = {c["type"]: c for c in pod.get("status", {}).get("conditions", [])}
        for cond in conditions:
            old = previous.get(cond["type"], {})
            cond["lastProbeTime"] = None
            cond["lastTransitionTime"] = (
                old.get("lastTransitionTime") if old.get("status") == cond["status"] else now_iso()
            )
            if cond["type"] in ("Ready", "ContainersReady") and cond["status"] == "False":
                waiting = [s["name"] for s in statuses if not s["ready"]]
                cond["reason"] = "ContainersNotReady"
                cond["message"] = f"containers with unready status: [{' '.join(waiting)}]"
        self._write_status(
            "Pod",
            pod,
            {
                "phase": "Running" if any_running else "Pending",
                "conditions": conditions,
                "hostIP": "192.168.49.2",
                "hostIPs": [{"ip": "192.168.49.2"}],
                "podIP": pod_ip,
                "podIPs": [{"ip": pod_ip}],
                "startTime": created,
                "qosClass": qos_class(pod),
                "containerStatuses": statuses,
            },
        )

    def _runs_for_real(self, pod: Obj, record: PodRecord, mount_problem: str) -> bool:
        """Hand the pod to the node agent once nothing keeps its containers from being created."""
        if (
            self.agent is None
            or record.scenario not in REAL_SCENARIOS
            or pod["metadata"]["namespace"] in SYSTEM_NAMESPACES
        ):
            return False
        if pod["metadata"]["uid"] in self.agent.pods:
            return True
        if mount_problem or any(
            self._container_fate(pod, c).reason for c in pod.get("spec", {}).get("containers") or []
        ):
            return False
        self.agent.ensure(pod)
        return True

    def _crash_status(self, record: PodRecord, pod: Obj, container: Obj, base: Obj, log: PodLog, elapsed: float) -> Obj:
        cname = container.get("name", "")
        interval = self.timings.crash_interval
        restarts = int(elapsed // interval)
        if restarts > record.restarts or not log.lines:
            if restarts > record.restarts:
                record.restarts = restarts
                log.restart()
            for line in CRASH_LOG:
                log.append(line)
            url = self._secret_env(pod, container, "DATABASE_URL")
            if url:  # a careless app prints its connection string: the orchestrator must redact it
                log.append(f"ERROR:    could not connect to {url}")
        base["restartCount"] = record.restarts
        if record.restarts == 0:
            return {
                **base,
                "started": True,
                "state": {"running": {"startedAt": _iso(record.created_wall)}},
                "lastState": {},
            }
        pod_meta = pod["metadata"]
        finished = _iso(record.created_wall + record.restarts * interval)
        backoff = min(10 * 2 ** (record.restarts - 1), 300)
        self._once(
            record,
            pod,
            f"crash:{record.restarts}",
            "Warning",
            "BackOff",
            f"Back-off restarting failed container {cname} in pod "
            f"{pod_meta['name']}_{pod_meta['namespace']}({pod_meta['uid']})",
        )
        return {
            **base,
            "state": {
                "waiting": {
                    "reason": "CrashLoopBackOff",
                    "message": f"back-off {backoff}s restarting failed container={cname} "
                    f"pod={pod_meta['name']}_{pod_meta['namespace']}({pod_meta['uid']})",
                }
            },
            "lastState": {
                "terminated": {
                    "exitCode": 1,
                    "reason": "Error",
                    "startedAt": _iso(record.created_wall + (record.restarts - 1) * interval),
                    "finishedAt": finished,
                    "containerID": f"docker://{pod_meta['uid']}",
                }
            },
        }


def replica_failure(rs: Obj, error: str | None) -> Obj | None:
    """The ReplicaSet's ReplicaFailure condition while its pod creates are refused, kept from the first
    refusal on, gone once a create succeeds (kubernetes/kubernetes
    pkg/controller/replicaset/replica_set_utils.go, calculateStatus)."""
    if not error:
        return None
    old = next((c for c in rs.get("status", {}).get("conditions") or [] if c.get("type") == "ReplicaFailure"), None)
    if old is not None:
        return old
    return {
        "type": "ReplicaFailure",
        "status": "True",
        "lastTransitionTime": now_iso(),
        "reason": "FailedCreate",
        "message": error,
    }


def deployment_replica_failure(new_rs: Obj) -> list[Obj]:
    """The new ReplicaSet's ReplicaFailure, copied onto the Deployment (kubernetes/kubernetes
    pkg/controller/deployment/progress.go, getReplicaFailures; util.ReplicaSetToDeploymentCondition)."""
    return [
        {
            "type": c["type"],
            "status": c["status"],
            "lastUpdateTime": c.get("lastTransitionTime"),
            "lastTransitionTime": c.get("lastTransitionTime"),
            "reason": c.get("reason"),
            "message": c.get("message"),
        }
        for c in new_rs.get("status", {}).get("conditions") or []
        if c.get("type") == "ReplicaFailure"
    ]


def _pod_ready(pod: Obj) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in pod.get("status", {}).get("conditions", [])
    )


def _pod_ip(uid: str) -> str:
    value = int(hashlib.sha256(uid.encode()).hexdigest()[:4], 16)
    return f"10.244.{value // 256 % 250}.{value % 250 + 2}"


def _rs_counts(rs: Obj) -> rolling.Counts:
    """spec.replicas and status.availableReplicas; pods above spec.replicas are about to go, so they
    do not count as available (the status is written once per pass and can lag a scale-down)."""
    replicas = int(rs["spec"].get("replicas", 0))
    return rolling.Counts(replicas, min(int(rs.get("status", {}).get("availableReplicas", 0)), replicas))


def pods_ready_for(store: Store, namespace: str, selector: dict[str, str]) -> bool:
    """Whether any Ready pod in `namespace` matches a Service selector (the endpoints check)."""
    if not selector:
        return False
    pods = store.list(store.table.by_kind("Pod"), namespace)
    return any(
        selector_matches({"matchLabels": selector}, p["metadata"].get("labels") or {}) and _pod_ready(p) for p in pods
    )
