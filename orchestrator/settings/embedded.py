"""The embedded defaults of the secret keys: what a run uses for each one the user did not set, and the one line
that says so. Pure: the caller passes what the user set, what the cluster kept from the last run,
and how to make a random value.

    DATABASE_URL    absent -> the chart's own PostgreSQL. Its password (POSTGRES_PASSWORD) is made once
                    and kept; DATABASE_URL is composed from it and the in-cluster Service's name.
    JWT_SECRET      absent -> made once (48 random bytes, URL-safe), then kept.
    COHERE_API_KEY  absent -> not in the Secret at all: the backend's local intent parser answers chat.

"Kept" means: in the newest version of the release's Secret, in the cluster, read back on the next
run. The values have to outlive the run that made them (a new JWT_SECRET would log every user out
and roll the pods; a new database password would lock the app out of the data it already has), and
the Secret is the one place that already holds secrets, survives `invoke down` while the data does,
and is not a file on this machine that could be committed or lost.
"""

from __future__ import annotations

import secrets as _random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum

DATABASE_PASSWORD_KEY = "POSTGRES_PASSWORD"
DATABASE_USER = "todo"
DATABASE_NAME = "todo"
DATABASE_PORT = 5432
DATABASE_IMAGE = "postgres:15"
GENERATED_BYTES = 48  # > the 32 bytes JWT_SECRET needs


class Origin(str, Enum):
    """Where a secret value of this run came from."""

    USER = "user"  # the environment or the env file
    KEPT = "kept"  # read back from the newest Secret version in the cluster
    GENERATED = "generated"  # made by this run
    ABSENT = "absent"  # not set, and the app runs without it


@dataclass(frozen=True)
class Announcement:
    """One line about one default, and the JSON event's fields (never a value)."""

    key: str
    origin: Origin
    message: str


@dataclass(frozen=True)
class Resolved:
    """The secret values of this run (what goes into the Secret) and how each was chosen."""

    values: dict[str, str] = field(repr=False)
    embedded_database: bool
    origins: Mapping[str, Origin]
    announcements: tuple[Announcement, ...]

    @property
    def generated(self) -> list[str]:
        return [k for k, o in self.origins.items() if o is Origin.GENERATED]


# The keys whose values a run may generate and later runs read back.
KEPT_KEYS: tuple[str, ...] = ("JWT_SECRET", DATABASE_PASSWORD_KEY)


def embedded_database(secrets: Mapping[str, str]) -> bool:
    """Does this run use the chart's own database? True when the user gave no DATABASE_URL (before
    `resolve`) or when the values carry the generated database password (after it)."""
    return "DATABASE_URL" not in secrets or DATABASE_PASSWORD_KEY in secrets


def random_value() -> str:
    return _random.token_urlsafe(GENERATED_BYTES)


def database_service(fullname: str) -> str:
    """The chart's database Service name (charts/todo-app/templates/database/service.yaml)."""
    return f"{fullname}-database"


def database_url(service: str, password: str) -> str:
    """The backend's DATABASE_URL for the in-cluster PostgreSQL. The password is URL-safe by making."""
    return f"postgresql://{DATABASE_USER}:{password}@{service}:{DATABASE_PORT}/{DATABASE_NAME}"


def resolve(
    user: Mapping[str, str],
    kept: Mapping[str, str],
    *,
    release: str,
    fullname: str,
    make: Callable[[], str] = random_value,
) -> Resolved:
    """Decide every secret value of this run. `user`: what the environment/env file set; `kept`: the
    newest Secret version's values (empty on a first run)."""
    values: dict[str, str] = {}
    origins: dict[str, Origin] = {}
    notes: list[Announcement] = []
    where = f"the cluster (the newest Secret {release}-secrets-<version>, read back on the next run)"

    def kept_or_new(key: str) -> str:
        if kept.get(key):
            origins[key] = Origin.KEPT
            return kept[key]
        origins[key] = Origin.GENERATED
        return make()

    if "DATABASE_URL" in user:
        values["DATABASE_URL"] = user["DATABASE_URL"]
        origins["DATABASE_URL"] = Origin.USER
        embedded = False
    else:
        embedded = True
        password = kept_or_new(DATABASE_PASSWORD_KEY)
        values[DATABASE_PASSWORD_KEY] = password
        service = database_service(fullname)
        values["DATABASE_URL"] = database_url(service, password)
        origins["DATABASE_URL"] = origins[DATABASE_PASSWORD_KEY]  # composed from the password
        fresh = origins[DATABASE_PASSWORD_KEY] is Origin.GENERATED
        notes.append(
            Announcement(
                "DATABASE_URL",
                origins[DATABASE_PASSWORD_KEY],
                f"DATABASE_URL not set: using the chart's own PostgreSQL 15 (Service {service}, data on a "
                f"PersistentVolumeClaim); its password was {'generated now' if fresh else 'read back'} and is kept "
                f"in {where}. To use Neon or another server, set DATABASE_URL in .env",
            )
        )

    if "JWT_SECRET" in user:
        values["JWT_SECRET"] = user["JWT_SECRET"]
        origins["JWT_SECRET"] = Origin.USER
    else:
        values["JWT_SECRET"] = kept_or_new("JWT_SECRET")
        fresh = origins["JWT_SECRET"] is Origin.GENERATED
        notes.append(
            Announcement(
                "JWT_SECRET",
                origins["JWT_SECRET"],
                f"JWT_SECRET not set: {'generated one now' if fresh else 'using the one generated before'} "
                f"({GENERATED_BYTES} random bytes), kept in {where} so sign-ins survive the next `up`; "
                "set JWT_SECRET in .env to choose it",
            )
        )

    if "COHERE_API_KEY" in user:
        values["COHERE_API_KEY"] = user["COHERE_API_KEY"]
        origins["COHERE_API_KEY"] = Origin.USER
    else:
        origins["COHERE_API_KEY"] = Origin.ABSENT
        notes.append(
            Announcement(
                "COHERE_API_KEY",
                Origin.ABSENT,
                "COHERE_API_KEY not set: the chat runs on the backend's local intent parser; "
                "set COHERE_API_KEY in .env to use Cohere",
            )
        )
    return Resolved(values, embedded, origins, tuple(notes))
