"""FakeCluster: the API server, the simulated controllers, the node network and the fake `minikube`,
running on an event loop in a background thread, with a synchronous handle for tests and the CLI."""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

import yaml
from aiohttp import web

from . import admission, minikube, topology
from .addons import INGRESS_CLASS, INGRESS_NAMESPACE, WEBHOOK_CONFIGURATION, ingress_objects
from .apiserver import CONTROL_PREFIX, ApiServer, RecordedRequest
from .controller import Controller, pods_ready_for
from .docker_tls import DockerTls
from .ingress_webhook import ingress_webhook
from .kubelet import NodeAgent
from .network import Network, Upstream, port_is_free
from .scenarios import Scenario, Timings
from .serviceaccounts import ServiceAccountsController
from .store import Obj, Store

MINIKUBE_SCRIPT = Path(__file__).resolve().parent / "minikube.py"
KUBECTL_SHIM = Path(__file__).resolve().parent / "kubectl_shim.py"
T = TypeVar("T")


def _path_or_env(value: str | Path | None, variable: str) -> Path | None:
    """A path given by the caller, else from the environment, else none: the package knows no repository."""
    chosen = value if value is not None else os.environ.get(variable)
    return Path(chosen).resolve() if chosen else None


def write_kubeconfig(path: Path, server: str) -> None:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [{"name": "minikube", "cluster": {"server": server}}],
        "contexts": [
            {"name": "minikube", "context": {"cluster": "minikube", "user": "minikube", "namespace": "default"}}
        ],
        "current-context": "minikube",
        "users": [{"name": "minikube", "user": {}}],
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    path.chmod(0o600)


def write_minikube_bin(bin_dir: Path, state_path: Path) -> Path:
    bin_dir.mkdir(parents=True, exist_ok=True)
    script = bin_dir / "minikube"
    script.write_text(
        f"#!{sys.executable}\n"
        "import os, runpy, sys\n"
        f"os.environ.setdefault('FAKE_MINIKUBE_STATE', {str(state_path)!r})\n"
        "sys.argv[0] = 'minikube'\n"
        f"runpy.run_path({str(MINIKUBE_SCRIPT)!r}, run_name='__main__')\n"
    )
    script.chmod(0o755)
    return script


def write_kubectl_bin(bin_dir: Path, control_url: str, tools_bin: Path | None) -> Path | None:
    """`<bin>/kubectl`: port-forward emulated (fakecluster/kubectl_shim.py), the rest the real kubectl
    (from `tools_bin`, else the first on PATH)."""
    real = tools_bin / "kubectl" if tools_bin else None
    found = str(real) if real is not None and real.exists() else shutil.which("kubectl")
    if not found:
        return None
    bin_dir.mkdir(parents=True, exist_ok=True)
    script = bin_dir / "kubectl"
    script.write_text(
        f"#!{sys.executable}\n"
        "import os, runpy, sys\n"
        f"os.environ['FAKE_KUBECTL_REAL'] = {found!r}\n"
        f"os.environ['FAKE_KUBECTL_CONTROL'] = {control_url!r}\n"
        "sys.argv[0] = 'kubectl'\n"
        f"runpy.run_path({str(KUBECTL_SHIM)!r}, run_name='__main__')\n"
    )
    script.chmod(0o755)
    return script


class FakeCluster:
    """A fake minikube cluster. Use as a context manager:

        with FakeCluster(scenario="healthy") as cluster:
            subprocess.run(["helm", "list"], env=cluster.env)
            assert not [r for r in cluster.requests if r.is_write]

    scenario: see scenarios.Scenario; binds ReplicaSets created from then on (set_scenario switches).
    state_dir: kubeconfig, minikube.json, bin/minikube, scenario file (default: a temp dir, removed on stop).
    upstream: what NodePort/ingress traffic reaches: a URL, "backend" (the backend in backend_dir under
        uvicorn with SQLite; the default when backend_dir is given) or "builtin" (answers /health,
        /ready, /api/health; the default otherwise).
    backend_dir: the directory holding the backend's `todo_api` package (default: $FAKECLUSTER_BACKEND_DIR).
    tools_bin: a directory of pinned helm/kubectl put on `env["PATH"]` after the fake minikube
        (default: $FAKECLUSTER_TOOLS_BIN).
    service_upstreams: per-Service URLs ("name" or "namespace/name"), e.g. a real frontend container.
    ingress_port: where the emulated ingress listens (None: nowhere; "auto": 80 if free).
    ingress_address: the loopback address it listens on (default 127.0.0.1; node ports stay on
        127.0.0.1). With `set_minikube(ip=...)` set to the same address, `minikube ip`:80 reaches the
        ingress alone, as through `minikube tunnel`; a test can pick its own 127.x address so port 80
        is free whatever else runs on the machine.
    port: the API server port (0: any free port).
    timings: readiness, crash and outage timings (default: Timings.from_env()).
    real_pods: run each pod as Docker containers under its spec (kubelet.NodeAgent) in the scenarios
        that can be real (healthy, missing-secret-key, image-not-loaded, api-flaky); the others stay scripted.
    nodes: how many nodes (`minikube`, `minikube-m02`, ... as `minikube start --nodes N`; default 1).
    zones: zone names spread over the nodes round-robin as `topology.kubernetes.io/zone` labels.
    kubernetes_version: what `GET /version` says (default: $FAKECLUSTER_KUBERNETES_VERSION or v1.35.0).
    scenario_components: the scenario binds only ReplicaSets and pods whose `app.kubernetes.io/component`
        label is one of these; the others are healthy (e.g. ("backend",): only the backend crash-loops).
        Default: every workload.
    """

    def __init__(
        self,
        scenario: str | Scenario = "healthy",
        *,
        state_dir: str | Path | None = None,
        upstream: str | None = None,
        ingress_port: int | str | None = None,
        port: int = 0,
        timings: Timings | None = None,
        service_upstreams: dict[str, str] | None = None,
        backend_dir: str | Path | None = None,
        tools_bin: str | Path | None = None,
        real_pods: bool = False,
        nodes: int = 1,
        zones: list[str] | None = None,
        ingress_address: str = "127.0.0.1",
        kubernetes_version: str | None = None,
        scenario_components: Sequence[str] | None = None,
    ) -> None:
        self.real_pods = real_pods
        self._scenario = Scenario.parse(scenario)
        self.scenario_components = frozenset(scenario_components) if scenario_components is not None else None
        self.node_specs = topology.node_specs(nodes, zones)
        self.kubernetes_version = kubernetes_version or os.environ.get("FAKECLUSTER_KUBERNETES_VERSION") or "v1.35.0"
        self._own_dir = state_dir is None
        self.state_dir = Path(state_dir or tempfile.mkdtemp(prefix="fakecluster-"))
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.timings = timings or Timings.from_env()
        self._requested_port = port
        self._ingress_spec = ingress_port
        self.ingress_address = ingress_address
        self._upstream_spec = upstream
        self._service_upstreams = dict(service_upstreams or {})
        self.backend_dir = _path_or_env(backend_dir, "FAKECLUSTER_BACKEND_DIR")
        self.tools_bin = _path_or_env(tools_bin, "FAKECLUSTER_TOOLS_BIN")
        self.minikube_state_path = self.state_dir / "minikube.json"
        self.kubeconfig = self.state_dir / "kubeconfig"
        self.bin_dir = self.state_dir / "bin"
        self.scenario_file = self.state_dir / "scenario"
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None
        self._stop: asyncio.Event | None = None
        self._site: web.TCPSite | None = None
        self._runner: web.AppRunner | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self.store: Store | None = None
        self.api: ApiServer | None = None
        self.network: Network | None = None
        self.controller: Controller | None = None
        self.node: NodeAgent | None = None
        self._docker_tls: DockerTls | None = None

    # --- lifecycle ----------------------------------------------------------------------------------
    def __enter__(self) -> FakeCluster:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._thread_main, name="fakecluster", daemon=True)
        self._thread.start()
        self._ready.wait(30)
        if self._startup_error is not None:
            raise RuntimeError("the fake cluster failed to start") from self._startup_error
        if not self._ready.is_set():
            raise RuntimeError("the fake cluster did not start within 30 s")

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(60 if self.real_pods else 10)  # real pods: their containers are removed
            if self._thread.is_alive():  # a task ignored its cancellation: say which, do not hang
                print("fakecluster: the server thread did not stop within 10 s; pending tasks:", file=sys.stderr)
                for task in asyncio.all_tasks(self._loop):
                    task.print_stack(file=sys.stderr)
            self._thread = None  # stopping twice is harmless
        if self._own_dir:
            shutil.rmtree(self.state_dir, ignore_errors=True)

    def _thread_main(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported to start(); the thread must not die silently
            self._startup_error = exc
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self.store = Store()
        self.api = ApiServer(self.store, on_control=self._control, kubernetes_version=self.kubernetes_version)
        self.api.down = self._api_down
        self._runner = web.AppRunner(self.api.app, access_log=None, handler_cancellation=True, shutdown_timeout=1.0)
        await self._runner.setup()
        self._site = web.TCPSite(self._runner, "127.0.0.1", self._requested_port, reuse_address=True)
        await self._site.start()
        self.port = self._runner.addresses[0][1]
        self.api.address = f"127.0.0.1:{self.port}"
        minikube.write_state(self.minikube_state_path, minikube.default_state(self.port, str(self.kubeconfig)))
        write_kubeconfig(self.kubeconfig, self.url)
        write_minikube_bin(self.bin_dir, self.minikube_state_path)
        write_kubectl_bin(self.bin_dir, f"{self.url}{CONTROL_PREFIX}", self.tools_bin)
        ingress_port = self._ingress_port()
        if self.real_pods:
            self.node = NodeAgent(
                self.store,
                self.api.logs,
                self.state_dir,
                self._node_event,
                self._wake_controller,
                probe_scale=self.timings.probe_scale,
                probe_period_scale=self.timings.probe_period_scale,
                backoff_scale=self.timings.backoff_scale,
                tick=self.timings.tick,
            )
        upstream = Upstream(self._upstream_spec, self.backend_dir)
        self.network = Network(
            self.store,
            upstream,
            self.minikube_state_path,
            ingress_port,
            self._service_upstreams,
            endpoints=self.node.endpoints if self.node else None,
        )
        self.network.ingress_sync_after = self.timings.ingress_sync_after
        self.network.ingress_address = self.ingress_address
        self.network.install()
        admission.install(self.store)
        self.store.admission.append(ingress_webhook(self.store, pods_ready_for))
        ServiceAccountsController(self.store, self.timings.service_account_delay).start()
        await self.network.start()
        self.controller = Controller(
            self.store,
            self.api.logs,
            self.minikube_state_path,
            self._scenario_for,
            self.timings,
            agent=self.node,
            nodes=self.node_specs,
        )
        self._tasks = [
            asyncio.create_task(self.controller.run()),
            asyncio.create_task(self.network.run()),
            *([asyncio.create_task(self.node.run())] if self.node else []),
            asyncio.create_task(self._watch_scenario_file()),
            asyncio.create_task(self._supervise_listener()),
        ]
        self._apply_scenario(self._scenario)
        self._ready.set()
        await self._stop.wait()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.network.close()
        if self.node is not None:
            await self.node.close()
        if self._docker_tls is not None:
            await self._docker_tls.close()
        await self._runner.cleanup()

    def _node_event(self, involved: Obj, type_: str, reason: str, message: str, component: str) -> None:
        if self.controller is not None:
            self.controller.event(involved, type_, reason, message, component)

    def _wake_controller(self) -> None:
        if self.controller is not None:
            self.controller.wake()

    def _ingress_port(self) -> int | None:
        if self._ingress_spec in (None, "", "none", "off"):
            return None
        if self._ingress_spec == "auto":
            return 80 if port_is_free(80, self.ingress_address) else None
        return int(self._ingress_spec)

    # --- scenarios and faults -------------------------------------------------------------------------
    def _apply_scenario(self, scenario: Scenario) -> None:
        """Runs on the loop. The scenario binds ReplicaSets (and bare pods) created from now on."""
        self._scenario = scenario
        self.scenario_file.write_text(scenario.value)
        minikube.update_state(self.minikube_state_path, silent_image_load=scenario is Scenario.IMAGE_NOT_LOADED)
        assert self.api is not None
        if scenario is Scenario.API_FLAKY:
            self._schedule_outage(
                self.timings.flaky_delay, self.timings.flaky_error_seconds, self.timings.outage_seconds
            )
        else:
            self.api.faults.start = 0.0

    def _schedule_outage(self, delay: float, error_seconds: float, outage_seconds: float) -> None:
        assert self.api is not None
        faults = self.api.faults
        faults.start = time.monotonic() + delay
        faults.error_seconds, faults.outage_seconds = error_seconds, outage_seconds

    async def _supervise_listener(self) -> None:
        """Close the API port while the machine is stopped or an outage refuses connections; reopen after."""
        assert self.api is not None and self._runner is not None
        listening = True
        while True:
            await asyncio.sleep(0.05)
            wanted = not self._api_down() and self.api.faults.phase(time.monotonic()) != "refused"
            if wanted == listening:
                continue
            if not wanted and self._site is not None:
                await self._site.stop()
                listening = False
            else:
                self._site = web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True)
                try:
                    await self._site.start()
                    listening = True
                except OSError:
                    pass

    def _sync_addons(self) -> None:
        """Install or remove what the ingress addon brings, following the minikube state file."""
        assert self.store is not None
        enabled = bool(self.minikube_state.get("addons", {}).get("ingress"))
        namespaces = self.store.table.by_kind("Namespace")
        present = self.store.find(namespaces, "", INGRESS_NAMESPACE) is not None
        if enabled and not present:
            for kind, namespace, obj in ingress_objects():
                self.store.create(self.store.table.by_kind(kind), namespace, obj)
        elif present and not enabled:
            self.store.delete(namespaces, "", INGRESS_NAMESPACE)
            for kind, name in (
                ("IngressClass", INGRESS_CLASS),
                ("ValidatingWebhookConfiguration", WEBHOOK_CONFIGURATION),
            ):
                res = self.store.table.by_kind(kind)
                if self.store.find(res, "", name) is not None:
                    self.store.delete(res, "", name)

    async def _watch_scenario_file(self) -> None:
        while True:
            await asyncio.sleep(0.2)
            self._sync_addons()
            try:
                name = self.scenario_file.read_text().strip()
            except OSError:
                continue
            if name and name != self._scenario.value:
                try:
                    self._apply_scenario(Scenario.parse(name))
                except ValueError:
                    self.scenario_file.write_text(self._scenario.value)

    def _api_down(self) -> bool:
        return not minikube.is_running(minikube.read_state(self.minikube_state_path))

    def _control(self, action: str, body: dict[str, Any]) -> Any:
        if action == "scenario":
            if body.get("name"):
                self._apply_scenario(Scenario.parse(body["name"]))
            return {"scenario": self._scenario.value}
        if action == "outage":
            self._schedule_outage(
                float(body.get("delay", 0)), float(body.get("error_seconds", 0)), float(body.get("seconds", 10))
            )
            return {"ok": True}
        if action == "docker-tls":
            return self._docker_tls_endpoint()
        if action == "port-forward":
            assert self.network is not None
            return self.network.port_forward(
                str(body.get("namespace") or "default"), str(body.get("target", "")), str(body.get("port", ""))
            )
        if action == "expire-watches":
            assert self.api is not None
            self.api.expire_watches = int(body.get("count", 1))
            return {"ok": True}
        if action == "state":
            return {
                "scenario": self._scenario.value,
                "port": self.port,
                "node_ports": sorted(self.network.node_ports) if self.network else [],
                "requests": len(self.api.requests) if self.api else 0,
            }
        raise ValueError(action)

    async def _docker_tls_endpoint(self) -> dict[str, Any]:
        """Start the node engine's TLS endpoint on first use (making certificates takes a moment)."""
        if self._docker_tls is None:
            tls = DockerTls(self.state_dir / "certs")
            await tls.start()
            self._docker_tls = tls
        return {"port": self._docker_tls.port, "cert_path": str(self._docker_tls.cert_dir)}

    # --- the synchronous handle -----------------------------------------------------------------------
    def call(self, fn: Callable[[], T]) -> T:
        """Run `fn` on the cluster's loop (where all state lives) and return its result."""
        assert self._loop is not None

        async def wrapper() -> T:
            return fn()

        future: Future[T] = asyncio.run_coroutine_threadsafe(wrapper(), self._loop)
        return future.result(30)

    def upstream_url(self) -> str:
        """Where the Services' traffic lands (the real backend, the stub or the given URL), started if
        need be: what a load balancer in front of a real cluster would answer, for `up --url`."""
        assert self._loop is not None and self.network is not None
        return asyncio.run_coroutine_threadsafe(self.network.upstream.ensure(), self._loop).result(60)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        """Environment for subprocesses: fake minikube and pinned tools first on PATH, the kubeconfig,
        and helm/kubectl caches inside the state dir."""
        tools = [str(self.tools_bin)] if self.tools_bin else []
        path = os.pathsep.join([str(self.bin_dir), *tools, os.environ.get("PATH", "")])
        return {
            **os.environ,
            "PATH": path,
            "KUBECONFIG": str(self.kubeconfig),
            "FAKE_MINIKUBE_STATE": str(self.minikube_state_path),
            "MINIKUBE_HOME": str(minikube.minikube_home(self.minikube_state_path)),
            "HELM_CACHE_HOME": str(self.state_dir / "helm" / "cache"),
            "HELM_CONFIG_HOME": str(self.state_dir / "helm" / "config"),
            "HELM_DATA_HOME": str(self.state_dir / "helm" / "data"),
            "KUBECACHEDIR": str(self.state_dir / "kubecache"),
        }

    @property
    def scenario(self) -> Scenario:
        return self._scenario

    def _scenario_for(self, obj: Mapping[str, Any]) -> Scenario:
        """The scenario a new ReplicaSet or bare pod follows (see `scenario_components`)."""
        if self.scenario_components is None:
            return self._scenario
        labels = obj.get("metadata", {}).get("labels") or {}
        in_scope = labels.get("app.kubernetes.io/component") in self.scenario_components
        return self._scenario if in_scope else Scenario.HEALTHY

    def set_scenario(self, name: str | Scenario) -> None:
        scenario = Scenario.parse(name)
        self.call(lambda: self._apply_scenario(scenario))

    def outage(self, seconds: float, *, delay: float = 0.0, error_seconds: float = 0.0) -> None:
        """Script an outage now: optional 500s, then 503s, then refused connections, then recovery."""
        self.call(lambda: self._schedule_outage(delay, error_seconds, seconds))

    def set_timings(self, timings: Timings | None = None, **fields: float) -> None:
        """Change timings from the next controller tick on: a whole Timings, or some fields, e.g.
        set_timings(ingress_ready_after=0) readies the ingress controller, set_timings(FAST) lets
        `slow` pods that a test kept waiting become Ready."""
        self.timings = dataclasses.replace(timings or self.timings, **fields)
        controller, network, timings = self.controller, self.network, self.timings
        if controller is not None:
            self.call(lambda: setattr(controller, "timings", timings))
        if network is not None:
            self.call(lambda: setattr(network, "ingress_sync_after", timings.ingress_sync_after))

    def start_upstream(self, timeout: float = 120.0) -> str:
        """Start the shared upstream now (the real backend takes seconds) instead of on first use."""
        assert self._loop is not None and self.network is not None
        return asyncio.run_coroutine_threadsafe(self.network.upstream.ensure(), self._loop).result(timeout)

    def expire_watches(self, count: int = 1) -> None:
        """The next `count` watches from a resourceVersion find it compacted away: one ERROR event with
        the 410 Expired Status, then the stream ends (the client has to list again)."""
        assert self.api is not None
        api = self.api
        self.call(lambda: setattr(api, "expire_watches", count))

    @property
    def docker_tls_connections(self) -> int:
        """Connections the node engine's TLS endpoint accepted (0 before `minikube docker-env`)."""
        return self._docker_tls.connections if self._docker_tls is not None else 0

    @property
    def requests(self) -> list[RecordedRequest]:
        assert self.api is not None
        return list(self.api.requests)

    def clear_requests(self) -> None:
        assert self.api is not None
        self.call(self.api.requests.clear)

    def objects(self, kind: str, namespace: str | None = None) -> list[Obj]:
        assert self.store is not None
        store = self.store
        return self.call(
            lambda: copy.deepcopy(store.list(store.table.by_kind(kind, "" if kind == "Event" else None), namespace))
        )

    def get(self, kind: str, namespace: str, name: str) -> Obj | None:
        found = [o for o in self.objects(kind, namespace) if o["metadata"]["name"] == name]
        return found[0] if found else None

    @property
    def minikube_state(self) -> dict[str, Any]:
        return minikube.read_state(self.minikube_state_path)

    def set_minikube(self, **fields: Any) -> None:
        """E.g. set_minikube(host="Stopped", kubelet="Stopped", apiserver="Stopped")."""
        minikube.update_state(self.minikube_state_path, **fields)

    def stop_minikube(self) -> None:
        self.set_minikube(host="Stopped", kubelet="Stopped", apiserver="Stopped", kubeconfig="Stopped")

    def load_image(self, image: str, image_id: str = "sha256:fake") -> None:
        """Mark an image as present on the node without going through Docker."""
        with minikube.locked(self.minikube_state_path):
            state = self.minikube_state
            state["images"][minikube.normalise_image(image)] = image_id
            minikube.write_state(self.minikube_state_path, state)

    def node_port(self, namespace: str, service: str) -> int | None:
        svc = self.get("Service", namespace, service)
        for port in (svc or {}).get("spec", {}).get("ports") or []:
            if port.get("nodePort"):
                return int(port["nodePort"])
        return None

    @property
    def ingress_port(self) -> int | None:
        return self.network.ingress.port if self.network and self.network.ingress else None

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.1) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            result = predicate()
            if result:
                return result
            if time.monotonic() > deadline:
                raise TimeoutError(f"condition not met within {timeout} s")
            time.sleep(interval)
