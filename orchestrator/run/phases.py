"""Phase bookkeeping shared by every command: phase.started / phase.finished / phase.failed events
with durations; the run frame (orchestrator.run.frame) puts the durations in `run.finished`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

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
