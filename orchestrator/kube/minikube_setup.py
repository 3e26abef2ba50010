"""Bring minikube to a deployable state before `up` touches the cluster: each state gets its action,
announced before it runs.

    no profile                 -> minikube start --addons=ingress
    host stopped               -> minikube start
    paused                     -> minikube unpause
    kubeconfig not pointing    -> minikube update-context
    ingress addon disabled     -> minikube addons enable ingress
    then                       -> wait for the ingress controller (done by the caller, through the API)

`plan_actions` is pure: it reads the fields of `minikube status -o json` (Host, Kubelet, APIServer,
Kubeconfig; a missing profile exits 85) and the addon list, as minikube prints them
(kubernetes/minikube cmd/minikube/cmd/status.go: the Status fields, "Paused" for a paused API
server, "Misconfigured" for a kubeconfig that points elsewhere; cmd/minikube/cmd/pause.go,
unpause.go; cmd/minikube/cmd/update-context.go). With `--no-start` nothing runs: a cluster that needs
an action is exit 3 with the command that fixes it.
"""

from __future__ import annotations

import platform
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

from orchestrator.errors import EnvironmentProblem

PROFILE_MISSING_EXIT = 85


class Step(str, Enum):
    CREATE = "create"
    START = "start"
    UNPAUSE = "unpause"
    UPDATE_CONTEXT = "update-context"
    ENABLE_INGRESS = "enable-ingress"


@dataclass(frozen=True)
class Action:
    step: Step
    argv: tuple[str, ...]  # after `minikube -p PROFILE`
    why: str

    def command(self, profile: str = "minikube") -> str:
        prefix = "minikube" if profile == "minikube" else f"minikube -p {profile}"
        return f"{prefix} {' '.join(self.argv)}"


def plan_actions(exit_code: int, fields: Mapping[str, str], addons: Mapping[str, str] | None) -> list[Action]:
    """The actions, in order, that make this minikube deployable (empty: nothing to do). `addons` is
    None when they could not be listed (the cluster is not running yet)."""
    if exit_code == PROFILE_MISSING_EXIT:
        return [Action(Step.CREATE, ("start", "--addons=ingress"), "no minikube cluster exists yet")]
    actions: list[Action] = []
    host = fields.get("Host", "")
    apiserver = fields.get("APIServer", "")
    if host != "Running":
        actions.append(Action(Step.START, ("start",), f"minikube is {host.lower() or 'not running'}"))
    elif apiserver == "Paused":
        actions.append(Action(Step.UNPAUSE, ("unpause",), "minikube is paused"))
    elif apiserver != "Running" or fields.get("Kubelet", "Running") != "Running":
        actions.append(Action(Step.START, ("start",), f"minikube's API server is {apiserver.lower() or 'down'}"))
    started = any(a.step is Step.START for a in actions)
    if not started and fields.get("Kubeconfig", "Configured") != "Configured":
        actions.append(Action(Step.UPDATE_CONTEXT, ("update-context",), "the kubeconfig does not point at minikube"))
    # The addons are listed once the cluster runs (the caller plans again after each action).
    if addons is not None and addons.get("ingress") != "enabled":
        actions.append(Action(Step.ENABLE_INGRESS, ("addons", "enable", "ingress"), "the ingress addon is off"))
    return actions


def install_hint(system: str | None = None, machine: str | None = None) -> str:
    """The command that installs minikube on this OS (minikube.sigs.k8s.io/docs/start)."""
    system = (system or platform.system()).lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(
        (machine or platform.machine()).lower(), "amd64"
    )
    if system == "darwin":
        return "install minikube: `brew install minikube`"
    if system == "windows":
        return "install minikube: `winget install Kubernetes.minikube`"
    return (
        "install minikube: `curl -LO https://storage.googleapis.com/minikube/releases/latest/"
        f"minikube-linux-{arch} && sudo install minikube-linux-{arch} /usr/local/bin/minikube`"
    )


def require_minikube(binary: str = "minikube") -> str:
    found = shutil.which(binary)
    if found is None:
        raise EnvironmentProblem("minikube is not installed (not on PATH)", install_hint())
    return found


def needs_action(actions: list[Action], profile: str = "minikube") -> EnvironmentProblem:
    """The --no-start error: what is wrong and the commands that fix it."""
    return EnvironmentProblem(
        "minikube is not ready: " + "; ".join(a.why for a in actions),
        "run " + " && ".join(f"`{a.command(profile)}`" for a in actions) + " (or drop --no-start)",
    )
