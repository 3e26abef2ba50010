"""The keys the app's Secret holds: the one home of that list (it imports nothing)."""

from __future__ import annotations

SECRET_KEYS: tuple[str, ...] = ("COHERE_API_KEY", "DATABASE_URL", "JWT_SECRET")
