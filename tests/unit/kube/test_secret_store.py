"""Versioned immutable Secrets, through the real `kubernetes` client over a real local socket."""

from __future__ import annotations

import base64
import http.client
import io
import json
import logging
import socket
import subprocess
import sys
from contextlib import redirect_stdout

import pytest

from orchestrator.errors import DeployNeedsAction, EnvironmentProblem, InputError, OrchestratorError
from orchestrator.kube.secret_store import (
    LABEL_INSTANCE,
    LABEL_MANAGED_BY,
    LABEL_VERSION,
    ensure_namespace,
    garbage_collect,
    generate_secret,
    list_secret_versions,
    read_secret_keys,
    secret_name,
    secret_version,
    write_secret,
)
from tests.unit.conftest import CANARIES, CANARY_JWT, MiniApi, good_values

NS = "todo-app"
REL = "todo-app"


# ---- version ---------------------------------------------------------------------------------


def test_version_is_stable_short_hex_and_order_independent() -> None:
    values = good_values()
    version = secret_version(values)
    assert len(version) == 10 and all(c in "0123456789abcdef" for c in version)
    assert secret_version(dict(reversed(list(values.items())))) == version
    # Stable across processes (no per-process salt or hash randomisation).
    code = (
        "import json,sys; from orchestrator.kube.secret_store import secret_version; "
        "print(secret_version(json.loads(sys.stdin.read())))"
    )
    other = subprocess.run(
        [sys.executable, "-c", code],
        input=json.dumps(values),
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "123", "PATH": ""},
        cwd=str(__import__("pathlib").Path(__file__).parents[3]),
    )
    assert other.stdout.strip() == version


@pytest.mark.parametrize("key", ["COHERE_API_KEY", "DATABASE_URL", "JWT_SECRET"])
def test_version_changes_when_any_value_changes(key: str) -> None:
    values = good_values()
    changed = {**values, key: values[key] + "x"}
    assert secret_version(changed) != secret_version(values)


def test_version_changes_with_added_key_and_does_not_reveal_values() -> None:
    values = good_values()
    assert secret_version({**values, "EXTRA": ""}) != secret_version(values)
    # A boundary shift between key and value must not collide.
    assert secret_version({"JWT_SECRET": CANARY_JWT, "AB": "C"}) != secret_version(
        {"JWT_SECRET": CANARY_JWT, "A": "BC"}
    )
    # Without the key (JWT_SECRET) an observer cannot recompute it: a different key, other version.
    assert secret_version({**values, "JWT_SECRET": CANARY_JWT + "!"}) != secret_version(values)
    with pytest.raises(InputError):
        secret_version({"COHERE_API_KEY": "x"})


def test_secret_name() -> None:
    assert secret_name("todo-app", "0123456789") == "todo-app-secrets-0123456789"


def test_generate_secret() -> None:
    first, second = generate_secret("JWT_SECRET"), generate_secret("JWT_SECRET")
    assert first != second and len(first) >= 64 and len(first.encode()) >= 32
    with pytest.raises(InputError) as caught:
        generate_secret("COHERE_API_KEY")
    assert "COHERE_API_KEY" in caught.value.message


# ---- the API side ----------------------------------------------------------------------------


def test_write_creates_an_immutable_labelled_secret_then_writes_nothing(mini_api: MiniApi) -> None:
    api = mini_api.rest()
    values = good_values()
    first = write_secret(api, NS, REL, values)
    version = secret_version(values)
    assert first.written is True and first.version == version and first.name == f"{REL}-secrets-{version}"
    stored = mini_api.secrets[(NS, first.name)]
    assert stored["type"] == "Opaque" and stored["immutable"] is True
    assert stored["metadata"]["labels"] == {
        LABEL_MANAGED_BY: "todo-deploy",
        LABEL_INSTANCE: REL,
        LABEL_VERSION: version,
    }
    assert {k: base64.b64decode(v).decode() for k, v in stored["data"].items()} == values
    assert "stringData" not in stored or not stored["stringData"]

    writes_before = len(mini_api.writes())
    again = write_secret(api, NS, REL, values)
    assert again.written is False and again.name == first.name
    assert len(mini_api.writes()) == writes_before  # unchanged values: GET only, no write

    rotated = write_secret(api, NS, REL, {**values, "COHERE_API_KEY": "co-rotated-value-1"})
    assert rotated.written is True and rotated.name != first.name
    assert (NS, first.name) in mini_api.secrets  # the old version stays for rollback


def test_conflict_on_create_counts_as_existing(mini_api: MiniApi) -> None:
    api = mini_api.rest()
    mini_api.fail[("POST", "/secrets")] = 409
    result = write_secret(api, NS, REL, good_values())
    assert result.written is False


def test_tampered_existing_secret_needs_action(mini_api: MiniApi) -> None:
    api = mini_api.rest()
    result = write_secret(api, NS, REL, good_values())
    mini_api.secrets[(NS, result.name)]["data"]["JWT_SECRET"] = base64.b64encode(b"other").decode()
    with pytest.raises(DeployNeedsAction) as caught:
        write_secret(api, NS, REL, good_values())
    assert "kubectl -n todo-app delete secret" in caught.value.hint
    assert not any(c in caught.value.render() for c in CANARIES)


def test_list_and_gc_keep_newest_and_referenced(mini_api: MiniApi) -> None:
    api = mini_api.rest()
    names = []
    for i in range(5):
        names.append(write_secret(api, NS, REL, {**good_values(), "COHERE_API_KEY": f"co-value-{i:04d}"}).name)
    # Secrets the GC must never touch: another release's, and an unlabelled one.
    write_secret(api, NS, "other", good_values())
    mini_api.secrets[(NS, "unrelated")] = {"metadata": {"name": "unrelated", "namespace": NS}, "data": {}}

    listed = list_secret_versions(api, NS, REL)
    assert [s.name for s in listed] == list(reversed(names))  # newest first

    deleted = garbage_collect(api, NS, REL, keep={names[0]}, keep_last=2)
    assert sorted(deleted) == sorted(names[1:3])
    remaining = {name for (_, name) in mini_api.secrets}
    assert remaining == {names[0], names[3], names[4], secret_name("other", secret_version(good_values())), "unrelated"}
    # keep also accepts versions
    deleted = garbage_collect(api, NS, REL, keep={listed[1].version}, keep_last=0)
    assert set(deleted) == {names[0], names[4]}
    assert garbage_collect(api, NS, REL, keep_last=5) == []


def test_gc_tolerates_a_secret_deleted_meanwhile(mini_api: MiniApi) -> None:
    api = mini_api.rest()
    for i in range(3):
        write_secret(api, NS, REL, {**good_values(), "COHERE_API_KEY": f"co-value-{i:04d}"})
    mini_api.fail[("DELETE", "")] = 404
    assert garbage_collect(api, NS, REL, keep_last=1) == []


def test_read_secret_keys(mini_api: MiniApi) -> None:
    api = mini_api.rest()
    result = write_secret(api, NS, REL, good_values())
    assert read_secret_keys(api, NS, result.name) == {"COHERE_API_KEY", "DATABASE_URL", "JWT_SECRET"}
    assert read_secret_keys(api, NS, "missing") == set()


def test_ensure_namespace(mini_api: MiniApi) -> None:
    api = mini_api.rest()
    assert ensure_namespace(api, NS) is True
    assert mini_api.namespaces[NS]["metadata"]["labels"] == {LABEL_MANAGED_BY: "todo-deploy"}
    assert ensure_namespace(api, NS) is False
    mini_api.namespaces.clear()
    mini_api.fail[("POST", "/namespaces")] = 409
    assert ensure_namespace(api, "raced") is False


@pytest.mark.parametrize(
    ("status", "kind", "words"),
    [
        (403, EnvironmentProblem, "kubectl auth can-i create secrets -n todo-app"),
        (401, EnvironmentProblem, "minikube update-context"),
        (500, EnvironmentProblem, "kubectl get --raw /readyz"),
        (422, OrchestratorError, ""),
        (404, EnvironmentProblem, "kubectl create namespace todo-app"),
    ],
)
def test_api_errors_are_mapped_without_bodies(mini_api: MiniApi, status: int, kind: type, words: str) -> None:
    api = mini_api.rest()
    mini_api.fail[("POST", "/secrets")] = status  # the scripted error body echoes the request
    with pytest.raises(kind) as caught:
        write_secret(api, NS, REL, good_values())
    err = caught.value
    assert str(status) in err.message and words in err.hint
    assert err.__cause__ is None and err.__context__ is None
    text = err.render() + repr(err.args)
    assert not any(c in text or base64.b64encode(c.encode()).decode() in text for c in CANARIES)


def test_unreachable_api_is_an_environment_problem() -> None:
    from kubernetes import client

    from orchestrator.kube.rest import Rest

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    configuration = client.Configuration()
    configuration.host = f"http://127.0.0.1:{port}"
    configuration.retries = 0
    api = Rest(client.ApiClient(configuration))
    with pytest.raises(EnvironmentProblem) as caught:
        write_secret(api, NS, REL, good_values())
    assert "unreachable" in caught.value.message and "minikube start" in caught.value.hint
    assert caught.value.__context__ is None


def test_client_debug_cannot_print_or_log_the_secret(mini_api: MiniApi, caplog: pytest.LogCaptureFixture) -> None:
    api = mini_api.rest()
    api.api_client.configuration.debug = True  # would dump every request body to stdout
    logging.getLogger("kubernetes.client.rest").setLevel(logging.DEBUG)
    out = io.StringIO()
    try:
        with caplog.at_level(logging.DEBUG), redirect_stdout(out):
            write_secret(api, NS, REL, good_values())
            logging.getLogger("kubernetes.client.rest").debug("response body: %s", "Q0FOQVJZ")
    finally:
        http.client.HTTPConnection.debuglevel = 0
    printed = out.getvalue() + caplog.text
    assert api.api_client.configuration.debug is False
    for canary in CANARIES:
        assert canary not in printed and base64.b64encode(canary.encode()).decode() not in printed
    assert "Q0FOQVJZ" not in printed
