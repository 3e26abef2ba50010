"""How images reach the cluster: load into minikube or kind, or push to a registry.

Every target answers `load(ref, reporter, archive=None) -> ref the cluster should use`. A target that
`loads_archives` copies a `docker save` archive of `ref` when it is given one (the file the image policy
wrote while reading the same export, orchestrator.images.pipeline), so the image is exported once per
run: loading by name makes minikube export the whole image from the engine again (and kind: its
pkg/cmd/kind/load/docker-image/docker-image.go runs `docker save -o` before loading that file).

Image tags change with content (orchestrator.images.build), which is what makes the minikube skip
rule safe: `minikube image load` has silently kept an old image when a tag already existed, so a tag
that is present is the same content, and after a load the tag is checked again instead of trusting
the exit code.

Commands run through orchestrator.shell.run with the frozen kubeconfig in KUBECONFIG, never a shell.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, Protocol

from orchestrator import shell
from orchestrator.errors import DeployNeedsAction, EnvironmentProblem, ImageError, OrchestratorError
from orchestrator.run.events import Reporter
from orchestrator.shell import CommandFailed

Runner = Callable[..., shell.Result]


# --- pure helpers --------------------------------------------------------------------------------


def normalize_ref(ref: str) -> str:
    """`todo-backend:abc` -> `docker.io/library/todo-backend:abc`, so refs compare equal across tools."""
    name, digest = (ref.split("@", 1) + [""])[:2]
    last = name.rsplit("/", 1)[-1]
    if ":" not in last and not digest:
        name += ":latest"
    parts = name.split("/")
    if len(parts) == 1:
        name = f"docker.io/library/{name}"
    elif not ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        name = f"docker.io/{name}"
    return f"{name}@{digest}" if digest else name


def node_image_names(rest: Any) -> set[str]:
    """The image names every Node's status lists (kubelet: repo tags and digests), normalized;
    with several nodes, only those on all of them. `rest`: orchestrator.kube.rest.Rest."""
    from orchestrator.kube.api import api_error, call
    from orchestrator.kube.rest import core_path

    try:
        nodes = call(rest.get, core_path(None, "nodes")).get("items") or []
    except Exception as exc:
        raise api_error(exc, "listing the nodes' images") from None
    per_node = [
        {
            normalize_ref(name)
            for image in ((node.get("status") or {}).get("images") or [])
            for name in (image.get("names") or [])
            if "@" not in name
        }
        for node in nodes
    ]
    return set.intersection(*per_node) if per_node else set()


def parse_image_list(text: str) -> set[str]:
    """`minikube image ls` (short format): one reference per line -> normalized set."""
    return {normalize_ref(line.strip()) for line in text.splitlines() if line.strip() and not line.startswith("#")}


class MinikubeCondition(str, Enum):
    RUNNING = "running"
    NO_PROFILE = "no profile"
    HOST_STOPPED = "host not running"
    PAUSED = "paused"
    CLUSTER_STOPPED = "apiserver or kubelet not running"
    KUBECONFIG = "kubeconfig not configured"


@dataclass(frozen=True)
class MinikubeVerdict:
    """What `minikube status` means, and the one command that fixes it (empty when running)."""

    condition: MinikubeCondition
    message: str
    fix: str = ""

    @property
    def ok(self) -> bool:
        return self.condition is MinikubeCondition.RUNNING


# kubernetes/minikube cmd/minikube/cmd/status.go (exitCode): bit 1 the host is not Running; bit 2 the
# APIServer (unless Irrelevant) or the Kubelet is not Running; bit 4 the Kubeconfig is not Configured
# (pkg/minikube/cluster/status.go: Misconfigured when the kubeconfig entry does not point at the
# cluster's endpoint). A paused cluster (`minikube pause`) has APIServer "Paused" and the kubelet
# stopped: bit 2, fixed by `minikube unpause`, not `minikube start`. A missing profile exits 85.
STATUS_HOST, STATUS_CLUSTER, STATUS_KUBECONFIG = 1, 2, 4
STATUS_NO_PROFILE = 85


def classify_status(exit_code: int, fields: Mapping[str, str], profile: str = "minikube") -> MinikubeVerdict:
    """`minikube status -o json` (exit code and JSON fields) -> condition and fix. Pure.

    The most basic problem wins: no profile, then the host, then a pause, then the control plane,
    then the kubeconfig entry.
    """
    p = "" if profile == "minikube" else f" -p {profile}"
    if exit_code == STATUS_NO_PROFILE:
        return MinikubeVerdict(
            MinikubeCondition.NO_PROFILE, f"minikube profile {profile} does not exist", f"minikube start{p}"
        )
    if exit_code == 0:
        return MinikubeVerdict(MinikubeCondition.RUNNING, f"minikube {profile} is running")
    if exit_code & STATUS_HOST or fields.get("Host", "Running") != "Running":
        host = fields.get("Host") or "not running"
        return MinikubeVerdict(
            MinikubeCondition.HOST_STOPPED, f"minikube is stopped (host {host})", f"minikube start{p}"
        )
    if fields.get("APIServer") == "Paused":
        return MinikubeVerdict(
            MinikubeCondition.PAUSED, "minikube is paused (`minikube pause`)", f"minikube unpause{p}"
        )
    if exit_code & STATUS_CLUSTER:
        parts = ", ".join(f"{k.lower()} {fields[k]}" for k in ("APIServer", "Kubelet") if k in fields)
        return MinikubeVerdict(
            MinikubeCondition.CLUSTER_STOPPED,
            f"minikube's control plane is not running{f' ({parts})' if parts else ''}",
            f"minikube start{p}",
        )
    if exit_code & STATUS_KUBECONFIG:
        state = fields.get("Kubeconfig") or "not configured"
        return MinikubeVerdict(
            MinikubeCondition.KUBECONFIG,
            f"the kubeconfig entry of minikube {profile} is {state} (it does not point at the cluster)",
            f"minikube update-context{p}",
        )
    return MinikubeVerdict(
        MinikubeCondition.CLUSTER_STOPPED, f"minikube status exited {exit_code}", f"minikube start{p}"
    )


@dataclass(frozen=True)
class MinikubeState:
    """`minikube status -o json`: the exit code (bits, see `classify_status`) and the JSON fields."""

    exit_code: int
    fields: Mapping[str, str]

    @property
    def profile_missing(self) -> bool:
        return self.exit_code == STATUS_NO_PROFILE

    @property
    def running(self) -> bool:
        return self.exit_code == 0

    def verdict(self, profile: str = "minikube") -> MinikubeVerdict:
        return classify_status(self.exit_code, self.fields, profile)

    def problems(self) -> list[str]:
        if self.profile_missing:
            return ["profile not found"]
        names = [
            (STATUS_HOST, "host not running"),
            (STATUS_CLUSTER, "apiserver or kubelet not running"),
            (STATUS_KUBECONFIG, "kubeconfig not configured"),
        ]
        out = [label for bit, label in names if self.exit_code & bit]
        return out or ([f"exit code {self.exit_code}"] if self.exit_code else [])


def parse_status(exit_code: int, stdout: str) -> MinikubeState:
    fields: dict[str, str] = {}
    try:
        data = json.loads(stdout) if stdout.strip().startswith("{") else {}
        fields = {str(k): str(v) for k, v in data.items()}
    except json.JSONDecodeError:
        fields = {}
    return MinikubeState(exit_code, fields)


def minikube_home(environ: Mapping[str, str]) -> Path:
    """minikube's state directory (kubernetes/minikube pkg/minikube/localpath/localpath.go, MiniPath)."""
    home = environ.get("MINIKUBE_HOME", "")
    if not home:
        return Path(environ.get("HOME") or Path.home()) / ".minikube"
    return Path(home) if Path(home).name == ".minikube" else Path(home) / ".minikube"


def profile_ip(profile: str, environ: Mapping[str, str]) -> str | None:
    """The primary control plane's IP from `<minikube home>/profiles/PROFILE/config.json`: what
    `minikube ip` prints, after checking that the host runs (kubernetes/minikube cmd/minikube/cmd/ip.go:
    node.Retrieve(config, "") is the node whose Name is "", pkg/minikube/config/types.go Node.IP)."""
    path = minikube_home(environ) / "profiles" / profile / "config.json"
    try:
        nodes = json.loads(path.read_text(encoding="utf-8")).get("Nodes") or []
    except (OSError, ValueError, AttributeError):
        return None
    nodes = [n for n in nodes if isinstance(n, dict)]
    primary = [n for n in nodes if not n.get("Name")] + [n for n in nodes if n.get("Name")]
    ips = [str(n.get("IP") or "") for n in primary]
    return next((ip for ip in ips if _is_ip(ip)), None)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text.strip())
    except ValueError:
        return False
    return True


def minikube_ip(
    profile: str, *, run: Runner = shell.run, environ: Mapping[str, str] | None = None, binary: str = "minikube"
) -> str | None:
    """The address minikube reports for `profile`: `minikube ip -p PROFILE`, else the profile's config
    (a stopped cluster keeps its address there); None when minikube knows no such profile."""
    env = dict(environ if environ is not None else os.environ)
    try:
        result = run([binary, "-p", profile, "ip"], timeout=30, check=False)
    except (OrchestratorError, OSError):  # minikube not installed
        result = None
    if result is not None and result.returncode == 0 and _is_ip(result.stdout.strip()):
        return result.stdout.strip()
    return profile_ip(profile, env)


_EXPORT = re.compile(r'^export\s+(?P<key>[A-Za-z_][A-Za-z0-9_]*)="?(?P<value>[^"]*)"?\s*$')


def parse_docker_env(text: str) -> dict[str, str]:
    """`minikube docker-env --shell bash` -> {DOCKER_HOST: ..., DOCKER_CERT_PATH: ..., ...}."""
    env: dict[str, str] = {}
    for line in text.splitlines():
        match = _EXPORT.match(line.strip())
        if match:
            env[match.group("key")] = match.group("value")
    return env


def registry_ref(registry: str, ref: str) -> str:
    """`todo-backend:abc` pushed to `localhost:5000` -> `localhost:5000/todo-backend:abc`."""
    name = ref.split("@", 1)[0]
    repo, _, tag = name.rpartition(":") if ":" in name.rsplit("/", 1)[-1] else (name, "", "latest")
    return f"{registry.rstrip('/')}/{repo.rsplit('/', 1)[-1]}:{tag}"


# --- targets -------------------------------------------------------------------------------------


class Target(Protocol):
    name: str
    loads_archives: bool  # load() copies a given `docker save` archive instead of exporting `ref`

    def ensure_ready(self) -> None: ...

    def load(self, ref: str, reporter: Reporter, archive: Path | None = None) -> str: ...


class MinikubeTarget:
    name = "minikube"
    # `minikube image load NAME` exports the image from the engine (kubernetes/minikube
    # pkg/minikube/machine/cache_images.go CacheAndLoadImages -> pkg/minikube/image/cache.go
    # saveToTarFile -> image.go retrieveDaemon: go-containerregistry's daemon.Image, the whole
    # `docker save`), writes it into ~/.minikube/cache/images (kept, one file per tag) and loads it;
    # `minikube image load /path.tar` copies that file and loads it (cmd/minikube/cmd/image.go: an
    # argument starting with "/" is a local file -> DoLoadImages -> LoadLocalImages), with no export
    # and no cache file.
    loads_archives = True

    def __init__(
        self,
        profile: str = "minikube",
        kubeconfig: str | None = None,
        *,
        binary: str = "minikube",
        run: Runner = shell.run,
        node_images: Callable[[], set[str]] | None = None,
    ) -> None:
        self.profile = profile
        self.binary = binary
        self._run = run
        self.env = {"KUBECONFIG": kubeconfig} if kubeconfig else {}
        self._listed: set[str] | None = None  # the last `image ls`, shared by the loads of one run
        # The images the kubelet reports in the Node's status: one API read instead of `minikube
        # image ls`, which execs into the node (seconds on a real minikube). It may lag or omit
        # (the largest 50 only), so a miss falls back to `image ls`; a hit is an image the node has.
        self._node_images_fn = node_images
        self._node_images: set[str] | None = None

    def _argv(self, *args: str) -> list[str]:
        return [self.binary, "-p", self.profile, *args]

    def _call(self, *args: str, timeout: float = 120, check: bool = True) -> shell.Result:
        return self._run(self._argv(*args), env=self.env, timeout=timeout, check=check)

    def state(self) -> MinikubeState:
        result = self._call("status", "-o", "json", timeout=60, check=False)
        return parse_status(result.returncode, result.stdout)

    def ensure_ready(self) -> None:
        verdict = self.state().verdict(self.profile)
        if not verdict.ok:
            raise EnvironmentProblem(verdict.message, f"run `{verdict.fix}`")

    def images(self) -> set[str]:
        self._listed = parse_image_list(self._call("image", "ls", "--format", "short").stdout)
        return self._listed

    def has_image(self, ref: str) -> bool:
        return normalize_ref(ref) in self.images()

    def present(self, ref: str) -> bool:
        """Does the node have `ref`? Uses this run's listing when there is one."""
        listed = self._listed if self._listed is not None else self.images()
        return normalize_ref(ref) in listed

    def load(self, ref: str, reporter: Reporter, archive: Path | None = None) -> str:
        """Skip a tag the node has (one `image ls` serves every load of this target); load the
        archive when there is one (an absolute path: minikube reads a path as a file), else `ref`
        from the engine; after a load, list again and require the tag."""
        if self._on_node(ref):
            reporter.emit("image.load_skipped", image=ref, target=self.name, source="node status")
            return ref
        listed = self._listed if self._listed is not None else self.images()
        if normalize_ref(ref) in listed:
            reporter.emit("image.load_skipped", image=ref, target=self.name, source="image ls")
            return ref
        reporter.emit("image.loading", image=ref, target=self.name)  # no byte progress: a live line and a clock
        try:
            self._call("image", "load", str(archive.resolve()) if archive else ref, timeout=900)
        except CommandFailed as exc:
            raise ImageError(
                f"`minikube image load {ref}` failed",
                "check `minikube status` and free disk in the node",
                details=exc.details,
            ) from exc
        if not self.has_image(ref):
            raise DeployNeedsAction(
                f"minikube did not keep {ref} after loading it",
                f"remove stale copies (`minikube image rm {ref}`) and run `invoke up` again; "
                "`minikube image ls` shows what the node has",
            )
        reporter.emit("image.loaded", image=ref, target=self.name)
        return ref

    def _on_node(self, ref: str) -> bool:
        if self._node_images_fn is None:
            return False
        if self._node_images is None:
            try:
                self._node_images = {normalize_ref(name) for name in self._node_images_fn()}
            except OrchestratorError:
                self._node_images = set()  # no answer: `image ls` decides
        return normalize_ref(ref) in self._node_images

    def ip(self) -> str:
        """The node's address from the profile's config, which is where `minikube ip` reads it (the
        command first checks the host through the driver, which takes a real minikube a while; the
        caller has seen `minikube status` say Running); `minikube ip` when the config has none."""
        return profile_ip(self.profile, os.environ) or self._call("ip", timeout=60).stdout.strip()

    def run_action(self, argv: tuple[str, ...], timeout: float = 900) -> None:
        """Run one state-changing minikube command (start, unpause, update-context, addons enable)."""
        try:
            self._call(*argv, timeout=timeout)
        except CommandFailed as exc:
            raise EnvironmentProblem(
                f"`minikube {' '.join(argv)}` failed",
                "run it yourself to see minikube's full message, then `invoke up` again",
                details=exc.details,
            ) from exc

    def docker_env(self) -> dict[str, str]:
        """The environment that points a Docker client at the node's engine (for --build-in-cluster)."""
        env = parse_docker_env(self._call("docker-env", "--shell", "bash", timeout=60).stdout)
        if "DOCKER_HOST" not in env:
            raise EnvironmentProblem(
                "`minikube docker-env` gave no DOCKER_HOST",
                "--build-in-cluster needs the docker driver or runtime: `minikube start --driver=docker`",
            )
        check_node_engine(env)
        return env

    def addons(self) -> dict[str, str]:
        """`minikube addons list -o json` -> {addon: "enabled"|"disabled"}."""
        data = json.loads(self._call("addons", "list", "-o", "json", timeout=60).stdout or "{}")
        return {name: str(info.get("Status", "")) for name, info in data.items() if isinstance(info, Mapping)}


def check_node_engine(env: Mapping[str, str]) -> None:
    """Refuse a node engine that is not Docker. Pure.

    With the containerd runtime `minikube docker-env` points at nerdctld through `ssh://docker@...`
    (kubernetes/minikube cmd/minikube/cmd/docker-env.go: "highly experimental"), which the Docker SDK
    reaches only through paramiko and an ssh-agent, and which builds with BuildKit rules of its own.
    """
    host = env.get("DOCKER_HOST", "")
    if host.startswith("ssh://"):
        raise EnvironmentProblem(
            "--build-in-cluster needs minikube's Docker runtime, but this cluster runs containerd "
            f"(`minikube docker-env` points at {host.split('@')[0]}@..., nerdctld over ssh)",
            "drop --build-in-cluster (the images are then built here and copied in with `minikube image load`), "
            "or recreate the cluster with `minikube start --container-runtime=docker`",
        )
    if not host.startswith(("tcp://", "unix://", "npipe://")):
        raise EnvironmentProblem(
            f"`minikube docker-env` gave a DOCKER_HOST this tool cannot use ({host})", "drop --build-in-cluster"
        )
    if host.startswith("tcp://") and env.get("DOCKER_TLS_VERIFY") == "1" and not env.get("DOCKER_CERT_PATH"):
        raise EnvironmentProblem(
            "`minikube docker-env` asks for TLS but gave no DOCKER_CERT_PATH",
            "run `minikube docker-env` to see what it prints; `minikube update-context`",
        )


@dataclass(frozen=True)
class LocalCli:
    """How a local cluster's own CLI lists clusters and copies an image into every node."""

    name: str
    default_cluster: str
    list_argv: tuple[str, ...]  # prints the clusters, one per line (name first)
    import_argv: tuple[str, ...]  # + ref, then the cluster flag
    archive_argv: tuple[str, ...]  # + a `docker save` archive's path, then the cluster flag
    cluster_flag: str
    create_hint: str  # formatted with {cluster}


KIND = LocalCli(
    "kind",
    "kind",
    ("get", "clusters"),
    ("load", "docker-image"),
    ("load", "image-archive"),
    "--name",
    "kind create cluster --name {cluster}",
)
K3D = LocalCli(
    "k3d",
    "k3s-default",
    ("cluster", "list", "--no-headers"),
    ("image", "import"),
    ("image", "import"),  # k3d image import takes image names and archive files alike
    "--cluster",
    "k3d cluster create {cluster}",
)


class LocalCliTarget:
    """kind (`kind load docker-image` / `image-archive`) and k3d (`k3d image import`): the cluster's CLI
    copies a local image, or its archive, into every node."""

    loads_archives = True

    def __init__(
        self,
        cli: LocalCli,
        cluster: str | None = None,
        kubeconfig: str | None = None,
        *,
        binary: str | None = None,
        run: Runner = shell.run,
    ) -> None:
        self.cli = cli
        self.name = cli.name
        self.cluster = cluster or cli.default_cluster
        self.binary = binary or cli.name
        self._run = run
        self.env = {"KUBECONFIG": kubeconfig} if kubeconfig else {}

    def ensure_ready(self) -> None:
        result = self._run([self.binary, *self.cli.list_argv], env=self.env, timeout=60, check=False)
        names = [line.split()[0] for line in result.stdout.splitlines() if line.strip()]
        if self.cluster not in names:
            raise EnvironmentProblem(
                f"{self.name} cluster {self.cluster} does not exist",
                f"run `{self.cli.create_hint.format(cluster=self.cluster)}`",
            )

    def load(self, ref: str, reporter: Reporter, archive: Path | None = None) -> str:
        reporter.emit("image.loading", image=ref, target=self.name)
        source = [*self.cli.archive_argv, str(archive.resolve())] if archive else [*self.cli.import_argv, ref]
        argv = [self.binary, *source, self.cli.cluster_flag, self.cluster]
        try:
            self._run(argv, env=self.env, timeout=900)
        except CommandFailed as exc:
            listing = " ".join([self.cli.name, *self.cli.list_argv[:2]])
            raise ImageError(
                f"`{' '.join([self.cli.name, *self.cli.import_argv, ref])}` failed",
                f"check `{listing}` and Docker",
                details=exc.details,
            ) from exc
        reporter.emit("image.loaded", image=ref, target=self.name)
        return ref


class RegistryTarget:
    """Tag and push through docker-py; the chart then uses the registry reference."""

    name = "registry"
    loads_archives = False  # the engine pushes its own layers

    def __init__(self, registry: str, docker_client_factory: Callable[[], Any] | None = None) -> None:
        self.registry = registry
        self._factory = docker_client_factory

    def _client(self) -> Any:
        if self._factory is not None:
            return self._factory()
        import docker

        return docker.from_env()

    def ensure_ready(self) -> None:
        try:
            self._client().ping()
        except Exception as exc:  # docker raises several unrelated types when the engine is away
            raise EnvironmentProblem("the Docker engine does not answer", "start Docker, then re-run") from exc

    def load(self, ref: str, reporter: Reporter, archive: Path | None = None) -> str:
        """Push `ref` as <registry>/<name>:<tag> unless the registry has that tag; return it by digest.

        The returned reference (`...:tag@sha256:...`) pins the bytes, so every node runs the same image.
        Content tags change with content, so a tag the registry already has holds this content.
        """
        target = registry_ref(self.registry, ref)
        repository, _, tag = target.rpartition(":")
        client = self._client()
        existing = self._registry_digest(client, target)
        if existing:
            reporter.emit(
                "image.load_skipped",
                image=target,
                target=self.name,
                reason="the registry has this tag",
                digest=existing,
            )
            return f"{target}@{existing}"
        reporter.emit("image.loading", image=target, source=ref, target=self.name)
        try:
            client.images.get(ref).tag(repository, tag)
            chunks = [
                c for c in client.images.push(repository, tag=tag, stream=True, decode=True) if isinstance(c, Mapping)
            ]
        except Exception as exc:
            raise ImageError(
                f"pushing {target} failed: {type(exc).__name__}",
                f"check the registry {self.registry} answers and you are logged in",
            ) from exc
        errors = [
            str(c.get("error") or c.get("errorDetail", {}).get("message", ""))
            for c in chunks
            if "error" in c or "errorDetail" in c
        ]
        if errors:
            raise ImageError(
                f"pushing {target} failed",
                f"check the registry {self.registry} and `docker login`",
                details=errors[-3:],
            )
        digest = push_digest(chunks)
        if digest is None:
            raise ImageError(
                f"pushing {target} reported no digest",
                f"check that {self.registry} is a Docker Registry HTTP API v2 registry",
            )
        reporter.emit("image.loaded", image=target, source=ref, target=self.name, digest=digest)
        return f"{target}@{digest}"

    @staticmethod
    def _registry_digest(client: Any, target: str) -> str | None:
        """The manifest digest the registry holds for `target`, or None when it has no such tag.

        The engine asks the registry (GET /distribution/{name}/json, a HEAD of the manifest).
        """
        try:
            data = client.images.get_registry_data(target)
        except Exception:  # not found, or not reachable: the push says which, with its own error
            return None
        digest = getattr(data, "id", None)
        return digest if isinstance(digest, str) and digest.startswith("sha256:") else None


def push_digest(chunks: Iterable[Mapping[str, Any]]) -> str | None:
    """The manifest digest from a push's progress stream (its `aux` record: {Tag, Digest, Size})."""
    for chunk in chunks:
        aux = chunk.get("aux")
        if isinstance(aux, Mapping) and isinstance(aux.get("Digest"), str):
            return str(aux["Digest"])
    return None
