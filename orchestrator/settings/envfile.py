"""A strict parser for `.env` files: every problem is an InputError naming the file and line.

The format is the python-dotenv / docker-compose one, minus its silent failure modes:

    # comment                      blank lines and comment lines are skipped
    KEY=value                      unquoted: surrounding whitespace and a trailing ` # comment` are dropped
    export KEY=value               an optional `export ` prefix
    KEY='value'                    single quotes: literal, only \\' and \\\\ are escapes
    KEY="value"                    double quotes: \\n \\t \\r \\" \\' \\\\ \\a \\b \\f \\v are escapes
    KEY="a # b"  # comment         `#` inside quotes is part of the value

Differences from python-dotenv (which drops or merges such lines silently), all on purpose:
- a line without `=`, an unterminated quote, text after a closing quote, a duplicate key, a key that
  is not `[A-Za-z_][A-Za-z0-9_]*`, a NUL byte and invalid UTF-8 are errors, not skipped lines;
- `${VAR}` is never interpolated: the value keeps it literally;
- a quoted value must close on its own line (write a newline as `\\n` inside double quotes).

Error messages name the file, the line number and (when it is a valid name) the key. They never
contain the line text or a value: the line may hold a secret.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from orchestrator.errors import InputError

KEY_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_NEWLINE = re.compile(r"\r\n|\n|\r")
_EXPORT = re.compile(r"export\s+")
_UNQUOTED_COMMENT = re.compile(r"\s+#.*\Z", re.DOTALL)
_DOUBLE_ESCAPES = {
    "\\": "\\",
    "'": "'",
    '"': '"',
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
}
_SINGLE_ESCAPES = {"\\": "\\", "'": "'"}
_BOM = "\ufeff"

HINT = "fix that line of the env file (format: KEY=value, one per line; see .env.example)"


@dataclass(frozen=True)
class Entry:
    """One `KEY=value` binding and the line it came from (1-based)."""

    key: str
    value: str
    line: int


def parse_env_file(path: Path) -> dict[str, Entry]:
    """Read and parse `path`; raise InputError for a missing/unreadable file or any bad line."""
    if not path.exists():
        raise InputError(
            f"env file {path} does not exist",
            "copy .env.example to .env and fill in real values, or pass --env-file PATH",
        )
    if path.is_dir():
        raise InputError(f"env file {path} is a directory, not a file", "pass --env-file PATH to a file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(
            f"env file {path} cannot be read ({exc.strerror or type(exc).__name__})",
            f"check the file's permissions: ls -l {path}",
        ) from None
    return parse_env_bytes(data, str(path))


def parse_env_bytes(data: bytes, source: str) -> dict[str, Entry]:
    """Parse the raw bytes of an env file; `source` names it in error messages."""
    nul = data.find(b"\x00")
    if nul != -1:
        raise InputError(f"{source}:{_line_of(data, nul)}: contains a NUL byte", HINT)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{source}:{_line_of(data, exc.start)}: is not valid UTF-8",
            "save the env file as UTF-8",
        ) from None
    return parse_env_text(text, source)


def parse_env_text(text: str, source: str) -> dict[str, Entry]:
    """Parse env-file text (a leading BOM and CRLF/CR line endings are accepted)."""
    text = text.removeprefix(_BOM)
    entries: dict[str, Entry] = {}
    for number, raw in enumerate(_NEWLINE.split(text), start=1):
        entry = _parse_line(raw, number, source)
        if entry is None:
            continue
        if entry.key in entries:
            raise InputError(
                f"{source}:{number}: duplicate key {entry.key} (first set on line {entries[entry.key].line})",
                "keep one line per key",
            )
        entries[entry.key] = entry
    return entries


def _parse_line(raw: str, number: int, source: str) -> Entry | None:
    line = raw.lstrip()
    if not line or line.startswith("#"):
        return None
    where = f"{source}:{number}"
    export = _EXPORT.match(line)
    if export and "=" in line[export.end() :]:
        line = line[export.end() :]
    if "=" not in line:
        raise InputError(f"{where}: not a KEY=value line (no `=`)", HINT)
    key, rest = line.split("=", 1)
    key = key.rstrip()
    if not KEY_PATTERN.match(key):
        # The key is not echoed: a malformed line may be a pasted secret.
        raise InputError(f"{where}: invalid key name (must match [A-Za-z_][A-Za-z0-9_]*)", HINT)
    spaced = rest[:1].isspace()
    rest = rest.lstrip()
    if rest.startswith(("'", '"')):
        value = _parse_quoted(rest, where, key)
    elif spaced and rest.startswith("#"):
        value = ""  # `KEY= # comment`: an empty value and a comment (`KEY=#x` keeps "#x")
    else:
        value = _UNQUOTED_COMMENT.sub("", rest).rstrip()
    return Entry(key, value, number)


def _parse_quoted(rest: str, where: str, key: str) -> str:
    quote = rest[0]
    escapes = _DOUBLE_ESCAPES if quote == '"' else _SINGLE_ESCAPES
    out: list[str] = []
    i = 1
    while i < len(rest):
        char = rest[i]
        if char == "\\" and i + 1 < len(rest):
            nxt = rest[i + 1]
            if nxt in escapes:
                out.append(escapes[nxt])
            else:
                out.append(char + nxt)
            i += 2
            continue
        if char == quote:
            tail = rest[i + 1 :].strip()
            if tail and not tail.startswith("#"):
                raise InputError(f"{where}: {key} has text after its closing quote", HINT)
            return "".join(out)
        out.append(char)
        i += 1
    raise InputError(
        f"{where}: {key} has an unterminated quote",
        "close the quote on the same line; inside double quotes write a newline as \\n",
    )


def _line_of(data: bytes, offset: int) -> int:
    """1-based line number of a byte offset, counting CRLF, LF and CR line ends."""
    head = data[:offset]
    return len(_NEWLINE.findall(head.decode("latin-1"))) + 1


def set_env_value(path: Path, key: str, value: str) -> None:
    """Replace KEY's line (or append it) with `KEY="value"`, atomically, keeping the file's mode.

    Used by `rotate-secrets --generate`, so the next `up` deploys the generated value, not the old one.
    """
    import os
    import tempfile

    entries = parse_env_file(path) if path.exists() else {}
    encoded = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    new_line = f'{key}="{encoded}"'
    lines = _NEWLINE.split(path.read_text(encoding="utf-8-sig")) if path.exists() else []
    if lines and lines[-1] == "":
        lines.pop()
    if key in entries:
        lines[entries[key].line - 1] = new_line
    else:
        lines.append(new_line)
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o600
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
