"""Content tags: what the build can see changes the tag, what it cannot see does not."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from orchestrator.images.context import base_images, content_tag, context_digest_lines, context_files


def _tag(
    context: Path, dockerfile: Path, args: dict[str, str] | None = None, bases: dict[str, str] | None = None
) -> str:
    lines = context_digest_lines(context, context_files(context, dockerfile))
    return content_tag(dockerfile.read_bytes(), args or {}, bases or {}, lines)


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, Path]:
    context = tmp_path / "ctx"
    (context / "pkg").mkdir(parents=True)
    (context / "pkg" / "main.py").write_text("print('hi')\n")
    (context / "requirements.txt").write_text("fastapi==1\n")
    (context / ".dockerignore").write_text(
        "# comment\n.env\n.env.*\n!.env.example\n**/__pycache__\nnode_modules\ntests\n"
    )
    dockerfile = tmp_path / "app.Dockerfile"
    dockerfile.write_text("FROM python:3.11-slim\nCOPY . /app\n")
    return context, dockerfile


def test_tag_is_twelve_hex_and_stable(project: tuple[Path, Path]) -> None:
    context, dockerfile = project
    tag = _tag(context, dockerfile)
    assert len(tag) == 12 and int(tag, 16) >= 0
    assert _tag(context, dockerfile) == tag


def test_visible_file_change_changes_the_tag(project: tuple[Path, Path]) -> None:
    context, dockerfile = project
    before = _tag(context, dockerfile)
    (context / "pkg" / "main.py").write_text("print('bye')\n")
    assert _tag(context, dockerfile) != before


def test_new_visible_file_and_removed_file_change_the_tag(project: tuple[Path, Path]) -> None:
    context, dockerfile = project
    before = _tag(context, dockerfile)
    (context / "pkg" / "extra.py").write_text("")
    with_extra = _tag(context, dockerfile)
    assert with_extra != before
    (context / "pkg" / "extra.py").unlink()
    assert _tag(context, dockerfile) == before


def test_ignored_files_do_not_change_the_tag(project: tuple[Path, Path]) -> None:
    context, dockerfile = project
    before = _tag(context, dockerfile)
    (context / ".env").write_text("JWT_SECRET=x\n")
    (context / ".env.local").write_text("X=1\n")
    (context / "pkg" / "__pycache__").mkdir()
    (context / "pkg" / "__pycache__" / "main.cpython-311.pyc").write_bytes(b"\0")
    (context / "node_modules" / "a").mkdir(parents=True)
    (context / "node_modules" / "a" / "index.js").write_text("")
    (context / "tests").mkdir()
    (context / "tests" / "test_x.py").write_text("")
    assert _tag(context, dockerfile) == before
    files = context_files(context, dockerfile)
    assert not any(f.startswith((".env", "node_modules", "tests")) or "__pycache__" in f for f in files)


def test_negated_pattern_lets_the_file_in(project: tuple[Path, Path]) -> None:
    context, dockerfile = project
    before = _tag(context, dockerfile)
    (context / ".env.example").write_text("JWT_SECRET=changeme\n")
    assert ".env.example" in context_files(context, dockerfile)
    assert _tag(context, dockerfile) != before


def test_executable_bit_and_symlink_target_count(project: tuple[Path, Path]) -> None:
    context, dockerfile = project
    script = context / "run.sh"
    script.write_text("#!/bin/sh\n")
    plain = _tag(context, dockerfile)
    script.chmod(0o755)
    assert _tag(context, dockerfile) != plain
    os.symlink("pkg/main.py", context / "link")
    linked = _tag(context, dockerfile)
    (context / "link").unlink()
    os.symlink("requirements.txt", context / "link")
    assert _tag(context, dockerfile) != linked


def test_dockerfile_args_and_base_ids_change_the_tag(project: tuple[Path, Path]) -> None:
    context, dockerfile = project
    before = _tag(context, dockerfile)
    assert _tag(context, dockerfile, args={"X": "1"}) != before
    assert _tag(context, dockerfile, bases={"python:3.11-slim": "sha256:aa"}) != _tag(
        context, dockerfile, bases={"python:3.11-slim": "sha256:bb"}
    )
    dockerfile.write_text("FROM python:3.11-slim\nCOPY . /srv\n")
    assert _tag(context, dockerfile) != before


def test_dockerfile_inside_the_context_is_part_of_it(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / ".dockerignore").write_text("*\n")
    (tmp_path / "app.py").write_text("")
    files = context_files(tmp_path, tmp_path / "Dockerfile")
    assert "Dockerfile" in files and "app.py" not in files


def test_base_images_follow_args_and_stages() -> None:
    text = (
        "ARG PYTHON_IMAGE=python:3.11-slim\n"
        "ARG OTHER\n"
        "FROM ${PYTHON_IMAGE} AS deps\n"
        "RUN true\n"
        "FROM deps AS build\n"
        "FROM $PYTHON_IMAGE AS runtime\n"
    )
    assert base_images(text, {}) == (["python:3.11-slim"], "python:3.11-slim")
    assert base_images(text, {"PYTHON_IMAGE": "python:3.12-slim"}) == (["python:3.12-slim"], "python:3.12-slim")
    assert base_images("FROM node:22-slim AS b\nFROM b\n", {}) == (["node:22-slim"], "node:22-slim")
    assert base_images("FROM node:22-slim AS b\nFROM scratch\n", {}) == (["node:22-slim"], None)


def test_project_contexts_keep_secrets_and_build_output_out() -> None:
    root = Path(__file__).resolve().parents[3]
    backend = context_files(root / "app" / "backend", root / "docker" / "backend.Dockerfile")
    frontend = context_files(root / "app" / "frontend", root / "docker" / "frontend.Dockerfile")
    assert "requirements.txt" in backend and any(f.startswith("todo_api/") for f in backend)
    assert "package-lock.json" in frontend
    for files in (backend, frontend):
        names = [Path(f).name for f in files]
        assert not [n for n in names if n == ".env" or (n.startswith(".env.") and n != ".env.example")]
        assert not [f for f in files if f.split("/")[0] in {"node_modules", ".next", "tests", ".venv", ".git"}]
        assert not [f for f in files if "__pycache__" in f or f.endswith((".pem", ".key"))]


def test_from_lines_expand_defaults_and_quotes_and_name_stages() -> None:
    from orchestrator.images.context import from_lines

    text = (
        'ARG BASE="python:3.11-slim"\n'
        "ARG NODE\n"
        "FROM ${NODE:-node:22-slim} AS deps\n"
        "FROM $BASE AS runtime\n"
        "FROM deps\n"
        "FROM scratch\n"
    )
    lines = from_lines(text, {})
    assert [(line.number, line.image, line.stage, line.base, line.external) for line in lines] == [
        (3, "node:22-slim", "deps", "node:22-slim", True),
        (4, "python:3.11-slim", "runtime", "python:3.11-slim", True),
        (5, "deps", None, "node:22-slim", False),
        (6, "scratch", None, None, False),
    ]
    assert base_images(text, {"NODE": "node:20-slim"}) == (["node:20-slim", "python:3.11-slim"], None)


# --- the project's own contexts: building or testing the apps here never changes their tags -------

ROOT = Path(__file__).resolve().parents[3]


def _tracked(directory: Path) -> list[str]:
    import subprocess

    out = subprocess.run(
        ["git", "-C", str(directory), "ls-files", "-z", "--", "."], capture_output=True, check=True
    ).stdout.decode()
    return [p for p in out.split("\0") if p]


def _tracked_copy(context: Path, dest: Path) -> Path:
    """What a fresh clone has of `context`: its git-tracked files only."""
    import shutil

    for rel in _tracked(context):
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(context / rel, dest / rel)
    return dest


# What `next build` (scripts/build-frontend, the frontend tests) and the backend tests write into
# the app folders; all of it is git-ignored.
BUILD_OUTPUTS = {
    "frontend": {
        "next-env.d.ts": '/// <reference types="next" />\n/// <reference types="next/image-types/global" />\n',
        ".next/standalone/server.js": "// built\n",
        ".next/.source-hash": "0123456789abcdef\n",
        "tsconfig.tsbuildinfo": "{}\n",
        "node_modules/.package-lock.json": "{}\n",
    },
    "backend": {
        "todo_api/__pycache__/main.cpython-311.pyc": "\0\0",
        "todo_api/api/__pycache__/deps.cpython-311.pyc": "\0\0",
        ".pytest_cache/README.md": "x\n",
        "todo.db": "SQLite format 3\0",
    },
}


@pytest.mark.parametrize("app", ["frontend", "backend"])
def test_the_build_and_test_outputs_do_not_change_the_project_tags(app: str, tmp_path: Path) -> None:
    from orchestrator.images.build import default_specs

    spec = next(s for s in default_specs(ROOT) if s.name == f"todo-{app}")
    context = _tracked_copy(spec.context, tmp_path / app)
    before = _tag(context, spec.dockerfile)
    for rel, text in BUILD_OUTPUTS[app].items():
        (context / rel).parent.mkdir(parents=True, exist_ok=True)
        (context / rel).write_text(text)
    assert _tag(context, spec.dockerfile) == before


@pytest.mark.parametrize("app", ["frontend", "backend"])
def test_the_project_contexts_see_only_tracked_files(app: str) -> None:
    """Whatever this checkout holds (a built frontend, test caches), the build sees git's files only."""
    from orchestrator.images.build import default_specs

    spec = next(s for s in default_specs(ROOT) if s.name == f"todo-{app}")
    tracked = set(_tracked(spec.context))
    visible = {p for p in context_files(spec.context, spec.dockerfile) if (spec.context / p).is_file()}
    assert visible - tracked == set()
