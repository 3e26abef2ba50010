"""Phase bookkeeping shared by every command: start/finish events with durations, and the final
`run.finished` event carrying the exit code and the per-phase durations in seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from orchestrator.errors import ExitCode, OrchestratorError
from orchestrator.run.events import Reporter
from orchestrator.run.interrupts import InterruptGuard


@dataclass
class PhaseClock:
    reporter: Reporter
    command: str
    guard: InterruptGuard | None = None
    durations: dict[str, float] = field(default_factory=dict)
    clock: Callable[[], float] = time.monotonic

    @contextmanager
    def phase(self, name: str) -> Iterator[dict[str, str]]:
        """Time a phase; the yielded dict may receive a `summary` for the finish line."""
        if self.guard is not None:
            self.guard.checkpoint()
        self.reporter.emit("phase.started", phase=name)
        started = self.clock()
        note: dict[str, str] = {}
        try:
            yield note
        except BaseException:
            seconds = self.clock() - started
            self.durations[name] = round(seconds, 3)
            self.reporter.emit("phase.failed", phase=name, seconds=round(seconds, 3))
            raise
        seconds = self.clock() - started
        self.durations[name] = round(seconds, 3)
        self.reporter.emit("phase.finished", phase=name, seconds=round(seconds, 3), summary=note.get("summary", ""))

    def finish(self, error: BaseException | None, **fields: object) -> None:
        code = ExitCode.OK
        if isinstance(error, OrchestratorError):
            code = error.exit_code
        elif isinstance(error, KeyboardInterrupt):
            code = ExitCode.INTERRUPTED
        elif error is not None:
            code = ExitCode.UNEXPECTED
        extra = {"error": error.message, "hint": error.hint} if isinstance(error, OrchestratorError) else {}
        self.reporter.emit("run.finished", command=self.command, exit_code=int(code), phases=self.durations,
                           **extra, **fields)
