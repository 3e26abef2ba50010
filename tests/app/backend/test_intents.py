"""The local intent parser."""

from __future__ import annotations

import pytest

from todo_api.chat.intents import Intent, IntentKind, parse_intent

ADD, LIST, COMPLETE, DELETE, UNKNOWN = (
    IntentKind.ADD,
    IntentKind.LIST,
    IntentKind.COMPLETE,
    IntentKind.DELETE,
    IntentKind.UNKNOWN,
)


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("add buy milk", Intent(ADD, title="buy milk")),
        ("Add a task to buy milk", Intent(ADD, title="buy milk")),
        ("please add call mom to my list", Intent(ADD, title="call mom")),
        ("remind me to pay rent", Intent(ADD, title="pay rent")),
        ("create task: write report", Intent(ADD, title="write report")),
        ("  add   two   spaces ", Intent(ADD, title="two spaces")),
        ("list my tasks", Intent(LIST)),
        ("show me my tasks", Intent(LIST)),
        ("What are my tasks?", Intent(LIST)),
        ("list", Intent(LIST)),
        ("my todos", Intent(LIST)),
        ("complete task 2", Intent(COMPLETE, task_id=2)),
        ("mark task 2 as done", Intent(COMPLETE, task_id=2)),
        ("I finished task 4", Intent(COMPLETE, task_id=4)),
        ("task 5 is done", Intent(COMPLETE, task_id=5)),
        ("check off #7", Intent(COMPLETE, task_id=7)),
        ("done with buy milk", Intent(COMPLETE, title="buy milk")),
        ("delete task 3", Intent(DELETE, task_id=3)),
        ("remove #3", Intent(DELETE, task_id=3)),
        ("please delete buy milk from my list", Intent(DELETE, title="buy milk")),
        ("hello there", Intent(UNKNOWN)),
        ("add", Intent(UNKNOWN)),
        ("", Intent(UNKNOWN)),
        ("what is the weather", Intent(UNKNOWN)),
    ],
)
def test_parse_intent(message: str, expected: Intent) -> None:
    assert parse_intent(message) == expected
