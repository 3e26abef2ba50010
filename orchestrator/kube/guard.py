"""Cluster guard: deploy only to a local cluster unless told otherwise, and pin the choice for the run.

The rule (pure, no network, see `decide`):
1. The context is `--context` when given, else the kubeconfig's current-context.
2. Its name must be a local one for the target:
       minikube -> `minikube`        kind -> `kind-*`        k3d -> `k3d-*`
       registry -> any of those, `docker-desktop`, `rancher-desktop` or `orbstack`
3. Its cluster's server host must be local:
       loopback (127.0.0.0/8, ::1, `localhost`, `*.localhost`), 0.0.0.0 and :: (k3d writes 0.0.0.0),
       `host.docker.internal` / `kubernetes.docker.internal` (Docker Desktop, both loopback aliases),
       or, for the `minikube` context, exactly the address minikube itself reports for the profile
       (`minikube ip -p PROFILE`, else the profile's config.json). No fixed network list: the docker
       driver takes the first free /24 from 192.168.49.0 in steps of 9 (49, 58, 67, ...; kubernetes/
       minikube pkg/drivers/kic/oci/network_create.go), kvm2 counts from .39 in steps of 11, qemu with
       socket_vmnet uses 192.168.105.x, so a second cluster lands on an address a list would miss.
   Any other host, private LAN addresses included, counts as remote: DNS is not consulted.
4. A context that fails 2 or 3 is used only with an explicit `--context NAME` AND `--allow-remote`.

The chosen context is then frozen into a private minimal kubeconfig (mode 0600, in a 0700 temp dir):
only that context, its cluster and its user, with relative certificate paths made absolute. Every
child process (KUBECONFIG=...) and the API client read that file, so switching contexts in another
terminal during a run cannot redirect the deploy.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import yaml

from orchestrator.errors import EnvironmentProblem
from orchestrator.run.interrupts import scratch, unscratch
from orchestrator.settings.config import Target

LOCAL_CONTEXT_PATTERNS: dict[Target, tuple[str, ...]] = {
    Target.MINIKUBE: ("minikube",),
    Target.KIND: ("kind-*",),
    Target.K3D: ("k3d-*",),
    Target.REGISTRY: ("minikube", "kind-*", "k3d-*", "docker-desktop", "rancher-desktop", "orbstack"),
}
LOCAL_HOSTNAMES = frozenset({"localhost", "host.docker.internal", "kubernetes.docker.internal"})
LOCAL_NETWORKS = tuple(
    ipaddress.ip_network(n)
    for n in (
        "127.0.0.0/8",
        "::1/128",
        "0.0.0.0/32",
        "::/128",
    )
)
MinikubeIp = Callable[[str], "str | None"]  # profile -> the address minikube reports, or None

# kubeconfig fields that hold file paths, relative to the file they were read from
_CLUSTER_PATH_FIELDS = ("certificate-authority",)
_USER_PATH_FIELDS = ("client-certificate", "client-key", "tokenFile")

_FIX_CONTEXT = "kubectl config use-context minikube   (or start it: minikube start)"


@dataclass(frozen=True)
class KubeEntry:
    """A named kubeconfig entry (cluster, user or context) and the file it came from."""

    name: str
    body: Mapping[str, Any]
    source: Path


@dataclass(frozen=True)
class KubeConfig:
    """The merged view of the kubeconfig files (kubectl's rule: the first file to define a name wins)."""

    current_context: str | None
    contexts: Mapping[str, KubeEntry]
    clusters: Mapping[str, KubeEntry]
    users: Mapping[str, KubeEntry]
    files: tuple[Path, ...] = ()


@dataclass(frozen=True)
class Decision:
    """The guard's verdict: which context, its server, and whether it counts as remote."""

    context: str
    server: str
    remote: bool


@dataclass
class FrozenContext:
    """The pinned context of this run. Use as a context manager or call cleanup()."""

    name: str
    server: str
    kubeconfig_path: Path
    remote: bool = False
    _directory: Path | None = field(default=None, repr=False)

    def env(self) -> dict[str, str]:
        """Environment for child processes (kubectl, helm, minikube)."""
        return {"KUBECONFIG": str(self.kubeconfig_path)}

    def api_client(self) -> Any:
        """A `kubernetes.client.ApiClient` reading only the frozen file."""
        from kubernetes import config as kube_config

        try:
            return kube_config.new_client_from_config(config_file=str(self.kubeconfig_path), context=self.name)
        except kube_config.ConfigException as exc:
            # The exception text can quote credential plugin output: say what failed, not what it held.
            raise EnvironmentProblem(
                f"the kubeconfig entry of context {self.name} cannot be used by the Kubernetes client "
                f"({'a referenced file is missing' if 'does not exist' in str(exc) else 'invalid entry'})",
                "recreate it: minikube update-context   (or minikube start)",
            ) from None

    def cleanup(self) -> None:
        if self._directory is not None:
            shutil.rmtree(self._directory, ignore_errors=True)
            unscratch(self._directory)
            self._directory = None

    def __enter__(self) -> FrozenContext:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.cleanup()


def freeze_context(
    target: Target | str,
    *,
    requested: str | None = None,
    allow_remote: bool = False,
    environ: Mapping[str, str] | None = None,
    home: Path | None = None,
    minikube_ip: MinikubeIp | None = None,
) -> FrozenContext:
    """Load the kubeconfig, apply the guard, and write the private one-context kubeconfig.

    `minikube_ip`: how to ask minikube for a profile's address (default: `targets.minikube_ip`)."""
    from orchestrator.kube.targets import minikube_ip as ask_minikube

    env = environ if environ is not None else os.environ
    config = load_kubeconfig(kubeconfig_paths(env, home))
    lookup = minikube_ip or (lambda profile: ask_minikube(profile, environ=env))
    decision = decide(config, requested, Target(target), allow_remote, minikube_ip=lookup)
    return write_frozen(config, decision)


def kubeconfig_paths(environ: Mapping[str, str], home: Path | None = None) -> list[Path]:
    """KUBECONFIG's list (path-separated, empty parts ignored) or ~/.kube/config."""
    value = environ.get("KUBECONFIG", "")
    parts = [Path(p).expanduser() for p in value.split(os.pathsep) if p]
    if parts:
        return parts
    return [(home if home is not None else Path.home()) / ".kube" / "config"]


def load_kubeconfig(paths: list[Path]) -> KubeConfig:
    """Parse and merge kubeconfig files; files that do not exist are skipped, as kubectl does."""
    current: str | None = None
    contexts: dict[str, KubeEntry] = {}
    clusters: dict[str, KubeEntry] = {}
    users: dict[str, KubeEntry] = {}
    read: list[Path] = []
    for path in paths:
        if not path.is_file():
            continue
        try:
            document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise EnvironmentProblem(
                f"kubeconfig {path} cannot be read or parsed ({type(exc).__name__})",
                f"check the file, or recreate it: {_FIX_CONTEXT}",
            ) from None
        if not isinstance(document, dict):
            raise EnvironmentProblem(f"kubeconfig {path} is not a YAML mapping", f"recreate it: {_FIX_CONTEXT}")
        read.append(path)
        base = path.resolve().parent
        if current is None and document.get("current-context"):
            current = str(document["current-context"])
        for section, key, into in (
            ("contexts", "context", contexts),
            ("clusters", "cluster", clusters),
            ("users", "user", users),
        ):
            for item in document.get(section) or []:
                if isinstance(item, dict) and item.get("name") and str(item["name"]) not in into:
                    into[str(item["name"])] = KubeEntry(str(item["name"]), item.get(key) or {}, base)
    if not read:
        shown = ", ".join(str(p) for p in paths)
        raise EnvironmentProblem(f"no kubeconfig found (looked at {shown})", "minikube start")
    return KubeConfig(current, contexts, clusters, users, tuple(read))


def decide(
    config: KubeConfig, requested: str | None, target: Target, allow_remote: bool, minikube_ip: MinikubeIp | None = None
) -> Decision:
    """The guard itself: raises EnvironmentProblem with the fix when the context is refused.

    Pure but for `minikube_ip`, asked only for a `minikube` context whose server is not loopback."""
    name = requested or config.current_context
    if not name:
        raise EnvironmentProblem("the kubeconfig has no current context", _FIX_CONTEXT)
    if name not in config.contexts:
        raise EnvironmentProblem(
            f"context {name} is not in the kubeconfig ({', '.join(sorted(config.contexts)) or 'no contexts'})",
            _FIX_CONTEXT if target is Target.MINIKUBE else f"create the {target.value} cluster first",
        )
    cluster_name = str(config.contexts[name].body.get("cluster") or "")
    cluster = config.clusters.get(cluster_name)
    server = str(cluster.body.get("server") or "") if cluster else ""
    if not server:
        raise EnvironmentProblem(
            f"context {name} points at cluster {cluster_name or '(none)'}, which has no server in the kubeconfig",
            "minikube start   (it rewrites the kubeconfig entry)",
        )
    local_name = is_local_context_name(name, target)
    local_server = is_local_server(server)
    minikube_profile = local_name and is_local_context_name(name, Target.MINIKUBE)
    reported = None
    if local_name and not local_server and minikube_profile and minikube_ip is not None:
        reported = minikube_ip(name)
        local_server = reported is not None and same_host(server, reported)
    if local_name and local_server:
        return Decision(name, server, remote=False)
    why = f"context {name} is not a local {target.value} context"
    if local_name:
        said = (
            f"minikube reports {reported} for profile {name}"
            if reported
            else f"minikube does not report an address for profile {name}"
        )
        why = f"context {name} points at {server}, which is not a local address"
        why += f" ({said})" if minikube_profile else ""
    if requested == name and allow_remote:
        return Decision(name, server, remote=True)
    raise EnvironmentProblem(
        f"refusing to deploy: {why}",
        f"{_FIX_CONTEXT}; to deploy to it anyway pass --context {name} --allow-remote",
    )


def is_local_context_name(name: str, target: Target) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in LOCAL_CONTEXT_PATTERNS[target])


def same_host(server: str, address: str) -> bool:
    """Whether the server URL's host is exactly `address` (an IP as `minikube ip` prints it)."""
    try:
        host = (urlsplit(server).hostname or "").lower().rstrip(".")
        return ipaddress.ip_address(host) == ipaddress.ip_address(address.strip())
    except ValueError:
        return False


def is_local_server(server: str) -> bool:
    """True when the API server URL's host is loopback or a Docker Desktop alias (no network needed)."""
    try:
        host = urlsplit(server).hostname
    except ValueError:
        return False
    if not host:
        return False
    host = host.lower().rstrip(".")
    if host in LOCAL_HOSTNAMES or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address.version == net.version and address in net for net in LOCAL_NETWORKS)


def minimal_kubeconfig(config: KubeConfig, context: str) -> dict[str, Any]:
    """Only `context`, its cluster and its user, with file paths made absolute."""
    entry = config.contexts[context]
    cluster_name = str(entry.body.get("cluster") or "")
    user_name = str(entry.body.get("user") or "")
    cluster = config.clusters[cluster_name]
    user = config.users.get(user_name)
    context_body = {k: v for k, v in entry.body.items() if k in ("cluster", "user", "namespace")}
    document: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "current-context": context,
        "contexts": [{"name": context, "context": context_body}],
        "clusters": [{"name": cluster_name, "cluster": _absolute(cluster.body, _CLUSTER_PATH_FIELDS, cluster.source)}],
        "users": [],
    }
    if user_name:
        body = _absolute(user.body, _USER_PATH_FIELDS, user.source) if user else {}
        document["users"] = [{"name": user_name, "user": body}]
    return document


def write_frozen(config: KubeConfig, decision: Decision) -> FrozenContext:
    """Write the minimal kubeconfig to a fresh 0700 directory as a 0600 file."""
    document = minimal_kubeconfig(config, decision.context)
    directory = Path(tempfile.mkdtemp(prefix="todo-deploy-kube-"))
    path = directory / "kubeconfig"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            yaml.safe_dump(document, handle, sort_keys=False)
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    scratch(directory)
    return FrozenContext(decision.context, decision.server, path, decision.remote, directory)


def _absolute(body: Mapping[str, Any], fields: tuple[str, ...], base: Path) -> dict[str, Any]:
    out = dict(body)
    for key in fields:
        value = out.get(key)
        if isinstance(value, str) and value and not os.path.isabs(os.path.expanduser(value)):
            out[key] = str(base / value)
        elif isinstance(value, str) and value.startswith("~"):
            out[key] = os.path.expanduser(value)
    return out
