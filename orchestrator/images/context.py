"""What goes into an image build, and the content tag that names it.

A tag is the first 12 hex digits of a sha256 over everything that decides the build's result:
the Dockerfile, the build arguments, the local IDs of the base images, and every file of the
context that `.dockerignore` lets in (path, executable bit and bytes; symlinks by their target).
The file list is exactly what docker-py sends to the engine: the same `.dockerignore` parsing and
the same matcher (`docker.utils.build.exclude_paths`). Change one byte the build can see and the
tag changes; touch a file the build cannot see and it does not.

Everything here is pure or only reads files; nothing contacts the Docker engine.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

TAG_LENGTH = 12
_HASH_FORMAT = b"todo-deploy image content v1\n"

# A name no context holds: passed to exclude_paths when the Dockerfile lives outside the context
# (docker-py then sends it under a random name, so it is never part of the context's files).
_NO_DOCKERFILE = ".dockerfile.outside-context"


def dockerignore_patterns(context: Path) -> list[str]:
    """The patterns of `<context>/.dockerignore`, parsed the way docker-py parses them."""
    path = context / ".dockerignore"
    if not path.exists():
        return []
    lines = (line.strip() for line in path.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def dockerfile_in_context(dockerfile: Path, context: Path) -> str | None:
    """The Dockerfile's path relative to the context, or None when it lives outside it."""
    rel = os.path.relpath(dockerfile.resolve(), context.resolve())
    return None if rel.startswith("..") else rel


def context_files(context: Path, dockerfile: Path) -> list[str]:
    """Sorted context-relative paths (files, directories, links) that the build can see."""
    from docker.utils.build import exclude_paths

    rel = dockerfile_in_context(dockerfile, context)
    included = exclude_paths(str(context), list(dockerignore_patterns(context)), dockerfile=rel or _NO_DOCKERFILE)
    return sorted(p for p in included if (context / p).exists() or (context / p).is_symlink())


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def context_digest_lines(context: Path, files: Iterable[str]) -> list[str]:
    """One line per visible path: kind, path, executable bit and content digest (or link target)."""
    lines: list[str] = []
    for rel in files:
        full = context / rel
        info = full.lstat()
        if stat.S_ISLNK(info.st_mode):
            lines.append(f"L {rel} -> {os.readlink(full)}")
        elif stat.S_ISDIR(info.st_mode):
            lines.append(f"D {rel}")
        elif stat.S_ISREG(info.st_mode):
            executable = "x" if info.st_mode & 0o111 else "-"
            lines.append(f"F {rel} {executable} {_file_digest(full)}")
    return lines


def content_tag(
    dockerfile_text: bytes,
    build_args: Mapping[str, str],
    base_image_ids: Mapping[str, str],
    digest_lines: Iterable[str],
) -> str:
    """The 12-hex content tag: a pure function of everything the build result depends on."""
    digest = hashlib.sha256(_HASH_FORMAT)
    digest.update(b"dockerfile\n" + hashlib.sha256(dockerfile_text).hexdigest().encode() + b"\n")
    for key in sorted(build_args):
        digest.update(f"arg {key}={build_args[key]}\n".encode())
    for ref in sorted(base_image_ids):
        digest.update(f"base {ref}@{base_image_ids[ref]}\n".encode())
    for line in digest_lines:
        digest.update(line.encode() + b"\n")
    return digest.hexdigest()[:TAG_LENGTH]


# The one Dockerfile FROM/ARG reader (the content tag, `invoke validate`'s IMG003 and `invoke doctor`
# use it). Dockerfile reference: `FROM [--platform=<p>] <image> [AS <name>]`; ARGs before the first
# FROM apply to FROM lines; `$VAR`, `${VAR}` and `${VAR:-default}` / `${VAR-default}` are expanded.
_ARG = re.compile(r"^\s*ARG\s+(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:=(?P<default>\S*))?", re.IGNORECASE)
_FROM = re.compile(r"^\s*FROM\s+(?:--platform=\S+\s+)?(?P<image>\S+)(?:\s+AS\s+(?P<stage>\S+))?", re.IGNORECASE)
_VAR = re.compile(
    r"\$\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?::?-(?P<default>[^}]*))?\}|\$(?P<bare>[A-Za-z_][A-Za-z0-9_]*)"
)


@dataclass(frozen=True)
class FromLine:
    """One FROM line: its image with ARGs expanded and, when it names no earlier stage, the external image."""

    number: int  # 1-based line number
    image: str  # as written, ARGs expanded ("" when an ARG without a value was all it named)
    stage: str | None  # its `AS` name, lower case
    base: str | None  # the external image the stage builds on (None for `scratch`)
    external: bool  # the image is pulled or built from (not an earlier stage, not `scratch`)


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def from_lines(dockerfile_text: str, build_args: Mapping[str, str]) -> list[FromLine]:
    """Every FROM line in order. Build args override ARG defaults; a FROM naming an earlier stage
    resolves to that stage's base."""
    args: dict[str, str] = {}
    stages: dict[str, str | None] = {}
    found: list[FromLine] = []

    def expand(match: re.Match[str]) -> str:
        name = match.group("braced") or match.group("bare")
        return args.get(name) or (match.group("default") or "")

    for number, line in enumerate(dockerfile_text.splitlines(), start=1):
        arg = _ARG.match(line)
        if arg and not found:
            name = arg.group("name")
            args[name] = build_args.get(name, _unquote(arg.group("default") or ""))
            continue
        match = _FROM.match(line)
        if not match:
            continue
        image = _VAR.sub(expand, match.group("image"))
        external = image.lower() not in stages and image.lower() != "scratch"
        base = image if external else stages.get(image.lower())
        stage = match.group("stage").lower() if match.group("stage") else None
        if stage:
            stages[stage] = base
        found.append(FromLine(number, image, stage, base, external))
    return found


def base_images(dockerfile_text: str, build_args: Mapping[str, str]) -> tuple[list[str], str | None]:
    """(external images named by FROM lines in order, the final stage's external base).

    ARGs declared before the first FROM are substituted (build args override their defaults);
    FROM lines naming an earlier stage resolve to that stage's base. `scratch` has no base.
    """
    lines = from_lines(dockerfile_text, build_args)
    images: list[str] = []
    for line in lines:
        if line.external and line.image not in images:
            images.append(line.image)
    return images, (lines[-1].base if lines else None)
