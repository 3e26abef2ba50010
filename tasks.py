"""The command line: flags -> Settings -> orchestrator calls -> report; errors -> exit codes.

Heavy clients (docker, kubernetes) are imported inside the tasks, so `invoke --list` stays fast.
Exit codes are documented in README.md and in orchestrator/errors.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from invoke import Collection, Exit, task


def _edge(body: Callable[[], Any]) -> Any:
    """Run a task body; turn orchestrator errors into a message and the documented exit code."""
    from orchestrator.errors import ExitCode, OrchestratorError

    try:
        return body()
    except OrchestratorError as err:
        raise Exit(err.render(), code=int(err.exit_code)) from None
    except KeyboardInterrupt:
        raise Exit("interrupted", code=int(ExitCode.INTERRUPTED)) from None


ns = Collection()
