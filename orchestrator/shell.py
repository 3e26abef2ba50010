"""Run a child process: argv only (never a shell), output captured, errors that never leak secrets.

A command line must never carry a secret (FINDINGS: tracebacks print it). Values that are secret go
through files with mode 0600 or the Kubernetes API, so `CommandFailed` can safely show the argv.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from orchestrator.errors import EnvironmentProblem, OrchestratorError
from orchestrator.settings.keys import SECRET_KEYS


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
