"""Tables: User, Task, Conversation, Message (SQLModel on SQLAlchemy)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Column, DateTime, Text
from sqlmodel import Field, SQLModel

MAX_ID = 2**31 - 1  # primary keys are 32-bit integers on every supported database


def is_storable_id(value: int | None) -> bool:
    """Whether `value` can be a row id (anything else cannot match a row, and would make
    PostgreSQL raise an out-of-range error instead of finding nothing)."""
    return value is not None and 0 < value <= MAX_ID


def utcnow() -> datetime:
    return datetime.now(UTC)


def _created_at() -> Column:
    return Column(DateTime(timezone=True), nullable=False, default=utcnow)


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320, unique=True, index=True)
    password_hash: str = Field(max_length=255)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_created_at())


class Task(SQLModel, table=True):
    __tablename__ = "tasks"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    title: str = Field(max_length=500)
    completed: bool = Field(default=False)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_created_at())


class Conversation(SQLModel, table=True):
    __tablename__ = "conversations"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_created_at())


class Message(SQLModel, table=True):
    __tablename__ = "messages"

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversations.id", index=True)
    role: str = Field(max_length=16)
    content: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_created_at())
