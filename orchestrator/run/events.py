"""One event stream, two renderings: JSON lines (`--json`) and the human renderer (run/console.py).

Every step of the orchestrator reports through `Reporter.emit(event, **fields)`. Event names and
their fields are a contract, documented in one file, `orchestrator/run/events.schema.json` (the
README's "JSON events" section and the tests read it): with `--json` every stdout line is one
event with `event` and `ts`, and the last one is `run.finished` with `exit_code`.

Fields must never hold a secret value; callers pass names, versions and digests only.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

Sink = Callable[[dict[str, Any]], None]


def json_sink(stream: IO[str] | None = None) -> Sink:
    def write(event: dict[str, Any]) -> None:
        out = stream or sys.stdout
        out.write(json.dumps(event, sort_keys=False, default=str) + "\n")
        out.flush()

    return write


@dataclass
class Reporter:
    """Fan an event out to sinks; remember every event (tests and summaries read them).

    Emitting is serialised: build threads report at the same time."""

    sinks: list[Sink] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    clock: Callable[[], float] = time.time

    def __post_init__(self) -> None:
        self._lock = threading.RLock()

    def emit(self, event: str, **fields: Any) -> dict[str, Any]:
        record = {"event": event, "ts": round(self.clock(), 3), **fields}
        with self._lock:
            self.history.append(record)
            for sink in self.sinks:
                sink(record)
        return record

    def log(self, message: str) -> None:
        self.emit("log", message=message)

    def named(self, event: str) -> list[dict[str, Any]]:
        return [e for e in self.history if e["event"] == event]

    def close(self) -> None:
        """Let sinks that hold a live display end it (the run frame calls this once, at the end)."""
        for sink in self.sinks:
            close = getattr(sink, "close", None)
            if callable(close):
                close()


def make_sink(command: str, as_json: bool) -> Sink:
    """JSON lines on stdout, or the human renderer (live on a terminal, plain lines otherwise)."""
    if as_json:
        return json_sink()
    from orchestrator.run.console import ConsoleRenderer

    return ConsoleRenderer.for_streams(command)


def make_reporter(as_json: bool, command: str = "") -> Reporter:
    return Reporter(sinks=[make_sink(command, as_json)])
