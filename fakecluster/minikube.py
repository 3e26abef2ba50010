"""A fake `minikube` command line (standard library only; run as a script from a temp bin dir).

Its state lives in a JSON file (`$FAKE_MINIKUBE_STATE`) that the fake cluster reads too: the images
"loaded into the node", the addons, and whether the machine is running. Output formats and exit codes
follow minikube v1.37: `status` exit bits 1 host not running, 2 apiserver or kubelet not running (a paused
cluster: APIServer Paused, Kubelet Stopped), 4 kubeconfig not Configured; 85 no profile
(kubernetes/minikube cmd/minikube/cmd/status.go, exitCode; pkg/minikube/cluster/status.go).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import subprocess
import sys
import tarfile
import time
import urllib.request
from pathlib import Path
from typing import Any

VERSION = "v1.37.0"
DOCKER = os.environ.get("FAKE_MINIKUBE_DOCKER", "/usr/bin/docker")
SYSTEM_IMAGES = (
    "registry.k8s.io/pause:3.10",
    "registry.k8s.io/kube-apiserver:v1.34.0",
    "registry.k8s.io/etcd:3.6.4-0",
    "registry.k8s.io/coredns/coredns:v1.12.1",
    "gcr.io/k8s-minikube/storage-provisioner:v5",
)
KNOWN_ADDONS = (
    "dashboard",
    "default-storageclass",
    "ingress",
    "ingress-dns",
    "metrics-server",
    "registry",
    "storage-provisioner",
)
# kubernetes/minikube cmd/minikube/cmd/status.go: minikubeNotRunningStatusFlag, clusterNotRunningStatusFlag,
# k8sNotRunningStatusFlag
EXIT_HOST_NOT_RUNNING = 1
EXIT_CLUSTER_NOT_RUNNING = 2
EXIT_KUBECONFIG_NOT_CONFIGURED = 4
EXIT_NO_PROFILE = 85
EXIT_GUEST_NOT_RUNNING = 83
EXIT_USAGE = 64

# What `image ls` and `image load` cost on a real minikube (seconds), off by default. Both go through the
# node: `image ls` runs the runtime's image list inside it over ssh / `docker exec` (each such exec took
# 1-3 s in kubernetes/minikube#6393's logs, e.g. `mkdir -p /var/lib/minikube/images` 2.8 s and 3.1 s),
# and `image load` saves the image to a tarball, copies it in and loads it there: minikube's own image
# benchmarks (site/content/en/docs/benchmarks/imageBuild/, "minikube image load", docker driver)
# measured 9-24 s for a 47 MB image. MEASURED_LATENCY takes the low ends: the fastest real case.
LATENCY_FIELDS = {"ls": "latency_image_ls", "list": "latency_image_ls", "load": "latency_image_load"}
MEASURED_LATENCY = {"latency_image_ls": 1.5, "latency_image_load": 9.0}


def default_state(api_port: int = 0, kubeconfig: str = "") -> dict[str, Any]:
    return {
        "profile": "minikube",
        "exists": True,
        "host": "Running",
        "kubelet": "Running",
        "apiserver": "Running",
        "kubeconfig": "Configured",
        "images": {},
        "addons": {"default-storageclass": True, "storage-provisioner": True},
        "silent_image_load": False,
        "docker_env_used": False,
        "api_port": api_port,
        "kubeconfig_path": kubeconfig,
        "ip": "127.0.0.1",
        "latency_image_ls": 0.0,
        "latency_image_load": 0.0,
    }


def latency(state: dict[str, Any], args: list[str]) -> float:
    """Seconds this command takes on a real minikube, as configured (0 unless set)."""
    if len(args) < 2 or args[0] != "image":
        return 0.0
    field = LATENCY_FIELDS.get(args[1])
    try:
        return max(0.0, float(state.get(field, 0.0) or 0.0)) if field else 0.0
    except (TypeError, ValueError):
        return 0.0


def is_archive_argument(arg: str) -> bool:
    """minikube reads an `image load` argument as a local file when it starts with "/" or "." or
    names an existing file, and as an image in the engine otherwise (kubernetes/minikube
    cmd/minikube/cmd/image.go, loadImageCmd)."""
    return arg.startswith(("/", ".")) or os.path.isfile(arg)


def export_from_engine(args: list[str]) -> None:
    """`image load NAME` exports NAME from the engine before it loads anything: CacheAndLoadImages
    -> image.SaveToDir -> saveToTarFile -> retrieveDaemon, go-containerregistry's daemon.Image, which
    reads the engine's whole `docker save` (kubernetes/minikube pkg/minikube/machine/cache_images.go,
    pkg/minikube/image/cache.go, image.go); `--overwrite` defaults to true, so every load exports
    again. The export really runs here (its output discarded); the gzip into ~/.minikube/cache, the
    copy into the node and the runtime's load are left to `latency_image_load`. A missing image is
    reported by cmd_image."""
    if len(args) < 3 or args[:2] != ["image", "load"]:
        return
    for name in args[2:]:
        if not name.startswith("-") and not is_archive_argument(name):
            subprocess.run([DOCKER, "save", name], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)


def archive_images(path: str) -> list[tuple[str, str]]:
    """(tag, image ID) of every tagged image in a `docker save` archive, from its manifest.json: the
    ID is the digest of the config blob (`<hex>.json` before Docker 25, `blobs/sha256/<hex>` after)."""
    with tarfile.open(path) as archive:
        member = archive.extractfile("manifest.json")
        manifest = json.load(member) if member else []
    found = []
    for entry in manifest:
        digest = "sha256:" + entry["Config"].rsplit("/", 1)[-1].removesuffix(".json")
        found += [(tag, digest) for tag in entry.get("RepoTags") or []]
    return found


def read_state(path: str | Path) -> dict[str, Any]:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return default_state()


def write_state(path: str | Path, state: dict[str, Any]) -> None:
    tmp = Path(f"{path}.tmp")
    tmp.write_text(json.dumps(state, indent=2))
    tmp.replace(path)
    write_profile_config(path, state)


def minikube_home(state_path: str | Path) -> Path:
    """The fake's `$MINIKUBE_HOME` (FakeCluster.env sets it): beside the state file."""
    return Path(state_path).parent / "minikube-home" / ".minikube"


def write_profile_config(state_path: str | Path, state: dict[str, Any]) -> None:
    """`$MINIKUBE_HOME/profiles/PROFILE/config.json`, the file `minikube start` saves and every later
    command loads (kubernetes/minikube pkg/minikube/config/profile.go SaveProfile, profileFilePath;
    the fields of ClusterConfig and Node in pkg/minikube/config/types.go). `minikube ip` prints the
    primary node's (Name "") IP from it (cmd/minikube/cmd/ip.go). Only the fields this fake knows
    are written, and only the primary node; no profile, no file."""
    path = minikube_home(state_path) / "profiles" / state["profile"] / "config.json"
    if not state.get("exists"):
        path.unlink(missing_ok=True)
        return
    node = {
        "Name": "",
        "IP": state.get("ip", "127.0.0.1"),
        "Port": 8443,
        "KubernetesVersion": "v1.35.0",
        "ContainerRuntime": state.get("container_runtime", "docker"),
        "ControlPlane": True,
        "Worker": True,
    }
    config = {
        "Name": state["profile"],
        "Driver": "docker",
        "KubernetesConfig": {"KubernetesVersion": "v1.35.0", "ContainerRuntime": node["ContainerRuntime"]},
        "Nodes": [node],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name("config.json.tmp")
    tmp.write_text(json.dumps(config, indent=2))
    tmp.replace(path)


@contextlib.contextmanager
def locked(path: str | Path):
    """Serialise read-modify-write of the state between this command and the fake cluster."""
    with open(f"{path}.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def update_state(path: str | Path, **fields: Any) -> dict[str, Any]:
    with locked(path):
        state = read_state(path)
        state.update(fields)
        write_state(path, state)
    return state


def normalise_image(ref: str) -> str:
    """`todo-backend:1` -> `docker.io/library/todo-backend:1` (the name the node's runtime shows)."""
    name, _, digest = ref.partition("@")
    last = name.rsplit("/", 1)[-1]
    if ":" not in last and not digest:
        name += ":latest"
    first = name.split("/", 1)[0]
    if "/" not in name:
        name = f"docker.io/library/{name}"
    elif not ("." in first or ":" in first or first == "localhost"):
        name = f"docker.io/{name}"
    return f"{name}@{digest}" if digest else name


def is_running(state: dict[str, Any]) -> bool:
    return bool(state.get("exists")) and state.get("host") == "Running" and state.get("apiserver") == "Running"


# --- commands ----------------------------------------------------------------------------------
def _err(message: str) -> None:
    print(message, file=sys.stderr)


def _require_running(state: dict[str, Any]) -> int:
    if not state.get("exists"):
        _err(f'🤷  Profile "{state["profile"]}" not found. Run "minikube profile list" to view all profiles.')
        _err('👉  To start a cluster, run: "minikube start"')
        return EXIT_NO_PROFILE
    if state.get("host") != "Running":
        _err(f"🤷  The control-plane node {state['profile']} host is not running: state={state['host']}")
        _err('👉  To start a cluster, run: "minikube start"')
        return EXIT_GUEST_NOT_RUNNING
    return 0


def cmd_status(state: dict[str, Any], args: list[str]) -> int:
    if not state.get("exists"):
        _err(f'🤷  Profile "{state["profile"]}" not found. Run "minikube profile list" to view all profiles.')
        _err('👉  To start a cluster, run: "minikube start"')
        return EXIT_NO_PROFILE
    fields = {
        "Name": state["profile"],
        "Host": state["host"],
        "Kubelet": state["kubelet"],
        "APIServer": state["apiserver"],
        "Kubeconfig": state["kubeconfig"],
        "Worker": False,
    }
    output = "text"
    for i, arg in enumerate(args):
        if arg in ("-o", "--output") and i + 1 < len(args):
            output = args[i + 1]
        elif arg.startswith(("-o=", "--output=")):
            output = arg.split("=", 1)[1]
    if output == "json":
        print(json.dumps(fields))
    else:
        print(
            f"{state['profile']}\ntype: Control Plane\nhost: {state['host']}\nkubelet: {state['kubelet']}\n"
            f"apiserver: {state['apiserver']}\nkubeconfig: {state['kubeconfig']}\n"
        )
    code = 0
    if state["host"] != "Running":
        code |= EXIT_HOST_NOT_RUNNING
    if state["apiserver"] != "Running" or state["kubelet"] != "Running":
        code |= EXIT_CLUSTER_NOT_RUNNING
    if state["kubeconfig"] != "Configured":
        code |= EXIT_KUBECONFIG_NOT_CONFIGURED
    return code


def cmd_ip(state: dict[str, Any], args: list[str]) -> int:
    code = _require_running(state)
    if not code:
        print(state.get("ip", "127.0.0.1"))
    return code


def _docker_image_id(image: str) -> str | None:
    proc = subprocess.run(
        [DOCKER, "image", "inspect", "--format", "{{.Id}}", image], capture_output=True, text=True, check=False
    )
    return proc.stdout.strip() if proc.returncode == 0 else None


def _engine_images(state: dict[str, Any]) -> list[str]:
    """After docker-env the local engine is the node's engine: its images are the node's."""
    if not state.get("docker_env_used"):
        return []
    proc = subprocess.run(
        [DOCKER, "images", "--format", "{{.Repository}}:{{.Tag}}"], capture_output=True, text=True, check=False
    )
    return [normalise_image(line) for line in proc.stdout.split() if "<none>" not in line]


def cmd_image(state: dict[str, Any], args: list[str], path: str) -> int:
    if not args:
        _err("Error: requires a subcommand: load, ls, rm")
        return EXIT_USAGE
    sub, rest = args[0], [a for a in args[1:] if not a.startswith("-")]
    code = _require_running(state)
    if code:
        return code
    if sub == "load":
        if not rest:
            _err(
                "❌  Exiting due to MK_USAGE: Please provide an image in your local daemon to load into "
                "minikube via <minikube image load IMAGE_NAME>"
            )
            return EXIT_USAGE
        # A load that fails still exits 0: a missing image is a warning (pkg/minikube/image/cache.go
        # SaveToDir, errCacheImageDoesntExist), and DoLoadImages only records the nodes it failed
        # ("Live pushes are not considered a failure", pkg/minikube/machine/cache_images.go), the
        # same in v1.37.0. So the exit code proves nothing; `image ls` afterwards does.
        for image in rest:
            if is_archive_argument(image):
                try:
                    loaded = archive_images(image)
                except (OSError, KeyError, ValueError, tarfile.TarError):
                    continue  # transferAndLoadImage's error goes to the log file only
                if not state.get("silent_image_load"):
                    # LoadLocalImages copies the file in and runs the runtime's load, which tags what the
                    # archive names, replacing an image that had the tag (`docker load`).
                    state["images"].update({normalise_image(tag): digest for tag, digest in loaded})
                continue
            image_id = _docker_image_id(image)
            if image_id is None:
                _err(f"❗  The image '{image}' was not found; unable to add it to cache.")
                continue
            if state.get("silent_image_load"):
                continue  # the known minikube trap: success reported, nothing loaded
            ref = normalise_image(image)
            # minikube keeps the old image when the tag is already present (kubernetes/minikube#11276).
            state["images"].setdefault(ref, image_id)
        write_state(path, state)
        return 0
    if sub in ("ls", "list"):
        refs = list(SYSTEM_IMAGES) + sorted(set(state["images"]) | set(_engine_images(state)))
        if "json" in args or "--format=json" in args:
            print(
                json.dumps(
                    [
                        {
                            "id": state["images"].get(ref, "").removeprefix("sha256:"),
                            "repoDigests": [],
                            "repoTags": [ref],
                            "size": "0",
                        }
                        for ref in refs
                    ]
                )
            )
        elif "table" in args or "--format=table" in args:
            print("|-------|-----|---------------|\n| Image | Tag | Image ID |\n|-------|-----|---------------|")
            for ref in refs:
                name, _, tag = ref.rpartition(":")
                print(f"| {name} | {tag} | {state['images'].get(ref, '')[7:20]} |")
        else:
            print("\n".join(refs))
        return 0
    if sub == "rm":
        for image in rest:
            state["images"].pop(normalise_image(image), None)
        write_state(path, state)
        return 0
    _err(f'Error: unknown command "{sub}" for "minikube image"')
    return EXIT_USAGE


def cmd_addons(state: dict[str, Any], args: list[str], path: str) -> int:
    sub, rest = (args[0] if args else "list"), [a for a in args[1:] if not a.startswith("-")]
    if sub == "list":
        code = _require_running(state)
        if code:
            return code
        if "json" in args or "-o=json" in args or "--output=json" in args:
            print(
                json.dumps(
                    {
                        name: {
                            "Profile": state["profile"],
                            "Status": "enabled" if state["addons"].get(name) else "disabled",
                        }
                        for name in KNOWN_ADDONS
                    }
                )
            )
        else:
            print("|-----------------------------|----------|--------------|--------------------------------|")
            print("|         ADDON NAME          | PROFILE  |    STATUS    |           MAINTAINER           |")
            print("|-----------------------------|----------|--------------|--------------------------------|")
            for name in KNOWN_ADDONS:
                status = "enabled ✅" if state["addons"].get(name) else "disabled"
                print(f"| {name:<27} | {state['profile']:<8} | {status:<12} | Kubernetes                     |")
            print("|-----------------------------|----------|--------------|--------------------------------|")
        return 0
    if sub in ("enable", "disable"):
        code = _require_running(state)
        if code:
            return code
        for name in rest:
            if name not in KNOWN_ADDONS:
                _err(f"❌  Exiting due to MK_ADDON_ENABLE: run callbacks: {name} is not a valid addon")
                return 10
            state["addons"][name] = sub == "enable"
            state.setdefault("calls", []).append(f"addons {sub} {name}")  # a record for tests, not emulation
            print(f"🌟  The '{name}' addon is {sub}d")
        write_state(path, state)
        return 0
    _err(f'Error: unknown command "{sub}" for "minikube addons"')
    return EXIT_USAGE


def cmd_docker_env(state: dict[str, Any], args: list[str], path: str) -> int:
    """The shapes of kubernetes/minikube cmd/minikube/cmd/docker-env.go: tcp:// with TLS for the docker
    runtime (the fake's TLS endpoint relays to the local engine, fakecluster/docker_tls.py); for the
    containerd runtime a warning and ssh:// (nerdctld behind ssh, with an ssh-agent)."""
    code = _require_running(state)
    if code:
        return code
    if "--unset" in args or "-u" in args:
        print("unset DOCKER_TLS_VERIFY;\nunset DOCKER_HOST;\nunset DOCKER_CERT_PATH;\nunset MINIKUBE_ACTIVE_DOCKERD;")
        return 0
    runtime = state.get("container_runtime", "docker")
    if runtime not in ("docker", "containerd"):
        _err("❌  Exiting due to MK_USAGE: the docker-env command only supports the docker and containerd runtimes")
        return EXIT_USAGE
    # From now on the local engine stands for the node's engine (the cluster sees what it builds).
    if not state.get("docker_env_used"):
        state["docker_env_used"] = True
        write_state(path, state)
    footer = "\n# To point your shell to minikube's docker-daemon, run:\n# eval $(minikube -p minikube docker-env)"
    if runtime == "containerd":
        _err(
            "❗  Using the docker-env command with the containerd runtime is a highly experimental feature, please "
            "provide feedback or contribute to make it better"
        )
        print(
            'export DOCKER_HOST="ssh://docker@127.0.0.1:32772"\nexport MINIKUBE_ACTIVE_DOCKERD="minikube"\n'
            'export SSH_AUTH_SOCK="/tmp/ssh-fakecluster/agent.1"\nexport SSH_AGENT_PID="4242"\n' + footer
        )
        return 0
    request = urllib.request.Request(
        f"http://127.0.0.1:{state.get('api_port')}/_fakecluster/docker-tls",
        data=b"{}",
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        tls = json.load(response)
    print(
        f'export DOCKER_TLS_VERIFY="1"\nexport DOCKER_HOST="tcp://127.0.0.1:{tls["port"]}"\n'
        f'export DOCKER_CERT_PATH="{tls["cert_path"]}"\nexport MINIKUBE_ACTIVE_DOCKERD="minikube"\n' + footer
    )
    return 0


def cmd_pause(state: dict[str, Any], command: str, path: str) -> int:
    """`minikube pause` freezes the control plane's containers and stops the kubelet; `status` then shows
    APIServer "Paused" and Kubelet "Stopped" (kubernetes/minikube cmd/minikube/cmd/pause.go, unpause.go,
    pkg/minikube/cluster/pause.go)."""
    code = _require_running(state) if command == "pause" else (0 if state.get("exists") else EXIT_NO_PROFILE)
    if code:
        return code
    if command == "pause":
        state.update(apiserver="Paused", kubelet="Stopped")
        print("⏯️  Paused 14 containers in: kube-system, kubernetes-dashboard, storage-gluster, istio-operator")
    else:
        state.update(apiserver="Running", kubelet="Running")
        print("⏸️  Unpaused 14 containers in: kube-system, kubernetes-dashboard, storage-gluster, istio-operator")
    state.setdefault("calls", []).append(command)
    write_state(path, state)
    return 0


def cmd_update_context(state: dict[str, Any], args: list[str], path: str = "") -> int:
    """Points the kubeconfig's minikube context at the cluster again: `status` shows Kubeconfig
    "Configured" afterwards (kubernetes/minikube cmd/minikube/cmd/update-context.go)."""
    code = _require_running(state)
    if code:
        return code
    if path:
        state.update(kubeconfig="Configured")
        state.setdefault("calls", []).append("update-context")
        write_state(path, state)
    print(f'🎉  "{state["profile"]}" context has been updated to point to 127.0.0.1:{state.get("api_port")}')
    print('💗  Current context is "minikube"')
    return 0


def cmd_service(state: dict[str, Any], args: list[str]) -> int:
    code = _require_running(state)
    if code:
        return code
    names = [a for a in args if not a.startswith("-")]
    namespace = "default"
    for i, arg in enumerate(args):
        if arg in ("-n", "--namespace") and i + 1 < len(args):
            namespace = args[i + 1]
            names = [n for n in names if n != namespace]
        elif arg.startswith("--namespace="):
            namespace = arg.split("=", 1)[1]
    if not names:
        _err("❌  Exiting due to MK_USAGE: You must specify a service name")
        return EXIT_USAGE
    url = f"http://127.0.0.1:{state.get('api_port')}/api/v1/namespaces/{namespace}/services/{names[0]}"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            service = json.load(response)
    except OSError:
        _err(f"❌  Exiting due to SVC_NOT_FOUND: Service '{names[0]}' was not found in '{namespace}' namespace.")
        return 89
    for port in service.get("spec", {}).get("ports", []):
        if port.get("nodePort"):
            print(f"http://{state.get('ip', '127.0.0.1')}:{port['nodePort']}")
            return 0
    _err(f"😿  service {namespace}/{names[0]} has no node port")
    return 89


def cmd_profile(state: dict[str, Any], args: list[str]) -> int:
    if not args or args[0] != "list":
        print(state["profile"])
        return 0
    valid = (
        [
            {
                "Name": state["profile"],
                "Status": "OK" if is_running(state) else "Stopped",
                "Config": {
                    "Name": state["profile"],
                    "Driver": "docker",
                    "KubernetesConfig": {"KubernetesVersion": "v1.35.0", "ContainerRuntime": "docker"},
                },
            }
        ]
        if state.get("exists")
        else []
    )
    if "json" in args or "--output=json" in args or "-o=json" in args:
        print(json.dumps({"invalid": [], "valid": valid}))
    elif not valid:
        _err("🤹  Exiting due to MK_USAGE_NO_PROFILE: No minikube profile was found.")
        return EXIT_NO_PROFILE
    else:
        print("| Profile  | Driver | Runtime | IP        | Version | Status |")
        print(f"| {state['profile']} | docker | docker  | 127.0.0.1 | v1.35.0 | {valid[0]['Status']} |")
    return 0


def start_addons(args: list[str]) -> list[str]:
    """`--addons=ingress`, `--addons ingress`, repeatable or comma-separated (minikube start's flag,
    kubernetes/minikube cmd/minikube/cmd/start_flags.go: addons, a string slice)."""
    names: list[str] = []
    for i, arg in enumerate(args):
        if arg.startswith("--addons="):
            names += arg.split("=", 1)[1].split(",")
        elif arg == "--addons" and i + 1 < len(args):
            names += args[i + 1].split(",")
    return [n for n in names if n]


def cmd_start_stop(state: dict[str, Any], command: str, path: str, args: list[str] | None = None) -> int:
    value = "Running" if command == "start" else "Stopped"
    state.update(
        exists=True,
        host=value,
        kubelet=value,
        apiserver=value,
        kubeconfig="Configured" if value == "Running" else "Stopped",
    )
    if command == "start":
        for name in start_addons(args or []):
            state.setdefault("addons", {})[name] = True
    state.setdefault("calls", []).append(command)
    write_state(path, state)
    print(
        f'✋  Stopping node "{state["profile"]}"  ...'
        if command == "stop"
        else f'🏄  Done! kubectl is now configured to use "{state["profile"]}" cluster and "default" namespace '
        "by default"
    )
    return 0


def strip_profile(argv: list[str]) -> list[str]:
    """Drop `-p NAME` / `--profile NAME` / `--profile=NAME` (one profile only: 'minikube')."""
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg in ("-p", "--profile"):
            skip = True
        elif not arg.startswith(("-p=", "--profile=")):
            out.append(arg)
    return out


def main(argv: list[str]) -> int:
    path = os.environ.get("FAKE_MINIKUBE_STATE", "")
    if not path:
        _err("fake minikube: FAKE_MINIKUBE_STATE is not set")
        return EXIT_USAGE
    args = strip_profile(argv)
    export_from_engine(args)
    delay = latency(read_state(path), args)
    if delay:
        time.sleep(delay)  # outside the state lock: concurrent commands each take their own time
    if args[:1] and args[0] in (
        "image",
        "addons",
        "start",
        "stop",
        "docker-env",
        "pause",
        "unpause",
        "update-context",
    ):  # they write the state
        with locked(path):
            return run_command(read_state(path), args, path)
    return run_command(read_state(path), args, path)


def run_command(state: dict[str, Any], args: list[str], path: str) -> int:
    if not args:
        print("minikube provisions and manages local Kubernetes clusters optimized for development workflows.")
        return 0
    command, rest = args[0], args[1:]
    if command == "version":
        if "--short" in rest:
            print(VERSION)
        elif "json" in rest or "--output=json" in rest or "-o=json" in rest:
            print(json.dumps({"commit": "0" * 40, "minikubeVersion": VERSION}))
        else:
            print(f"minikube version: {VERSION}\ncommit: 0000000000000000000000000000000000000000")
        return 0
    if command == "profile":
        return cmd_profile(state, rest)
    if command == "status":
        return cmd_status(state, rest)
    if command == "ip":
        return cmd_ip(state, rest)
    if command == "image":
        return cmd_image(state, rest, path)
    if command == "addons":
        return cmd_addons(state, rest, path)
    if command == "docker-env":
        return cmd_docker_env(state, rest, path)
    if command == "update-context":
        return cmd_update_context(state, rest, path)
    if command in ("pause", "unpause"):
        return cmd_pause(state, command, path)
    if command == "service":
        return cmd_service(state, rest)
    if command in ("start", "stop"):
        return cmd_start_stop(state, command, path, rest)
    if command == "kubectl":
        return subprocess.run(["kubectl", *[a for a in rest if a != "--"]], check=False).returncode
    _err(f'Error: unknown command "{command}" for "minikube"')
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
