"""Settings: precedence, defaults, repr safety, warnings and the shipped .env.example."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from orchestrator.errors import InputError
from orchestrator.settings.config import (
    ALL_KEYS,
    Environment,
    LogLevel,
    SecretValues,
    Target,
    is_placeholder,
    load_settings,
)
from orchestrator.settings.envfile import parse_env_file
from tests.unit.conftest import CANARIES, CANARY_COHERE, CANARY_DATABASE_URL, CANARY_JWT, good_values

ROOT = Path(__file__).resolve().parents[3]


def _env_file(tmp_path: Path, extra: str = "", mode: int = 0o600) -> Path:
    path = tmp_path / ".env"
    body = "".join(f"{k}={v}\n" for k, v in good_values().items()) + extra
    path.write_text(body)
    path.chmod(mode)
    return path


def test_defaults(tmp_path: Path) -> None:
    s = load_settings(_env_file(tmp_path), {}, check_git=False)
    assert (s.log_level, s.environment, s.feature_flags) == (LogLevel.INFO, Environment.DEVELOPMENT, "")
    assert (s.release, s.namespace, s.target) == ("todo-app", "todo-app", Target.MINIKUBE)
    assert s.kube_context is None and s.allow_remote is False
    assert s.warnings == ()
    assert s.config_values() == {"LOG_LEVEL": "INFO", "ENVIRONMENT": "development", "FEATURE_FLAGS": ""}
    assert s.secret_values() == good_values()


def test_environment_wins_over_file_and_flags_win_over_both(tmp_path: Path) -> None:
    path = _env_file(tmp_path, "LOG_LEVEL=ERROR\nTODO_NAMESPACE=from-file\nTODO_RELEASE=file-rel\n")
    other_key = "co-from-environment-77"
    s = load_settings(
        path,
        {"COHERE_API_KEY": other_key, "TODO_NAMESPACE": "from-env", "LOG_LEVEL": "debug", "TODO_RELEASE": "env-rel"},
        release="flag-rel",
        target="kind",
        check_git=False,
    )
    assert s.secrets["COHERE_API_KEY"] == other_key
    assert s.secrets["JWT_SECRET"] == CANARY_JWT
    assert s.log_level is LogLevel.DEBUG
    assert s.namespace == "from-env"
    assert s.release == "flag-rel"
    assert s.target is Target.KIND
    assert s.origins["COHERE_API_KEY"] == "the environment"
    assert s.origins["JWT_SECRET"] == f"{path}:3"
    assert s.origins["TODO_RELEASE"] == "flag --release"


def test_set_but_empty_environment_variable_wins_and_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        load_settings(_env_file(tmp_path), {"JWT_SECRET": ""}, check_git=False)
    assert "JWT_SECRET" in caught.value.message and "the environment" in caught.value.message


def test_environment_only_without_a_file() -> None:
    s = load_settings(None, {**good_values(), "ENVIRONMENT": "Production"})
    assert s.environment is Environment.PRODUCTION and s.env_file is None
    only_jwt = load_settings(None, {"JWT_SECRET": CANARY_JWT})
    assert dict(only_jwt.secrets) == {"JWT_SECRET": CANARY_JWT}  # the others take their defaults later


def test_nothing_set_at_all_is_a_valid_start() -> None:
    s = load_settings(None, {})
    assert dict(s.secrets) == {} and s.env_file is None


@pytest.mark.parametrize("key", ["COHERE_API_KEY", "DATABASE_URL", "JWT_SECRET"])
def test_a_key_set_empty_is_still_refused_not_defaulted(key: str) -> None:
    with pytest.raises(InputError) as caught:
        load_settings(None, {key: ""})
    assert key in caught.value.message and "default" in caught.value.message


def test_misspelt_key_is_suggested(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text(f"COHERE_API_KEY={CANARY_COHERE}\nDATABASE_URL={CANARY_DATABASE_URL}\nJWT_SECRT={CANARY_JWT}\n")
    with pytest.raises(InputError) as caught:
        load_settings(path, {}, check_git=False)
    assert f"{path}:3 sets JWT_SECRT" in caught.value.message
    assert CANARY_JWT not in caught.value.render()


def test_world_readable_file_is_a_warning_not_an_error(tmp_path: Path) -> None:
    path = _env_file(tmp_path, mode=0o644)
    s = load_settings(path, {}, check_git=False)
    assert len(s.warnings) == 1 and "chmod 600" in s.warnings[0] and str(path) in s.warnings[0]
    assert load_settings(_env_file(tmp_path, mode=0o640), {}, check_git=False).warnings == ()


def test_repr_and_str_never_show_values(tmp_path: Path) -> None:
    s = load_settings(_env_file(tmp_path), {}, check_git=False)
    for text in (repr(s), str(s), repr(s.secrets), str(s.secrets), f"{s.secrets}", f"{s!r}"):
        for canary in CANARIES:
            assert canary not in text
    assert "COHERE_API_KEY=***" in repr(s.secrets)
    with pytest.raises(TypeError):
        pickle.dumps(s.secrets)
    with pytest.raises(AttributeError):
        s.secrets._values = {}  # type: ignore[misc]
    with pytest.raises(TypeError):
        s.secrets["JWT_SECRET"] = "x"  # type: ignore[index]


def test_secret_values_is_a_copy() -> None:
    secrets = SecretValues(good_values())
    copy = dict(secrets)
    copy["JWT_SECRET"] = "changed"
    assert secrets["JWT_SECRET"] == CANARY_JWT and len(secrets) == 3


def test_flag_target_enum_and_context(tmp_path: Path) -> None:
    s = load_settings(_env_file(tmp_path), {}, target=Target.K3D, context="k3d-dev", allow_remote=True, check_git=False)
    assert (s.target, s.kube_context, s.allow_remote) == (Target.K3D, "k3d-dev", True)
    with pytest.raises(InputError):
        load_settings(_env_file(tmp_path), {}, context="  ", check_git=False)


@pytest.mark.parametrize("name", ["Todo", "todo_app", "-todo", "a" * 54])
def test_release_must_be_a_dns_label(tmp_path: Path, name: str) -> None:
    with pytest.raises(InputError) as caught:
        load_settings(_env_file(tmp_path), {}, release=name, check_git=False)
    assert "TODO_RELEASE" in caught.value.message


def test_example_file_documents_every_key_and_is_a_valid_start_as_it_stands(tmp_path: Path) -> None:
    """`cp .env.example .env` gives a working start (every line is commented out: the defaults), each
    key is documented with its default, and uncommenting an example secret without filling it in is refused."""
    example = ROOT / ".env.example"
    assert parse_env_file(example) == {}
    lines = example.read_text().splitlines()
    for key in ALL_KEYS:
        [index] = [i for i, line in enumerate(lines) if line.startswith(f"# {key}=")]
        block: list[str] = []
        index -= 1
        while index >= 0 and lines[index].startswith("#") and not lines[index].startswith(f"# {key}="):
            block.append(lines[index])
            index -= 1
        assert any(c.startswith(f"# {key}:") for c in block), f"{key} needs a comment starting with its name"
        assert "default" in " ".join(block).lower(), f"{key}: say what happens when it is not set"
    s = load_settings(example, {}, check_git=False)
    assert dict(s.secrets) == {} and s.release == "todo-app" and s.target is Target.MINIKUBE
    uncommented = tmp_path / ".env"
    uncommented.write_text(
        "\n".join(
            line[2:] if line.startswith(("# COHERE_API_KEY=", "# DATABASE_URL=", "# JWT_SECRET=")) else line
            for line in lines
        )
    )
    with pytest.raises(InputError) as caught:
        load_settings(uncommented, {}, check_git=False)
    for key in ("COHERE_API_KEY", "DATABASE_URL", "JWT_SECRET"):
        assert key in caught.value.message


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("changethis", True),
        ("CHANGEME", True),
        ("your-api-key", True),
        ("<your key>", True),
        ("xxx", True),
        ("sk-xxxxxxxxxxxx", True),
        ("placeholder-value", True),
        ("co-8f3kq0Z1", False),
        ("xx", False),
        ("a-real-token-with-x-in-it", False),
    ],
)
def test_is_placeholder(value: str, expected: bool) -> None:
    assert is_placeholder(value) is expected
