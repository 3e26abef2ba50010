"""The embedded defaults (orchestrator.settings.defaults): pure decisions, one line each."""

from __future__ import annotations

import itertools

from orchestrator.kube.secret_store import secret_version
from orchestrator.settings.embedded import (
    DATABASE_PASSWORD_KEY,
    Origin,
    embedded_database,
    random_value,
    resolve,
)

USER = {"COHERE_API_KEY": "co-canary-1", "DATABASE_URL": "postgresql://u:p-canary@neon.tech/db", "JWT_SECRET": "j" * 40}


def counter():  # type: ignore[no-untyped-def]
    numbers = itertools.count(1)
    return lambda: f"generated-{next(numbers)}-" + "x" * 40


def test_everything_set_by_the_user_is_used_as_is_and_nothing_is_announced() -> None:
    r = resolve(USER, {}, release="todo-app", fullname="todo-app")
    assert r.values == USER and not r.embedded_database and r.announcements == ()
    assert set(r.origins.values()) == {Origin.USER}


def test_nothing_set_first_run_generates_and_announces_three_lines() -> None:
    r = resolve({}, {}, release="todo-app", fullname="todo-app", make=counter())
    assert r.embedded_database
    assert set(r.values) == {"DATABASE_URL", "JWT_SECRET", DATABASE_PASSWORD_KEY}  # no Cohere key at all
    password = r.values[DATABASE_PASSWORD_KEY]
    assert r.values["DATABASE_URL"] == f"postgresql://todo:{password}@todo-app-database:5432/todo"
    assert sorted(r.generated) == ["DATABASE_URL", "JWT_SECRET", DATABASE_PASSWORD_KEY]
    assert [a.key for a in r.announcements] == ["DATABASE_URL", "JWT_SECRET", "COHERE_API_KEY"]
    for note in r.announcements:
        assert "\n" not in note.message
        assert not any(v in note.message for v in r.values.values())
    text = " ".join(a.message for a in r.announcements)
    assert "Neon" in text and "local intent parser" in text and "generated now" in text


def test_a_second_run_reads_the_kept_values_back_and_the_secret_version_stays() -> None:
    first = resolve({}, {}, release="todo-app", fullname="todo-app", make=counter())
    kept = {k: first.values[k] for k in ("JWT_SECRET", DATABASE_PASSWORD_KEY)}
    second = resolve({}, kept, release="todo-app", fullname="todo-app", make=counter())
    assert second.values == first.values
    assert second.generated == []
    assert {second.origins["JWT_SECRET"], second.origins[DATABASE_PASSWORD_KEY]} == {Origin.KEPT}
    assert secret_version(second.values) == secret_version(first.values)
    assert "read back" in second.announcements[0].message


def test_a_user_database_url_drops_the_embedded_database_and_its_password() -> None:
    r = resolve(
        {"DATABASE_URL": USER["DATABASE_URL"]}, {DATABASE_PASSWORD_KEY: "old"}, release="r", fullname="r-todo-app"
    )
    assert not r.embedded_database
    assert DATABASE_PASSWORD_KEY not in r.values and r.values["DATABASE_URL"] == USER["DATABASE_URL"]
    assert [a.key for a in r.announcements] == ["JWT_SECRET", "COHERE_API_KEY"]


def test_the_service_name_follows_the_release() -> None:
    r = resolve({}, {}, release="demo", fullname="demo-todo-app", make=counter())
    assert "@demo-todo-app-database:5432/" in r.values["DATABASE_URL"]


def test_embedded_database_before_and_after_resolution() -> None:
    assert embedded_database({}) and not embedded_database(USER)
    after = resolve({}, {}, release="todo-app", fullname="todo-app").values
    assert embedded_database(after)
    assert not embedded_database(resolve(USER, {}, release="todo-app", fullname="todo-app").values)


def test_generated_values_are_long_random_and_url_safe() -> None:
    values = {random_value() for _ in range(50)}
    assert len(values) == 50
    for value in values:
        assert len(value.encode()) >= 32
        assert set(value) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
