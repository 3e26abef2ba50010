"""The HTTP face of the fake cluster: a real aiohttp server speaking the Kubernetes REST API.

It records every request, injects the faults the api-flaky scenario scripts, and serves discovery,
CRUD, the four patch types, label/field selectors, watches and pod logs from the Store.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import gzip
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml
from aiohttp import web

from . import admission, patches, protobuf, scheduler, tables, unserved, wire
from .labelselectors import field_selector, label_selector
from .resources import KUBERNETES_VERSION, Resource, openapi_v3_document, openapi_v3_index, version_document
from .store import ApiError, Obj, Store

CONTROL_PREFIX = "/_fakecluster"


@dataclass
class RecordedRequest:
    """One request as it reached the server (bodies kept raw; protobuf decoded on demand)."""

    method: str
    path: str
    query: dict[str, str]
    content_type: str
    body: bytes
    status: int = 0
    at: float = field(default_factory=time.time)

    @property
    def is_write(self) -> bool:
        return self.method in ("POST", "PUT", "PATCH", "DELETE")

    def json(self) -> Any:
        if not self.body:
            return None
        if self.content_type.startswith(protobuf.PROTOBUF_TYPE):
            return protobuf.decode(self.body)
        if "yaml" in self.content_type:
            return yaml.safe_load(self.body)
        return json.loads(self.body)

    def plaintexts(self) -> list[str]:
        """Every readable form of the body: raw, decoded (protobuf/YAML), each base64 `data` value
        decoded, and helm release payloads (base64 of base64 of gzip) unpacked."""
        texts = [self.body.decode("utf-8", errors="replace")]
        try:
            obj = self.json()
        except Exception:
            return texts
        texts.append(json.dumps(obj))
        data = obj.get("data") if isinstance(obj, dict) else None
        for encoded in (data or {}).values() if isinstance(data, dict) else ():
            texts.extend(_unpack(encoded))
        return texts

    def mentions(self, value: str) -> bool:
        """Whether the body carries `value` in any readable form (plain, base64, inside a helm release)."""
        encoded = base64.b64encode(value.encode()).decode()
        return any(value in text or encoded in text for text in self.plaintexts())

    def __str__(self) -> str:
        query = "&".join(f"{k}={v}" for k, v in self.query.items())
        return f"{self.method} {self.path}{'?' + query if query else ''} -> {self.status}"


def _unpack(encoded: Any) -> list[str]:
    """A Secret data value, decoded; a helm release inside it, unpacked too."""
    if not isinstance(encoded, str):
        return []
    try:
        raw = base64.b64decode(encoded, validate=True)
    except ValueError:
        return []
    found = [raw.decode("utf-8", errors="replace")]
    try:
        inner = base64.b64decode(raw, validate=True)
        if inner[:2] == b"\x1f\x8b":
            found.append(gzip.decompress(inner).decode("utf-8", errors="replace"))
    except (ValueError, OSError):
        pass
    return found


@dataclass
class Faults:
    """Scripted API failures: every `error_every`-th request answers 500 during the error window,
    then an outage (503s first, refused connections after) for `outage_seconds`."""

    start: float = 0.0  # monotonic time the error window opens; 0 = no faults
    error_seconds: float = 0.0
    error_every: int = 3
    outage_seconds: float = 0.0
    _count: int = 0

    def phase(self, now: float) -> str:
        if not self.start or now < self.start:
            return "ok"
        if now < self.start + self.error_seconds:
            return "errors"
        outage_start = self.start + self.error_seconds
        if now < outage_start + self.outage_seconds / 2:
            return "unavailable"
        if now < outage_start + self.outage_seconds:
            return "refused"
        return "ok"

    def verdict(self, now: float) -> int:
        """0 to serve normally, else the status code to answer with."""
        phase = self.phase(now)
        if phase == "errors":
            self._count += 1
            return 500 if self._count % self.error_every == 0 else 0
        if phase in ("unavailable", "refused"):
            return 503
        return 0


LogSource = Callable[[str, str, str], "PodLog"]


class PodLog:
    """What a container printed; a follower waits on `changed`."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.previous: list[str] | None = None  # the last terminated instance's output
        self.changed = asyncio.Event()
        self.waiting_reason: str = ""
        self.closed = False
        self.instance = 0  # bumped when the container restarts: followers of the old one stop

    def append(self, line: str) -> None:
        self.lines.append(line)
        self._notify()

    def restart(self) -> None:
        self.previous, self.lines = self.lines, []
        self.instance += 1
        self._notify()

    def close(self) -> None:
        self.closed = True
        self._notify()

    def _notify(self) -> None:
        self.changed.set()
        self.changed = asyncio.Event()


def _json_response(body: Any, status: int = 200) -> web.Response:
    # Compact, newline-terminated, Status fields in Go order: as the real JSON serializer (wire.py).
    return web.Response(status=status, body=wire.encode(body), content_type="application/json")


def _status_response(err: ApiError) -> web.Response:
    return _json_response(err.status(), err.code)


def _truthy(value: str | None) -> bool:
    return value is not None and value.lower() in ("1", "true", "yes")


@dataclass
class Target:
    res: Resource
    namespace: str
    name: str
    subresource: str


class ApiServer:
    def __init__(
        self,
        store: Store,
        *,
        on_control: Callable[[str, dict[str, Any]], Any] | None = None,
        kubernetes_version: str = KUBERNETES_VERSION["gitVersion"],
    ) -> None:
        self.store = store
        self.version = version_document(kubernetes_version)
        self.requests: list[RecordedRequest] = []
        self.faults = Faults()
        self.logs: dict[tuple[str, str, str], PodLog] = {}
        self.on_control = on_control
        self.down: Callable[[], bool] = lambda: False  # True: the machine is stopped, drop connections
        self.expire_watches = 0  # the next N watches from a resourceVersion find it compacted away (410)
        self._applied: dict[tuple[str, str], Any] = {}  # (uid, field manager) -> last applied intent
        self.app = web.Application(middlewares=[self._record, self._inject_faults], client_max_size=64 * 2**20)
        self.app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self.address = ""

    # --- middlewares -----------------------------------------------------------------------------
    @web.middleware
    async def _record(self, request: web.Request, handler: Callable[..., Any]) -> web.StreamResponse:
        if request.path.startswith(CONTROL_PREFIX):
            return await handler(request)
        body = await request.read()
        entry = RecordedRequest(
            request.method, request.path, dict(request.query), request.headers.get("Content-Type", ""), body
        )
        self.requests.append(entry)
        request["record"] = entry
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            entry.status = exc.status
            raise
        entry.status = response.status
        return response

    @web.middleware
    async def _inject_faults(self, request: web.Request, handler: Callable[..., Any]) -> web.StreamResponse:
        if not request.path.startswith(CONTROL_PREFIX):
            if self.down():
                if request.transport is not None:
                    request.transport.close()
                return web.Response(status=503)
            code = self.faults.verdict(time.monotonic())
            if code == 500:
                return _status_response(
                    ApiError(500, "InternalError", "Internal error occurred: etcdserver: request timed out")
                )
            if code == 503:
                response = _status_response(
                    ApiError(503, "ServiceUnavailable", "the server is currently unable to handle the request")
                )
                response.headers["Retry-After"] = "1"
                return response
        return await handler(request)

    # --- routing ---------------------------------------------------------------------------------
    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path.rstrip("/") or "/"
        try:
            if path.startswith(CONTROL_PREFIX):
                return await self._control(request, path[len(CONTROL_PREFIX) :].strip("/"))
            if path in ("/version",):
                return _json_response(self.version)
            if path in ("/healthz", "/readyz", "/livez"):
                return web.Response(text="ok")
            if path == "/openapi/v3":
                return _json_response(openapi_v3_index(self.store.table))
            if path.startswith("/openapi/v3/"):
                doc = openapi_v3_document(self.store.table, path[len("/openapi/v3/") :])
                if doc is None:
                    raise ApiError(404, "NotFound", "the server could not find the requested resource")
                return _json_response(doc)
            if path == "/api":
                return _json_response(self.store.table.core_versions(self.address))
            if path == "/apis":
                return _json_response(self.store.table.group_list())
            parts = path.strip("/").split("/")
            if parts[0] == "api" and len(parts) >= 2:
                group, version, rest = "", parts[1], parts[2:]
            elif parts[0] == "apis" and len(parts) >= 2:
                unserved.check_path(parts[1], [])
                if len(parts) == 2:
                    doc = self.store.table.group(parts[1])
                    if doc is None:
                        raise ApiError(404, "NotFound", "the server could not find the requested resource")
                    return _json_response(doc)
                group, version, rest = parts[1], parts[2], parts[3:]
            else:
                raise ApiError(404, "NotFound", "the server could not find the requested resource")
            if not rest:
                doc = self.store.table.resource_list(group, version)
                if doc is None:
                    raise ApiError(404, "NotFound", "the server could not find the requested resource")
                return _json_response(doc)
            unserved.check_path(group, rest)
            return await self._resource(request, self._target(group, version, rest))
        except ApiError as err:
            return _status_response(err)

    def _target(self, group: str, version: str, rest: list[str]) -> Target:
        namespace = ""
        if rest[0] == "namespaces" and len(rest) >= 3 and not (len(rest) == 3 and rest[2] in ("status", "finalize")):
            namespace, rest = rest[1], rest[2:]
        res = self.store.table.find(group, version, rest[0])
        if res is None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        name = rest[1] if len(rest) > 1 else ""
        sub = rest[2] if len(rest) > 2 else ""
        if sub and sub not in res.subresources:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        return Target(res, namespace, name, sub)

    async def _body(self, request: web.Request) -> Any:
        raw = await request.read()
        content_type = request.headers.get("Content-Type", "")
        try:
            if content_type.startswith(protobuf.PROTOBUF_TYPE):
                try:
                    return protobuf.decode(raw)
                except protobuf.UnsupportedKind as exc:
                    # Go clients fall back to JSON on 415 (client-go's content-type negotiation).
                    raise ApiError(415, "UnsupportedMediaType", str(exc)) from exc
            if "yaml" in content_type:
                return yaml.safe_load(raw)
            return json.loads(raw) if raw else {}
        except (ValueError, yaml.YAMLError) as exc:
            raise ApiError(400, "BadRequest", f"the body of the request was in an unknown format: {exc}") from exc

    async def _resource(self, request: web.Request, t: Target) -> web.StreamResponse:
        method, query, store = request.method, request.query, self.store
        if t.subresource == "log":
            return await self._pod_log(request, t)
        if method == "GET" and not t.name:
            if _truthy(query.get("watch")):
                return await self._watch(request, t)
            listing = self._list(t, query)
            if tables.wants_table(request.headers.get("Accept", "")):
                return _json_response(
                    tables.table(t.res.kind, listing["items"], listing["metadata"]["resourceVersion"])
                )
            return _json_response(wire.list_items_untyped(listing))
        if method == "GET" and _truthy(query.get("watch")):
            return await self._watch(request, t, name=t.name)
        if method == "GET":
            obj = store.get(t.res, t.namespace, t.name)
            if not t.subresource and tables.wants_table(request.headers.get("Accept", "")):
                return _json_response(tables.table(t.res.kind, [obj], obj["metadata"]["resourceVersion"]))
            return _json_response(self._scale(obj) if t.subresource == "scale" else obj)
        if method == "POST" and t.subresource == "binding" and t.res.kind == "Pod":
            return _json_response(scheduler.binding_request(store, t.namespace, t.name, await self._body(request)), 201)
        if method == "POST" and not t.name:
            body = await self._body(request)
            if query.get("dryRun"):
                return _json_response(body, 201)
            await admission.wait_for_service_account(store, t.res, t.namespace, body)
            return _json_response(store.create(t.res, t.namespace, body), 201)
        if method == "PUT" and t.name:
            body = await self._body(request)
            if t.subresource == "scale":
                return _json_response(self._set_scale(t, body))
            if query.get("dryRun"):
                return _json_response(body)
            return _json_response(store.replace(t.res, t.namespace, t.name, body, subresource=t.subresource))
        if method == "PATCH" and t.name:
            return await self._patch(request, t)
        if method == "DELETE" and t.name:
            if query.get("dryRun"):
                return _json_response(store.get(t.res, t.namespace, t.name))
            return _json_response(store.delete(t.res, t.namespace, t.name))
        if method == "DELETE":
            selected = self._list(t, query)["items"]
            for obj in selected:
                store.delete(t.res, obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
            return _json_response({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"})
        raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")

    def _list(self, t: Target, query: Any) -> Obj:
        by_label = label_selector(query.get("labelSelector"))
        by_field = field_selector(query.get("fieldSelector"))
        items = [o for o in self.store.list(t.res, t.namespace) if by_label(o) and by_field(o)]
        return {
            "kind": f"{t.res.kind}List",
            "apiVersion": t.res.api_version,
            "metadata": {"resourceVersion": str(self.store.revision)},
            "items": copy.deepcopy(items),
        }

    async def _patch(self, request: web.Request, t: Target) -> web.Response:
        store, content_type = self.store, request.headers.get("Content-Type", "")
        body = await self._body(request)
        current = store.find(t.res, t.namespace, t.name)
        if "apply-patch" in content_type:
            manager = request.query.get("fieldManager", "")
            if current is None and request.query.get("dryRun"):
                return _json_response(body, 201)
            if current is None:
                created = store.create(t.res, t.namespace, body)
                self._applied[(created["metadata"]["uid"], manager)] = copy.deepcopy(body)
                return _json_response(created, 201)
            key = (current["metadata"]["uid"], manager)
            target = patches.apply_patch(current, self._applied.get(key), body)
            if not request.query.get("dryRun"):
                self._applied[key] = copy.deepcopy(body)
        elif current is None:
            store.get(t.res, t.namespace, t.name)  # raises NotFound
            raise AssertionError("unreachable")
        else:
            if t.subresource == "scale":
                replicas = (body.get("spec") or {}).get("replicas")
                return _json_response(self._set_scale(t, {"spec": {"replicas": replicas}}))
            try:
                if "json-patch" in content_type:
                    target = patches.json_patch(current, body)
                elif "strategic-merge-patch" in content_type:
                    target = patches.strategic_merge_patch(current, body, t.res.kind)
                else:
                    target = patches.merge_patch(current, body)
            except patches.PatchError as exc:
                raise ApiError(422, "Invalid", str(exc)) from exc
        target.setdefault("metadata", {})["resourceVersion"] = current["metadata"]["resourceVersion"]
        if request.query.get("dryRun"):
            return _json_response(target)
        return _json_response(store.replace(t.res, t.namespace, t.name, target, subresource=t.subresource))

    @staticmethod
    def _scale(obj: Obj) -> Obj:
        meta = obj["metadata"]
        return {
            "kind": "Scale",
            "apiVersion": "autoscaling/v1",
            "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion") if k in meta},
            "spec": {"replicas": obj.get("spec", {}).get("replicas", 0)},
            "status": {"replicas": obj.get("status", {}).get("replicas", 0)},
        }

    def _set_scale(self, t: Target, body: Obj) -> Obj:
        obj = copy.deepcopy(self.store.get(t.res, t.namespace, t.name))
        obj["spec"]["replicas"] = (body.get("spec") or {}).get("replicas", 0)
        return self._scale(self.store.replace(t.res, t.namespace, t.name, obj))

    # --- streaming ------------------------------------------------------------------------------
    async def _watch(self, request: web.Request, t: Target, name: str = "") -> web.StreamResponse:
        query = request.query
        by_label = label_selector(query.get("labelSelector"))
        by_field = field_selector(query.get("fieldSelector"))

        def wanted(res: Resource, obj: Obj) -> bool:
            meta = obj.get("metadata", {})
            return (
                res == t.res
                and (not t.namespace or meta.get("namespace") == t.namespace)
                and (not name or meta.get("name") == name)
                and by_label(obj)
                and by_field(obj)
            )

        queue = self.store.subscribe()  # before the snapshot: no event falls between the two
        try:
            since = query.get("resourceVersion", "")
            initial = _truthy(query.get("sendInitialEvents"))
            pending: list[dict[str, Any]] = []
            if initial or since in ("", "0"):
                pending = [
                    {"type": "ADDED", "object": o} for o in self.store.list(t.res, t.namespace) if wanted(t.res, o)
                ]
                last_seen = self.store.revision
            else:
                try:
                    last_seen = int(since)
                except ValueError as exc:
                    raise ApiError(400, "BadRequest", f"invalid resource version {since!r}") from exc
                if self.expire_watches > 0:  # a test's lever: compaction happened right after the client's list
                    self.expire_watches -= 1
                    self.store.compact(last_seen + 1)
                try:
                    pending = [
                        {"type": e.type, "object": e.object}
                        for e in self.store.events_since(last_seen)
                        if wanted(e.resource, e.object)
                    ]
                except ApiError as expired:  # sent in the stream, as the real server does
                    pending = [{"type": "ERROR", "object": expired.status()}]
                last_seen = self.store.revision
            if initial:
                pending.append(
                    {
                        "type": "BOOKMARK",
                        "object": {
                            "kind": t.res.kind,
                            "apiVersion": t.res.api_version,
                            "metadata": {
                                "resourceVersion": str(self.store.revision),
                                "annotations": {"k8s.io/initial-events-end": "true"},
                            },
                        },
                    }
                )
            as_table = tables.wants_table(request.headers.get("Accept", ""))

            def encode(event: dict[str, Any]) -> bytes:
                obj = event["object"]
                if as_table and event["type"] not in ("BOOKMARK", "ERROR"):
                    obj = tables.table(t.res.kind, [obj], obj["metadata"].get("resourceVersion", ""))
                return wire.encode({"type": event["type"], "object": obj})

            response = web.StreamResponse(headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"})
            await response.prepare(request)
            request["record"].status = 200
            for event in pending:
                await response.write(encode(event))
            if pending and pending[-1]["type"] == "ERROR":
                await response.write_eof()
                return response
            timeout = float(query.get("timeoutSeconds") or 1800)
            deadline = time.monotonic() + timeout
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                if self._interrupted():
                    # An outage or a stopped machine cuts open streams too: drop the connection.
                    if request.transport is not None:
                        request.transport.close()
                    return response
                try:
                    async with asyncio.timeout(min(remaining, 0.25)):  # not wait_for: see controller
                        change = await queue.get()
                except TimeoutError:
                    continue
                if change.revision <= last_seen or not wanted(change.resource, change.object):
                    continue
                await response.write(encode({"type": change.type, "object": change.object}))
            await response.write_eof()
            return response
        except (ConnectionResetError, asyncio.CancelledError):
            raise
        finally:
            self.store.unsubscribe(queue)

    def _interrupted(self) -> bool:
        return self.down() or self.faults.phase(time.monotonic()) in ("unavailable", "refused")

    async def _pod_log(self, request: web.Request, t: Target) -> web.StreamResponse:
        pod = self.store.get(t.res, t.namespace, t.name)
        containers = [c["name"] for c in pod.get("spec", {}).get("containers", [])]
        container = request.query.get("container") or (containers[0] if containers else "")
        if container not in containers:
            raise ApiError(400, "BadRequest", f"container {container} is not valid for pod {t.name}")
        if not request.query.get("container") and len(containers) > 1:
            raise ApiError(
                400,
                "BadRequest",
                f"a container name must be specified for pod {t.name}, choose one of: [{' '.join(containers)}]",
            )
        log = self.logs.get((t.namespace, t.name, container))
        if _truthy(request.query.get("previous")):
            if log is None or log.previous is None:
                raise ApiError(
                    400, "BadRequest", f'previous terminated container "{container}" in pod "{t.name}" not found'
                )
            return web.Response(text="".join(line + "\n" for line in log.previous), content_type="text/plain")
        if log is None or (not log.lines and log.waiting_reason):
            reason = log.waiting_reason if log else "ContainerCreating"
            raise ApiError(
                400, "BadRequest", f'container "{container}" in pod "{t.name}" is waiting to start: {reason}'
            )
        lines = list(log.lines)
        tail = request.query.get("tailLines")
        if tail is not None:
            lines = lines[-int(tail) :] if int(tail) > 0 else []
        if not _truthy(request.query.get("follow")):
            return web.Response(text="".join(line + "\n" for line in lines), content_type="text/plain")
        response = web.StreamResponse(headers={"Content-Type": "text/plain", "Transfer-Encoding": "chunked"})
        await response.prepare(request)
        request["record"].status = 200
        for line in lines:
            await response.write(line.encode() + b"\n")
        sent, instance = len(log.lines), log.instance
        while not log.closed and log.instance == instance:
            changed = log.changed
            await changed.wait()
            if log.instance != instance:
                break
            for line in log.lines[sent:]:
                await response.write(line.encode() + b"\n")
            sent = len(log.lines)
        await response.write_eof()
        return response

    # --- the control endpoint -------------------------------------------------------------------
    async def _control(self, request: web.Request, action: str) -> web.Response:
        body = await request.json() if request.can_read_body else {}
        if self.on_control is None:
            raise ApiError(404, "NotFound", "no control handler")
        result = self.on_control(action, body)
        if asyncio.iscoroutine(result):
            result = await result
        return _json_response(result if result is not None else {"ok": True})
