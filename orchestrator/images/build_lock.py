"""One build of a content tag at a time on this machine.

    building(ref, cancel=None, on_wait=...)  context manager: held while `ref` is built

Two runs that need the same missing image (two terminals, or CI beside a person) would otherwise both
build it from the same context, each at full cost. The second one waits for the first's build (its
`on_wait` is called once), then finds the tag and skips the build. The lock is an advisory `flock`
on `$XDG_CACHE_HOME/todo-deploy/builds/<ref>.lock` (default ~/.cache), so the kernel frees it when
its process ends in any way (SIGKILL included): no stale lock outlives a run. The holder removes the
file before unlocking, and a waiter that then holds a removed file opens the path again, so there is
at most one file per build under way.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from orchestrator.paths import cache_dir, ref_file_name

POLL_S = 0.2


class BuildCancelled(Exception):
    """The caller was interrupted; the build thread stops (at the engine's next output, or its wait)."""


def lock_directory(environ: Mapping[str, str] | None = None) -> Path:
    return cache_dir(environ) / "builds"


def lock_path(ref: str, directory: Path) -> Path:
    """`todo-backend:0123abcd4567` -> `<directory>/todo-backend_0123abcd4567.lock`."""
    return directory / ref_file_name(ref, ".lock")


def _try_lock(handle: IO[str]) -> bool:
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _is_current(handle: IO[str], path: Path) -> bool:
    """The locked file is still the one at `path` (its holder had not removed it)."""
    try:
        return os.stat(path).st_ino == os.fstat(handle.fileno()).st_ino
    except FileNotFoundError:
        return False


@contextmanager
def building(
    ref: str,
    *,
    cancel: threading.Event | None = None,
    on_wait: Callable[[], None] = lambda: None,
    directory: Path | None = None,
) -> Iterator[None]:
    """Hold the build lock of `ref`; wait (calling `on_wait` once) while another process holds it.
    Raises BuildCancelled when `cancel` is set during the wait."""
    path = lock_path(ref, directory or lock_directory())
    path.parent.mkdir(parents=True, exist_ok=True)
    cancel = cancel or threading.Event()
    told = False
    handle = path.open("a")
    try:
        while True:
            if _try_lock(handle):
                if _is_current(handle, path):
                    break
                handle.close()  # its holder removed it while this run waited: lock the path's new file
                handle = path.open("a")
                continue
            if not told:
                on_wait()
                told = True
            if cancel.wait(POLL_S):
                raise BuildCancelled(ref)
    except BaseException:
        handle.close()
        raise
    try:
        yield
    finally:
        path.unlink(missing_ok=True)
        handle.close()
