"""helm does not retry an unreachable API server itself: the orchestrator asks again, bounded."""

from __future__ import annotations

from typing import Any

import pytest

from orchestrator.kube import helm
from orchestrator.errors import DeployNeedsAction, EnvironmentProblem
from orchestrator.run.events import Reporter
from orchestrator.shell import CommandFailed, Result

TARGET = helm.HelmTarget("todo-app", "todo-app", "/tmp/kubeconfig", "minikube")
UNREACHABLE = "Error: Kubernetes cluster unreachable: Get \"https://127.0.0.1:8443/version\": dial tcp: connect: connection refused\n"
REFUSED = "Error: query: failed to query with labels: Get \"https://127.0.0.1:8443/api/v1/namespaces/todo-app/secrets\": dial tcp 127.0.0.1:8443: connect: connection refused\n"
UNAVAILABLE = "Error: query: failed to query with labels: the server is currently unable to handle the request\n"
HISTORY = '[{"revision": 1, "status": "deployed", "description": "todo-deploy fingerprint=a"}]'


class Script:
    """A runner that fails with the given stderr texts, in order, then succeeds."""

    def __init__(self, *failures: str, stdout: str = HISTORY) -> None:
        self.failures = list(failures)
        self.stdout = stdout
        self.calls: list[list[str]] = []

    def __call__(self, argv: list[str], **kwargs: Any) -> Result:
        self.calls.append(list(argv))
        if self.failures:
            raise CommandFailed(Result(tuple(argv), 1, "", self.failures.pop(0)))
        return Result(tuple(argv), 0, self.stdout, "")


def client(script: Script, reporter: Reporter, sleeps: list[float]) -> helm.Helm:
    return helm.Helm(TARGET, reporter, run=script, sleep=sleeps.append)


@pytest.mark.parametrize("stderr", [UNREACHABLE, REFUSED])
def test_unreachable_api_is_asked_again_with_growing_pauses(stderr: str) -> None:
    script, reporter, sleeps = Script(stderr, stderr), Reporter(), []
    history = client(script, reporter, sleeps).history()
    assert [r.revision for r in history] == [1]
    assert len(script.calls) == 3 and sleeps == list(helm.RETRY_WAITS_S)
    assert [e["attempt"] for e in reporter.named("helm.retry")] == [1, 2]


def test_three_attempts_at_most_then_the_reachability_error() -> None:
    script, reporter, sleeps = Script(UNREACHABLE, UNREACHABLE, UNREACHABLE, UNREACHABLE), Reporter(), []
    with pytest.raises(EnvironmentProblem) as caught:
        client(script, reporter, sleeps).status()
    assert len(script.calls) == 3 and len(sleeps) == 2
    assert "unreachable" in caught.value.message


@pytest.mark.parametrize("stderr", [
    "Error: UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress\n",
    UNAVAILABLE,  # a 503: helm's client has retried it for ~10 s already
])
def test_other_failures_are_not_retried(stderr: str) -> None:
    script, reporter, sleeps = Script(stderr), Reporter(), []
    with pytest.raises((DeployNeedsAction, EnvironmentProblem)):
        client(script, reporter, sleeps).rollback(1)
    assert len(script.calls) == 1 and sleeps == [] and not reporter.named("helm.retry")


def test_unreachable_is_pure_and_case_blind() -> None:
    assert helm.unreachable(UNREACHABLE) and helm.unreachable(REFUSED.upper())
    assert not helm.unreachable("Error: UPGRADE FAILED: context deadline exceeded")
    assert not helm.unreachable(UNAVAILABLE)


def test_values_file_is_scratch_until_removed(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from orchestrator.run import interrupts
    with helm.values_file({"a": 1}, str(tmp_path)) as path:
        assert path in interrupts._SCRATCH  # a second Ctrl-C (os._exit) removes it first
    assert path not in interrupts._SCRATCH and not path.exists()


def test_a_503_is_an_unavailable_api_not_a_helm_failure() -> None:
    mapped = helm.classify_failure(CommandFailed(Result(("helm", "history"), 1, "", UNAVAILABLE)), "todo-app")
    assert isinstance(mapped, EnvironmentProblem) and "unreachable" in mapped.message


def test_a_slow_failure_is_not_retried() -> None:
    """helm's client already retried for that long (it does for 503s): another round only adds delay."""
    now = [0.0]

    def slow_run(argv: list[str], **kwargs: Any) -> Result:
        now[0] += 11.0
        raise CommandFailed(Result(tuple(argv), 1, "", "Error: Kubernetes cluster unreachable: " + UNAVAILABLE))

    sleeps: list[float] = []
    client_ = helm.Helm(TARGET, Reporter(), run=slow_run, sleep=sleeps.append, clock=lambda: now[0])
    with pytest.raises(EnvironmentProblem):
        client_.uninstall()
    assert sleeps == [] and now[0] == 11.0
