"""The node agent: each Pod bound to the node runs as real Docker containers under its pod spec.

What it does, and where the real kubelet does it (kubernetes/kubernetes):
- containers from the node's images with the pod's env, command/args, workingDir, security context,
  volumes and limits (pkg/kubelet/kuberuntime/kuberuntime_container.go, podspec.py for the mapping);
- probes (pkg/kubelet/prober/worker.go): readiness starts Failure, liveness Success; nothing is probed
  before initialDelaySeconds nor before the container started; a result changes after
  failureThreshold/successThreshold equal results in a row; a liveness Failure kills the container and
  holds probing until the next one. Probe kinds and messages: pkg/probe/http/http.go (200 <= code <
  400 succeeds, "HTTP probe failed with statuscode: N"), pkg/probe/tcp/tcp.go, pkg/probe/exec; the
  "Unhealthy" and "Killing" events: pkg/kubelet/prober/prober.go, pkg/kubelet/kuberuntime
  kuberuntime_container.go (killContainer, "failed liveness probe, will be restarted");
- restarts with the kubelet's back-off (pkg/kubelet/kubelet.go backOffPeriod 10 s, MaxContainerBackOff
  300 s; pkg/kubelet/kuberuntime/kuberuntime_manager.go doBackOff with client-go util/flowcontrol
  Backoff: the first exit restarts at once, later ones wait 10 s, 20 s, ... 300 s after the exit, shown
  as CrashLoopBackOff "back-off 10s restarting failed container=C pod=P_NS(UID)"); lastState carries the
  real exit code, reason Error/Completed/OOMKilled (pkg/kubelet/kuberuntime/helpers.go);
- a new container for every restart (the containerID changes), the previous one's log kept for
  `kubectl logs --previous`; every container removed when its Pod goes.

Networking (what kube-proxy and CoreDNS do on a real node): one Docker network per namespace; each
Service is reached at that network's gateway address on its own port (kubeproxy.py forwards to the
Ready endpoints only), and every pod's /etc/hosts names it `svc`, `svc.ns`, `svc.ns.svc.cluster.local`.

Timings scale with `Timings.probe_scale` (initialDelaySeconds), `Timings.probe_period_scale`
(periodSeconds) and `Timings.backoff_scale` (the restart back-off) so tests stay fast; probe timeouts
are not scaled.
Every Docker object carries the label `fakecluster.cluster=<id>` and is removed on close().
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import copy
import datetime
import secrets
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from . import podspec, pulls
from .apiserver import PodLog
from .kubeproxy import ServiceProxy
from .store import Obj, Store

CLUSTER_LABEL = "fakecluster.cluster"
BACKOFF_INITIAL = 10.0  # pkg/kubelet/kubelet.go backOffPeriod
BACKOFF_MAX = 300.0  # pkg/kubelet/kubelet.go MaxContainerBackOff
EventFn = Callable[[Obj, str, str, str, str], None]


def _iso(wall: float) -> str:
    return datetime.datetime.fromtimestamp(wall, tz=datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _docker_time(text: str) -> float:
    """Docker's RFC 3339 nanosecond stamps -> epoch seconds."""
    if not text or text.startswith("0001-"):
        return 0.0
    main = text.rstrip("Z").split(".")[0]
    return datetime.datetime.strptime(main, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.UTC).timestamp()


@dataclass
class Backoff:
    """client-go util/flowcontrol.Backoff for one container (key: pod uid + container name)."""

    initial: float
    maximum: float
    current: float = 0.0
    last_update: float = 0.0  # wall

    def in_backoff_since(self, event: float, now: float) -> bool:
        if not self.current or now - self.last_update > 2 * self.maximum:  # hasExpired
            return False
        return now - event < self.current

    def next(self, now: float) -> None:
        if not self.current or now - self.last_update > 2 * self.maximum:
            self.current = self.initial
        else:
            self.current = min(self.current * 2, self.maximum)
        self.last_update = now


@dataclass
class ProbeResult:
    ready: bool = False  # readiness: initial Failure
    live: bool = True  # liveness: initial Success
    started: bool = False


@dataclass
class ContainerRun:
    spec: Obj
    log: PodLog
    backoff: Backoff
    docker_id: str = ""
    instance: int = 0  # bumped with every new container
    running: bool = False
    started_at: float = 0.0  # wall
    ip: str = ""
    image_id: str = ""
    restarts: int = 0
    last_state: Obj = field(default_factory=dict)
    terminated: Obj | None = None  # the current instance's end, while it waits for its restart
    waiting: tuple[str, str] | None = ("ContainerCreating", "")
    probes: ProbeResult = field(default_factory=ProbeResult)
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    log_thread: threading.Thread | None = None
    retry_at: float = 0.0  # monotonic: when a container that could not be created is tried again

    @property
    def name(self) -> str:
        return str(self.spec.get("name", ""))


@dataclass
class PodRun:
    uid: str
    namespace: str
    name: str
    pod: Obj
    root: Path
    containers: dict[str, ContainerRun] = field(default_factory=dict)
    task: asyncio.Task[Any] | None = None
    hosts: str = ""
    ip: str = ""


class NodeAgent:
    def __init__(
        self,
        store: Store,
        logs: dict[tuple[str, str, str], PodLog],
        state_dir: Path,
        event: EventFn,
        wake: Callable[[], None],
        *,
        probe_scale: float = 1.0,
        probe_period_scale: float = 1.0,
        backoff_scale: float = 1.0,
        tick: float = 0.2,
    ) -> None:
        import docker

        self.store, self.logs, self.event, self.wake = store, logs, event, wake
        self.id = secrets.token_hex(4)
        self.root = state_dir / "node"
        self.probe_scale, self.probe_period_scale = probe_scale, probe_period_scale
        self.backoff_scale, self.tick = backoff_scale, tick
        self.docker = docker.from_env(timeout=120)
        self.docker.ping()
        self._loop = asyncio.get_running_loop()  # log threads hand lines back to it
        self.pods: dict[str, PodRun] = {}
        self.networks: dict[str, str] = {}  # namespace -> gateway address
        self._network_locks: dict[str, asyncio.Lock] = {}
        self._session: aiohttp.ClientSession | None = None
        self._closed = False
        self._inflight = 0  # container creations running in threads (close() waits for them)
        self._inflight_lock = threading.Lock()
        self.proxy = ServiceProxy(store, self.networks, self.endpoints)
        atexit.register(self._remove_everything)  # a process that never calls close() leaves nothing

    # --- names --------------------------------------------------------------------------------------
    def network_name(self, namespace: str) -> str:
        return f"fakecluster-{self.id}-{namespace}"

    def _labels(self, **extra: str) -> dict[str, str]:
        return {CLUSTER_LABEL: self.id, **extra}

    # --- what the controller asks ----------------------------------------------------------------------
    def ensure(self, pod: Obj) -> None:
        """Start running a pod the controller has found fit to start (images present, config resolvable)."""
        uid = pod["metadata"]["uid"]
        if uid in self.pods or self._closed:
            return
        meta = pod["metadata"]
        run = PodRun(uid, meta["namespace"], meta["name"], copy.deepcopy(pod), self.root / uid)
        for spec in pod.get("spec", {}).get("containers") or []:
            log = self.logs.setdefault((run.namespace, run.name, spec.get("name", "")), PodLog())
            run.containers[spec.get("name", "")] = ContainerRun(
                spec, log, Backoff(BACKOFF_INITIAL * self.backoff_scale, BACKOFF_MAX * self.backoff_scale)
            )
        self.pods[uid] = run
        run.task = asyncio.create_task(self._run_pod(run))

    def forget(self, live_uids: set[str]) -> None:
        for uid in [u for u in self.pods if u not in live_uids]:
            run = self.pods.pop(uid)
            asyncio.create_task(self._remove_pod(run))

    def pod_ip(self, uid: str) -> str:
        run = self.pods.get(uid)
        return run.ip if run else ""

    def container_status(self, pod: Obj, name: str, base: Obj) -> Obj:
        """The containerStatus the kubelet reports for one container."""
        run = self.pods.get(pod["metadata"]["uid"])
        c = run.containers.get(name) if run else None
        if c is None:
            return {**base, "state": {"waiting": {"reason": "ContainerCreating"}}, "lastState": {}}
        status = {
            **base,
            "restartCount": c.restarts,
            "lastState": copy.deepcopy(c.last_state),
            "imageID": f"docker-pullable://{c.image_id}" if c.image_id else "",
            "started": c.running and c.probes.started,
            "ready": c.running and c.probes.ready,
        }
        if c.docker_id:
            status["containerID"] = f"docker://{c.docker_id}"
        if c.running:
            status["state"] = {"running": {"startedAt": _iso(c.started_at)}}
        elif c.terminated is not None and c.waiting is None:
            status["state"] = {"terminated": copy.deepcopy(c.terminated)}
        else:
            reason, message = c.waiting or ("ContainerCreating", "")
            status["state"] = {"waiting": {"reason": reason, **({"message": message} if message else {})}}
        c.log.waiting_reason = "" if c.running else (c.waiting or ("",))[0]
        return status

    def endpoints(self, namespace: str, selector: dict[str, str], target: Any) -> list[tuple[str, int]]:
        """(address, port) of every Ready pod behind a Service port (what EndpointSlices list)."""
        from .labelselectors import selector_matches

        out: list[tuple[str, int]] = []
        if not selector:
            return out
        for run in self.pods.values():
            if run.namespace != namespace or not run.ip:
                continue
            labels = run.pod["metadata"].get("labels") or {}
            if not selector_matches({"matchLabels": selector}, labels):
                continue
            if not all(c.running and c.probes.ready for c in run.containers.values()):
                continue
            for c in run.containers.values():
                port = podspec.container_port(c.spec, target)
                if port is not None:
                    out.append((run.ip, port))
                    break
        return out

    # --- a pod's life ------------------------------------------------------------------------------------
    async def _run_pod(self, run: PodRun) -> None:
        try:
            await self._network(run.namespace)
            run.root.mkdir(parents=True, exist_ok=True)
            hosts = run.root / "hosts"
            hosts.write_text(self._hosts_for(run))
            hosts.chmod(0o644)
            binds = await asyncio.to_thread(self._volumes, run)
        except Exception as exc:  # noqa: BLE001 - the pod shows why, as a sandbox failure does
            for c in run.containers.values():
                c.waiting = ("CreateContainerError", f"{type(exc).__name__}: {exc}")
            self.event(run.pod, "Warning", "FailedCreatePodSandBox", f"Failed to create pod sandbox: {exc}", "kubelet")
            self.wake()
            return
        for c in run.containers.values():
            await self._start(run, c, binds)
        while True:
            await asyncio.sleep(self.tick)
            self._refresh_hosts(run)
            for c in run.containers.values():
                await self._watch(run, c, binds)

    async def _network(self, namespace: str) -> str:
        lock = self._network_locks.setdefault(namespace, asyncio.Lock())
        async with lock:
            if namespace not in self.networks:
                self.networks[namespace] = await asyncio.to_thread(self._create_network, namespace)
            return self.networks[namespace]

    def _create_network(self, namespace: str) -> str:
        network = self.docker.networks.create(
            self.network_name(namespace), driver="bridge", labels=self._labels(namespace=namespace)
        )
        network.reload()
        return bridge_gateway(network.attrs)

    def _services_for_hosts(self, namespace: str) -> list[tuple[str, str, str]]:
        out = []
        for svc in self.store.iter_kind("Service"):
            ns = svc["metadata"]["namespace"]
            if ns in self.networks and (svc.get("spec") or {}).get("selector"):
                out.append((svc["metadata"]["name"], ns, self.networks[ns]))
        return out

    def _hosts_for(self, run: PodRun) -> str:
        return podspec.hosts_file(run.name, run.ip, run.namespace, self._services_for_hosts(run.namespace))

    def _refresh_hosts(self, run: PodRun) -> None:
        text = self._hosts_for(run)
        if text == run.hosts:
            return
        with contextlib.suppress(OSError), (run.root / "hosts").open("r+") as handle:  # in place: a bind mount
            handle.write(text)
            handle.truncate()
            run.hosts = text

    def _lookup(self, namespace: str) -> Callable[[str, str], Obj | None]:
        def lookup(kind: str, name: str) -> Obj | None:
            return self.store.find(self.store.table.by_kind(kind), namespace, name)

        return lookup

    def _volumes(self, run: PodRun) -> dict[str, Obj]:
        """Volume name -> how to mount it: a tmpfs (emptyDir), a host directory of files (secret,
        configMap), or a Docker volume (persistentVolumeClaim)."""
        lookup = self._lookup(run.namespace)
        out: dict[str, Obj] = {}
        for volume in run.pod.get("spec", {}).get("volumes") or []:
            name = volume.get("name", "")
            if "emptyDir" in volume:
                limit = (volume["emptyDir"] or {}).get("sizeLimit")
                out[name] = {"tmpfs": int(podspec.quantity(limit)) if limit else None}
            elif "secret" in volume or "configMap" in volume:
                source = volume.get("secret") or volume.get("configMap") or {}
                kind = "Secret" if "secret" in volume else "ConfigMap"
                obj = lookup(kind, source.get("secretName") or source.get("name", "")) or {"kind": kind}
                files = podspec.file_contents(obj)
                directory = run.root / "volumes" / name
                directory.mkdir(parents=True, exist_ok=True)
                mode = int(source.get("defaultMode", 0o644))
                items = source.get("items") or [{"key": k, "path": k} for k in files]
                for item in items:
                    if item.get("key") not in files:
                        continue
                    target = directory / item.get("path", item["key"])
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(files[item["key"]])
                    target.chmod(int(item.get("mode", mode)))
                directory.chmod(0o755)
                out[name] = {"bind": str(directory)}
            elif "persistentVolumeClaim" in volume:
                # One volume per claim, outliving the pods that mount it, as minikube's hostPath volumes do
                # (kubernetes/minikube site/content/en/docs/handbook/persistent_volumes.md).
                claim = volume["persistentVolumeClaim"].get("claimName", "")
                out[name] = {"volume": f"fakecluster-{self.id}-{run.namespace}-{claim}"}
        return out

    def _create_kwargs(self, run: PodRun, c: ContainerRun, binds: dict[str, Obj]) -> dict[str, Any]:
        from docker.types import Mount

        spec, pod_spec = c.spec, run.pod.get("spec", {})
        env = podspec.environment(spec, self._lookup(run.namespace))
        for item in spec.get("env") or []:
            field_path = ((item.get("valueFrom") or {}).get("fieldRef") or {}).get("fieldPath", "")
            env_value = {
                "metadata.name": run.name,
                "metadata.namespace": run.namespace,
                "metadata.uid": run.uid,
                "spec.nodeName": "minikube",
                "spec.serviceAccountName": pod_spec.get("serviceAccountName", "default"),
            }.get(field_path)
            if env_value is not None:
                env[item["name"]] = env_value
        entrypoint, command = podspec.command_line(spec, env)
        sec = podspec.security(pod_spec, spec)
        lim = podspec.limits(spec)
        mounts = [Mount("/etc/hosts", str(run.root / "hosts"), type="bind", read_only=True)]
        tmpfs: dict[str, str] = {}
        for mount in spec.get("volumeMounts") or []:
            how = binds.get(mount.get("name", ""))
            path, read_only = mount.get("mountPath", ""), bool(mount.get("readOnly"))
            if how is None:
                continue
            if "tmpfs" in how:
                tmpfs[path] = "mode=0777" + (f",size={how['tmpfs']}" if how["tmpfs"] else "")
            elif "bind" in how:
                source = how["bind"] + (f"/{mount['subPath']}" if mount.get("subPath") else "")
                mounts.append(Mount(path, source, type="bind", read_only=True))
            else:
                mounts.append(
                    Mount(
                        path,
                        how["volume"],
                        type="volume",
                        read_only=read_only,
                        labels=self._labels(namespace=run.namespace),
                    )
                )
        kwargs: dict[str, Any] = {
            "name": f"fakecluster-{self.id}-{run.namespace}-{run.name}-{c.name}-{c.instance}",
            "hostname": run.name[:63],
            "environment": env,
            "entrypoint": entrypoint,
            "command": command,
            "working_dir": spec.get("workingDir"),
            "user": sec.user,
            "group_add": sec.group_add or None,
            "read_only": sec.read_only,
            "cap_drop": sec.cap_drop or None,
            "cap_add": sec.cap_add or None,
            "security_opt": sec.security_opt or None,
            "privileged": sec.privileged,
            "mounts": mounts,
            "tmpfs": tmpfs or None,
            "network": self.network_name(run.namespace),
            "labels": self._labels(namespace=run.namespace, pod=run.name, uid=run.uid, container=c.name),
            "detach": True,
            "stdin_open": bool(spec.get("stdin")),
            "tty": bool(spec.get("tty")),
        }
        if lim.memory:
            kwargs["mem_limit"] = lim.memory
            kwargs["memswap_limit"] = lim.memory  # no swap: over the limit is an OOM kill, as on a node
        if lim.nano_cpus:
            kwargs["nano_cpus"] = lim.nano_cpus
        return kwargs

    def _image_user_is_root(self, image: str) -> bool:
        user = (self.docker.images.get(image).attrs.get("Config") or {}).get("User") or ""
        return user.split(":")[0] in ("", "0", "root")

    async def _start(self, run: PodRun, c: ContainerRun, binds: dict[str, Obj]) -> None:
        """Create and start a new container for `c` (first start or restart)."""
        image = c.spec.get("image", "")
        try:
            sec = podspec.security(run.pod.get("spec", {}), c.spec)
            if sec.run_as_non_root:
                if sec.user is not None and sec.user.split(":")[0] == "0":
                    raise _ConfigError(
                        "container's runAsUser breaks non-root policy (pod: "
                        f'"{run.name}_{run.namespace}({run.uid})", container: {c.name})'
                    )
                if sec.user is None and await asyncio.to_thread(self._image_user_is_root, image):
                    raise _ConfigError(
                        "container has runAsNonRoot and image will run as root (pod: "
                        f'"{run.name}_{run.namespace}({run.uid})", container: {c.name})'
                    )
            kwargs = self._create_kwargs(run, c, binds)
            await asyncio.to_thread(self._pull_if_missing, image)
            container = await asyncio.to_thread(self._run_container, image, kwargs)
        except _ConfigError as exc:
            c.waiting = ("CreateContainerConfigError", str(exc))
            self.event(run.pod, "Warning", "Failed", f"Error: {exc}", "kubelet")
            self.wake()
            return
        except Exception as exc:  # noqa: BLE001 - the runtime refused: RunContainerError, as on a node
            message = str(getattr(exc, "explanation", None) or exc)
            c.waiting = ("RunContainerError", message)
            self.event(run.pod, "Warning", "Failed", f"Error: {message}", "kubelet")
            self.wake()
            return
        if c.instance > 0:
            c.log.restart()
        c.docker_id = container.id
        c.image_id = pulls.repo_digest(image) or (str(container.image.id) if container.image else "")
        c.instance += 1
        c.waiting, c.terminated = None, None
        attrs = await asyncio.to_thread(self._inspect, container.id)
        c.running = bool(attrs and attrs["State"].get("Running"))
        c.started_at = _docker_time((attrs or {}).get("State", {}).get("StartedAt", "")) or time.time()
        c.ip = _container_ip(attrs or {}, self.network_name(run.namespace))
        if c.ip and not run.ip:
            run.ip = c.ip
            self._refresh_hosts(run)
        if c.instance > 1:
            self.event(run.pod, "Normal", "Created", f"Created container: {c.name}", "kubelet")
            self.event(run.pod, "Normal", "Started", f"Started container {c.name}", "kubelet")
        c.probes = ProbeResult(ready=False, live=True, started=not c.spec.get("startupProbe"))
        if not c.spec.get("readinessProbe"):
            c.probes.ready = True  # no readiness probe: Ready once running (prober_manager.go)
        c.log_thread = threading.Thread(
            target=self._follow_log, args=(container.id, c.log, c.instance, c), daemon=True, name=f"log-{c.name}"
        )
        c.log_thread.start()
        for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
            if c.spec.get(kind):
                c.tasks.append(asyncio.create_task(self._probe_worker(run, c, kind, c.instance)))
        self.wake()

    def _pull_if_missing(self, image: str) -> None:
        """An image on a registry on loopback that the engine lacks is pulled from it (by digest when
        the reference names one), as the kubelet's image manager asks the runtime to (IfNotPresent;
        kubernetes/kubernetes pkg/kubelet/images/image_manager.go). A failed pull raises: the
        controller has already checked the registry has the manifest (pulls.py)."""
        target = pulls.parse(image)
        if target is None:
            return
        import docker.errors

        try:
            self.docker.images.get(image)
        except docker.errors.ImageNotFound:
            self.docker.images.pull(f"{target.host}/{target.repository}", tag=target.reference)

    def _run_container(self, image: str, kwargs: dict[str, Any]) -> Any:
        """Create and start one container. A stop that lands meanwhile must not leave it behind (nor the
        network it holds): whatever this call made is removed by name, and close() waits for it."""
        with self._inflight_lock:
            self._inflight += 1
        try:
            container = self.docker.containers.run(image, **kwargs)
            if self._closed:
                raise RuntimeError("the node is shutting down")
            return container
        except Exception:
            if self._closed:
                self._remove_container(kwargs["name"])
            raise
        finally:
            with self._inflight_lock:
                self._inflight -= 1

    def _inspect(self, docker_id: str) -> Obj | None:
        try:
            return self.docker.api.inspect_container(docker_id)
        except Exception:  # noqa: BLE001 - gone
            return None

    def _follow_log(self, docker_id: str, log: PodLog, instance: int, c: ContainerRun) -> None:
        loop = self._loop
        buffer = b""
        try:
            for chunk in self.docker.api.logs(docker_id, stream=True, follow=True):
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    text = line.decode("utf-8", "replace").rstrip("\r")
                    loop.call_soon_threadsafe(self._append, log, c, instance, text)
        except Exception:  # noqa: BLE001,S110 - the container went away: its log ends
            pass
        if buffer:
            loop.call_soon_threadsafe(self._append, log, c, instance, buffer.decode("utf-8", "replace"))

    @staticmethod
    def _append(log: PodLog, c: ContainerRun, instance: int, text: str) -> None:
        if c.instance == instance:
            log.append(text)
        elif log.previous is not None and c.instance == instance + 1:
            log.previous.append(text)

    async def _watch(self, run: PodRun, c: ContainerRun, binds: dict[str, Obj]) -> None:
        """Notice an exit; restart after the back-off, as kuberuntime's SyncPod does."""
        if c.docker_id and c.terminated is None and c.waiting is None:  # the current instance: still running?
            attrs = await asyncio.to_thread(self._inspect, c.docker_id)
            state = (attrs or {}).get("State") or {}
            if attrs is not None and state.get("Running"):
                return
            await self._exited(run, c, state)
        if c.terminated is None:
            if (
                c.waiting
                and c.waiting[0] in ("RunContainerError", "CreateContainerConfigError")
                and time.monotonic() >= c.retry_at
            ):
                c.retry_at = time.monotonic() + BACKOFF_INITIAL * self.backoff_scale
                await self._start(run, c, binds)  # the kubelet retries on a later sync
            return
        policy = run.pod.get("spec", {}).get("restartPolicy", "Always")
        if policy == "Never" or (policy == "OnFailure" and c.terminated.get("exitCode") == 0):
            c.waiting = None
            return
        now = time.time()
        finished = _docker_time(c.terminated.get("finishedAt", "")) or now
        if c.backoff.in_backoff_since(finished, now):
            pod = run.pod["metadata"]
            message = (
                f"back-off {podspec.go_duration(c.backoff.current)} restarting failed container={c.name} "
                f"pod={pod['name']}_{pod['namespace']}({pod['uid']})"
            )
            if c.waiting is None or c.waiting[0] != "CrashLoopBackOff":
                c.waiting = ("CrashLoopBackOff", message)
                self.event(
                    run.pod,
                    "Warning",
                    "BackOff",
                    f"Back-off restarting failed container {c.name} in pod "
                    f"{pod['name']}_{pod['namespace']}({pod['uid']})",
                    "kubelet",
                )
                self.wake()
            return
        c.backoff.next(now)
        c.restarts += 1
        old = c.docker_id
        await self._start(run, c, binds)
        if old and old != c.docker_id:
            await asyncio.to_thread(self._remove_container, old)

    async def _exited(self, run: PodRun, c: ContainerRun, state: Obj) -> None:
        for task in c.tasks:
            task.cancel()
        c.tasks.clear()
        if c.log_thread is not None:
            await asyncio.to_thread(c.log_thread.join, 2)
        code = int(state.get("ExitCode", 0) or 0)
        reason = "OOMKilled" if state.get("OOMKilled") else ("Completed" if code == 0 else "Error")
        c.terminated = {
            "exitCode": code,
            "reason": reason,
            "startedAt": _iso(_docker_time(state.get("StartedAt", "")) or c.started_at),
            "finishedAt": _iso(_docker_time(state.get("FinishedAt", "")) or time.time()),
            "containerID": f"docker://{c.docker_id}",
        }
        c.last_state = {"terminated": copy.deepcopy(c.terminated)}
        c.running, c.waiting = False, None
        self.wake()

    # --- probes ------------------------------------------------------------------------------------------
    async def _probe_worker(self, run: PodRun, c: ContainerRun, kind: str, instance: int) -> None:
        spec = c.spec[kind]
        period = max(int(spec.get("periodSeconds") or 10), 1) * self.probe_period_scale
        initial = int(spec.get("initialDelaySeconds") or 0) * self.probe_scale
        timeout = max(int(spec.get("timeoutSeconds") or 1), 1)
        failure_threshold = int(spec.get("failureThreshold") or 3)
        success_threshold = int(spec.get("successThreshold") or 1)
        label = {"readinessProbe": "Readiness", "livenessProbe": "Liveness", "startupProbe": "Startup"}[kind]
        last: bool | None = None
        run_length = 0
        while c.instance == instance and c.running:
            if time.time() - c.started_at >= initial and (kind == "startupProbe" or c.probes.started):
                ok, output = await self._probe_once(c, spec, timeout)
                if c.instance != instance or not c.running:
                    return
                if not ok:
                    self.event(run.pod, "Warning", "Unhealthy", f"{label} probe failed: {output}", "kubelet")
                run_length = run_length + 1 if ok == last else 1
                last = ok
                threshold = success_threshold if ok else failure_threshold
                if run_length >= threshold:
                    if kind == "readinessProbe" and c.probes.ready != ok:
                        c.probes.ready = ok
                        self.wake()
                    elif kind == "startupProbe" and ok and not c.probes.started:
                        c.probes.started = True
                        self.wake()
                    elif kind in ("livenessProbe", "startupProbe") and not ok:
                        await self._kill_unhealthy(run, c, label.lower())
                        return
            await asyncio.sleep(period)

    async def _probe_once(self, c: ContainerRun, spec: Obj, timeout: float) -> tuple[bool, str]:
        if "httpGet" in spec:
            get = spec["httpGet"]
            host = get.get("host") or c.ip
            port = podspec.probe_port(c.spec, get.get("port"))
            scheme = str(get.get("scheme") or "HTTP").lower()
            url = f"{scheme}://{host}:{port}{get.get('path') or '/'}"
            headers = {h["name"]: h.get("value", "") for h in get.get("httpHeaders") or []}
            headers.setdefault("User-Agent", "kube-probe/1.35")
            if self._session is None:
                self._session = aiohttp.ClientSession()
            try:
                async with self._session.get(
                    url, headers=headers, allow_redirects=False, ssl=False, timeout=aiohttp.ClientTimeout(total=timeout)
                ) as resp:
                    await resp.read()
                    if 200 <= resp.status < 400:
                        return True, ""
                    return False, f"HTTP probe failed with statuscode: {resp.status}"
            except TimeoutError:
                return False, (
                    f'Get "{url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)'
                )
            except (aiohttp.ClientError, OSError) as exc:
                return False, f'Get "{url}": dial tcp {host}:{port}: connect: {_errno_text(exc)}'
        if "tcpSocket" in spec:
            port = podspec.probe_port(c.spec, spec["tcpSocket"].get("port"))
            host = spec["tcpSocket"].get("host") or c.ip
            try:
                async with asyncio.timeout(timeout):
                    _, writer = await asyncio.open_connection(host, port)
                writer.close()
                return True, ""
            except (OSError, TimeoutError) as exc:
                return False, f"dial tcp {host}:{port}: connect: {_errno_text(exc)}"
        if "exec" in spec:
            argv = list(spec["exec"].get("command") or [])
            try:
                async with asyncio.timeout(timeout):
                    result = await asyncio.to_thread(
                        self.docker.api.exec_start, self.docker.api.exec_create(c.docker_id, argv)["Id"]
                    )
            except TimeoutError:
                return False, f"command {argv!r} timed out"
            except Exception as exc:  # noqa: BLE001
                return False, str(exc)
            return await self._exec_code(c, result)
        return True, ""

    async def _exec_code(self, c: ContainerRun, output: bytes) -> tuple[bool, str]:
        # exec_start returns the output; the exit code is on the last exec of this container
        execs = await asyncio.to_thread(self._inspect, c.docker_id)
        for exec_id in reversed((execs or {}).get("ExecIDs") or []):
            info = await asyncio.to_thread(self.docker.api.exec_inspect, exec_id)
            if not info.get("Running"):
                code = int(info.get("ExitCode") or 0)
                return code == 0, output.decode("utf-8", "replace").strip()
        return True, ""

    async def _kill_unhealthy(self, run: PodRun, c: ContainerRun, probe: str) -> None:
        self.event(
            run.pod, "Normal", "Killing", f"Container {c.name} failed {probe} probe, will be restarted", "kubelet"
        )
        grace = int(run.pod.get("spec", {}).get("terminationGracePeriodSeconds", 30))
        docker_id = c.docker_id
        await asyncio.to_thread(self._stop, docker_id, max(1, int(grace * self.probe_scale)))

    def _stop(self, docker_id: str, timeout: int) -> None:
        with contextlib.suppress(Exception):
            self.docker.api.stop(docker_id, timeout=timeout)

    # --- removal -----------------------------------------------------------------------------------------
    def _remove_container(self, docker_id: str) -> None:
        with contextlib.suppress(Exception):
            self.docker.api.remove_container(docker_id, force=True)

    async def _remove_pod(self, run: PodRun) -> None:
        if run.task is not None:
            run.task.cancel()
            await asyncio.gather(run.task, return_exceptions=True)
        for c in run.containers.values():
            for task in c.tasks:
                task.cancel()
        ids = [c.docker_id for c in run.containers.values() if c.docker_id]
        ids += await asyncio.to_thread(self._containers_of, run.uid)
        await asyncio.gather(*(asyncio.to_thread(self._remove_container, i) for i in set(ids)))
        shutil.rmtree(run.root, ignore_errors=True)

    def _containers_of(self, uid: str) -> list[str]:
        with contextlib.suppress(Exception):
            return [
                c["Id"]
                for c in self.docker.api.containers(
                    all=True, filters={"label": [f"{CLUSTER_LABEL}={self.id}", f"uid={uid}"]}
                )
            ]
        return []

    async def run(self) -> None:
        """Keep the Service addresses in step with the Services (the pods run in their own tasks)."""
        while True:
            await self.proxy.sync()
            await asyncio.sleep(self.tick)

    async def close(self) -> None:
        self._closed = True
        await self.proxy.close()
        for run in self.pods.values():
            if run.task is not None:
                run.task.cancel()
            for c in run.containers.values():
                for task in c.tasks:
                    task.cancel()
        if self._session is not None:
            await self._session.close()
        await asyncio.to_thread(self._remove_everything)
        atexit.unregister(self._remove_everything)
        self.pods.clear()

    def _remove_everything(self) -> None:
        """Every container, network and volume of this cluster (by label), then the state on disk; once
        more after the creations still running in threads have ended."""
        self._remove_pass()
        deadline = time.monotonic() + 60
        while self._inflight and time.monotonic() < deadline:
            time.sleep(0.1)
        self._remove_pass()
        shutil.rmtree(self.root, ignore_errors=True)

    def _remove_pass(self) -> None:
        label = {"label": [f"{CLUSTER_LABEL}={self.id}"]}
        with contextlib.suppress(Exception):
            ids = [c["Id"] for c in self.docker.api.containers(all=True, filters=label)]
            threads = [threading.Thread(target=self._remove_container, args=(i,)) for i in ids]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(30)
        with contextlib.suppress(Exception):
            for network in self.docker.api.networks(filters=label):
                with contextlib.suppress(Exception):
                    self.docker.api.remove_network(network["Id"])
        with contextlib.suppress(Exception):
            for volume in (self.docker.api.volumes(filters=label) or {}).get("Volumes") or []:
                with contextlib.suppress(Exception):
                    self.docker.api.remove_volume(volume["Name"], force=True)


class _ConfigError(Exception):
    pass


def bridge_gateway(attrs: Obj) -> str:
    """The host's address on a Docker bridge network (the default bridge lists only its subnet)."""
    import ipaddress

    config = (attrs.get("IPAM") or {}).get("Config") or [{}]
    gateway = config[0].get("Gateway")
    if gateway:
        return str(gateway)
    return str(next(ipaddress.ip_network(config[0]["Subnet"]).hosts()))


def host_address_for_containers() -> str:
    """Where a server on this host is reached from any container: the default bridge's gateway."""
    import docker

    return bridge_gateway(docker.from_env(timeout=30).networks.get("bridge").attrs)


def _container_ip(attrs: Obj, network: str) -> str:
    networks = (attrs.get("NetworkSettings") or {}).get("Networks") or {}
    return str((networks.get(network) or {}).get("IPAddress") or "")


def _errno_text(exc: BaseException) -> str:
    """The errno wording Go's net package uses in a dial error."""
    cause = getattr(exc, "os_error", None) or exc
    if isinstance(cause, ConnectionRefusedError):
        return "connection refused"
    text = str(exc).lower()
    if "refused" in text:
        return "connection refused"
    if "no route" in text:
        return "no route to host"
    if isinstance(exc, TimeoutError) or "timeout" in text:
        return "i/o timeout"
    return text or type(exc).__name__


def docker_available() -> bool:
    try:
        import docker

        docker.from_env(timeout=10).ping()
    except Exception:  # noqa: BLE001
        return False
    return True


__all__ = ["CLUSTER_LABEL", "NodeAgent", "bridge_gateway", "docker_available", "host_address_for_containers"]
