"""Fixtures: the frontend build (made only when stale), the real backend and frontend servers on
free ports, and headless Debian Chromium driven by Playwright (no browser download)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from .build import assemble, ensure_built
from .servers import ServerProcess, backend_process, frontend_process

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def frontend_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The built frontend laid out as in the image, read-only (the server must not write to it)."""
    ensure_built()
    app_dir = assemble(tmp_path_factory.mktemp("frontend") / "app")
    for dirpath, dirs, files in os.walk(app_dir):
        for name in dirs + files:
            path = Path(dirpath) / name
            if not path.is_symlink():
                path.chmod(path.stat().st_mode & ~0o222)
    app_dir.chmod(app_dir.stat().st_mode & ~0o222)
    yield app_dir
    for dirpath, dirs, _files in os.walk(app_dir):
        for name in dirs:
            (Path(dirpath) / name).chmod(0o755)
    app_dir.chmod(0o755)


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[[ServerProcess], ServerProcess]]:
    """Start a server process; every one started is stopped at teardown."""
    started: list[ServerProcess] = []

    def start(server: ServerProcess) -> ServerProcess:
        started.append(server)
        return server.start()

    yield start
    for server in reversed(started):
        server.stop()


@pytest.fixture
def backend(tmp_path: Path, start_server: Callable[[ServerProcess], ServerProcess]) -> ServerProcess:
    return start_server(backend_process(tmp_path / "todo.db", tmp_path))


@pytest.fixture
def frontend(
    frontend_app: Path,
    backend: ServerProcess,
    tmp_path: Path,
    start_server: Callable[[ServerProcess], ServerProcess],
) -> ServerProcess:
    return start_server(frontend_process(frontend_app, backend.url, tmp_path))


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()
