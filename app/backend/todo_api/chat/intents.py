"""The local intent parser: a sentence in, one task operation (or none) out. Pure and deterministic."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum


class IntentKind(str, Enum):
    ADD = "add"
    LIST = "list"
    COMPLETE = "complete"
    DELETE = "delete"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Intent:
    """What the user asked for. COMPLETE/DELETE name a task by id or, failing that, by title."""

    kind: IntentKind
    title: str | None = None
    task_id: int | None = None


UNKNOWN = Intent(IntentKind.UNKNOWN)

_POLITE = r"(?:(?:please|pls|can you|could you|would you|kindly)[\s,]+)*"
_TASK_REF = r"(?:(?:the\s+)?(?:task|todo|item)\s*(?:number\s*|no\.?\s*)?)?#?"

_LIST = re.compile(
    rf"^{_POLITE}(?:"
    r"(?:list|show|display|see|view|get)(?:\s+me)?(?:\s+(?:all|my|the|all of my))*"
    r"(?:\s+(?:tasks?|todos?|to-dos?|items|list|todo list))?"
    r"|what(?:'s| is| are)\s+(?:on\s+)?(?:my|the)\s+(?:tasks?|todos?|list|todo list)"
    r"|what do i (?:have|need) to do"
    r"|(?:my\s+)?(?:tasks|todos|todo list)"
    r")\s*\??$",
    re.IGNORECASE,
)
_ADD = re.compile(
    rf"^{_POLITE}(?:add|create|new|remember|remind me)\s+"
    r"(?:(?:a\s+)?(?:new\s+)?(?:task|todo|item)\s*(?:to\s+|:\s*|called\s+|named\s+)?)?"
    r"(?:to\s+)?(?P<title>.+?)"
    r"(?:\s+(?:to|on)\s+(?:my|the)\s+(?:tasks?|todos?|list|todo list|to-do list))?\s*[.!]?$",
    re.IGNORECASE,
)
_COMPLETE_VERB = (
    r"(?:complete|completed|finish|finished|done(?:\s+with)?|mark|check(?:\s+off)?|tick(?:\s+off)?"
    r"|close)"
)
_COMPLETE = re.compile(
    rf"^{_POLITE}(?:i(?:'ve| have)?\s+)?{_COMPLETE_VERB}\s+{_TASK_REF}(?P<ref>.+?)"
    r"(?:\s+as\s+(?:done|complete|completed|finished))?\s*[.!]?$",
    re.IGNORECASE,
)
_COMPLETE_TRAILING = re.compile(
    rf"^{_TASK_REF}(?P<ref>.+?)\s+is\s+(?:done|complete|completed|finished)\s*[.!]?$",
    re.IGNORECASE,
)
_DELETE = re.compile(
    rf"^{_POLITE}(?:delete|remove|drop|erase|cancel|get rid of)\s+{_TASK_REF}(?P<ref>.+?)"
    r"(?:\s+from\s+(?:my|the)\s+(?:tasks?|todos?|list|todo list))?\s*[.!]?$",
    re.IGNORECASE,
)


def _target(kind: IntentKind, ref: str) -> Intent:
    ref = ref.strip().strip("\"'")
    if ref.isdigit():
        return Intent(kind, task_id=int(ref))
    return Intent(kind, title=ref) if ref else UNKNOWN


def parse_intent(message: str) -> Intent:
    """Turn one chat message into an Intent; UNKNOWN when it is not a task operation."""
    text = " ".join(message.split())
    if not text:
        return UNKNOWN
    if _LIST.match(text):
        return Intent(IntentKind.LIST)
    for pattern, kind in (
        (_DELETE, IntentKind.DELETE),
        (_COMPLETE, IntentKind.COMPLETE),
        (_COMPLETE_TRAILING, IntentKind.COMPLETE),
    ):
        match = pattern.match(text)
        if match:
            return _target(kind, match.group("ref"))
    match = _ADD.match(text)
    if match:
        title = match.group("title").strip().strip("\"'")
        return Intent(IntentKind.ADD, title=title) if title else UNKNOWN
    return UNKNOWN
