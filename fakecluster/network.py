"""The node's network: Service IP/NodePort allocation, NodePort and ingress listeners on 127.0.0.1
that forward to a real upstream HTTP server once a Ready pod backs the Service."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import random
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from . import minikube
from .controller import _pod_ready, pods_ready_for
from .labelselectors import selector_matches
from .resources import Resource
from .store import ApiError, Obj, Store

NODE_PORT_RANGE = (30000, 32767)
HOP_HEADERS = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "te",
    "upgrade",
    "proxy-authorization",
    "content-length",
    "host",
}


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Upstream:
    """Where proxied traffic ends: a URL, or the real backend in `backend_dir` started on first use
    ("backend", the default when `backend_dir` holds one), or a tiny built-in server answering /health
    ("builtin")."""

    def __init__(self, spec: str | None, backend_dir: Path | None = None) -> None:
        has_backend = backend_dir is not None and (backend_dir / "todo_api" / "main.py").exists()
        if spec is None:
            spec = "backend" if has_backend else "builtin"
        if spec == "backend" and not has_backend:
            raise ValueError(f"upstream 'backend' needs backend_dir holding todo_api/main.py (got {backend_dir})")
        self.spec = spec
        self.backend_dir = backend_dir
        self.url = spec if spec.startswith("http") else ""
        self._process: subprocess.Popen[bytes] | None = None
        self._runner: web.AppRunner | None = None
        self._lock = asyncio.Lock()
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.log_path: Path | None = None

    async def ensure(self) -> str:
        async with self._lock:
            if self.url:
                return self.url
            if self.spec == "builtin":
                self.url = await self._start_builtin()
            elif self.spec == "backend":
                self.url = await self._start_backend()
            else:
                raise ValueError(f"unknown upstream {self.spec!r}")
            return self.url

    async def _start_builtin(self) -> str:
        async def health(request: web.Request) -> web.Response:
            return web.json_response({"status": "ok"})

        app = web.Application()
        for path in ("/health", "/ready", "/api/health"):
            app.router.add_get(path, health)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        port = free_port()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        return f"http://127.0.0.1:{port}"

    async def _start_backend(self) -> str:
        self._tmp = tempfile.TemporaryDirectory(prefix="fakecluster-backend-")
        port = free_port()
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{self._tmp.name}/todo.db",
            "JWT_SECRET": secrets.token_urlsafe(48),
            "PORT": str(port),
            "HOST": "127.0.0.1",
        }
        env.pop("COHERE_API_KEY", None)
        self.log_path = Path(self._tmp.name) / "backend.log"
        log = self.log_path.open("wb")
        self._process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "todo_api.main:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            cwd=self.backend_dir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        atexit.register(self._kill)  # never leave the backend behind, even if the cluster is not stopped
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                if self._process.poll() is not None:
                    raise RuntimeError(f"the backend exited with {self._process.returncode}; see {self.log_path}")
                with contextlib.suppress(aiohttp.ClientError, OSError):
                    async with session.get(f"{url}/health", timeout=aiohttp.ClientTimeout(total=2)) as resp:
                        if resp.status == 200:
                            return url
                await asyncio.sleep(0.2)
        raise RuntimeError(f"the backend did not answer /health within 30 s; see {self.log_path}")

    def _kill(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()

    async def close(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                await asyncio.to_thread(self._process.wait, 10)
            except subprocess.TimeoutExpired:
                self._process.kill()
        if self._runner is not None:
            await self._runner.cleanup()
        if self._tmp is not None:
            self._tmp.cleanup()


@dataclass
class Listener:
    port: int
    runner: web.AppRunner


@dataclass
class Network:
    store: Store
    upstream: Upstream
    minikube_state: Path
    ingress_port: int | None = None
    # Per-Service upstreams ("name" or "namespace/name" -> URL); others use `upstream`.
    service_upstreams: dict[str, str] = field(default_factory=dict)
    # Real pods: (namespace, selector, targetPort) -> the Ready endpoints' (address, port); traffic goes there.
    endpoints: Callable[[str, dict[str, str], Any], list[tuple[str, int]]] | None = None
    node_ports: dict[int, Listener] = field(default_factory=dict)
    bind_errors: list[str] = field(default_factory=list)
    ingress: Listener | None = None
    _session: aiohttp.ClientSession | None = None
    _next_ip: int = 10
    _warmup: asyncio.Task[Any] | None = None
    # Seconds from an Ingress change until the controller serves it (ingress_sync_after); until then its
    # host falls to the catch-all server's 404, as ingress-nginx syncs at most 0.3 times a second
    # (kubernetes/ingress-nginx pkg/flags/flags.go --sync-rate-limit, internal/ingress/controller/nginx.go;
    # the default server's `return 404` in rootfs/etc/nginx/template/nginx.tmpl).
    ingress_sync_after: float = 0.0
    ingress_address: str = "127.0.0.1"
    _ingress_seen: dict[tuple[str, int], float] = field(default_factory=dict)

    async def _warm_upstream(self) -> None:
        with contextlib.suppress(Exception):
            await self.upstream.ensure()

    def install(self) -> None:
        self.store.admission.append(self._admit_service)

    # --- admission: the service IP and node port allocators ----------------------------------------
    def _admit_service(self, res: Resource, obj: Obj, current: Obj | None) -> None:
        if res.kind != "Service":
            return
        spec = obj.setdefault("spec", {})
        spec.setdefault("type", "ClusterIP")
        old_spec = (current or {}).get("spec", {})
        if spec.get("clusterIP") != "None":
            if not spec.get("clusterIP"):
                if old_spec.get("clusterIP"):
                    spec["clusterIP"] = old_spec["clusterIP"]
                else:
                    self._next_ip += 1
                    spec["clusterIP"] = f"10.96.{self._next_ip // 250}.{self._next_ip % 250}"
            spec["clusterIPs"] = [spec["clusterIP"]]
        spec.setdefault("sessionAffinity", "None")
        spec.setdefault("ipFamilies", ["IPv4"])
        old_ports = {p.get("port"): p for p in old_spec.get("ports") or []}
        taken = self._taken_node_ports(exclude=obj)
        for port in spec.get("ports") or []:
            port.setdefault("protocol", "TCP")
            port.setdefault("targetPort", port.get("port"))
            if spec["type"] not in ("NodePort", "LoadBalancer"):
                port.pop("nodePort", None)
                continue
            wanted = port.get("nodePort") or old_ports.get(port.get("port"), {}).get("nodePort")
            if wanted:
                if not NODE_PORT_RANGE[0] <= wanted <= NODE_PORT_RANGE[1]:
                    raise ApiError(
                        422,
                        "Invalid",
                        f'Service "{obj["metadata"]["name"]}" is invalid: '
                        f"spec.ports[0].nodePort: Invalid value: {wanted}: provided port is not in the "
                        "valid range. The range of valid ports is 30000-32767",
                        {"name": obj["metadata"]["name"], "kind": "Service"},
                    )
                if wanted in taken:
                    raise ApiError(
                        422,
                        "Invalid",
                        f'Service "{obj["metadata"]["name"]}" is invalid: '
                        f"spec.ports[0].nodePort: Invalid value: {wanted}: provided port is already "
                        "allocated",
                        {"name": obj["metadata"]["name"], "kind": "Service"},
                    )
                port["nodePort"] = wanted
            else:
                port["nodePort"] = self._pick_node_port(taken)
            taken.add(port["nodePort"])

    def _taken_node_ports(self, exclude: Obj) -> set[int]:
        taken: set[int] = set()
        for svc in self.store.iter_kind("Service"):
            if svc["metadata"].get("uid") == exclude["metadata"].get("uid"):
                continue
            taken.update(p["nodePort"] for p in svc.get("spec", {}).get("ports") or [] if p.get("nodePort"))
        return taken

    @staticmethod
    def _pick_node_port(taken: set[int]) -> int:
        for _ in range(200):
            port = secrets.randbelow(NODE_PORT_RANGE[1] - NODE_PORT_RANGE[0]) + NODE_PORT_RANGE[0]
            if port not in taken and port_is_free(port):
                return port
        raise ApiError(500, "InternalError", "no free node port")

    # --- listeners ----------------------------------------------------------------------------------
    async def start(self) -> None:
        self._session = aiohttp.ClientSession(auto_decompress=False)
        if self.ingress_port is not None:
            self.ingress = await self._listen(self.ingress_port, self._serve_ingress, self.ingress_address)

    async def sync(self) -> None:
        """Open a listener for every node port in use, close the ones no Service holds any more."""
        for ing in self.store.iter_kind("Ingress"):  # the controller notices a new Ingress from now
            self._ingress_synced(ing)
        wanted: dict[int, Obj] = {}
        for svc in self.store.iter_kind("Service"):
            for port in svc.get("spec", {}).get("ports") or []:
                if port.get("nodePort"):
                    wanted[port["nodePort"]] = svc
        for port in [p for p in self.node_ports if p not in wanted]:
            await self.node_ports.pop(port).runner.cleanup()
        for port in wanted:
            if port not in self.node_ports and f"node port {port}" not in " ".join(self.bind_errors):
                listener = await self._listen(port, self._serve_node_port)
                if listener is not None:
                    self.node_ports[port] = listener
                    # Warm the upstream up while the pods "start", so the first request is not slow.
                    if self.endpoints is None:
                        self._warmup = self._warmup or asyncio.create_task(self._warm_upstream())

    async def run(self) -> None:
        while True:
            await self.sync()
            await asyncio.sleep(0.2)

    async def _listen(self, port: int, handler: Any, address: str = "127.0.0.1") -> Listener | None:
        app = web.Application(client_max_size=64 * 2**20)
        app.router.add_route("*", "/{tail:.*}", handler)
        app["port"] = port
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        try:
            await web.TCPSite(runner, address, port).start()
        except OSError as exc:
            await runner.cleanup()
            self.bind_errors.append(f"node port {port}: {exc}" if port != self.ingress_port else f"ingress {exc}")
            return None
        return Listener(port, runner)

    def _service_ready(self, svc: Obj) -> bool:
        return pods_ready_for(self.store, svc["metadata"]["namespace"], svc.get("spec", {}).get("selector") or {})

    def _cluster_up(self) -> bool:
        return minikube.is_running(minikube.read_state(self.minikube_state))

    async def _serve_node_port(self, request: web.Request) -> web.StreamResponse:
        port = request.app["port"]
        svc = next(
            (
                s
                for s in self.store.iter_kind("Service")
                if any(p.get("nodePort") == port for p in s.get("spec", {}).get("ports") or [])
            ),
            None,
        )
        if svc is None or not self._cluster_up() or not self._service_ready(svc):
            return self._refuse(request)
        entry = next(p for p in svc.get("spec", {}).get("ports") or [] if p.get("nodePort") == port)
        return await self._forward(request, svc, entry)

    async def _serve_ingress(self, request: web.Request) -> web.StreamResponse:
        state = minikube.read_state(self.minikube_state)
        if not minikube.is_running(state) or not state.get("addons", {}).get("ingress"):
            return self._refuse(request)
        host = request.host.split(":")[0]
        for ing in self.store.iter_kind("Ingress"):
            if not self._ingress_synced(ing):
                continue
            for rule in ing.get("spec", {}).get("rules") or []:
                if rule.get("host") not in (None, "", host):
                    continue
                for path in (rule.get("http") or {}).get("paths") or []:
                    prefix = path.get("path") or "/"
                    if not request.path.startswith(prefix.rstrip("/") or "/"):
                        continue
                    backend = path.get("backend", {}).get("service", {})
                    name = backend.get("name", "")
                    svc = self.store.find(self.store.table.by_kind("Service"), ing["metadata"]["namespace"], name)
                    if svc is None or not self._service_ready(svc):
                        return web.Response(
                            status=503,
                            content_type="text/html",
                            text=(
                                "<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n"
                                "<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n<hr><center>nginx"
                                "</center>\r\n</body>\r\n</html>\r\n"
                            ),
                        )
                    wanted = backend.get("port") or {}
                    entry = next(
                        (
                            p
                            for p in svc.get("spec", {}).get("ports") or []
                            if p.get("port") == wanted.get("number")
                            or (wanted.get("name") and p.get("name") == wanted.get("name"))
                        ),
                        None,
                    )
                    return await self._forward(request, svc, entry)
        return web.Response(
            status=404,
            content_type="text/html",
            text=(
                "<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n<center><h1>404 Not Found</h1>"
                "</center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
            ),
        )

    def _ingress_synced(self, ing: Obj) -> bool:
        meta = ing["metadata"]
        key = (meta.get("uid", ""), int(meta.get("generation", 1)))
        first_seen = self._ingress_seen.setdefault(key, time.monotonic())
        return time.monotonic() - first_seen >= self.ingress_sync_after

    @staticmethod
    def _refuse(request: web.Request) -> web.StreamResponse:
        """No ready endpoint: the connection drops, as kube-proxy's REJECT rule makes it."""
        if request.transport is not None:
            request.transport.close()
        return web.Response(status=503)

    def _upstream_url(self, svc: Obj) -> str | None:
        meta = svc["metadata"]
        return self.service_upstreams.get(f"{meta['namespace']}/{meta['name']}") or self.service_upstreams.get(
            meta["name"]
        )

    def _endpoint_url(self, svc: Obj, entry: Obj | None) -> str | None:
        """A Ready pod behind the Service port, picked at random as kube-proxy does (None: no endpoint)."""
        assert self.endpoints is not None
        if entry is None:
            return None
        targets = self.endpoints(
            svc["metadata"]["namespace"],
            svc.get("spec", {}).get("selector") or {},
            entry.get("targetPort", entry.get("port")),
        )
        if not targets:
            return None
        address, port = random.choice(targets)
        return f"http://{address}:{port}"

    async def endpoint_url(self, svc: Obj, entry: Obj | None = None) -> str | None:
        """Where traffic to a Service port ends: the one place NodePort, ingress and port-forward traffic
        is routed. A per-Service upstream, else with real pods a Ready pod's address (None: no ready
        endpoint), else the shared upstream (RuntimeError when it cannot start)."""
        base = self._upstream_url(svc)
        if base is None and self.endpoints is not None:
            return self._endpoint_url(svc, entry)
        return base or await self.upstream.ensure()

    async def _forward(self, request: web.Request, svc: Obj, entry: Obj | None = None) -> web.StreamResponse:
        assert self._session is not None
        try:
            base = await self.endpoint_url(svc, entry)
        except RuntimeError as exc:
            return web.Response(status=502, text=f"upstream failed to start: {exc}")
        if base is None:
            return self._refuse(request)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_HEADERS}
        body = await request.read()
        try:
            async with self._session.request(
                request.method,
                f"{base}{request.rel_url}",
                headers=headers,
                data=body or None,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=30),
            ) as upstream:
                payload = await upstream.read()
                out_headers = {k: v for k, v in upstream.headers.items() if k.lower() not in HOP_HEADERS}
                return web.Response(status=upstream.status, body=payload, headers=out_headers)
        except (aiohttp.ClientError, OSError):
            return self._refuse(request)

    # --- kubectl port-forward (the fake's kubectl shim asks here) -----------------------------------
    async def port_forward(self, namespace: str, target: str, remote: str) -> Obj:
        """Resolve `kubectl port-forward TARGET [LOCAL:]REMOTE` as kubectl does: a Service or Deployment
        picks one of its pods, ready and running ones first (kubernetes/kubectl
        pkg/polymorphichelpers/attachablepodforobject.go, GetFirstPod with ActivePods), the pod must be
        Running (pkg/cmd/portforward/portforward.go), and a Service port becomes the pod's target port
        (translateServicePortToTargetPort). Answers {"pod", "container_port", "address"} or {"error"}."""
        kind, _, name = target.rpartition("/")
        kind = {
            "": "pod",
            "po": "pod",
            "pods": "pod",
            "svc": "service",
            "services": "service",
            "deploy": "deployment",
            "deployments": "deployment",
        }.get(kind.lower(), kind.lower())
        store = self.store
        svc: Obj | None = None
        if kind == "pod":
            pod = store.find(store.table.by_kind("Pod"), namespace, name)
            if pod is None:
                return {"error": f'Error from server (NotFound): pods "{name}" not found'}
            pods = [pod]
        elif kind in ("service", "deployment"):
            owner = store.find(store.table.by_kind("Service" if kind == "service" else "Deployment"), namespace, name)
            if owner is None:
                plural = "services" if kind == "service" else "deployments.apps"
                return {"error": f'Error from server (NotFound): {plural} "{name}" not found'}
            if kind == "service":
                svc, selector = owner, {"matchLabels": (owner.get("spec") or {}).get("selector") or {}}
            else:
                selector = (owner.get("spec") or {}).get("selector") or {}
            pods = [
                p
                for p in store.list(store.table.by_kind("Pod"), namespace)
                if selector.get("matchLabels") and selector_matches(selector, p["metadata"].get("labels") or {})
            ]
        else:
            return {"error": f'error: the server doesn\'t have a resource type "{kind}"'}
        if not pods:
            return {"waiting": True}  # kubectl watches for a pod until --pod-running-timeout
        pods.sort(
            key=lambda p: (not _pod_ready(p), (p.get("status") or {}).get("phase") != "Running", p["metadata"]["name"])
        )
        pod = pods[0]
        phase = (pod.get("status") or {}).get("phase") or "Pending"
        if phase != "Running":
            return {"error": f"error: unable to forward port because pod is not running. Current status={phase}"}
        container_port = _container_port(svc, pod, remote)
        if isinstance(container_port, str):
            return {"error": container_port}
        if svc is None:  # a per-Service upstream still applies to the Service that selects the pod
            svc = next(
                (
                    s
                    for s in store.list(store.table.by_kind("Service"), namespace)
                    if (s.get("spec") or {}).get("selector")
                    and selector_matches({"matchLabels": s["spec"]["selector"]}, pod["metadata"].get("labels") or {})
                ),
                None,
            )
        entry = {"port": container_port, "targetPort": container_port}
        if svc is None:  # a pod or a Deployment named directly: its pods' own addresses
            svc = {"metadata": pod["metadata"], "spec": {"selector": pod["metadata"].get("labels") or {}}}
        try:
            url = await self.endpoint_url(svc, entry)
        except RuntimeError as exc:
            return {"error": f"error: {exc}"}
        if url is None:
            return {"error": f"error: unable to forward port because pod is not running. Current status={phase}"}
        parsed = urllib.parse.urlsplit(url)
        return {
            "pod": pod["metadata"]["name"],
            "container_port": container_port,
            "address": [parsed.hostname or "127.0.0.1", parsed.port or 80],
        }

    async def close(self) -> None:
        if self._warmup is not None:
            self._warmup.cancel()
            await asyncio.gather(self._warmup, return_exceptions=True)
        for listener in self.node_ports.values():
            await listener.runner.cleanup()
        self.node_ports.clear()
        if self.ingress is not None:
            await self.ingress.runner.cleanup()
        if self._session is not None:
            await self._session.close()
        await self.upstream.close()


def _container_port(svc: Obj | None, pod: Obj, remote: str) -> int | str:
    """The pod's port for `remote` (a number or a port name; a Service port when forwarding to a
    Service), or kubectl's error text."""
    containers = (pod.get("spec") or {}).get("containers") or []
    by_name = {p.get("name"): p.get("containerPort") for c in containers for p in c.get("ports") or [] if p.get("name")}
    if svc is None:
        if remote.isdigit():
            return int(remote)
        return by_name.get(remote) or f"error: Pod '{pod['metadata']['name']}' does not have a named port '{remote}'"
    ports = (svc.get("spec") or {}).get("ports") or []
    entry = next(
        (p for p in ports if (remote.isdigit() and p.get("port") == int(remote)) or p.get("name") == remote), None
    )
    if entry is None:
        return f"error: Service {svc['metadata']['name']} does not have a service port {remote}"
    target = entry.get("targetPort", entry.get("port"))
    if isinstance(target, int) or str(target).isdigit():
        return int(target)
    return by_name.get(target) or f"error: Pod '{pod['metadata']['name']}' does not have a named port '{target}'"
