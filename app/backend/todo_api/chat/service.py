"""One chat turn: understand the message (Cohere or the local parser), act on tasks, reply."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, select

from todo_api.chat.cohere import CohereClient, CohereError
from todo_api.chat.intents import Intent, IntentKind, parse_intent
from todo_api.models import Task, User, is_storable_id

log = logging.getLogger(__name__)

HELP_REPLY = 'I can manage your tasks. Try "add buy milk", "list my tasks", "complete task 2" or "delete task 3".'


@dataclass
class Understanding:
    intent: Intent
    source: str  # "cohere" or "local"
    model_reply: str | None = None
    fallback_reason: str | None = None


@dataclass
class TurnResult:
    reply: str
    actions: list[dict[str, Any]] = field(default_factory=list)


def understand(message: str, cohere: CohereClient | None, history: list[tuple[str, str]]) -> Understanding:
    """Ask Cohere when configured; on any Cohere failure use the local parser and say why."""
    if cohere is None:
        return Understanding(parse_intent(message), "local")
    try:
        result = cohere.interpret(message, history)
    except CohereError as exc:
        log.warning("cohere unavailable, using the local parser", extra={"reason": exc.reason})
        return Understanding(parse_intent(message), "local", fallback_reason=exc.reason)
    return Understanding(result.intent, "cohere", model_reply=result.reply)


def _find_task(session: Session, user: User, intent: Intent) -> Task | None:
    if intent.task_id is not None:
        task = session.get(Task, intent.task_id) if is_storable_id(intent.task_id) else None
        return task if task is not None and task.user_id == user.id else None
    if not intent.title:
        return None
    wanted = intent.title.casefold()
    tasks = list(session.exec(select(Task).where(Task.user_id == user.id).order_by(Task.id)))
    exact = [t for t in tasks if t.title.casefold() == wanted]
    partial = [t for t in tasks if wanted in t.title.casefold()]
    for candidates in (exact, partial):
        open_ones = [t for t in candidates if not t.completed]
        if open_ones or candidates:
            return (open_ones or candidates)[0]
    return None


def _describe_ref(intent: Intent) -> str:
    return f"task {intent.task_id}" if intent.task_id is not None else f'a task called "{intent.title}"'


def apply_intent(session: Session, user: User, understanding: Understanding) -> TurnResult:
    """Carry out the intent on the user's tasks and describe what happened."""
    intent = understanding.intent
    if intent.kind is IntentKind.ADD and intent.title:
        task = Task(user_id=user.id, title=intent.title[:500])
        session.add(task)
        session.commit()
        session.refresh(task)
        return TurnResult(
            f'Added task {task.id}: "{task.title}".',
            [{"type": "add", "task_id": task.id, "title": task.title}],
        )
    if intent.kind is IntentKind.LIST:
        tasks = list(session.exec(select(Task).where(Task.user_id == user.id).order_by(Task.id)))
        action = {"type": "list", "task_ids": [t.id for t in tasks]}
        if not tasks:
            return TurnResult('You have no tasks yet. Try "add buy milk".', [action])
        lines = [f"{t.id}. [{'x' if t.completed else ' '}] {t.title}" for t in tasks]
        count = f"{len(tasks)} task" + ("" if len(tasks) == 1 else "s")
        return TurnResult(f"You have {count}:\n" + "\n".join(lines), [action])
    if intent.kind in (IntentKind.COMPLETE, IntentKind.DELETE):
        task = _find_task(session, user, intent)
        if task is None:
            return TurnResult(f"I couldn't find {_describe_ref(intent)} in your list.")
        action = {"type": intent.kind.value, "task_id": task.id, "title": task.title}
        if intent.kind is IntentKind.COMPLETE:
            task.completed = True
            session.add(task)
            session.commit()
            return TurnResult(f'Marked task {task.id} "{task.title}" as done.', [action])
        session.delete(task)
        session.commit()
        return TurnResult(f'Deleted task {task.id} "{task.title}".', [action])
    return TurnResult(understanding.model_reply or HELP_REPLY)


def run_turn(
    session: Session,
    user: User,
    message: str,
    cohere: CohereClient | None,
    history: list[tuple[str, str]],
) -> TurnResult:
    understanding = understand(message, cohere, history)
    result = apply_intent(session, user, understanding)
    if understanding.fallback_reason:
        result.reply = (
            f"(The AI assistant is unavailable: {understanding.fallback_reason}; "
            f"I used the built-in parser.) {result.reply}"
        )
    log.info(
        "chat turn",
        extra={
            "intent": understanding.intent.kind.value,
            "source": understanding.source,
            "actions": [a["type"] for a in result.actions],
        },
    )
    return result
