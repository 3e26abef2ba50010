"""The database engine: SQLite by default, PostgreSQL (psycopg 3) when DATABASE_URL says so."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator

from sqlalchemy import text
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, SQLModel, create_engine

from todo_api import models  # noqa: F401  (registers the tables)

log = logging.getLogger(__name__)

POSTGRES_CONNECT_TIMEOUT_SECONDS = 3


def normalize_url(raw: str) -> URL:
    """Map postgres:// and postgresql:// to the psycopg 3 driver; leave sqlite as it is."""
    url = make_url(raw.strip())
    if url.drivername in ("postgres", "postgresql"):
        url = url.set(drivername="postgresql+psycopg")
    return url


def redact_url(raw: str) -> str:
    """The URL with its password replaced by ***, safe to log."""
    try:
        return normalize_url(raw).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - an unparseable URL is logged as such, never echoed
        return "<unparseable database URL>"


def build_engine(raw_url: str) -> Engine:
    url = normalize_url(raw_url)
    if url.get_backend_name() == "sqlite":
        return create_engine(url, connect_args={"check_same_thread": False}, hide_parameters=True)
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=5,
        hide_parameters=True,
        connect_args={"connect_timeout": POSTGRES_CONNECT_TIMEOUT_SECONDS},
    )


class Database:
    """An engine plus the knowledge of whether the schema has been created yet."""

    def __init__(self, raw_url: str) -> None:
        self.engine = build_engine(raw_url)
        self.redacted_url = redact_url(raw_url)
        self._schema_ready = False
        self._lock = threading.Lock()

    def ensure_schema(self) -> bool:
        """Create missing tables once; return False (and log why) when the database is down."""
        if self._schema_ready:
            return True
        with self._lock:
            if self._schema_ready:
                return True
            try:
                SQLModel.metadata.create_all(self.engine)
            except SQLAlchemyError as exc:
                log.error(
                    "database schema not created",
                    extra={"database": self.redacted_url, "error": type(exc.orig or exc).__name__},
                )
                return False
            self._schema_ready = True
            log.info("database schema ready", extra={"database": self.redacted_url})
            return True

    def ping(self) -> str | None:
        """None when `SELECT 1` works (and the schema exists), else a short reason."""
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            orig = getattr(exc, "orig", None) or exc
            log.warning(
                "database check failed",
                extra={"database": self.redacted_url, "error": type(orig).__name__},
            )
            return "database unreachable"
        if not self.ensure_schema():
            return "database schema not created"
        return None

    def session(self) -> Iterator[Session]:
        with Session(self.engine) as session:
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
