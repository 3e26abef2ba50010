"""Each minikube state gets its action (orchestrator.kube.minikube_setup), pure."""

from __future__ import annotations

import pytest

from orchestrator.errors import ExitCode
from orchestrator.kube.minikube_setup import Step, install_hint, needs_action, plan_actions, require_minikube

RUNNING = {"Host": "Running", "Kubelet": "Running", "APIServer": "Running", "Kubeconfig": "Configured"}
INGRESS_ON = {"ingress": "enabled"}


def steps(exit_code: int, fields: dict[str, str], addons: dict[str, str] | None = INGRESS_ON) -> list[Step]:
    return [a.step for a in plan_actions(exit_code, fields, addons)]


def test_a_ready_cluster_needs_nothing() -> None:
    assert steps(0, RUNNING) == []


def test_no_profile_is_created_with_the_ingress_addon() -> None:
    [action] = plan_actions(85, {}, None)
    assert action.step is Step.CREATE and action.command() == "minikube start --addons=ingress"


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (
            {**RUNNING, "Host": "Stopped", "Kubelet": "Stopped", "APIServer": "Stopped", "Kubeconfig": "Stopped"},
            [Step.START],
        ),
        ({**RUNNING, "APIServer": "Paused", "Kubelet": "Stopped"}, [Step.UNPAUSE]),
        ({**RUNNING, "Kubeconfig": "Misconfigured"}, [Step.UPDATE_CONTEXT]),
        ({**RUNNING, "APIServer": "Stopped"}, [Step.START]),
    ],
)
def test_each_state_gets_its_action(fields: dict[str, str], expected: list[Step]) -> None:
    assert steps(1, fields, None if fields["APIServer"] != "Running" else INGRESS_ON) == expected


def test_the_ingress_addon_is_enabled_once_the_cluster_runs() -> None:
    [action] = plan_actions(0, RUNNING, {"ingress": "disabled"})
    assert action.step is Step.ENABLE_INGRESS and action.command() == "minikube addons enable ingress"
    assert steps(0, {**RUNNING, "Kubeconfig": "Misconfigured"}, {"ingress": "disabled"}) == [
        Step.UPDATE_CONTEXT,
        Step.ENABLE_INGRESS,
    ]


def test_no_start_is_exit_3_with_the_commands() -> None:
    err = needs_action(plan_actions(0, {**RUNNING, "Host": "Stopped", "APIServer": "Stopped"}, None))
    assert err.exit_code is ExitCode.ENVIRONMENT
    assert "minikube start" in err.hint and "stopped" in err.message


@pytest.mark.parametrize(
    ("system", "machine", "words"),
    [
        ("Linux", "x86_64", ["minikube-linux-amd64", "sudo install"]),
        ("Linux", "aarch64", ["minikube-linux-arm64"]),
        ("Darwin", "arm64", ["brew install minikube"]),
        ("Windows", "AMD64", ["winget install Kubernetes.minikube"]),
    ],
)
def test_the_install_command_fits_the_os(system: str, machine: str, words: list[str]) -> None:
    hint = install_hint(system, machine)
    assert all(w in hint for w in words)


def test_minikube_missing_is_exit_3_with_the_install_command() -> None:
    from orchestrator.errors import EnvironmentProblem

    with pytest.raises(EnvironmentProblem) as caught:
        require_minikube("no-such-minikube-binary")
    assert caught.value.exit_code is ExitCode.ENVIRONMENT and "install minikube" in caught.value.hint
