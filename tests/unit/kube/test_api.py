"""kube.py: the retry rule, retries with tenacity, error mapping, and the client factory."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import urllib3
from kubernetes.client.exceptions import ApiException

from orchestrator.errors import EnvironmentProblem, OrchestratorError
from orchestrator.kube import api as kube


@pytest.mark.parametrize(
    ("status", "retryable"),
    [
        (0, True),
        (429, True),
        (500, True),
        (502, True),
        (503, True),
        (504, True),
        (501, False),
        (400, False),
        (401, False),
        (403, False),
        (404, False),
        (409, False),
        (410, False),
        (422, False),
    ],
)
def test_retry_rule(status: int, retryable: bool) -> None:
    assert kube.is_retryable_status(status) is retryable
    assert kube.is_retryable(ApiException(status=status)) is retryable


def test_status_of_transport_errors_is_zero() -> None:
    assert kube.status_of(urllib3.exceptions.MaxRetryError(None, "/x", "refused")) == 0  # type: ignore[arg-type]
    assert kube.status_of(urllib3.exceptions.ProtocolError("reset")) == 0
    assert kube.status_of(ConnectionResetError()) == 0
    assert kube.status_of(ValueError("x")) is None
    assert not kube.is_retryable(ValueError("x"))


def test_call_retries_retryable_errors_and_counts_them() -> None:
    answers = [ApiException(status=503), ApiException(status=429), "ok"]
    counter = kube.RetryCounter()

    def flaky() -> str:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert kube.call(flaky, counter=counter) == "ok"
    assert counter.count == 2 and counter.last_status == 429


def test_call_does_not_retry_a_final_answer() -> None:
    calls: list[int] = []

    def missing() -> None:
        calls.append(1)
        raise ApiException(status=404)

    with pytest.raises(ApiException):
        kube.call(missing)
    assert calls == [1]


def test_call_gives_up_after_the_attempts() -> None:
    calls: list[int] = []

    def down() -> None:
        calls.append(1)
        raise ApiException(status=500)

    with pytest.raises(ApiException):
        kube.call(down, attempts=3)
    assert len(calls) == 3


def test_api_error_mapping() -> None:
    unreachable = kube.api_error(urllib3.exceptions.MaxRetryError(None, "/x", "refused"), "listing pods")  # type: ignore[arg-type]
    assert isinstance(unreachable, EnvironmentProblem) and "did not answer while listing pods" in unreachable.message
    forbidden = kube.api_error(ApiException(status=403), "listing pods")
    assert isinstance(forbidden, EnvironmentProblem) and "403" in forbidden.message
    other = kube.api_error(ApiException(status=422), "x")
    assert type(other) is OrchestratorError and other.hint
    for status in (500, 503, 429):  # still failing after the retries: the cluster's state, exit 3 in every task
        busy = kube.api_error(ApiException(status=status), "listing pods")
        assert isinstance(busy, EnvironmentProblem) and str(status) in busy.message and "readyz" in busy.hint


@pytest.mark.parametrize("status", [429, 500, 503, 504])
def test_an_api_still_failing_after_retries_is_the_environment_exit_3(status: int) -> None:
    err = kube.api_error(ApiException(status=status, reason="Service Unavailable"), "listing pods", "todo-app")
    assert isinstance(err, EnvironmentProblem) and err.exit_code == 3
    assert str(status) in err.message and "kubectl get --raw /readyz" in err.hint


def test_the_mapping_names_the_namespace_and_the_rbac_question() -> None:
    forbidden = kube.api_error(ApiException(status=403), "creating a Secret", "todo-app", can_i="create secrets")
    assert "kubectl auth can-i create secrets -n todo-app" in forbidden.hint
    missing = kube.api_error(ApiException(status=404), "reading a Secret", "todo-app")
    assert isinstance(missing, EnvironmentProblem) and "kubectl create namespace todo-app" in missing.hint
    assert type(kube.api_error(ApiException(status=501), "x")) is OrchestratorError  # not retryable: a bug


def test_quiet_client_logging_turns_debug_off_on_a_client_or_an_api() -> None:
    from kubernetes.client import ApiClient, Configuration, CoreV1Api

    for make in (lambda c: ApiClient(c), lambda c: CoreV1Api(ApiClient(c))):
        configuration = Configuration()
        configuration.debug = True
        kube.quiet_client_logging(make(configuration))
        assert configuration.debug is False


@pytest.fixture
def version_server() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            body = json.dumps(
                {
                    "major": "1",
                    "minor": "34",
                    "gitVersion": "v1.34.0",
                    "gitCommit": "0" * 40,
                    "gitTreeState": "clean",
                    "buildDate": "2026-01-01T00:00:00Z",
                    "goVersion": "go1.24",
                    "compiler": "gc",
                    "platform": "linux/amd64",
                }
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def write_kubeconfig(path: Path, servers: dict[str, str], current: str) -> None:
    path.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": current,
                "clusters": [{"name": n, "cluster": {"server": s}} for n, s in servers.items()],
                "users": [{"name": "u", "user": {}}],
                "contexts": [{"name": n, "context": {"cluster": n, "user": "u"}} for n in servers],
            }
        )
    )


def test_api_client_reads_exactly_the_given_file_and_context(
    tmp_path: Path, version_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kubernetes.client import VersionApi

    decoy = tmp_path / "ambient"
    write_kubeconfig(decoy, {"other": "http://127.0.0.1:1"}, "other")
    monkeypatch.setenv("KUBECONFIG", str(decoy))
    frozen = tmp_path / "frozen"
    write_kubeconfig(frozen, {"minikube": version_server, "other": "http://127.0.0.1:1"}, "other")
    client = kube.api_client(str(frozen), "minikube")
    assert client.configuration.host == version_server
    assert VersionApi(client).get_code().git_version == "v1.34.0"
    assert logging.getLogger("kubernetes.client.rest").getEffectiveLevel() >= logging.INFO


def test_api_client_with_a_bad_file_is_environment_problem(tmp_path: Path) -> None:
    bad = tmp_path / "kubeconfig"
    bad.write_text("not: [a kubeconfig")
    with pytest.raises(EnvironmentProblem):
        kube.api_client(str(tmp_path / "missing"))
    write_kubeconfig(bad, {"minikube": "http://127.0.0.1:1"}, "minikube")
    with pytest.raises(EnvironmentProblem, match="context nope"):
        kube.api_client(str(bad), "nope")
