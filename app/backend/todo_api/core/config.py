"""Settings from the environment, and the rules that decide whether they are fit to run.

Secret values (DATABASE_URL, JWT_SECRET, COHERE_API_KEY) are held as `SecretStr`, so a repr or a
log line of the settings never shows them. Problems name the key, never what it holds.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from enum import Enum
from urllib.parse import urlsplit

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:////tmp/todo.db"
MIN_JWT_SECRET_BYTES = 32
PLACEHOLDERS = frozenset({"", "changethis", "changeme", "change-me", "placeholder", "secret", "xxx"})
SUPPORTED_DATABASE_SCHEMES = frozenset({"sqlite", "postgresql", "postgres", "postgresql+psycopg"})


class Environment(str, Enum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class LogLevel(str, Enum):
    DEBUG = "DEBUG"
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"
    CRITICAL = "CRITICAL"


class Settings(BaseSettings):
    """Everything the backend reads from its environment (names are the upper-case field names)."""

    model_config = SettingsConfigDict(env_file=None, case_sensitive=False, extra="ignore")

    database_url: SecretStr = SecretStr(DEFAULT_DATABASE_URL)
    jwt_secret: SecretStr = SecretStr("")
    jwt_expire_minutes: int = 60 * 24
    cohere_api_key: SecretStr = SecretStr("")
    cohere_model: str = "command-a-03-2025"
    cohere_base_url: str = "https://api.cohere.com"
    cohere_timeout_seconds: float = 10.0
    log_level: LogLevel = LogLevel.INFO
    environment: Environment = Environment.DEVELOPMENT
    feature_flags: str = ""
    cors_origins: str = ""
    host: str = "0.0.0.0"
    port: int = 8000
    shutdown_timeout_seconds: float = 5.0

    @property
    def is_production(self) -> bool:
        return self.environment is Environment.PRODUCTION

    @property
    def flags(self) -> frozenset[str]:
        """FEATURE_FLAGS as a set of lower-case names (comma or space separated)."""
        return frozenset(part.strip().lower() for part in self.feature_flags.replace(",", " ").split() if part)

    @property
    def cors_origin_list(self) -> list[str]:
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]

    @property
    def cohere_enabled(self) -> bool:
        key = self.cohere_api_key.get_secret_value().strip()
        return bool(key) and key.lower() not in PLACEHOLDERS


@dataclass(frozen=True)
class ConfigProblem:
    """One reason the settings are unfit: the key and why (never the value)."""

    key: str
    reason: str

    def __str__(self) -> str:
        return f"{self.key}: {self.reason}"


class InvalidSettings(ValueError):
    """The settings cannot run in this environment. The message names keys only."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        keys = ", ".join(p.key for p in problems)
        detail = "; ".join(str(p) for p in problems)
        super().__init__(f"invalid configuration ({keys}): {detail}")


def _is_placeholder(value: str) -> bool:
    return value.strip().lower() in PLACEHOLDERS


def _database_problems(url: str) -> list[ConfigProblem]:
    if not url.strip():
        return [ConfigProblem("DATABASE_URL", "is empty")]
    scheme = urlsplit(url).scheme.lower()
    if scheme not in SUPPORTED_DATABASE_SCHEMES:
        return [ConfigProblem("DATABASE_URL", "scheme must be sqlite:// or postgresql://")]
    password = urlsplit(url).password
    if password is not None and _is_placeholder(password):
        return [ConfigProblem("DATABASE_URL", "holds a placeholder password")]
    return []


def check_settings(settings: Settings) -> list[ConfigProblem]:
    """Return every problem with `settings`; production rules apply only in production."""
    problems = _database_problems(settings.database_url.get_secret_value())
    if not settings.is_production:
        return problems
    jwt = settings.jwt_secret.get_secret_value()
    if _is_placeholder(jwt):
        problems.append(ConfigProblem("JWT_SECRET", "is empty or a placeholder"))
    elif len(jwt.encode()) < MIN_JWT_SECRET_BYTES:
        problems.append(ConfigProblem("JWT_SECRET", f"is shorter than {MIN_JWT_SECRET_BYTES} bytes"))
    cohere = settings.cohere_api_key.get_secret_value()
    if cohere and _is_placeholder(cohere):
        problems.append(ConfigProblem("COHERE_API_KEY", "is a placeholder (unset it or set a key)"))
    return problems


def effective_jwt_secret(settings: Settings) -> str:
    """The signing secret: JWT_SECRET, or when unset (development only) a random one per process."""
    return settings.jwt_secret.get_secret_value() or secrets.token_urlsafe(48)
