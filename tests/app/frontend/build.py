"""Build the frontend (app/frontend) for tests, only when its output is missing or stale.

    ensure_built() -> BuildReport      `npm ci` when node_modules is older than the lock file,
                                       `next build` when the standalone server is older than a source
    assemble(dest) -> Path             the runtime tree of the image: standalone + .next/static + public

Run as a module to pre-build from a provisioning script (idempotent, prints what it did):

    .venv/bin/python -m tests.app.frontend.build
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
FRONTEND_DIR = ROOT / "app" / "frontend"
# Everything `next build` reads; a change to any of these makes the build stale.
SOURCE_PATHS = (
    "app",
    "components",
    "lib",
    "public",
    "package.json",
    "package-lock.json",
    "next.config.mjs",
    "tsconfig.json",
)
LOCK_FILE = FRONTEND_DIR / "package-lock.json"
INSTALL_MARKER = FRONTEND_DIR / "node_modules" / ".package-lock.json"  # written by npm ci
STANDALONE_DIR = FRONTEND_DIR / ".next" / "standalone"
SERVER_JS = STANDALONE_DIR / "server.js"
STATIC_DIR = FRONTEND_DIR / ".next" / "static"
PUBLIC_DIR = FRONTEND_DIR / "public"
BUILD_LOCK = Path(tempfile.gettempdir()) / "todo-frontend-build.lock"
INSTALL_TIMEOUT_S = 600
BUILD_TIMEOUT_S = 600


class FrontendBuildError(RuntimeError):
    """`npm ci` or `next build` failed; the message holds the command and its output tail."""


@dataclass
class BuildReport:
    installed: bool = False
    built: bool = False
    seconds: dict[str, float] = field(default_factory=dict)


def build_env() -> dict[str, str]:
    env = dict(os.environ)
    env["NEXT_TELEMETRY_DISABLED"] = "1"
    env.setdefault("CI", "1")
    env.pop("BACKEND_URL", None)  # the build must not depend on where the backend is
    return env


def _mtimes(path: Path) -> Iterator[float]:
    if path.is_file():
        yield path.stat().st_mtime
    elif path.is_dir():
        for dirpath, _dirs, files in os.walk(path):
            yield Path(dirpath).stat().st_mtime
            for name in files:
                yield (Path(dirpath) / name).stat().st_mtime


def newest_source_mtime(frontend_dir: Path = FRONTEND_DIR) -> float:
    return max((m for rel in SOURCE_PATHS for m in _mtimes(frontend_dir / rel)), default=0.0)


def needs_install() -> bool:
    return not INSTALL_MARKER.exists() or INSTALL_MARKER.stat().st_mtime < LOCK_FILE.stat().st_mtime


def needs_build() -> bool:
    return not SERVER_JS.exists() or SERVER_JS.stat().st_mtime < newest_source_mtime()


def _run(argv: list[str], timeout: int) -> float:
    started = time.monotonic()
    try:
        proc = subprocess.run(
            argv,
            cwd=FRONTEND_DIR,
            env=build_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise FrontendBuildError(f"{' '.join(argv)} timed out after {timeout}s") from exc
    if proc.returncode != 0:
        tail = "\n".join(proc.stdout.splitlines()[-40:])
        raise FrontendBuildError(f"{' '.join(argv)} failed (rc={proc.returncode}):\n{tail}")
    return time.monotonic() - started


@contextmanager
def _exclusive() -> Iterator[None]:
    """One build at a time on this machine (parallel test runs share app/frontend)."""
    with open(BUILD_LOCK, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_built() -> BuildReport:
    report = BuildReport()
    with _exclusive():
        if needs_install():
            report.seconds["npm ci"] = _run(["npm", "ci", "--no-audit", "--no-fund"], INSTALL_TIMEOUT_S)
            report.installed = True
        if needs_build():
            report.seconds["next build"] = _run(
                [str(FRONTEND_DIR / "node_modules" / ".bin" / "next"), "build"], BUILD_TIMEOUT_S
            )
            report.built = True
    return report


def assemble(dest: Path) -> Path:
    """Lay the build out as the image does: standalone tree, then .next/static and public."""
    shutil.copytree(STANDALONE_DIR, dest, symlinks=True)
    shutil.copytree(STATIC_DIR, dest / ".next" / "static")
    shutil.copytree(PUBLIC_DIR, dest / "public")
    return dest


def main() -> int:
    try:
        report = ensure_built()
    except FrontendBuildError as exc:
        print(exc, file=sys.stderr)
        return 1
    done = ", ".join(f"{step} {secs:.1f}s" for step, secs in report.seconds.items())
    print(f"frontend: {done or 'up to date'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
