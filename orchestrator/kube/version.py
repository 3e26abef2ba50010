"""The cluster's Kubernetes version against the chart's `kubeVersion`, checked before anything is built.

helm refuses a chart whose `kubeVersion` the server does not meet, but only at `helm upgrade`: after
the images were built and loaded, and with a generic failure. minikube v1.32.0's default Kubernetes is
v1.28.3; v1.33.0 is the first whose default (v1.30.0) meets `>=1.30.0-0` (kubernetes/minikube
pkg/minikube/constants/constants.go, DefaultKubernetesVersion). The minimum has one home: the chart's
Chart.yaml; this module only reads it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.errors import EnvironmentProblem
from orchestrator.settings.config import Target

Version = tuple[int, int, int]

_GIT_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?")
_MINIMUM = re.compile(r"^\s*>=\s*v?(\d+)\.(\d+)(?:\.(\d+))?(?:-[0-9A-Za-z.]+)?\s*$")


def parse_git_version(text: str) -> Version | None:
    """`v1.28.3`, `v1.30.0+k3s1`, `1.31` -> (major, minor, patch); None when unreadable."""
    match = _GIT_VERSION.match(text.strip())
    if not match:
        return None
    return int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)


def parse_minimum(constraint: str) -> Version | None:
    """The lower bound of a `>=X.Y.Z[-pre]` constraint; None for any other form (helm checks those)."""
    match = _MINIMUM.match(constraint or "")
    if not match:
        return None
    return int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)


def chart_minimum(chart_dir: Path) -> Version | None:
    import yaml

    meta = yaml.safe_load((Path(chart_dir) / "Chart.yaml").read_text(encoding="utf-8")) or {}
    return parse_minimum(str(meta.get("kubeVersion") or ""))


def dotted(version: Version) -> str:
    return ".".join(str(part) for part in version)


def upgrade_hint(target: Target, minimum: Version) -> str:
    """How to get a cluster that is new enough, for each kind of target."""
    wanted = f"v{minimum[0]}.{minimum[1]}.{minimum[2]}"
    if target is Target.MINIKUBE:
        return (
            f"`minikube start --kubernetes-version={wanted}` (upgrades the cluster in place), "
            "or install minikube v1.33.0 or newer, whose default Kubernetes is new enough"
        )
    if target is Target.KIND:
        return f"recreate the cluster with a newer node image: `kind create cluster --image kindest/node:{wanted}`"
    if target is Target.K3D:
        return f"recreate the cluster with a newer k3s: `k3d cluster create --image rancher/k3s:{wanted}-k3s1`"
    return f"deploy to a cluster running Kubernetes {dotted(minimum)} or newer"


@dataclass(frozen=True)
class VersionVerdict:
    server: str
    minimum: Version | None
    ok: bool

    def error(self, target: Target) -> EnvironmentProblem:
        assert self.minimum is not None
        return EnvironmentProblem(
            f"the cluster runs Kubernetes {self.server}; the chart needs {dotted(self.minimum)} or newer",
            upgrade_hint(target, self.minimum),
        )


def judge(server_git_version: str, minimum: Version | None) -> VersionVerdict:
    """Pure: an unreadable server version or constraint passes (helm still checks it at install)."""
    server = parse_git_version(server_git_version)
    ok = minimum is None or server is None or server >= minimum
    return VersionVerdict(server_git_version, minimum, ok)


def server_git_version(api_client: Any) -> str:
    """`GET /version` through the run's API client (retryable errors retried, as every API call is)."""
    from orchestrator.kube.api import api_error, call
    from orchestrator.kube.rest import Rest

    rest = Rest(api_client)
    try:
        return str(call(rest.get, "/version", request_timeout=15).get("gitVersion") or "")
    except Exception as exc:
        raise api_error(exc, "reading the Kubernetes version") from None
