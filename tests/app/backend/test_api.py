"""The HTTP contract, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import datetime

import jwt
from fastapi.testclient import TestClient

from .conftest import JWT_SECRET, signup


def test_health_is_ok(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready_when_database_answers(client: TestClient) -> None:
    response = client.get("/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


def test_register_login_me(client: TestClient) -> None:
    created = client.post("/api/auth/register", json={"email": "Ada@Example.com", "password": "correct-horse-1"})
    assert created.status_code == 201
    body = created.json()
    assert set(body) == {"id", "email"} and body["email"] == "ada@example.com"

    login = client.post("/api/auth/login", json={"email": "ada@example.com", "password": "correct-horse-1"})
    assert login.status_code == 200
    token = login.json()
    assert token["token_type"] == "bearer"
    claims = jwt.decode(token["access_token"], JWT_SECRET, algorithms=["HS256"])
    assert claims["sub"] == str(body["id"]) and claims["exp"] > claims["iat"]

    me = client.get("/api/auth/me", headers={"Authorization": f"Bearer {token['access_token']}"})
    assert me.status_code == 200
    assert me.json() == {"id": body["id"], "email": "ada@example.com"}


def test_register_conflict_and_validation(client: TestClient) -> None:
    signup(client)
    again = client.post("/api/auth/register", json={"email": "ada@example.com", "password": "another-pass-2"})
    assert again.status_code == 409
    assert client.post("/api/auth/register", json={"email": "nope", "password": "longenough"}).status_code == 422
    short = client.post("/api/auth/register", json={"email": "b@example.com", "password": "pw-7chr"})
    assert short.status_code == 422
    assert short.json()["detail"][0]["loc"] == ["body", "password"]
    assert "pw-7chr" not in short.text  # the input is not echoed back
    assert client.post("/api/auth/register", json={"email": "b@example.com"}).status_code == 422


def test_login_rejects_bad_credentials(client: TestClient) -> None:
    signup(client)
    wrong = client.post("/api/auth/login", json={"email": "ada@example.com", "password": "wrong-pass"})
    unknown = client.post("/api/auth/login", json={"email": "who@example.com", "password": "wrong-pass"})
    assert wrong.status_code == 401 and unknown.status_code == 401
    assert wrong.json() == unknown.json()


def test_protected_routes_need_a_valid_token(client: TestClient) -> None:
    assert client.get("/api/auth/me").status_code == 401
    assert client.get("/api/tasks").status_code == 401
    forged = jwt.encode({"sub": "1", "exp": 4102444800}, "some-other-secret-of-32-bytes-len!", "HS256")
    assert client.get("/api/tasks", headers={"Authorization": f"Bearer {forged}"}).status_code == 401
    expired = jwt.encode({"sub": "1", "exp": 1}, JWT_SECRET, "HS256")
    assert client.get("/api/tasks", headers={"Authorization": f"Bearer {expired}"}).status_code == 401
    assert client.post("/api/chat", json={"message": "list"}).status_code == 401


def test_task_crud(client: TestClient) -> None:
    auth = signup(client)
    created = client.post("/api/tasks", json={"title": "  buy milk "}, headers=auth)
    assert created.status_code == 201
    task = created.json()
    assert set(task) == {"id", "title", "completed", "created_at"}
    assert task["title"] == "buy milk" and task["completed"] is False
    assert datetime.fromisoformat(task["created_at"]).tzinfo is not None

    second = client.post("/api/tasks", json={"title": "walk dog"}, headers=auth).json()
    listed = client.get("/api/tasks", headers=auth).json()
    assert [t["id"] for t in listed] == [task["id"], second["id"]]

    patched = client.patch(f"/api/tasks/{task['id']}", json={"completed": True}, headers=auth)
    assert patched.status_code == 200
    assert patched.json()["completed"] is True and patched.json()["title"] == "buy milk"
    renamed = client.patch(f"/api/tasks/{task['id']}", json={"title": "buy oat milk"}, headers=auth)
    assert renamed.json()["title"] == "buy oat milk" and renamed.json()["completed"] is True

    assert client.delete(f"/api/tasks/{task['id']}", headers=auth).status_code == 204
    assert [t["id"] for t in client.get("/api/tasks", headers=auth).json()] == [second["id"]]
    assert client.delete(f"/api/tasks/{task['id']}", headers=auth).status_code == 404
    assert client.patch("/api/tasks/99999999999999", json={"completed": True}, headers=auth).status_code == 404
    assert client.get("/api/chat/99999999999999", headers=auth).status_code == 404
    assert client.post("/api/tasks", json={"title": "   "}, headers=auth).status_code == 422


def test_tasks_are_scoped_to_their_owner(client: TestClient) -> None:
    ada = signup(client, "ada@example.com")
    bob = signup(client, "bob@example.com")
    secret_task = client.post("/api/tasks", json={"title": "ada only"}, headers=ada).json()

    assert client.get("/api/tasks", headers=bob).json() == []
    assert client.patch(f"/api/tasks/{secret_task['id']}", json={"completed": True}, headers=bob).status_code == 404
    assert client.delete(f"/api/tasks/{secret_task['id']}", headers=bob).status_code == 404
    still = client.get("/api/tasks", headers=ada).json()
    assert still == [secret_task]


def test_chat_turns_sentences_into_task_operations(client: TestClient) -> None:
    auth = signup(client)
    first = client.post("/api/chat", json={"message": "add buy milk"}, headers=auth)
    assert first.status_code == 200
    turn = first.json()
    assert set(turn) == {"conversation_id", "reply", "actions"}
    conversation = turn["conversation_id"]
    (added,) = turn["actions"]
    assert added["type"] == "add" and added["title"] == "buy milk"
    milk_id = added["task_id"]

    def say(message: str) -> dict:
        response = client.post("/api/chat", json={"message": message, "conversation_id": conversation}, headers=auth)
        assert response.status_code == 200, response.text
        assert response.json()["conversation_id"] == conversation
        return response.json()

    bread_id = say("please add a task to bake bread")["actions"][0]["task_id"]
    listing = say("list my tasks")
    assert listing["actions"] == [{"type": "list", "task_ids": [milk_id, bread_id]}]
    assert "buy milk" in listing["reply"] and "bake bread" in listing["reply"]

    done = say(f"complete task {milk_id}")
    assert done["actions"] == [{"type": "complete", "task_id": milk_id, "title": "buy milk"}]
    gone = say(f"delete task {bread_id}")
    assert gone["actions"] == [{"type": "delete", "task_id": bread_id, "title": "bake bread"}]

    tasks = client.get("/api/tasks", headers=auth).json()
    assert [(t["id"], t["completed"]) for t in tasks] == [(milk_id, True)]

    missing = say("complete task 999999")
    assert missing["actions"] == [] and "couldn't find task 999999" in missing["reply"]
    huge = say("delete task 99999999999999")  # beyond a 32-bit id: still just not found
    assert huge["actions"] == [] and "couldn't find" in huge["reply"]
    help_turn = say("what's the weather like?")
    assert help_turn["actions"] == [] and "add buy milk" in help_turn["reply"]

    history = client.get(f"/api/chat/{conversation}", headers=auth)
    assert history.status_code == 200
    messages = history.json()
    assert len(messages) == 16  # eight turns, each a user and an assistant message
    assert [m["role"] for m in messages[:2]] == ["user", "assistant"]
    assert messages[0]["content"] == "add buy milk"
    assert set(messages[0]) == {"id", "role", "content", "created_at"}


def test_chat_by_title_and_scoping(client: TestClient) -> None:
    ada = signup(client, "ada@example.com")
    bob = signup(client, "bob@example.com")
    client.post("/api/tasks", json={"title": "Water plants"}, headers=ada)
    ada_turn = client.post("/api/chat", json={"message": "I finished water plants"}, headers=ada).json()
    assert ada_turn["actions"][0]["type"] == "complete"

    ada_task = client.get("/api/tasks", headers=ada).json()[0]
    bob_turn = client.post("/api/chat", json={"message": f"delete task {ada_task['id']}"}, headers=bob).json()
    assert bob_turn["actions"] == []
    assert client.get("/api/tasks", headers=ada).json() == [ada_task]

    # Bob can neither read nor continue Ada's conversation.
    conversation = ada_turn["conversation_id"]
    assert client.get(f"/api/chat/{conversation}", headers=bob).status_code == 404
    assert (
        client.post("/api/chat", json={"message": "list", "conversation_id": conversation}, headers=bob).status_code
        == 404
    )
