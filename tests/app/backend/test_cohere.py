"""The Cohere path against a real local HTTP server speaking the v2 chat response shape."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from todo_api.chat.cohere import CohereClient, CohereError, intent_from_text, response_text
from todo_api.chat.intents import IntentKind

from .conftest import AppFactory, signup
from .fake_cohere import FakeCohere, chat_response, intent_response

API_KEY = "cohere-canary-5b1f0d2e9a7c4e31"
TIMEOUT = 0.5


@pytest.fixture
def db_url(tmp_path) -> str:  # these tests need only one database kind
    return f"sqlite:///{tmp_path}/todo.db"


@pytest.fixture
def cohere_client(make_client: AppFactory, fake_cohere: FakeCohere) -> TestClient:
    return make_client(
        cohere_api_key=API_KEY,
        cohere_base_url=fake_cohere.base_url,
        cohere_model="command-a-03-2025",
        cohere_timeout_seconds=TIMEOUT,
    )


def test_intent_from_cohere_drives_the_task_operation(cohere_client: TestClient, fake_cohere: FakeCohere) -> None:
    auth = signup(cohere_client)
    fake_cohere.script(body=intent_response(intent="add", title="buy milk", task_id=None, reply="Sure!"))
    turn = cohere_client.post("/api/chat", json={"message": "I need milk, note it"}, headers=auth).json()
    assert turn["actions"][0]["type"] == "add" and turn["actions"][0]["title"] == "buy milk"
    assert "unavailable" not in turn["reply"]

    (request,) = fake_cohere.requests
    assert request.path == "/v2/chat"
    assert request.headers["Authorization"] == f"Bearer {API_KEY}"
    assert request.body["model"] == "command-a-03-2025"
    assert request.body["stream"] is False
    assert request.body["response_format"] == {"type": "json_object"}
    roles = [m["role"] for m in request.body["messages"]]
    assert roles[0] == "system" and roles[-1] == "user"
    assert request.body["messages"][-1]["content"] == "I need milk, note it"

    task_id = turn["actions"][0]["task_id"]
    fake_cohere.script(body=intent_response(intent="complete", task_id=str(task_id), reply="Done"))
    second = cohere_client.post(
        "/api/chat",
        json={"message": "got the milk", "conversation_id": turn["conversation_id"]},
        headers=auth,
    ).json()
    assert second["actions"] == [{"type": "complete", "task_id": task_id, "title": "buy milk"}]
    # The second request carries the conversation so far.
    history = [m["content"] for m in fake_cohere.requests[1].body["messages"][1:-1]]
    assert history[0] == "I need milk, note it" and len(history) == 2


def test_unknown_intent_uses_the_model_reply(cohere_client: TestClient, fake_cohere: FakeCohere) -> None:
    auth = signup(cohere_client)
    fake_cohere.script(body=intent_response(intent="unknown", reply="Hello! I manage your todo list."))
    turn = cohere_client.post("/api/chat", json={"message": "hi"}, headers=auth).json()
    assert turn == {
        "conversation_id": turn["conversation_id"],
        "reply": "Hello! I manage your todo list.",
        "actions": [],
    }


@pytest.mark.parametrize(
    ("status", "reason"),
    [(401, "the API key was rejected"), (429, "rate limited"), (500, "server error 500")],
)
def test_error_status_falls_back_to_local_parser(
    cohere_client: TestClient, fake_cohere: FakeCohere, status: int, reason: str
) -> None:
    auth = signup(cohere_client)
    fake_cohere.script(status=status, body={"message": "nope"})
    turn = cohere_client.post("/api/chat", json={"message": "add buy milk"}, headers=auth).json()
    assert turn["actions"][0]["type"] == "add" and turn["actions"][0]["title"] == "buy milk"
    assert reason in turn["reply"] and "built-in parser" in turn["reply"]
    assert len(fake_cohere.requests) == 1


def test_timeout_falls_back_quickly(cohere_client: TestClient, fake_cohere: FakeCohere) -> None:
    auth = signup(cohere_client)
    fake_cohere.script(body=intent_response(intent="list"), delay=TIMEOUT * 4)
    started = time.monotonic()
    turn = cohere_client.post("/api/chat", json={"message": "list my tasks"}, headers=auth).json()
    elapsed = time.monotonic() - started
    assert "timed out" in turn["reply"]
    assert turn["actions"] == [{"type": "list", "task_ids": []}]
    assert elapsed < TIMEOUT * 3


@pytest.mark.parametrize(
    "body",
    [
        chat_response("Sure, I added it!"),  # prose instead of JSON
        chat_response('{"intent": "fly"}'),  # not one of the intents
        chat_response('{"intent": "add"}'),  # add without a title
        {"id": "x", "finish_reason": "COMPLETE"},  # no message
        "<html>gateway</html>",  # not JSON at all
    ],
)
def test_unusable_output_falls_back(cohere_client: TestClient, fake_cohere: FakeCohere, body) -> None:
    auth = signup(cohere_client)
    fake_cohere.script(body=body)
    turn = cohere_client.post("/api/chat", json={"message": "delete task 42"}, headers=auth).json()
    assert "built-in parser" in turn["reply"]
    assert "couldn't find task 42" in turn["reply"]


def test_unreachable_server_falls_back(make_client: AppFactory) -> None:
    from .pgserver import free_port

    client = make_client(
        cohere_api_key=API_KEY, cohere_base_url=f"http://127.0.0.1:{free_port()}", cohere_timeout_seconds=TIMEOUT
    )
    auth = signup(client)
    turn = client.post("/api/chat", json={"message": "add call mom"}, headers=auth).json()
    assert "unreachable" in turn["reply"] and turn["actions"][0]["title"] == "call mom"


def test_parsing_helpers() -> None:
    assert response_text(chat_response("hello")) == "hello"
    fenced = intent_from_text('```json\n{"intent": "delete", "task_id": 3}\n```')
    assert fenced.intent.kind is IntentKind.DELETE and fenced.intent.task_id == 3
    with pytest.raises(CohereError):
        response_text({"message": {"content": []}})
    assert API_KEY not in repr(CohereClient(API_KEY, "m"))
