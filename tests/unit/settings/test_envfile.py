"""The strict env-file parser and every way an env file or its values can be refused.

Each refusal must be an InputError (exit 2) naming the file:line or the key, and must not contain
the canary value planted on the offending line (nor any other secret of the file).
"""

from __future__ import annotations

import io
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from dotenv import dotenv_values

from orchestrator.errors import ExitCode, InputError
from orchestrator.settings.config import load_settings
from orchestrator.settings.envfile import parse_env_bytes, parse_env_file
from tests.unit.conftest import CANARIES, CANARY_COHERE, CANARY_DATABASE_URL, CANARY_JWT

CANARY = "CANARY-line-4e9d1b77"


def _good_lines(skip: str = "") -> list[str]:
    lines = [
        "# settings",
        f"COHERE_API_KEY={CANARY_COHERE}",
        f"DATABASE_URL={CANARY_DATABASE_URL}",
        f"JWT_SECRET={CANARY_JWT}",
    ]
    return [line for line in lines if not (skip and line.startswith(skip + "="))]


@dataclass(frozen=True)
class Bad:
    """A broken env file: `lines` are appended to the good ones (or replace a key when `skip`)."""

    id: str
    lines: tuple[str, ...] | bytes
    where: str  # "LINE" -> must name "<file>:<line of the first appended line>", else a key name
    skip: str = ""


BAD_FILES = [
    Bad("no-equals", (f"{CANARY}",), "LINE"),
    Bad("export-without-equals", (f"export {CANARY}",), "LINE"),
    Bad("unterminated-double-quote", (f'FEATURE_FLAGS="{CANARY}',), "LINE"),
    Bad("unterminated-single-quote", (f"FEATURE_FLAGS='{CANARY}",), "LINE"),
    Bad("quote-closes-on-a-later-line", (f'FEATURE_FLAGS="{CANARY}', 'LOG_LEVEL="INFO"'), "LINE"),
    Bad("text-after-closing-quote", (f'FEATURE_FLAGS="a"{CANARY}',), "LINE"),
    Bad("duplicate-key", (f"JWT_SECRET={CANARY}{CANARY}",), "LINE"),
    Bad("invalid-key-dash", (f"MY-{CANARY}=x",), "LINE"),
    Bad("invalid-key-digit", (f"1KEY={CANARY}",), "LINE"),
    Bad("empty-key", (f"={CANARY}",), "LINE"),
    Bad("pasted-secret-as-key", (f"{CANARY}/+x=={CANARY}",), "LINE"),
    Bad("nul-byte", f"FEATURE_FLAGS={CANARY}\x00tail\n".encode(), "LINE"),
    Bad("invalid-utf8", f"FEATURE_FLAGS={CANARY}".encode() + b"\xff\xfe\n", "LINE"),
    Bad("misspelt-key-would-hide-behind-the-default", (f"JWT_SECRT={CANARY}",), "JWT_SECRT", skip="JWT_SECRET"),
    Bad("empty-required-key", ("JWT_SECRET=",), "JWT_SECRET", skip="JWT_SECRET"),
    Bad("blank-required-key", ('COHERE_API_KEY="   "',), "COHERE_API_KEY", skip="COHERE_API_KEY"),
    Bad("jwt-too-short", (f"JWT_SECRET={CANARY}",), "JWT_SECRET", skip="JWT_SECRET"),
    Bad("jwt-31-bytes", ("JWT_SECRET=" + "k" * 31,), "JWT_SECRET", skip="JWT_SECRET"),
    Bad("database-url-sqlite", (f"DATABASE_URL=sqlite:///{CANARY}.db",), "DATABASE_URL", skip="DATABASE_URL"),
    Bad("database-url-no-scheme", (f"DATABASE_URL={CANARY}.internal/todo",), "DATABASE_URL", skip="DATABASE_URL"),
    Bad(
        "database-url-bad-port",
        (f"DATABASE_URL=postgresql://u:{CANARY}@db:port/x",),
        "DATABASE_URL",
        skip="DATABASE_URL",
    ),
    Bad(
        "database-url-example-host",
        (f"DATABASE_URL=postgresql://u:{CANARY}@db.example.com/x",),
        "DATABASE_URL",
        skip="DATABASE_URL",
    ),
    Bad("placeholder-changethis", ("COHERE_API_KEY=changethis",), "COHERE_API_KEY", skip="COHERE_API_KEY"),
    Bad(
        "placeholder-changeme-in-password",
        (f"DATABASE_URL=postgresql://{CANARY}:changeme@db.internal/x",),
        "DATABASE_URL",
        skip="DATABASE_URL",
    ),
    Bad("placeholder-your", ("COHERE_API_KEY=your-cohere-api-key",), "COHERE_API_KEY", skip="COHERE_API_KEY"),
    Bad("placeholder-xxx", ("COHERE_API_KEY=xxxx",), "COHERE_API_KEY", skip="COHERE_API_KEY"),
    Bad(
        "placeholder-jwt-example",
        ("JWT_SECRET=changethis-with-at-least-32-random-bytes",),
        "JWT_SECRET",
        skip="JWT_SECRET",
    ),
    Bad("bad-log-level", (f"LOG_LEVEL={CANARY}",), "LOG_LEVEL"),
    Bad("bad-environment", (f"ENVIRONMENT={CANARY}",), "ENVIRONMENT"),
    Bad("bad-namespace", (f"TODO_NAMESPACE={CANARY}",), "TODO_NAMESPACE"),
    Bad("bad-target", (f"TODO_TARGET={CANARY}",), "TODO_TARGET"),
]


def _write(tmp_path: Path, case: Bad) -> tuple[Path, int]:
    path = tmp_path / "app.env"
    good = _good_lines(case.skip)
    head = ("\n".join(good) + "\n").encode()
    tail = case.lines if isinstance(case.lines, bytes) else ("\n".join(case.lines) + "\n").encode()
    path.write_bytes(head + tail)
    return path, len(good) + 1


def _assert_refused(err: InputError, must_name: str, *canaries: str) -> None:
    assert isinstance(err, InputError)
    assert err.exit_code == ExitCode.BAD_INPUT == 2
    text = err.render() + repr(err.args) + str(err)
    assert must_name in err.message, err.message
    for canary in (*canaries, *CANARIES):
        assert canary not in text, f"secret leaked into: {text}"
    assert err.__cause__ is None and (err.__context__ is None or err.__suppress_context__)


def test_at_least_eighteen_refusals_are_covered() -> None:
    assert len(BAD_FILES) >= 18


@pytest.mark.parametrize("case", BAD_FILES, ids=[c.id for c in BAD_FILES])
def test_bad_env_file_is_refused_without_leaking(tmp_path: Path, case: Bad) -> None:
    path, line = _write(tmp_path, case)
    with pytest.raises(InputError) as caught:
        load_settings(path, {}, check_git=False)
    must_name = f"{path}:{line}" if case.where == "LINE" else case.where
    _assert_refused(caught.value, must_name, CANARY)


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "nope.env"
    with pytest.raises(InputError) as caught:
        load_settings(path, {})
    _assert_refused(caught.value, str(path))
    assert ".env.example" in caught.value.hint


def test_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        load_settings(tmp_path, {})
    _assert_refused(caught.value, str(tmp_path))
    assert "directory" in caught.value.message


def test_unreadable_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The suite runs as root, which reads through chmod 000; the OS refusal is simulated instead.
    path = tmp_path / ".env"
    path.write_text(f"JWT_SECRET={CANARY}\n")

    def refuse(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", refuse)
    with pytest.raises(InputError) as caught:
        load_settings(path, {})
    _assert_refused(caught.value, str(path), CANARY)
    assert "Permission denied" in caught.value.message


def test_crlf_file_reports_the_right_line(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_bytes(b"A=1\r\nB=2\r\n" + f'C="{CANARY}\r\n'.encode() + b"D=4\r\n")
    with pytest.raises(InputError) as caught:
        parse_env_file(path)
    _assert_refused(caught.value, f"{path}:3", CANARY)


def test_invalid_utf8_reports_its_line() -> None:
    data = b"A=1\nB=2\n\nC=caf\xe9\nD=5\n"
    with pytest.raises(InputError) as caught:
        parse_env_bytes(data, "x.env")
    assert "x.env:4" in caught.value.message


def test_duplicate_names_both_lines() -> None:
    with pytest.raises(InputError) as caught:
        parse_env_bytes(b"A=1\n# c\nB=2\nA=3\n", "x.env")
    assert "x.env:4" in caught.value.message and "line 1" in caught.value.message and " A " in caught.value.message


def test_several_value_problems_are_reported_together(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text(f"COHERE_API_KEY=changethis\nDATABASE_URL=sqlite:///x.db\nJWT_SECRET={CANARY}\n")
    with pytest.raises(InputError) as caught:
        load_settings(path, {}, check_git=False)
    for key in ("COHERE_API_KEY", "DATABASE_URL", "JWT_SECRET"):
        assert key in caught.value.message
    assert CANARY not in caught.value.render()


# ---- valid edge cases: the exact value must survive, and agree with python-dotenv ------------

VALID = [
    ("crlf", b"KEY=plain value\r\nOTHER=2\r\n", {"KEY": "plain value", "OTHER": "2"}),
    ("cr-only", b"KEY=a\rOTHER=b\r", {"KEY": "a", "OTHER": "b"}),
    ("bom", b"\xef\xbb\xbfKEY=after-bom\n", {"KEY": "after-bom"}),
    ("export", b"export KEY=exported\nexport\tTAB=t\n", {"KEY": "exported", "TAB": "t"}),
    ("quoted-hash", b'KEY="value # not a comment"  # a comment\n', {"KEY": "value # not a comment"}),
    ("single-quoted-hash", b"KEY='a#b' # c\n", {"KEY": "a#b"}),
    ("unquoted-inline-comment", b"KEY=value # comment\n", {"KEY": "value"}),
    ("unquoted-hash-no-space", b"KEY=abc#def\n", {"KEY": "abc#def"}),
    ("empty-then-comment", b"KEY= # only a comment\n", {"KEY": ""}),
    ("hash-first-no-space", b"KEY=#novalue\n", {"KEY": "#novalue"}),
    ("interpolation-literal", b'KEY=${HOME}/x\nQ="${USER:-me}"\n', {"KEY": "${HOME}/x", "Q": "${USER:-me}"}),
    ("specials-single", b"KEY='$ # \" = \\ end'\n", {"KEY": '$ # " = \\ end'}),
    ("specials-double", b'KEY="a$b \'c\' \\"d\\" e=f \\\\ g"\n', {"KEY": "a$b 'c' \"d\" e=f \\ g"}),
    ("equals-in-value", b"KEY=a=b==\n", {"KEY": "a=b=="}),
    ("spaces", b'KEY="  padded  "\nBARE =  trimmed  \n', {"KEY": "  padded  ", "BARE": "trimmed"}),
    ("non-ascii", "KEY=pässwörd-日本-🔑\n".encode(), {"KEY": "pässwörd-日本-🔑"}),
    ("escaped-newline", b'KEY="line1\\nline2\\tend"\n', {"KEY": "line1\nline2\tend"}),
    ("single-quote-no-escape-n", b"KEY='raw\\nstays'\n", {"KEY": "raw\\nstays"}),
    ("backslash-unquoted", b"KEY=C:\\path\\n\n", {"KEY": "C:\\path\\n"}),
    ("blank-and-comments", b"\n   \n# c=1\n  # indented\nKEY=v\n", {"KEY": "v"}),
    ("empty-values", b"A=\nB=''\nC=\"\"\n", {"A": "", "B": "", "C": ""}),
    ("other-whitespace", "KEY=\x0cv\u00a0#c\u00a0\nQ='x'\x0c\n".encode(), {"KEY": "v", "Q": "x"}),
]


@pytest.mark.parametrize(("name", "data", "expected"), VALID, ids=[v[0] for v in VALID])
def test_valid_edge_case_keeps_the_exact_value(name: str, data: bytes, expected: dict[str, str]) -> None:
    parsed = {k: e.value for k, e in parse_env_bytes(data, "x.env").items()}
    assert parsed == expected
    reference = dotenv_values(stream=io.StringIO(data.decode("utf-8-sig")), interpolate=False)
    assert dict(reference) == expected, "python-dotenv reads this file differently"


def test_values_survive_into_settings(tmp_path: Path) -> None:
    jwt = "J$#'\"=\\ wörd " + "x9" * 16
    path = tmp_path / ".env"
    path.write_bytes(
        b"\xef\xbb\xbf# comment\r\n"
        + f"export COHERE_API_KEY='co-{CANARY}#x'\r\n".encode()
        + b'DATABASE_URL="postgresql://u:p%40ss@db.internal:5432/todo"\r\n'
        + ("JWT_SECRET='" + jwt.replace("\\", "\\\\").replace("'", "\\'") + "'\r\n").encode()
        + b'FEATURE_FLAGS="chat,${NEW_UI}"\r\n'
    )
    settings = load_settings(path, {}, check_git=False)
    assert settings.secret_values() == {
        "COHERE_API_KEY": f"co-{CANARY}#x",
        "DATABASE_URL": "postgresql://u:p%40ss@db.internal:5432/todo",
        "JWT_SECRET": jwt,
    }
    assert settings.feature_flags == "chat,${NEW_UI}"
    assert settings.origins["COHERE_API_KEY"] == f"{path}:2"


def test_git_tracked_env_file_is_refused(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    path = repo / ".env"
    path.write_text("\n".join(_good_lines()) + "\n")
    # Untracked inside a work tree: fine.
    load_settings(path, {})
    subprocess.run(["git", "-C", str(repo), "add", "-f", ".env"], check=True)
    with pytest.raises(InputError) as caught:
        load_settings(path, {})
    _assert_refused(caught.value, str(path))
    assert "git rm --cached" in caught.value.hint


def test_outside_a_git_work_tree_is_fine(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text("\n".join(_good_lines()) + "\n")
    assert load_settings(path, {}).secrets["JWT_SECRET"] == CANARY_JWT
