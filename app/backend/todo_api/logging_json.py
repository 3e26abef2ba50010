"""JSON-lines logging to stdout, with secrets scrubbed before anything is written.

Every record becomes one JSON object: ts, level, logger, msg, plus any `extra` fields.
A `Redactor` replaces known secret values (registered at start-up), bearer tokens, JWT-shaped
strings and URL passwords with `***`, in the message and in every extra field.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

MASK = "***"
_STANDARD_ATTRS = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys() | {"message", "asctime", "color_message"}
)
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+")
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
_URL_PASSWORD = re.compile(r"(?P<pre>[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]+:)(?P<pw>[^@\s]+)(?=@)")
_MIN_SECRET_LENGTH = 4


class Redactor:
    """Scrubs registered secret values and secret-shaped strings out of text."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()

    def register(self, *values: str | None) -> None:
        for value in values:
            if value and len(value) >= _MIN_SECRET_LENGTH:
                self._secrets.add(value)

    def scrub(self, text: str) -> str:
        for value in sorted(self._secrets, key=len, reverse=True):
            if value in text:
                text = text.replace(value, MASK)
        text = _BEARER.sub(lambda m: m.group(1) + MASK, text)
        text = _JWT.sub(MASK, text)
        return _URL_PASSWORD.sub(lambda m: m.group("pre") + MASK, text)


REDACTOR = Redactor()


class JsonFormatter(logging.Formatter):
    def __init__(self, redactor: Redactor = REDACTOR) -> None:
        super().__init__()
        self.redactor = redactor

    def _clean(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.redactor.scrub(value)
        if isinstance(value, (int, float, bool)) or value is None:
            return value
        if isinstance(value, (list, tuple)):
            return [self._clean(v) for v in value]
        if isinstance(value, dict):
            return {str(k): self._clean(v) for k, v in value.items()}
        return self.redactor.scrub(str(value))

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": self._clean(record.getMessage()),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = self._clean(value)
        if record.exc_info and record.exc_info[0] is not None:
            # Type and message only: tracebacks can carry locals-derived text we do not control.
            exc = record.exc_info[1]
            entry["exception"] = self._clean(f"{record.exc_info[0].__name__}: {exc}")
        return json.dumps(entry, ensure_ascii=False, default=str)


_SERVER_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.asgi")


def configure_logging(level: str, stream: TextIO | None = None) -> None:
    """Send every log record, ours and the server's, as JSON lines to stdout at `level`."""
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in _SERVER_LOGGERS:
        server_logger = logging.getLogger(name)
        server_logger.handlers.clear()
        server_logger.propagate = True
        server_logger.setLevel(level)
    # The server's own access log is replaced by the app's (which never logs headers or queries).
    access = logging.getLogger("uvicorn.access")
    access.handlers.clear()
    access.propagate = False
    access.disabled = True
    # Client libraries stay quiet below WARNING: their DEBUG output includes request details.
    for noisy in ("httpx", "httpcore", "sqlalchemy", "psycopg", "multipart"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
