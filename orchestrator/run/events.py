"""One event stream, two renderings: human progress lines and JSON lines (`--json`).

Every step of the orchestrator reports through `Reporter.emit(event, **fields)`. Event names are a
contract (README, "JSON events"): image.built, image.skipped, image.loaded, image.load_skipped,
secret.written, secret.unchanged, default.used, helm.upgraded, helm.skipped, helm.rolled_back, rollout.status,
health.ok, health.failed, run.finished, plus phase.started / phase.finished and log lines.

Fields must never hold a secret value; callers pass names, versions and digests only.
"""

from __future__ import annotations

import json
import sys
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


def human_sink(stream: IO[str] | None = None) -> Sink:
    def write(event: dict[str, Any]) -> None:
        text = describe(event)
        if text is None:
            return
        out = stream or sys.stderr
        out.write(text + "\n")
        out.flush()

    return write


def describe(event: dict[str, Any]) -> str | None:
    """The one-line human form of an event, or None for events only machines care about."""
    name = event["event"]
    f = {k: v for k, v in event.items() if k not in ("event", "ts")}
    if name == "phase.started":
        return f"▶ {f['phase']}"
    if name == "phase.finished":
        return f"✔ {f['phase']} ({f['seconds']:.1f}s)" + (f" — {f['summary']}" if f.get("summary") else "")
    if name == "phase.failed":
        return f"✘ {f['phase']} ({f['seconds']:.1f}s)"
    if name in ("run.finished", "image.report", "image.budget", "rollout.result"):
        return None  # machine-readable summaries; the human lines say the same
    if name == "image.policy":
        detail = f" ({f['detail']})" if f.get("status") != "PASS" else ""
        return f"  {f['image']}: {f['rule']} {f['status']}{detail}"
    if name == "image.step":
        return f"  {f['image']} {f['step']} {f['instruction'][:100]}"
    if name in ("log", "default.used", "minikube.action", "minikube.ingress_waiting"):
        return f"  {f['message']}"
    if name == "rollout.status":
        return f"  {f['resource']}: {f['status']} {f.get('reason', '')} {f.get('message', '')}".rstrip()
    details = " ".join(f"{k}={v}" for k, v in f.items())
    return f"  {name} {details}".rstrip()


@dataclass
class Reporter:
    """Fan an event out to sinks; remember every event (tests and run.finished read them)."""

    sinks: list[Sink] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    clock: Callable[[], float] = time.time

    def emit(self, event: str, **fields: Any) -> dict[str, Any]:
        record = {"event": event, "ts": round(self.clock(), 3), **fields}
        self.history.append(record)
        for sink in self.sinks:
            sink(record)
        return record

    def log(self, message: str) -> None:
        self.emit("log", message=message)

    def named(self, event: str) -> list[dict[str, Any]]:
        return [e for e in self.history if e["event"] == event]


def make_reporter(as_json: bool) -> Reporter:
    return Reporter(sinks=[json_sink() if as_json else human_sink()])
