"""`invoke doctor`: small independent checks of everything a deploy needs (one `doctor.check` event
each; orchestrator/run/console.py shows them as a checklist with the fix under each failure).

Each check returns `Check(name, ok, detail, fix)`. A check that crashes becomes a failed Check with
the error's message and hint: `run_checks` always returns the full list and never raises, so one
broken tool never hides the state of the others. Everything a check touches (Docker client, command
runner, files, environment) comes from `DoctorInputs`, so each check is testable alone.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator import shell
from orchestrator.errors import OrchestratorError
from orchestrator.kube.rollout.status import Status, pod_status
from orchestrator.kube.targets import MinikubeTarget
from orchestrator.paths import CHART_DIR

Runner = Callable[..., shell.Result]

HELM_SUPPORTED = ((3, 14, 0), (5, 0, 0))
KUBECTL_SUPPORTED = ((1, 29, 0), (2, 0, 0))
DEFAULT_BASE_IMAGES = ("python:3.11-slim", "node:22-slim")
INGRESS_NAMESPACE = "ingress-nginx"
INGRESS_SELECTOR = "app.kubernetes.io/component=controller"
GB = 1024**3


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


@dataclass
class DoctorInputs:
    """What the checks read; defaults are the real machine."""

    root: Path = field(default_factory=Path.cwd)
    env_file: Path | None = None
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    target: str = "minikube"
    kube_context: str | None = None
    allow_remote: bool = False
    profile: str = "minikube"
    hosts_file: Path = Path("/etc/hosts")
    ingress_host: str = "todo-app.local"
    base_images: Sequence[str] | None = None
    min_free_gb: float = 5.0
    run: Runner = shell.run
    docker_client: Callable[[], Any] | None = None

    def docker(self) -> Any:
        if self.docker_client is not None:
            return self.docker_client()
        import docker

        return docker.from_env(timeout=10)

    def minikube(self) -> MinikubeTarget:
        return MinikubeTarget(self.profile, run=self.run)


# --- pure helpers --------------------------------------------------------------------------------


def parse_version(text: str) -> tuple[int, int, int] | None:
    match = re.search(r"v?(\d+)\.(\d+)(?:\.(\d+))?", text)
    if not match:
        return None
    return int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)


def in_range(version: tuple[int, int, int], supported: tuple[tuple[int, int, int], tuple[int, int, int]]) -> bool:
    low, high = supported
    return low <= version < high


def _dotted(v: tuple[int, int, int]) -> str:
    return ".".join(str(p) for p in v)


def hosts_entry(hosts_text: str, host: str) -> str | None:
    """The address /etc/hosts maps `host` to, or None."""
    for line in hosts_text.splitlines():
        fields = line.split("#", 1)[0].split()
        if len(fields) >= 2 and host in fields[1:]:
            return fields[0]
    return None


def base_images_from(dockerfiles: Iterable[str]) -> list[str]:
    """External images named in FROM lines (stage names excluded, ARG defaults resolved), first-seen order."""
    from orchestrator.images.context import base_images

    images: list[str] = []
    for text in dockerfiles:
        for image in base_images(text, {})[0]:
            if image not in images:
                images.append(image)
    return images


# --- checks --------------------------------------------------------------------------------------


DOCKER_FIX = "start the Docker engine (Docker Desktop, or `sudo systemctl start docker`), then `docker info`"


def _docker_or_none(inp: DoctorInputs) -> Any:
    try:
        client = inp.docker()
        client.ping()
        return client
    except Exception:  # docker-py raises DockerException, urllib3 and OS errors when the engine is away
        return None


def check_docker(inp: DoctorInputs) -> Check:
    client = _docker_or_none(inp)
    if client is None:
        return Check("docker", False, "the Docker engine does not answer", DOCKER_FIX)
    version = client.version().get("Version", "?")
    return Check("docker", True, f"Docker engine {version} answers")


def check_minikube(inp: DoctorInputs) -> Check:
    if shutil.which("minikube", path=inp.environ.get("PATH")) is None:
        return Check("minikube", False, "minikube is not installed", "install minikube: https://minikube.sigs.k8s.io")
    verdict = inp.minikube().state().verdict(inp.profile)
    return Check("minikube", verdict.ok, verdict.message, verdict.fix)


def _tool_version(
    inp: DoctorInputs,
    name: str,
    argv: list[str],
    parse: Callable[[str], str],
    supported: tuple[tuple[int, int, int], tuple[int, int, int]],
) -> Check:
    if shutil.which(argv[0], path=inp.environ.get("PATH")) is None:
        return Check(name, False, f"{name} is not installed", f"install {name} (scripts/install-tools)")
    out = inp.run(argv, timeout=30).stdout
    version = parse_version(parse(out))
    wanted = f">= {_dotted(supported[0])}, < {_dotted(supported[1])}"
    if version is None:
        return Check(name, False, f"cannot read the {name} version", f"install {name} {wanted}")
    if not in_range(version, supported):
        return Check(name, False, f"{name} {_dotted(version)} is outside {wanted}", f"install {name} {wanted}")
    return Check(name, True, f"{name} {_dotted(version)}")


def check_helm(inp: DoctorInputs) -> Check:
    return _tool_version(inp, "helm", ["helm", "version", "--short"], lambda out: out.strip(), HELM_SUPPORTED)


def check_kubectl(inp: DoctorInputs) -> Check:
    def parse(out: str) -> str:
        return str(json.loads(out or "{}").get("clientVersion", {}).get("gitVersion", ""))

    return _tool_version(inp, "kubectl", ["kubectl", "version", "--client", "-o", "json"], parse, KUBECTL_SUPPORTED)


def check_context(inp: DoctorInputs) -> Check:
    from orchestrator.kube.guard import decide, kubeconfig_paths, load_kubeconfig
    from orchestrator.settings.config import Target

    config = load_kubeconfig(kubeconfig_paths(inp.environ))
    from orchestrator.kube.targets import minikube_ip

    decision = decide(
        config,
        inp.kube_context,
        Target(inp.target),
        inp.allow_remote,
        minikube_ip=lambda profile: minikube_ip(profile, run=inp.run, environ=inp.environ),
    )
    where = "remote, allowed by --allow-remote" if decision.remote else "local"
    return Check("kube-context", True, f"context {decision.context} -> {decision.server} ({where})")


def check_kubernetes_version(inp: DoctorInputs) -> Check:
    from orchestrator.kube.version import chart_minimum, dotted, judge
    from orchestrator.settings.config import Target

    result = inp.run(["kubectl", "version", "-o", "json"], timeout=30, check=False)
    server = (
        str(json.loads(result.stdout or "{}").get("serverVersion", {}).get("gitVersion", ""))
        if result.stdout.strip().startswith("{")
        else ""
    )
    if not server:
        return Check(
            "kubernetes",
            False,
            "cannot read the cluster's Kubernetes version",
            "start the cluster and check `kubectl version` answers",
        )
    minimum = chart_minimum(CHART_DIR)
    verdict = judge(server, minimum)
    if not verdict.ok:
        err = verdict.error(Target(inp.target))
        return Check("kubernetes", False, err.message, err.hint)
    needed = f" (chart needs {dotted(minimum)}+)" if minimum else ""
    return Check("kubernetes", True, f"server {server}{needed}")


def check_ingress(inp: DoctorInputs) -> Check:
    addons = inp.minikube().addons()
    if addons.get("ingress") != "enabled":
        return Check("ingress", False, "the ingress addon is disabled", "minikube addons enable ingress")
    result = inp.run(
        ["kubectl", "get", "pods", "-n", INGRESS_NAMESPACE, "-l", INGRESS_SELECTOR, "-o", "json"],
        timeout=30,
        check=False,
    )
    if result.returncode != 0:
        return Check(
            "ingress", False, "cannot list the ingress controller pods", f"kubectl get pods -n {INGRESS_NAMESPACE}"
        )
    pods = [dict(p, kind="Pod") for p in json.loads(result.stdout or "{}").get("items", [])]
    ready = [p for p in pods if pod_status(p).status is Status.CURRENT]
    if not ready:
        return Check(
            "ingress",
            False,
            f"ingress controller not ready ({len(pods)} pods, none ready)",
            f"kubectl -n {INGRESS_NAMESPACE} get pods; wait or `minikube addons enable ingress` again",
        )
    return Check("ingress", True, f"ingress addon enabled, controller ready ({len(ready)}/{len(pods)})")


def check_hosts(inp: DoctorInputs) -> Check:
    text = inp.hosts_file.read_text(encoding="utf-8", errors="replace") if inp.hosts_file.exists() else ""
    address = hosts_entry(text, inp.ingress_host)
    if address is None:
        return Check(
            "hosts",
            False,
            f"{inp.ingress_host} is not in {inp.hosts_file}",
            f'echo "$(minikube ip) {inp.ingress_host}" | sudo tee -a {inp.hosts_file}   '
            f"(docker driver on macOS/Windows: 127.0.0.1 and `minikube tunnel`)",
        )
    return Check("hosts", True, f"{inp.ingress_host} -> {address}")


def check_env_file(inp: DoctorInputs) -> Check:
    from orchestrator.settings.config import load_settings

    env_file = inp.env_file if inp.env_file is not None else inp.root / ".env"
    if not env_file.exists():
        return Check("env-file", False, f"{env_file} does not exist", "cp .env.example .env and fill in the values")
    settings = load_settings(env_file, inp.environ)
    warn = f" ({len(settings.warnings)} warnings)" if settings.warnings else ""
    return Check("env-file", True, f"{env_file} is valid{warn}")


def check_base_images(inp: DoctorInputs) -> Check:
    images = (
        list(inp.base_images)
        if inp.base_images is not None
        else (
            base_images_from(p.read_text() for p in sorted((inp.root / "docker").glob("*Dockerfile*")))
            or list(DEFAULT_BASE_IMAGES)
        )
    )
    client = _docker_or_none(inp)
    if client is None:
        return Check("base-images", False, "cannot look: the Docker engine does not answer", DOCKER_FIX)
    missing: list[str] = []
    pullable: list[str] = []
    for image in images:
        try:
            client.images.get(image)
            continue
        except Exception:
            pass
        try:
            client.images.get_registry_data(image)
            pullable.append(image)
        except Exception:
            missing.append(image)
    if missing:
        return Check(
            "base-images",
            False,
            f"not present and not pullable: {', '.join(missing)}",
            "connect to the registry (docker pull) or seed them: scripts/seed-base-images",
        )
    detail = f"{len(images) - len(pullable)} present" + (f", pullable: {', '.join(pullable)}" if pullable else "")
    return Check("base-images", True, detail)


def check_disk(inp: DoctorInputs) -> Check:
    free = shutil.disk_usage(inp.root).free
    if free < inp.min_free_gb * GB:
        return Check(
            "disk",
            False,
            f"{free / GB:.1f} GB free, need {inp.min_free_gb:.0f} GB",
            "free space: `docker system prune` and `minikube image rm` of old tags",
        )
    return Check("disk", True, f"{free / GB:.1f} GB free")


CHECKS: tuple[tuple[str, Callable[[DoctorInputs], Check]], ...] = (
    ("docker", check_docker),
    ("minikube", check_minikube),
    ("helm", check_helm),
    ("kubectl", check_kubectl),
    ("kube-context", check_context),
    ("kubernetes", check_kubernetes_version),
    ("ingress", check_ingress),
    ("hosts", check_hosts),
    ("env-file", check_env_file),
    ("base-images", check_base_images),
    ("disk", check_disk),
)


def run_checks(
    inputs: DoctorInputs | None = None, checks: Sequence[tuple[str, Callable[[DoctorInputs], Check]]] = CHECKS
) -> list[Check]:
    """Run every check; a check that raises becomes a failed Check. Never raises."""
    inp = inputs or DoctorInputs()
    results: list[Check] = []
    for name, fn in checks:
        try:
            results.append(fn(inp))
        except OrchestratorError as err:
            results.append(Check(name, False, err.message, err.hint))
        except Exception as exc:  # one broken check must not hide the others
            results.append(
                Check(
                    name,
                    False,
                    f"check failed: {type(exc).__name__}: {str(exc)[:160]}",
                    "see the detail; re-run `invoke doctor` after fixing it",
                )
            )
    return results


def all_ok(checks: Sequence[Check]) -> bool:
    return all(c.ok for c in checks)
