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


@task(
    help={
        "set": "extra chart value KEY=VALUE (repeatable), on top of the sample secret name and version",
        "json": "print JSON lines instead of human lines",
    },
    iterable=["set"],
)
def validate(c, set=None, json=False):  # noqa: A002 - invoke derives the flag name from the parameter
    """Render the chart; run helm lint, kubernetes-validate (1.30-1.35), the policy, checkov and hadolint."""

    def body() -> None:
        from orchestrator.events import make_reporter
        from orchestrator.validate import CheckPrinter, options_with_values, require_clean, run_validation

        printer = CheckPrinter(make_reporter(json), as_json=json)
        report = run_validation(options_with_values(set or []), on_result=printer)
        printer.finished(report)
        require_clean(report)

    _edge(body)


ns = Collection()
ns.add_task(validate)
