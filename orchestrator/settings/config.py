"""Settings from flags, the process environment and the env file, checked before anything runs.

Precedence, highest first: command-line flags > process environment > env file > defaults.
A variable that is set in the process environment wins even when it is empty (and an empty
required key is then an error that says it came from the environment).

Keys the project reads:

    COHERE_API_KEY   secret, optional        Cohere API key of the chatbot (absent: local intent parser)
    DATABASE_URL     secret, optional        network database URL: scheme://user:password@host[:port]/db
                                             (absent: the chart's own PostgreSQL)
    JWT_SECRET       secret, optional        JWT signing secret, at least 32 bytes (absent: generated once)

An absent secret key gets its embedded default (orchestrator.settings.embedded), announced by `up`.
A key that is present must be good: empty, a placeholder, a short JWT_SECRET or a URL without a
host is an error, never a silent fallback to the default.
    LOG_LEVEL        DEBUG|INFO|WARNING|ERROR (default INFO), case-insensitive
    ENVIRONMENT      development|production   (default development), case-insensitive
    FEATURE_FLAGS    free text, comma-separated by convention (default "")
    TODO_RELEASE     Helm release name        (default todo-app)   flag: --release
    TODO_NAMESPACE   Kubernetes namespace     (default todo-app)   flag: --namespace
    TODO_TARGET      minikube|kind|k3d|registry (default minikube) flag: --target
    TODO_PROFILE     dev|production           (default dev)        flag: --profile (orchestrator.settings.profiles)

The kube context and `--allow-remote` are flags only, never read from a file or the environment:
pointing a deploy at a non-local cluster has to be typed on the command line.

`load_settings` only reads files (and asks `git ls-files` whether the env file is tracked); it never
builds or contacts anything, so every input problem is reported before the first side effect.
Every problem is an InputError (exit 2) naming the file and line or the key, never a value.
"""

from __future__ import annotations

import difflib
import re
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from orchestrator.errors import EnvironmentProblem, InputError
from orchestrator.settings.envfile import Entry, parse_env_file
from orchestrator.settings.keys import SECRET_KEYS
from orchestrator.settings.profiles import Profile
from orchestrator.shell import run

E = TypeVar("E", bound=Enum)


class Target(str, Enum):
    """Where images go and which local cluster kind is expected."""

    MINIKUBE = "minikube"
    KIND = "kind"
    K3D = "k3d"
    REGISTRY = "registry"


class LogLevel(str, Enum):
    DEBUG = "DEBUG"
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"


class Environment(str, Enum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


CONFIG_KEYS: tuple[str, ...] = ("LOG_LEVEL", "ENVIRONMENT", "FEATURE_FLAGS")
DEPLOY_KEYS: tuple[str, ...] = ("TODO_RELEASE", "TODO_NAMESPACE", "TODO_TARGET", "TODO_PROFILE")
ALL_KEYS: tuple[str, ...] = SECRET_KEYS + CONFIG_KEYS + DEPLOY_KEYS

DEFAULT_ENV_FILE = Path(".env")
DEFAULT_RELEASE = "todo-app"
DEFAULT_NAMESPACE = "todo-app"
MIN_JWT_SECRET_BYTES = 32

_DEFAULTS: dict[str, str] = {
    "LOG_LEVEL": LogLevel.INFO.value,
    "ENVIRONMENT": Environment.DEVELOPMENT.value,
    "FEATURE_FLAGS": "",
    "TODO_RELEASE": DEFAULT_RELEASE,
    "TODO_NAMESPACE": DEFAULT_NAMESPACE,
    "TODO_TARGET": Target.MINIKUBE.value,
    "TODO_PROFILE": Profile.DEV.value,
}
_FLAG_KEYS = {
    "release": "TODO_RELEASE",
    "namespace": "TODO_NAMESPACE",
    "target": "TODO_TARGET",
    "profile": "TODO_PROFILE",
}

# Placeholder markers: .env.example uses them, and a required key holding one is refused.
PLACEHOLDER_MARKERS: tuple[str, ...] = (
    "changethis",
    "changeme",
    "change-me",
    "change_me",
    "placeholder",
    "replaceme",
    "replace-me",
    "replace_me",
    "xxxxxxxx",
)
_PLACEHOLDER_EXACT = re.compile(r"(?i)\A(?:x{3,}|\*{3,}|\.{3,}|todo|tbd|secret|password|none|null)\Z")
_PLACEHOLDER_PREFIX = re.compile(r"(?i)\A(?:your[-_ ]|<)")
_PLACEHOLDER_HOSTS = re.compile(r"(?i)(?:\A|\.)example\.(?:com|org|net)\Z|\Ahost(?:name)?\Z")
_DNS_LABEL = re.compile(r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?\Z")


class SecretValues(Mapping[str, str]):
    """A read-only mapping of secret key -> value whose repr and str never show a value."""

    __slots__ = ("_values",)
    _values: dict[str, str]

    def __init__(self, values: Mapping[str, str]) -> None:
        object.__setattr__(self, "_values", dict(values))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("SecretValues is read-only")

    def __getitem__(self, key: str) -> str:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return "SecretValues(" + ", ".join(f"{k}=***" for k in self._values) + ")"

    __str__ = __repr__

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("SecretValues cannot be pickled")


DEFAULT_INGRESS_HOST = "todo-app.local"


def ingress_host(release: str, namespace: str) -> str:
    """The Ingress host of a release: its own for every (release, namespace), so two releases never
    claim the same host and path (ingress-nginx's admission webhook refuses the second one across
    namespaces). The default release in the default namespace keeps `todo-app.local`. Pure."""
    if (release, namespace) == (DEFAULT_RELEASE, DEFAULT_NAMESPACE):
        return DEFAULT_INGRESS_HOST
    return f"{release}.{namespace}.local"


@dataclass(frozen=True)
class Settings:
    """Everything one run needs, validated. Secrets only in `secrets` (repr-safe)."""

    secrets: SecretValues
    log_level: LogLevel
    environment: Environment
    feature_flags: str
    release: str
    namespace: str
    target: Target
    kube_context: str | None
    allow_remote: bool
    env_file: Path | None
    origins: Mapping[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    profile: Profile = Profile.DEV

    def secret_values(self) -> dict[str, str]:
        """A plain dict for the Secret writer. Never log it."""
        return dict(self.secrets)

    def with_secrets(self, values: Mapping[str, str]) -> Settings:
        """These settings with the secret values of the run (the user's plus the embedded defaults)."""
        from dataclasses import replace

        return replace(self, secrets=SecretValues(values))

    @property
    def ingress_host(self) -> str:
        return ingress_host(self.release, self.namespace)

    def config_values(self) -> dict[str, str]:
        """The non-secret application settings, for the ConfigMap / Helm values."""
        return {
            "LOG_LEVEL": self.log_level.value,
            "ENVIRONMENT": self.environment.value,
            "FEATURE_FLAGS": self.feature_flags,
        }


def load_settings(
    env_file: Path | None,
    environ: Mapping[str, str],
    *,
    release: str | None = None,
    namespace: str | None = None,
    target: str | Target | None = None,
    profile: str | Profile | None = None,
    context: str | None = None,
    allow_remote: bool = False,
    check_git: bool = True,
) -> Settings:
    """Merge flags, `environ` and `env_file` (None: environment only) into validated Settings.

    Raises InputError (exit 2) for any bad input; the message names the file:line or the key.
    """
    entries: dict[str, Entry] = {}
    warnings: list[str] = []
    if env_file is not None:
        entries = parse_env_file(env_file)
        warnings += _file_permission_warnings(env_file)
        if check_git and _tracked_by_git(env_file):
            raise InputError(
                f"env file {env_file} is tracked by git: its secrets are in the repository history",
                f"run `git rm --cached {env_file}`, commit, and rotate every secret it held",
            )

    flags = {"release": release, "namespace": namespace, "target": target, "profile": profile}
    values: dict[str, str] = {}
    origins: dict[str, str] = {}
    for key in ALL_KEYS:
        flag = next((f for f, k in _FLAG_KEYS.items() if k == key), None)
        if flag is not None and flags[flag] is not None:
            raw = flags[flag]
            values[key] = raw.value if isinstance(raw, Enum) else str(raw)
            origins[key] = f"flag --{flag}"
        elif key in environ:
            values[key] = environ[key]
            origins[key] = "the environment"
        elif key in entries:
            values[key] = entries[key].value
            origins[key] = f"{env_file}:{entries[key].line}"
        elif key in _DEFAULTS:
            values[key] = _DEFAULTS[key]
            origins[key] = "default"

    problems: list[str] = []
    for key in SECRET_KEYS:
        problems += _secret_problems(key, values.get(key), origins.get(key), env_file, entries)
    log_level = _choice(LogLevel, values["LOG_LEVEL"].upper(), "LOG_LEVEL", origins, problems)
    environment = _choice(Environment, values["ENVIRONMENT"].lower(), "ENVIRONMENT", origins, problems)
    chosen_target = _choice(Target, values["TODO_TARGET"].lower(), "TODO_TARGET", origins, problems)
    chosen_profile = _choice(Profile, values["TODO_PROFILE"].lower(), "TODO_PROFILE", origins, problems)
    release_name = values["TODO_RELEASE"]
    namespace_name = values["TODO_NAMESPACE"]
    problems += _dns_label_problems("TODO_RELEASE", release_name, 53, origins)
    problems += _dns_label_problems("TODO_NAMESPACE", namespace_name, 63, origins)
    if context is not None and not context.strip():
        problems.append("--context is empty")
    if problems:
        _raise(problems)

    assert log_level is not None and environment is not None and chosen_target is not None
    assert chosen_profile is not None
    return Settings(
        secrets=SecretValues({k: values[k] for k in SECRET_KEYS if k in values}),
        log_level=log_level,
        environment=environment,
        feature_flags=values["FEATURE_FLAGS"],
        release=release_name,
        namespace=namespace_name,
        target=chosen_target,
        kube_context=context,
        allow_remote=allow_remote,
        env_file=env_file,
        origins=dict(origins),
        warnings=tuple(warnings),
        profile=chosen_profile,
    )


def is_placeholder(value: str) -> bool:
    """True for values that only stand in for a real one (changethis, your-..., xxx, <...>)."""
    lowered = value.strip().lower()
    if any(marker in lowered for marker in PLACEHOLDER_MARKERS):
        return True
    return bool(_PLACEHOLDER_EXACT.match(lowered) or _PLACEHOLDER_PREFIX.match(lowered))


def _secret_problems(
    key: str,
    value: str | None,
    origin: str | None,
    env_file: Path | None,
    entries: Mapping[str, Entry],
) -> list[str]:
    if value is None:
        close = difflib.get_close_matches(key, list(entries), n=1, cutoff=0.75)
        if close:  # the default would hide a typo
            return [f"{key} is not set but {env_file}:{entries[close[0]].line} sets {close[0]}, a misspelling?"]
        return []
    if not value.strip():
        return [f"{key} is empty (set in {origin}); remove the line to use its default, or set a value"]
    if is_placeholder(value):
        return [f"{key} holds a placeholder value (set in {origin}); put the real value there"]
    if key == "DATABASE_URL":
        return _database_url_problems(value, origin)
    if key == "JWT_SECRET" and len(value.encode("utf-8")) < MIN_JWT_SECRET_BYTES:
        return [
            f"JWT_SECRET is shorter than {MIN_JWT_SECRET_BYTES} bytes (set in {origin}); "
            "generate one with `invoke rotate-secrets --generate JWT_SECRET`"
        ]
    return []


def _database_url_problems(value: str, origin: str | None) -> list[str]:
    """The pods reach the database over the network: a URL with a scheme and a host is required."""
    try:
        parts = urlsplit(value.strip())
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        return [f"DATABASE_URL is not a valid URL (set in {origin})"]
    if not parts.scheme or not host:
        return [
            f"DATABASE_URL needs a scheme and a host, e.g. postgresql://user:password@host:5432/db "
            f"(set in {origin}); file databases such as sqlite:/// cannot be shared by pods"
        ]
    if _PLACEHOLDER_HOSTS.search(host) or (parts.password and is_placeholder(parts.password)):
        return [f"DATABASE_URL holds the example host or password (set in {origin})"]
    if value != value.strip() or any(c.isspace() for c in value):
        return [f"DATABASE_URL contains whitespace (set in {origin})"]
    return []


def _choice(enum: type[E], value: str, key: str, origins: Mapping[str, str], problems: list[str]) -> E | None:
    try:
        return enum(value)
    except ValueError:
        allowed = "|".join(str(member.value) for member in enum)
        problems.append(f"{key} must be one of {allowed} (set in {origins.get(key)})")
        return None


def _dns_label_problems(key: str, value: str, limit: int, origins: Mapping[str, str]) -> list[str]:
    if _DNS_LABEL.match(value) and len(value) <= limit:
        return []
    return [
        f"{key} must be a DNS label: lowercase letters, digits and '-', at most {limit} characters "
        f"(set in {origins.get(key)})"
    ]


def _raise(problems: list[str]) -> None:
    hint = "fix the keys named above in the env file or the environment (see .env.example)"
    if len(problems) == 1:
        raise InputError(problems[0], hint)
    raise InputError(f"{len(problems)} problems with the settings: " + "; ".join(problems), hint)


def _file_permission_warnings(path: Path) -> list[str]:
    try:
        mode = path.stat().st_mode
    except OSError:
        return []
    if mode & stat.S_IROTH:
        return [f"env file {path} is readable by every user on this machine; run: chmod 600 {path}"]
    return []


def _tracked_by_git(path: Path) -> bool:
    """True when `path` sits in a git work tree and git tracks it. No git: False."""
    directory = str(path.resolve().parent)
    try:
        inside = run(["git", "-C", directory, "rev-parse", "--is-inside-work-tree"], check=False, timeout=10)
        if inside.returncode != 0 or inside.stdout.strip() != "true":
            return False
        listed = run(
            ["git", "-C", directory, "ls-files", "--error-unmatch", "--", path.name],
            check=False,
            timeout=10,
        )
    except EnvironmentProblem:
        return False
    return listed.returncode == 0
