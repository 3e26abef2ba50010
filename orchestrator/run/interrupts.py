"""Ctrl-C handling: the first interrupt stops gracefully, a second one stops at once.

A graceful stop raises `Interrupted` (exit 130) at the next safe point. Inside `critical()` (a step
that must not be cut in half, such as a helm upgrade that writes a release record) the interrupt is
held until the step ends, so a re-run finds a consistent state and converges without manual work.
A second interrupt ends the process immediately with exit code 130; the scratch files registered
here (the frozen kubeconfig, the helm values file) are removed first, since no `finally` runs then.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from orchestrator.errors import Interrupted

_SCRATCH: set[Path] = set()


def scratch(path: Path) -> None:
    """Remove `path` (file or directory) even if a second interrupt ends the process at once."""
    _SCRATCH.add(path)


def unscratch(path: Path) -> None:
    """`path` was removed the ordinary way."""
    _SCRATCH.discard(path)


def remove_scratch() -> None:
    for path in list(_SCRATCH):
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        _SCRATCH.discard(path)


class InterruptGuard:
    def __init__(self) -> None:
        self.requested = False
        self._critical_depth = 0
        self._previous: dict[int, object] = {}

    def install(self) -> InterruptGuard:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def uninstall(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]
        self._previous.clear()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested:
            if sys.stderr.isatty():
                sys.stderr.write("\x1b[?25h")  # the live progress area hid the cursor; no `finally` runs now
            sys.stderr.write("\ninterrupted again: stopping now\n")
            sys.stderr.flush()
            remove_scratch()
            os._exit(130)
        self.requested = True
        if self._critical_depth == 0:
            raise Interrupted()
        sys.stderr.write("\ninterrupt received: finishing the current step (Ctrl-C again stops at once)\n")
        sys.stderr.flush()

    def checkpoint(self) -> None:
        """Raise Interrupted if an interrupt arrived while it could not be acted on."""
        if self.requested:
            raise Interrupted()

    @contextmanager
    def critical(self) -> Iterator[None]:
        self._critical_depth += 1
        try:
            yield
        finally:
            self._critical_depth -= 1
        if self._critical_depth == 0:
            self.checkpoint()
