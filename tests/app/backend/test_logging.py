"""JSON log lines, and the redactor that keeps secrets out of them."""

from __future__ import annotations

import io
import json
import logging

from todo_api.db import redact_url
from todo_api.logging_json import JsonFormatter, Redactor

TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlLWNhbmFyeQ"


def test_redactor_scrubs_registered_values_tokens_and_url_passwords() -> None:
    redactor = Redactor()
    redactor.register("canary-value-123", None, "", "abc")  # short and empty values are ignored
    text = redactor.scrub(
        f"key=canary-value-123 auth=Bearer {TOKEN} raw={TOKEN} url=postgresql://app:pa55word@db:5432/todo abc"
    )
    assert "canary-value-123" not in text and TOKEN not in text and "pa55word" not in text
    assert "postgresql://app:***@db:5432/todo" in text
    assert text.endswith("abc")


def test_formatter_writes_one_json_object_per_record_with_extras_scrubbed() -> None:
    redactor = Redactor()
    redactor.register("s3cret-canary")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter(redactor))
    logger = logging.getLogger("test.json")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        logger.info("hello %s", "s3cret-canary", extra={"detail": {"k": "s3cret-canary"}, "n": 3})
        try:
            raise ValueError("boom s3cret-canary")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["msg"] == "hello ***" and first["detail"] == {"k": "***"} and first["n"] == 3
    assert first["level"] == "INFO" and first["logger"] == "test.json" and "ts" in first
    assert second["exception"] == "ValueError: boom ***"
    assert "s3cret-canary" not in stream.getvalue()


def test_redact_url() -> None:
    assert redact_url("postgres://u:pw@h/db") == "postgresql+psycopg://u:***@h/db"
    assert redact_url("sqlite:////tmp/todo.db") == "sqlite:////tmp/todo.db"
    assert "pw" not in redact_url("postgresql://u:pw@[bad")
