"""The object store behind the fake API server: API semantics (uid, resourceVersion, generation,
conflicts, immutability, cascading deletion) and watch event fan-out.

All methods run on the server's event loop; none of them awaits, so each is atomic.
"""

from __future__ import annotations

import asyncio
import base64
import builtins
import collections
import copy
import datetime
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .resources import Resource, ResourceTable

Obj = dict[str, Any]
Key = tuple[Resource, str, str]  # (resource, namespace or "", name)
SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
# NamespaceLifecycle admission (kubernetes/kubernetes staging/src/k8s.io/apiserver/pkg/admission/plugin/
# namespace/lifecycle/admission.go): these may never be deleted (403), and nothing new may be created in a
# namespace whose phase is Terminating (403, cause NamespaceTerminating).
IMMORTAL_NAMESPACES = frozenset({"default", "kube-system", "kube-public"})
# Watch events kept; a watch from an older resourceVersion gets 410 Expired "too old resource version: RV
# (OLDEST)" as the API server's watch cache answers (kubernetes/kubernetes
# staging/src/k8s.io/apiserver/pkg/storage/cacher/watch_cache.go, NewResourceExpired).
HISTORY = 20000


def now_iso() -> str:
    return datetime.datetime.now(tz=datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class ApiError(Exception):
    """An error the API server answers with a `Status` body."""

    def __init__(self, code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details or {}

    def status(self) -> Obj:
        # Field order of the Go struct (apimachinery pkg/apis/meta/v1/types.go, Status): details before code.
        body: Obj = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
        }
        if self.details:
            body["details"] = self.details
        body["code"] = self.code
        return body


def not_found(res: Resource, name: str) -> ApiError:
    qualified = f"{res.plural}.{res.group}" if res.group else res.plural
    return ApiError(
        404,
        "NotFound",
        f'{qualified} "{name}" not found',
        {"name": name, "group": res.group, "kind": res.plural} if res.group else {"name": name, "kind": res.plural},
    )


@dataclass
class WatchEvent:
    revision: int
    type: str  # ADDED | MODIFIED | DELETED
    resource: Resource
    object: Obj


@dataclass
class Store:
    table: ResourceTable = field(default_factory=ResourceTable)
    objects: dict[Key, Obj] = field(default_factory=dict)
    history: collections.deque[WatchEvent] = field(default_factory=lambda: collections.deque(maxlen=HISTORY))
    revision: int = 1
    compacted: int = 0  # history before this revision is gone (Store.compact)
    _subscribers: list[asyncio.Queue[WatchEvent]] = field(default_factory=list)
    _listeners: list[Callable[[WatchEvent], None]] = field(default_factory=list)
    # Mutating admission: (resource, new object, current object or None) -> None, may raise ApiError.
    admission: list[Callable[[Resource, Obj, Obj | None], None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        namespaces = self.table.by_kind("Namespace")
        for name in SYSTEM_NAMESPACES:
            self.create(namespaces, "", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})

    # --- reading ---------------------------------------------------------------------------------
    def get(self, res: Resource, namespace: str, name: str) -> Obj:
        obj = self.objects.get((res, namespace if res.namespaced else "", name))
        if obj is None:
            raise not_found(res, name)
        return obj

    def find(self, res: Resource, namespace: str, name: str) -> Obj | None:
        return self.objects.get((res, namespace if res.namespaced else "", name))

    def list(self, res: Resource, namespace: str | None = None) -> list[Obj]:
        items = [
            obj
            for (r, ns, _), obj in self.objects.items()
            if r == res and (not namespace or not res.namespaced or ns == namespace)
        ]
        return sorted(items, key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))

    def iter_kind(self, kind: str) -> Iterator[Obj]:
        res = self.table.by_kind(kind)
        yield from self.list(res)

    # --- writing ---------------------------------------------------------------------------------
    def _bump(self) -> str:
        self.revision += 1
        return str(self.revision)

    def _emit(self, kind: str, res: Resource, obj: Obj) -> None:
        event = WatchEvent(self.revision, kind, res, copy.deepcopy(obj))
        self.history.append(event)
        for queue in list(self._subscribers):
            queue.put_nowait(event)
        for listener in list(self._listeners):
            listener(event)

    def _check_namespace(self, res: Resource, namespace: str, name: str = "") -> None:
        if not res.namespaced:
            return
        ns = self.objects.get((self.table.by_kind("Namespace"), "", namespace))
        if ns is None:
            raise ApiError(
                404, "NotFound", f'namespaces "{namespace}" not found', {"name": namespace, "kind": "namespaces"}
            )
        if (ns.get("status") or {}).get("phase") == "Terminating":
            qualified = f"{res.plural}.{res.group}" if res.group else res.plural
            raise ApiError(
                403,
                "Forbidden",
                f'{qualified} "{name}" is forbidden: unable to create new content in '
                f"namespace {namespace} because it is being terminated",
                {
                    "name": name,
                    "kind": res.plural,
                    **({"group": res.group} if res.group else {}),
                    "causes": [
                        {
                            "reason": "NamespaceTerminating",
                            "field": "metadata.namespace",
                            "message": f"namespace {namespace} is being terminated",
                        }
                    ],
                },
            )

    @staticmethod
    def _normalise(res: Resource, obj: Obj) -> None:
        obj["apiVersion"], obj["kind"] = res.api_version, res.kind
        if res.kind == "Secret":
            string_data = obj.pop("stringData", None) or {}
            if string_data or obj.get("data") is not None:
                data = obj.setdefault("data", {})
                for key, value in string_data.items():
                    data[key] = base64.b64encode(value.encode()).decode()
            else:
                obj.pop("data", None)
            obj.setdefault("type", "Opaque")
        if res.kind == "Namespace":
            obj.setdefault("spec", {"finalizers": ["kubernetes"]})
            obj.setdefault("status", {})["phase"] = obj.get("status", {}).get("phase") or "Active"
            obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = obj["metadata"]["name"]

    @staticmethod
    def _validate(res: Resource, obj: Obj) -> None:
        """Field validation the clients here rely on (everything else is stored as sent)."""
        if res.kind == "Lease":
            # kubernetes/kubernetes pkg/apis/coordination/validation/validation.go, ValidateLeaseSpec:
            # leaseDurationSeconds and leaseTransitions, when set, must be > 0 and >= 0.
            spec = obj.get("spec") or {}
            causes = []
            if spec.get("leaseDurationSeconds") is not None and int(spec["leaseDurationSeconds"]) <= 0:
                causes.append(("spec.leaseDurationSeconds", spec["leaseDurationSeconds"], "must be greater than 0"))
            if spec.get("leaseTransitions") is not None and int(spec["leaseTransitions"]) < 0:
                causes.append(("spec.leaseTransitions", spec["leaseTransitions"], "must be greater than or equal to 0"))
            if causes:
                name = (obj.get("metadata") or {}).get("name", "")
                message = "; ".join(f"{f}: Invalid value: {v}: {m}" for f, v, m in causes)
                raise ApiError(
                    422,
                    "Invalid",
                    f'Lease.coordination.k8s.io "{name}" is invalid: {message}',
                    {
                        "name": name,
                        "group": "coordination.k8s.io",
                        "kind": "Lease",
                        "causes": [
                            {"reason": "FieldValueInvalid", "message": f"Invalid value: {v}: {m}", "field": f}
                            for f, v, m in causes
                        ],
                    },
                )

    def create(self, res: Resource, namespace: str, body: Obj) -> Obj:
        obj = copy.deepcopy(body)
        meta = obj.setdefault("metadata", {})
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
        name = meta.get("name")
        if not name:
            raise ApiError(
                422,
                "Invalid",
                f'{res.kind} "" is invalid: metadata.name: Required value: name or generateName is required',
                {"kind": res.kind},
            )
        namespace = namespace or meta.get("namespace") or ("default" if res.namespaced else "")
        if res.namespaced:
            if meta.get("namespace") and meta["namespace"] != namespace:
                raise ApiError(
                    400,
                    "BadRequest",
                    "the namespace of the provided object does not match the namespace sent on the request",
                )
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
            namespace = ""
        self._check_namespace(res, namespace, name)
        key = (res, namespace, name)
        if key in self.objects:
            qualified = f"{res.plural}.{res.group}" if res.group else res.plural
            raise ApiError(
                409,
                "AlreadyExists",
                f'{qualified} "{name}" already exists',
                {"name": name, "kind": res.plural, **({"group": res.group} if res.group else {})},
            )
        self._normalise(res, obj)
        self._validate(res, obj)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = now_iso()
        meta.pop("deletionTimestamp", None)
        meta["generation"] = 1
        if res.kind == "Deployment":
            # SetDefaults_Deployment (kubernetes/kubernetes pkg/apis/apps/v1/defaults.go): a Deployment
            # created without replicas (e.g. left to an HPA) has 1 until something scales it.
            obj.pop("status", None)
            spec = obj.setdefault("spec", {})
            spec.setdefault("replicas", 1)
            spec.setdefault("revisionHistoryLimit", 10)
            spec.setdefault("progressDeadlineSeconds", 600)
            spec.setdefault(
                "strategy", {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}
            )
        for admit in self.admission:
            admit(res, obj, None)
        meta["resourceVersion"] = self._bump()
        self.objects[key] = obj
        self._emit("ADDED", res, obj)
        return obj

    def replace(self, res: Resource, namespace: str, name: str, body: Obj, *, subresource: str = "") -> Obj:
        current = self.get(res, namespace, name)
        sent_version = (body.get("metadata") or {}).get("resourceVersion")
        if sent_version and sent_version != current["metadata"]["resourceVersion"]:
            qualified = f"{res.plural}.{res.group}" if res.group else res.plural
            raise ApiError(
                409,
                "Conflict",
                f'Operation cannot be fulfilled on {qualified} "{name}": the object '
                "has been modified; please apply your changes to the latest version and try again",
                {"name": name, "kind": res.plural},
            )
        obj = copy.deepcopy(body)
        meta = obj.setdefault("metadata", {})
        if meta.get("name", name) != name:
            raise ApiError(400, "BadRequest", "the name of the object does not match the name on the URL")
        self._normalise(res, obj)
        self._validate(res, obj)
        if res.kind == "Secret" and current.get("immutable"):
            changed = [f for f in ("data", "immutable") if obj.get(f) != current.get(f)]
            if changed:
                causes = [
                    {
                        "reason": "FieldValueForbidden",
                        "message": "Forbidden: field is immutable when `immutable` is set",
                        "field": f,
                    }
                    for f in changed
                ]
                message = "; ".join(f"{c['field']}: {c['message']}" for c in causes)
                raise ApiError(
                    422,
                    "Invalid",
                    f'Secret "{name}" is invalid: {message}',
                    {"name": name, "kind": "Secret", "causes": causes},
                )
        # Fields the server owns survive every write.
        for owned in ("uid", "creationTimestamp", "namespace", "deletionTimestamp"):
            if owned in current["metadata"]:
                meta[owned] = current["metadata"][owned]
        meta["name"] = name
        if subresource == "status":
            merged = copy.deepcopy(current)
            merged["status"] = obj.get("status", {})
            obj = merged
            meta = obj["metadata"]
        elif res.has_status and res.kind != "Namespace" and subresource != "binding":
            # (pods/binding writes spec.nodeName and the PodScheduled condition together: scheduler.py)
            obj["status"] = copy.deepcopy(current.get("status", {}))
            if not obj["status"]:
                obj.pop("status")
        for admit in self.admission:
            admit(res, obj, current)
        spec_changed = obj.get("spec") != current.get("spec")
        generation = current["metadata"].get("generation", 1)
        meta["generation"] = generation + 1 if spec_changed and subresource not in ("status", "binding") else generation
        if obj == current:
            return current
        meta["resourceVersion"] = self._bump()
        self.objects[(res, current["metadata"].get("namespace", ""), name)] = obj
        self._emit("MODIFIED", res, obj)
        self._maybe_finish_deletion(res, obj)
        return obj

    def delete(self, res: Resource, namespace: str, name: str) -> Obj:
        obj = self.get(res, namespace, name)
        meta = obj["metadata"]
        if res.kind == "Namespace":
            return self._terminate_namespace(res, obj)
        if meta.get("finalizers"):
            if not meta.get("deletionTimestamp"):
                meta["deletionTimestamp"] = now_iso()
                meta["resourceVersion"] = self._bump()
                self._emit("MODIFIED", res, obj)
            return obj
        return self._remove(res, obj)

    def _terminate_namespace(self, res: Resource, obj: Obj) -> Obj:
        """DELETE of a namespace: refused for the immortal ones; otherwise the phase becomes Terminating and
        the namespace controller (Controller.finish_namespaces) empties and removes it later."""
        name = obj["metadata"]["name"]
        if name in IMMORTAL_NAMESPACES:
            raise ApiError(
                403,
                "Forbidden",
                f'namespaces "{name}" is forbidden: this namespace may not be deleted',
                {"name": name, "kind": "namespaces"},
            )
        if obj["metadata"].get("deletionTimestamp"):
            return obj
        obj["metadata"]["deletionTimestamp"] = now_iso()
        obj.setdefault("status", {})["phase"] = "Terminating"
        obj["metadata"]["resourceVersion"] = self._bump()
        self._emit("MODIFIED", res, obj)
        return obj

    def empty_namespace(self, name: str) -> None:
        """The namespace controller's first step: delete everything in it."""
        for (r, ns, _), child in list(self.objects.items()):
            if ns == name and r.namespaced:
                self._remove(r, child)

    def remove_namespace(self, name: str) -> None:
        """The namespace controller's last step: the content, then the namespace itself."""
        res = self.table.by_kind("Namespace")
        obj = self.objects.get((res, "", name))
        if obj is not None:
            self._remove(res, obj)

    def _remove(self, res: Resource, obj: Obj) -> Obj:
        meta = obj["metadata"]
        key = (res, meta.get("namespace", ""), meta["name"])
        if key not in self.objects:
            return obj
        del self.objects[key]
        meta["resourceVersion"] = self._bump()
        self._emit("DELETED", res, obj)
        # The garbage collector and the namespace controller, done at once.
        if res.kind == "Namespace":
            for (r, ns, _), child in list(self.objects.items()):
                if ns == meta["name"] and r.namespaced:
                    self._remove(r, child)
        uid = meta["uid"]
        for (r, _, _), child in list(self.objects.items()):
            if any(ref.get("uid") == uid for ref in child["metadata"].get("ownerReferences") or []):
                self._remove(r, child)
        return obj

    def _maybe_finish_deletion(self, res: Resource, obj: Obj) -> None:
        meta = obj["metadata"]
        if meta.get("deletionTimestamp") and not meta.get("finalizers"):
            self._remove(res, obj)

    # --- watching --------------------------------------------------------------------------------
    def subscribe(self) -> asyncio.Queue[WatchEvent]:
        queue: asyncio.Queue[WatchEvent] = asyncio.Queue()
        self._subscribers.append(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[WatchEvent]) -> None:
        if queue in self._subscribers:
            self._subscribers.remove(queue)

    def add_listener(self, listener: Callable[[WatchEvent], None]) -> None:
        self._listeners.append(listener)

    def compact(self, revision: int) -> None:
        """Forget the history before `revision`, as etcd's compaction does: a watch from an older
        resourceVersion then gets 410 Expired. Compacting past the newest revision moves the revision
        on too: on a real cluster writes never stop (each node renews its Lease every 10 s), so a
        revision can only be compacted after newer ones exist."""
        self.revision = max(self.revision, revision)
        self.compacted = max(self.compacted, revision)
        while self.history and self.history[0].revision <= self.compacted:
            self.history.popleft()

    def events_since(self, revision: int) -> builtins.list[WatchEvent]:
        """Events after `revision`; ApiError 410 when history no longer reaches back that far."""
        oldest = max(self.history[0].revision - 1 if self.history else 0, self.compacted)
        if revision < oldest:
            raise ApiError(410, "Expired", f"too old resource version: {revision} ({oldest})")
        return [e for e in self.history if e.revision > revision]
