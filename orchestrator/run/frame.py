"""The frame every task runs in (up, down, rotate-secrets, status, logs, doctor, build, validate).

    run_task(command, as_json, body) -> exit code

It makes the reporter (JSON lines on stdout, or the human renderer), installs the interrupt guard,
gives the body a `Run` (reporter, phase clock, guard, settings loader), and whatever happens emits
exactly one `run.finished` event, the last line of a `--json` run, with the exit code from
`orchestrator.errors.exit_code_of` (the one mapping). The error's message and fix also go to stderr,
so a `--json` run's stdout holds nothing but events.

The env file rule, the same for every task: `--env-file PATH`, else `.env` in the working directory.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrator.errors import INTERRUPT_HINT, ExitCode, Interrupted, OrchestratorError, exit_code_of
from orchestrator.run.events import Reporter, Sink, make_sink
from orchestrator.run.interrupts import InterruptGuard
from orchestrator.run.phases import PhaseClock
from orchestrator.settings.config import DEFAULT_ENV_FILE

if TYPE_CHECKING:  # pragma: no cover
    from orchestrator.settings.config import Settings


def env_file_path(flag: str | None) -> Path:
    """The env file every task reads: the flag, else `.env` in the working directory."""
    return Path(flag) if flag else DEFAULT_ENV_FILE


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

    def settings(self, request: SettingsRequest, environ: Mapping[str, str] | None = None) -> Settings:
        from orchestrator.settings.config import load_settings

        with self.clock.phase("input") as note:
            path: Path | None = env_file_path(request.env_file)
            if request.env_file is None and not DEFAULT_ENV_FILE.exists():
                # No .env is a valid start: the environment and the embedded defaults. An --env-file
                # that does not exist stays an error (a typo must not silently deploy the defaults).
                path = None
                self.reporter.emit(
                    "default.used",
                    key="env_file",
                    origin="absent",
                    message=f"no {DEFAULT_ENV_FILE} file: using the environment and the defaults "
                    "(see .env.example to set your own)",
                )
            settings = load_settings(
                path,
                os.environ if environ is None else environ,
                release=request.release,
                namespace=request.namespace,
                target=request.target,
                profile=request.profile,
                context=request.context,
                allow_remote=request.allow_remote,
            )
            for warning in settings.warnings:
                self.reporter.emit("input.warning", message=warning)
            note["summary"] = f"release {settings.release} in namespace {settings.namespace}"
        return settings


@dataclass(frozen=True)
class Failure:
    """What a user is told when a run fails: message, detail lines, fix."""

    message: str
    hint: str
    details: tuple[str, ...] = ()

    def render(self) -> str:
        lines = [self.message, *(f"  {d}" for d in self.details)]
        if self.hint:
            lines.append(f"fix: {self.hint}")
        return "\n".join(lines)


def describe_failure(error: BaseException, code: ExitCode) -> Failure:
    """Pure: the message of a failed run. Unknown exceptions say what and where, never their text
    (it could quote a value)."""
    if code is ExitCode.INTERRUPTED and not isinstance(error, Interrupted):
        return Failure("interrupted", INTERRUPT_HINT)
    if isinstance(error, (OrchestratorError, Interrupted)):
        return Failure(error.message, error.hint, tuple(error.details))
    frames = traceback.extract_tb(error.__traceback__)
    where = f" at {frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].lineno}" if frames else ""
    return Failure(
        f"unexpected error: {type(error).__name__}{where}",
        "run again with TODO_DEBUG=1 for the full traceback, and report it",
    )


def run_task(
    command: str,
    as_json: bool,
    body: Callable[[Run], Any],
    *,
    sink: Sink | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    """Run `body` inside the frame; return the exit code (0 when it returned)."""
    environ = os.environ if environ is None else environ
    reporter = Reporter(sinks=[sink or make_sink(command, as_json)])
    guard = InterruptGuard().install()
    run = Run(reporter, PhaseClock(reporter, command, guard), guard)
    error: BaseException | None = None
    try:
        body(run)
    except BaseException as exc:  # every outcome ends in run.finished with its exit code
        error = exc
    finally:
        guard.uninstall()
    code = exit_code_of(error)
    if error is not None and guard.requested:
        code = ExitCode.INTERRUPTED  # a step that failed because Ctrl-C also hit its child process
    fields: dict[str, Any] = {}
    failure = describe_failure(error, code) if error is not None else None
    if failure is not None:
        fields = {"error": failure.message, "hint": failure.hint, "details": list(failure.details)}
    try:
        reporter.emit("run.finished", command=command, exit_code=int(code), phases=dict(run.clock.durations), **fields)
    finally:
        reporter.close()
    if failure is not None and as_json:
        sys.stderr.write(failure.render() + "\n")
        sys.stderr.flush()
    if error is not None and code is ExitCode.UNEXPECTED and environ.get("TODO_DEBUG"):
        raise error
    return int(code)
