"""helm does not retry an unreachable API server itself: the orchestrator asks again, bounded."""

from __future__ import annotations

from typing import Any

import pytest

from orchestrator.errors import DeployNeedsAction, EnvironmentProblem, InputError
from orchestrator.kube import helm
from orchestrator.run.events import Reporter
from orchestrator.shell import CommandFailed, Result

TARGET = helm.HelmTarget("todo-app", "todo-app", "/tmp/kubeconfig", "minikube")
UNREACHABLE = 'Error: Kubernetes cluster unreachable: Get "https://127.0.0.1:8443/version": dial tcp: connect: connection refused\n'
REFUSED = 'Error: query: failed to query with labels: Get "https://127.0.0.1:8443/api/v1/namespaces/todo-app/secrets": dial tcp 127.0.0.1:8443: connect: connection refused\n'
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


@pytest.mark.parametrize(
    "stderr",
    [
        "Error: UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress\n",
        UNAVAILABLE,  # a 503: helm's client has retried it for ~10 s already
    ],
)
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


# The API server's words when the ingress addon's webhook cannot be called (kubernetes/minikube#13799)
# and when ingress-nginx refuses a host+path another Ingress has (as helm 4 prints them).
WEBHOOK_DOWN = (
    "Error: INSTALLATION FAILED: failed to create resource: Internal error occurred: failed calling webhook "
    '"validate.nginx.ingress.kubernetes.io": failed to call webhook: Post "https://ingress-nginx-controller-'
    'admission.ingress-nginx.svc:443/networking/v1/ingresses?timeout=10s": dial tcp 10.96.0.12:443: '
    "connect: connection refused\n"
)
COLLISION = (
    'Error: UPGRADE FAILED: failed to create resource: admission webhook "validate.nginx.ingress.kubernetes.io" '
    'denied the request: host "todo-app.local" and path "/" is already defined in ingress other/todo-app\n'
)


def test_a_webhook_that_cannot_be_called_is_not_an_unreachable_cluster() -> None:
    assert helm.webhook_unavailable(WEBHOOK_DOWN) and not helm.unreachable(WEBHOOK_DOWN)
    mapped = helm.classify_failure(CommandFailed(Result(("helm", "upgrade"), 1, "", WEBHOOK_DOWN)), "todo-app")
    assert isinstance(mapped, EnvironmentProblem)
    assert "ingress controller is not ready" in mapped.message and "unreachable" not in mapped.message
    assert "ingress-nginx" in mapped.hint and "minikube start" not in mapped.hint


def test_an_ingress_collision_is_bad_configuration_with_the_other_ingress_named() -> None:
    mapped = helm.classify_failure(CommandFailed(Result(("helm", "upgrade"), 1, "", COLLISION)), "todo-app")
    assert isinstance(mapped, InputError)
    assert 'host "todo-app.local" and path "/" is already defined in ingress other/todo-app' in mapped.message
    assert "kubectl delete ingress" in mapped.hint


def _upgrade(script: Script, reporter: Reporter, waits: list[bool], tmp_path) -> helm.UpgradeOutcome:  # type: ignore[no-untyped-def]
    chart = tmp_path / "chart"
    chart.mkdir(exist_ok=True)
    (chart / "Chart.yaml").write_text("name: x\n")
    answers = iter(waits)
    client = helm.Helm(
        TARGET, reporter, run=script, sleep=lambda s: None, await_ingress_controller=lambda: next(answers)
    )
    return client.upgrade(chart, {"a": 1}, history=[])


def test_upgrade_refused_by_the_webhook_waits_for_the_controller_and_runs_again(tmp_path) -> None:  # type: ignore[no-untyped-def]
    script, reporter = Script(WEBHOOK_DOWN), Reporter()
    outcome = _upgrade(script, reporter, [True], tmp_path)
    assert outcome.revision == 1
    upgrades = [c for c in script.calls if c[1] == "upgrade"]
    assert len(upgrades) == 2  # no blind retries: one wait for the controller, then once more
    (retry,) = reporter.named("helm.retry")
    assert "admission webhook is not ready" in retry["reason"]


def test_upgrade_refused_by_the_webhook_fails_with_its_own_message_when_the_controller_never_comes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    script, reporter = Script(WEBHOOK_DOWN), Reporter()
    with pytest.raises(EnvironmentProblem) as caught:
        _upgrade(script, reporter, [False], tmp_path)
    assert "ingress controller is not ready" in caught.value.message and "waited" in caught.value.message
    assert len([c for c in script.calls if c[1] == "upgrade"]) == 1
