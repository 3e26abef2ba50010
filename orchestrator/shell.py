"""Run a child process: argv only (never a shell), output captured, errors that never leak secrets.

A command line must never carry a secret (FINDINGS: tracebacks print it). Values that are secret go
through files with mode 0600 or the Kubernetes API, so `CommandFailed` can safely show the argv.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from orchestrator.errors import EnvironmentProblem, OrchestratorError
from orchestrator.settings.keys import SECRET_KEYS

A = TypeVar("A")
B = TypeVar("B")


@dataclass(frozen=True)
class Result:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


class CommandFailed(OrchestratorError):
    """A child process exited non-zero. Callers usually re-raise it as a more specific error."""

    def __init__(self, result: Result, hint: str = "") -> None:
        tail = "\n".join(result.stderr.strip().splitlines()[-15:])
        super().__init__(
            f"`{' '.join(result.argv)}` exited with {result.returncode}",
            hint,
            details=[line for line in tail.splitlines()],
        )
        self.result = result


# The app's secret keys: a child process (helm, kubectl, minikube) never needs them, so it never
# inherits them, even when the user exported them in the shell that runs the orchestrator.
SECRET_ENV_KEYS = frozenset(SECRET_KEYS)


def child_environment(base: Mapping[str, str], extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """`base` plus `extra`, without the secret keys. Pure."""
    merged = {k: v for k, v in base.items() if k not in SECRET_ENV_KEYS}
    merged.update({k: v for k, v in (extra or {}).items() if k not in SECRET_ENV_KEYS})
    return merged


def run(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    check: bool = True,
    timeout: float | None = None,
    input_text: str | None = None,
    cwd: str | None = None,
    own_session: bool = False,
) -> Result:
    """Run argv with extra environment `env` layered on os.environ; raise CommandFailed when check.

    `own_session` starts the child in its own session, so a Ctrl-C at the terminal reaches only the
    orchestrator, which then lets a step that must not be cut in half (helm upgrade) finish.
    """
    full_env = child_environment(os.environ, env)
    try:
        proc = subprocess.run(
            list(argv),
            env=full_env,
            capture_output=True,
            text=True,
            timeout=timeout,
            input=input_text,
            cwd=cwd,
            start_new_session=own_session,
        )
    except FileNotFoundError as exc:
        raise EnvironmentProblem(
            f"`{argv[0]}` is not installed or not on PATH",
            f"install {argv[0]} (see README, Prerequisites) or run `invoke doctor`",
        ) from exc
    except subprocess.TimeoutExpired as exc:
        raise EnvironmentProblem(
            f"`{' '.join(argv)}` did not finish within {timeout:.0f}s",
            "check that the tool answers on its own, then re-run",
        ) from exc
    result = Result(tuple(argv), proc.returncode, proc.stdout, proc.stderr)
    if check and proc.returncode != 0:
        raise CommandFailed(result)
    return result


def alongside(
    first: Callable[[], A], second: Callable[[], B], *, meanwhile: Callable[[], object]
) -> tuple[A, B | Exception]:
    """`first()` and `second()` (each one child process's wait) in threads, while `meanwhile()` runs on
    this thread; then `first`'s result (or its error, raised) and `second`'s result or error.

    The threads must only wait on processes: every module they need is already loaded (a module loaded
    off the main thread can race the main thread's imports; tests/robustness/test_import_race.py)."""
    import threading

    results: dict[int, object] = {}

    def call(index: int, fn: Callable[[], object]) -> None:
        try:
            results[index] = fn()
        except Exception as exc:  # handed to the caller below
            results[index] = exc

    threads = [threading.Thread(target=call, args=(i, fn), daemon=True) for i, fn in enumerate((first, second))]
    for thread in threads:
        thread.start()
    try:
        meanwhile()
    finally:
        for thread in threads:
            thread.join()
    if isinstance(results[0], Exception):
        raise results[0]
    return results[0], results[1]  # type: ignore[return-value]
