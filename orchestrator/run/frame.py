"""The frame every command runs in: a reporter, the interrupt guard, the phase clock, the settings
(loaded and checked in the `input` phase, before anything is built or contacted), and exactly one
`run.finished` event at the end, whatever happened.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from orchestrator.run.events import Reporter, make_reporter
from orchestrator.run.interrupts import InterruptGuard
from orchestrator.run.phases import PhaseClock

T = TypeVar("T")


@dataclass(frozen=True)
class SettingsRequest:
    """The flags that shape Settings; None means "from the environment / env file / default"."""

    env_file: str | None = None
    release: str | None = None
    namespace: str | None = None
    target: str | None = None
    context: str | None = None
    allow_remote: bool = False
    profile: str | None = None


@dataclass
class Run:
    reporter: Reporter
    clock: PhaseClock
    guard: InterruptGuard

    def settings(self, request: SettingsRequest, environ: Mapping[str, str] | None = None) -> Any:
        from orchestrator.settings.config import DEFAULT_ENV_FILE, load_settings

        with self.clock.phase("input") as note:
            path: Path | None = Path(request.env_file) if request.env_file else DEFAULT_ENV_FILE
            if request.env_file is None and not DEFAULT_ENV_FILE.exists():
                # No .env is a valid start: the environment and the embedded defaults. An --env-file
                # that does not exist stays an error (a typo must not silently deploy the defaults).
                path = None
                self.reporter.emit("default.used", key="env_file", origin="absent",
                                   message=f"no {DEFAULT_ENV_FILE} file: using the environment and the defaults "
                                           "(see .env.example to set your own)")
            settings = load_settings(
                path, os.environ if environ is None else environ,
                release=request.release, namespace=request.namespace, target=request.target,
                profile=request.profile, context=request.context, allow_remote=request.allow_remote,
            )
            for warning in settings.warnings:
                self.reporter.emit("input.warning", message=warning)
            note["summary"] = f"release {settings.release} in namespace {settings.namespace}"
        return settings


def run_command(command: str, as_json: bool, body: Callable[[Run], T], reporter: Reporter | None = None) -> T:
    """Run `body` inside the frame; re-raise its error after `run.finished` was emitted."""
    reporter = reporter or make_reporter(as_json)
    guard = InterruptGuard().install()
    run = Run(reporter, PhaseClock(reporter, command, guard), guard)
    error: BaseException | None = None
    try:
        return body(run)
    except BaseException as exc:
        error = exc
        raise
    finally:
        guard.uninstall()
        run.clock.finish(error)
