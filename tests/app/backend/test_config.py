"""Settings: production refuses placeholders by key name (never value); /ready reports it."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from todo_api.core.config import (
    DEFAULT_DATABASE_URL,
    ConfigProblem,
    Environment,
    InvalidSettings,
    Settings,
    check_settings,
)
from todo_api.main import create_app

from .conftest import make_settings

STRONG = "s" * 32
CANARY_SHORT = "jwt-canary-71c3"


def keys(problems: list[ConfigProblem]) -> list[str]:
    return [p.key for p in problems]


def test_defaults_run_in_development_and_write_only_under_tmp() -> None:
    settings = Settings()
    assert settings.environment is Environment.DEVELOPMENT
    assert check_settings(settings) == []
    assert DEFAULT_DATABASE_URL.startswith("sqlite:////tmp/")
    assert settings.database_url.get_secret_value() == DEFAULT_DATABASE_URL
    assert settings.port == 8000 and settings.host == "0.0.0.0"


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"jwt_secret": "changethis"}, ["JWT_SECRET"]),
        ({"jwt_secret": ""}, ["JWT_SECRET"]),
        ({"jwt_secret": "s" * 31}, ["JWT_SECRET"]),
        ({"jwt_secret": STRONG}, []),
        ({"jwt_secret": STRONG, "cohere_api_key": "changethis"}, ["COHERE_API_KEY"]),
        ({"jwt_secret": STRONG, "database_url": ""}, ["DATABASE_URL"]),
        ({"jwt_secret": STRONG, "database_url": "postgresql://u:changethis@db/app"}, ["DATABASE_URL"]),
        ({"jwt_secret": "x", "database_url": "mysql://u:p@db/app"}, ["DATABASE_URL", "JWT_SECRET"]),
    ],
)
def test_production_rules(overrides: dict, expected: list[str]) -> None:
    settings = Settings(environment="production", **overrides)
    assert keys(check_settings(settings)) == expected


def test_development_tolerates_placeholders_but_not_bad_database_scheme() -> None:
    assert check_settings(Settings(jwt_secret="changethis")) == []
    assert keys(check_settings(Settings(database_url="mysql://db/app"))) == ["DATABASE_URL"]


def test_production_refuses_to_start_naming_the_key_not_the_value() -> None:
    settings = make_settings(environment="production", jwt_secret=CANARY_SHORT)
    with pytest.raises(InvalidSettings) as caught:
        create_app(settings)
    message = str(caught.value)
    assert "JWT_SECRET" in message
    assert CANARY_SHORT not in message and CANARY_SHORT not in repr(caught.value)
    assert CANARY_SHORT not in repr(settings)


def test_ready_reports_invalid_config_when_not_enforced(tmp_path) -> None:
    settings = make_settings(
        environment="production", jwt_secret="changethis", database_url=f"sqlite:///{tmp_path}/t.db"
    )
    with TestClient(create_app(settings, enforce_config=False)) as client:
        assert client.get("/health").json() == {"status": "ok"}
        ready = client.get("/ready")
        assert ready.status_code == 503
        assert ready.json() == {"status": "not ready", "reason": "invalid config: JWT_SECRET"}


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("JWT_SECRET", STRONG)
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    monkeypatch.setenv("FEATURE_FLAGS", "Beta-Chat, dark-mode")
    monkeypatch.setenv("PORT", "9001")
    monkeypatch.setenv("COHERE_API_KEY", "k" * 20)
    settings = Settings()
    assert settings.is_production and settings.port == 9001
    assert settings.log_level.value == "WARNING"
    assert settings.flags == frozenset({"beta-chat", "dark-mode"})
    assert settings.cohere_enabled
    assert check_settings(settings) == []
