"""Cohere's v2 chat API (POST {base}/v2/chat) over httpx, asked to answer with a JSON intent.

    CohereError                 any reason the reply cannot be used; `reason` is a short phrase
    ├── status errors           401/403 (rejected key), 429 (rate limited), 5xx, other 4xx
    ├── timeout / network       no answer within the timeout, connection refused
    └── unusable output         the body or the model's text is not the JSON intent asked for

Messages never include the API key or the user's text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import httpx

from todo_api.chat.intents import Intent, IntentKind

SYSTEM_PROMPT = """You turn a user's message to a todo-list assistant into one JSON object and
nothing else. Shape: {"intent": "add"|"list"|"complete"|"delete"|"unknown",
"title": string or null, "task_id": integer or null, "reply": string}.
- add: "title" is the task text ("add buy milk" -> {"intent":"add","title":"buy milk"}).
- list: the user wants to see their tasks.
- complete / delete: set "task_id" when the user gives a number, else "title".
- unknown: anything else; "reply" then answers briefly and says what you can do.
"reply" is one short friendly sentence."""


class CohereError(Exception):
    """Cohere could not give a usable intent; `reason` is safe to show to the user."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class CohereResult:
    intent: Intent
    reply: str | None


def _reason_for_status(status: int) -> str:
    if status in (401, 403):
        return "the API key was rejected"
    if status == 429:
        return "rate limited"
    if status >= 500:
        return f"server error {status}"
    return f"request refused ({status})"


def response_text(body: object) -> str:
    """The assistant's text from a v2 chat response: message.content[*] items of type text."""
    if not isinstance(body, dict):
        raise CohereError("unexpected response shape")
    message = body.get("message")
    content = message.get("content") if isinstance(message, dict) else None
    if not isinstance(content, list):
        raise CohereError("unexpected response shape")
    parts = [
        item["text"]
        for item in content
        if isinstance(item, dict) and item.get("type") == "text" and isinstance(item.get("text"), str)
    ]
    if not parts:
        raise CohereError("empty reply")
    return "".join(parts)


def _strip_fence(text: str) -> str:
    text = text.strip()
    if text.startswith("```"):
        text = text.strip("`")
        if text.lower().startswith("json"):
            text = text[4:]
    return text.strip()


def intent_from_text(text: str) -> CohereResult:
    """Parse the model's JSON intent; raise CohereError when it is not the shape asked for."""
    try:
        data = json.loads(_strip_fence(text))
    except json.JSONDecodeError as exc:
        raise CohereError("reply was not JSON") from exc
    if not isinstance(data, dict):
        raise CohereError("reply was not a JSON object")
    try:
        kind = IntentKind(str(data.get("intent", "")).lower())
    except ValueError as exc:
        raise CohereError("reply named an unknown intent") from exc
    title = data.get("title")
    title = title.strip() if isinstance(title, str) and title.strip() else None
    raw_id = data.get("task_id")
    task_id: int | None = None
    if isinstance(raw_id, int) and not isinstance(raw_id, bool):
        task_id = raw_id
    elif isinstance(raw_id, str) and raw_id.strip().lstrip("#").isdigit():
        task_id = int(raw_id.strip().lstrip("#"))
    if kind is IntentKind.ADD and not title:
        raise CohereError("add without a title")
    if kind in (IntentKind.COMPLETE, IntentKind.DELETE) and task_id is None and not title:
        raise CohereError(f"{kind.value} without a task")
    reply = data.get("reply")
    return CohereResult(
        Intent(kind, title=title, task_id=task_id),
        reply.strip() if isinstance(reply, str) and reply.strip() else None,
    )


class CohereClient:
    """A minimal client for one endpoint. `transport` lets callers swap the network layer."""

    def __init__(
        self,
        api_key: str,
        model: str,
        base_url: str = "https://api.cohere.com",
        timeout_seconds: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._api_key = api_key
        self.model = model
        self.url = base_url.rstrip("/") + "/v2/chat"
        self.timeout = httpx.Timeout(timeout_seconds)
        self._transport = transport

    def __repr__(self) -> str:  # never show the key
        return f"CohereClient(url={self.url!r}, model={self.model!r})"

    def request_body(self, message: str, history: list[tuple[str, str]]) -> dict:
        messages = [{"role": "system", "content": SYSTEM_PROMPT}]
        messages += [{"role": role, "content": content} for role, content in history]
        messages.append({"role": "user", "content": message})
        return {
            "model": self.model,
            "messages": messages,
            "stream": False,
            "temperature": 0,
            "response_format": {"type": "json_object"},
        }

    def interpret(self, message: str, history: list[tuple[str, str]] | None = None) -> CohereResult:
        """Ask Cohere for the intent of `message`; raise CohereError on any failure."""
        headers = {
            "Authorization": f"Bearer {self._api_key}",
            "Accept": "application/json",
            "X-Client-Name": "todo-api",
        }
        try:
            with httpx.Client(timeout=self.timeout, transport=self._transport) as client:
                response = client.post(self.url, json=self.request_body(message, history or []), headers=headers)
        except httpx.TimeoutException as exc:
            raise CohereError("timed out") from exc
        except httpx.HTTPError as exc:
            raise CohereError("unreachable") from exc
        if response.status_code != 200:
            raise CohereError(_reason_for_status(response.status_code))
        try:
            body = response.json()
        except ValueError as exc:
            raise CohereError("response was not JSON") from exc
        return intent_from_text(response_text(body))
