"""Bad input ends before anything happens: exit 2, one message naming file:line or the key, the
value nowhere in the output, zero Kubernetes requests, zero builds, zero helm/kubectl/minikube calls.
Valid but unusual env files deliver their exact values into the Secret."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.harness import CANARIES, app_secrets, decoded, env_file_text, invoke, leaks
from tests.robustness.conftest import SpiedCluster

pytestmark = [pytest.mark.e2e]

# A snapshot: the e2e suite's database fixture points CANARIES' DATABASE_URL elsewhere while it runs.
C = dict(CANARIES)
GOOD = env_file_text(C)


def without(key: str) -> str:
    return env_file_text({k: v for k, v in C.items() if k != key})


def with_value(key: str, value: str) -> str:
    return env_file_text({**C, key: value})


def lines_plus(extra: str) -> str:
    return GOOD + extra


# (case id, env file bytes or a builder taking the directory, words the message must contain)
Case = tuple[str, "bytes | Callable[[Path], Path]", list[str]]
CASES: list[Case] = [
    ("file-missing", lambda d: d / "nope.env", ["nope.env", "does not exist"]),
    ("not-a-regular-file", lambda d: (d / "dir.env").mkdir() or d / "dir.env", ["dir.env"]),
    # A key left out is not bad input: it takes its embedded default (tests/e2e/test_onboarding.py).
    (
        "misspelt-JWT_SECRET",
        (without("JWT_SECRET") + env_file_text({"JWT_SECRT": C["JWT_SECRET"]})).encode(),
        ["JWT_SECRET", "JWT_SECRT"],
    ),
    ("empty-COHERE_API_KEY", with_value("COHERE_API_KEY", "").encode(), ["COHERE_API_KEY"]),
    ("empty-DATABASE_URL", with_value("DATABASE_URL", "").encode(), ["DATABASE_URL"]),
    ("empty-JWT_SECRET", with_value("JWT_SECRET", "").encode(), ["JWT_SECRET"]),
    ("line-without-equals", lines_plus(f"{C['COHERE_API_KEY']}\n").encode(), [":4"]),
    ("unterminated-quote", lines_plus(f'EXTRA="{C["COHERE_API_KEY"]}\n').encode(), [":4"]),
    (
        "duplicate-key",
        lines_plus(f'JWT_SECRET="{C["JWT_SECRET"]}-2"\n'.replace("\n-2", "-2")).encode(),
        ["JWT_SECRET", ":4"],
    ),
    ("invalid-key-name", lines_plus(f"BAD-KEY={C['COHERE_API_KEY']}\n").encode(), [":4"]),
    ("nul-byte", lines_plus("EXTRA=a\x00b\n").encode(), [":4"]),
    ("invalid-utf8", GOOD.encode() + b"EXTRA=\xff\xfe\n", [":4"]),
    (
        "database-url-without-scheme",
        with_value("DATABASE_URL", "db.canary-host.internal/todo").encode(),
        ["DATABASE_URL"],
    ),
    ("database-url-without-host", with_value("DATABASE_URL", "postgresql:///todo").encode(), ["DATABASE_URL"]),
    ("short-jwt-secret", with_value("JWT_SECRET", "short-canary-77").encode(), ["JWT_SECRET", "32"]),
    ("placeholder-value", with_value("COHERE_API_KEY", "changethis").encode(), ["COHERE_API_KEY"]),
]


def materialize(case: bytes | Callable[[Path], Path], directory: Path) -> Path:
    if callable(case):
        return case(directory)
    path = directory / "deploy.env"
    path.write_bytes(case)
    path.chmod(0o600)
    return path


def assert_nothing_happened(spied: SpiedCluster, run) -> None:  # type: ignore[no-untyped-def]
    assert run.returncode == 2, run.explain()
    assert spied.cluster.requests == []
    assert spied.tool_calls() == []
    assert not run.named("image.building") and not run.named("image.built")
    assert set(run.finished["phases"]) <= {"input"}
    assert not leaks(run.output), run.explain()


@pytest.mark.proof("bad input")
@pytest.mark.parametrize(("content", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_env_file(spied: SpiedCluster, tmp_path: Path, content, words: list[str]) -> None:  # type: ignore[no-untyped-def]
    spied.reset()
    env_file = materialize(content, tmp_path)
    run = invoke(spied.cluster, "up", env_file=env_file, extra_env={"PATH": spied.path})
    assert_nothing_happened(spied, run)
    message = run.finished["error"]
    assert "\n" not in message
    for word in words:
        assert word in message or word in run.stderr, run.explain()
    assert env_file.name in message or any(k in message for k in C), message


@pytest.mark.proof("bad input")
def test_env_file_tracked_by_git(spied: SpiedCluster, tmp_path: Path) -> None:
    spied.reset()
    repo = tmp_path / "repo"
    repo.mkdir()
    env_file = repo / ".env"
    env_file.write_text(GOOD)
    git = ["git", "-C", str(repo), "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", ".env"], check=True)
    subprocess.run([*git, "commit", "-qm", "oops"], check=True)
    run = invoke(spied.cluster, "up", env_file=env_file, extra_env={"PATH": spied.path})
    assert_nothing_happened(spied, run)
    assert "git" in run.finished["error"]


@pytest.mark.proof("bad input")
@pytest.mark.parametrize(
    "flags",
    [
        ["--timeout", "soon"],
        ["--budget-mb", "-1"],
        ["--target", "aks"],
        ["--health-timeout", "0"],
        ["--profile", "staging"],
    ],
    ids=["timeout", "budget", "target", "health", "profile"],
)
def test_bad_flag(spied: SpiedCluster, tmp_path: Path, flags: list[str]) -> None:
    spied.reset()
    env_file = materialize(GOOD.encode(), tmp_path)
    run = invoke(spied.cluster, "up", *flags, env_file=env_file, extra_env={"PATH": spied.path})
    assert_nothing_happened(spied, run)
    assert flags[0].lstrip("-").split("-")[0] in run.finished["error"].lower()


@pytest.mark.proof("bad input")
def test_production_profile_without_a_registry(spied: SpiedCluster, tmp_path: Path) -> None:
    """The production profile deploys by digest from a registry: without one it stops before any build."""
    spied.reset()
    env_file = materialize(GOOD.encode(), tmp_path)
    run = invoke(spied.cluster, "up", "--profile", "production", env_file=env_file, extra_env={"PATH": spied.path})
    assert_nothing_happened(spied, run)
    assert "registry" in run.finished["error"] and "--registry" in run.output, run.explain()


@pytest.mark.proof("bad input")
@pytest.mark.parametrize("value", ["backend.replicas=abc", "unknownKey=1", "backend.image.tag=latest"])
def test_bad_chart_value(spied: SpiedCluster, value: str) -> None:
    spied.reset()
    run = invoke(spied.cluster, "validate", "--set", value)
    assert run.returncode == 2, run.explain()
    assert spied.cluster.requests == []


# --- valid edge cases: the exact value arrives in the Secret ------------------------------------------

EDGE_CASES = {
    "crlf-line-endings": (GOOD.replace("\n", "\r\n").encode(), C),
    "utf8-bom": (b"\xef\xbb\xbf" + GOOD.encode(), C),
    "export-prefix": ("".join(f"export {line}\n" for line in GOOD.splitlines()).encode(), C),
    "quoted-hash": (
        with_value("COHERE_API_KEY", "co-edge # not a comment-0001").encode(),
        {**C, "COHERE_API_KEY": "co-edge # not a comment-0001"},
    ),
    "dollar-brace-literal": (
        with_value("COHERE_API_KEY", "co-edge-${HOME}-$USER-0002").encode(),
        {**C, "COHERE_API_KEY": "co-edge-${HOME}-$USER-0002"},
    ),
    "single-quoted-metacharacters": (
        (
            env_file_text({k: v for k, v in C.items() if k != "COHERE_API_KEY"})
            + "COHERE_API_KEY='co-edge $ # \" = \\\\ sp ace ü-0003'\n"
        ).encode(),
        {**C, "COHERE_API_KEY": 'co-edge $ # " = \\ sp ace ü-0003'},
    ),
    "unquoted-with-inner-spaces": (
        (
            env_file_text({k: v for k, v in C.items() if k != "COHERE_API_KEY"})
            + "COHERE_API_KEY=co-edge inner  spaces é-0004   # trailing comment\n"
        ).encode(),
        {**C, "COHERE_API_KEY": "co-edge inner  spaces é-0004"},
    ),
    "escaped-newline": (
        with_value("JWT_SECRET", "jwt-edge-line-one-0123456789abcdef\nline-two-0005").encode(),
        {**C, "JWT_SECRET": "jwt-edge-line-one-0123456789abcdef\nline-two-0005"},
    ),
}


@pytest.mark.proof("valid edge cases")
@pytest.mark.docker
@pytest.mark.parametrize("case", list(EDGE_CASES))
def test_valid_edge_case_value_arrives_exactly(spied: SpiedCluster, tmp_path: Path, case: str) -> None:
    content, expected = EDGE_CASES[case]
    env_file = materialize(content, tmp_path)
    run = invoke(spied.cluster, "up", env_file=env_file, extra_env={"PATH": spied.path})
    assert run.returncode == 0, run.explain()
    name = (run.named("secret.written") or run.named("secret.unchanged"))[0]["name"]
    secret = next(s for s in app_secrets(spied.cluster, "todo-app") if s["metadata"]["name"] == name)
    assert decoded(secret) == expected
    assert not leaks(run.output, expected.values())
