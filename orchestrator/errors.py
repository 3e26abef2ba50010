"""One exception tree for the whole orchestrator.

    OrchestratorError               exit 1   unexpected failure (a bug or an unknown state)
    ├── InputError                  exit 2   bad flag, env file, key or chart value
    ├── EnvironmentProblem          exit 3   Docker down, cluster unreachable, wrong context, tool missing
    ├── ImageError                  exit 4   image build, size budget or policy failure
    ├── DeployRolledBack            exit 5   deploy failed and was rolled back (or nothing was changed)
    ├── DeployNeedsAction           exit 6   deploy failed and needs a manual step
    └── LockBusy                    exit 7   another run holds the release's deploy lock (--no-wait-lock)

    KeyboardInterrupt
    └── Interrupted                 exit 130 stopped by Ctrl-C (SIGINT) or SIGTERM

`Interrupted` is deliberately outside the OrchestratorError tree (and outside `Exception`): an
interruption must never be caught as an ordinary failure by `except OrchestratorError:` or
`except Exception:` in a step that tolerates failures (a health probe, a cleanup, a diagnostic).

`exit_code_of(error)` is the one mapping from any exception to the process exit code.

Every error carries a `hint`: the next thing to try. Messages never contain a secret value:
they name files, lines and keys, never what a key holds.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    UNEXPECTED = 1
    BAD_INPUT = 2
    ENVIRONMENT = 3
    IMAGE = 4
    ROLLED_BACK = 5
    NEEDS_ACTION = 6
    LOCKED = 7
    INTERRUPTED = 130


class OrchestratorError(Exception):
    """Base of every error the orchestrator raises on purpose."""

    exit_code: ExitCode = ExitCode.UNEXPECTED

    def __init__(self, message: str, hint: str = "", *, details: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.details: list[str] = list(details or [])

    def render(self) -> str:
        """The full human text: message, details (one per line), then the hint."""
        lines = [self.message]
        lines += [f"  {d}" for d in self.details]
        if self.hint:
            lines.append(f"fix: {self.hint}")
        return "\n".join(lines)


class InputError(OrchestratorError):
    exit_code = ExitCode.BAD_INPUT


class EnvironmentProblem(OrchestratorError):
    exit_code = ExitCode.ENVIRONMENT


class ImageError(OrchestratorError):
    exit_code = ExitCode.IMAGE


class DeployRolledBack(OrchestratorError):
    exit_code = ExitCode.ROLLED_BACK


class DeployNeedsAction(OrchestratorError):
    exit_code = ExitCode.NEEDS_ACTION


class LockBusy(OrchestratorError):
    """Another run holds the deploy lock and this one was told not to wait (--no-wait-lock)."""

    exit_code = ExitCode.LOCKED


INTERRUPT_HINT = "run the same command again: it continues where it stopped"


class Interrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM, raised at a safe point. A KeyboardInterrupt, so only code that means to
    handle an interruption (`except BaseException` / `except KeyboardInterrupt`) ever sees it."""

    exit_code: ExitCode = ExitCode.INTERRUPTED

    def __init__(self, message: str = "interrupted", hint: str = INTERRUPT_HINT) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.details: list[str] = []

    def render(self) -> str:
        return f"{self.message}\nfix: {self.hint}" if self.hint else self.message


def exit_code_of(error: BaseException | None) -> ExitCode:
    """The exit code a run ends with: 0 without an error, the error's own code for the project's
    errors, 130 for any interruption, 1 (a bug) for anything else."""
    if error is None:
        return ExitCode.OK
    if isinstance(error, (OrchestratorError, Interrupted)):
        return error.exit_code
    if isinstance(error, KeyboardInterrupt):
        return ExitCode.INTERRUPTED
    return ExitCode.UNEXPECTED
