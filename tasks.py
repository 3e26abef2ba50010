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


@task(
    help={
        "json": "print JSON lines instead of human lines (the last one, run.finished, has refs, sizes and policy)",
        "budget_mb": "total size budget of both images in MB (uncompressed, default 600)",
        "image_budget": "a per-image budget NAME=MB, e.g. todo-backend=250 (repeatable)",
        "require_scan": "fail when no vulnerability scanner (trivy, grype) or database is available",
        "env_file": "env file whose secret values the canary scan looks for (default .env when present)",
    },
    iterable=["image_budget"],
)
def build(c, json=False, budget_mb=600, image_budget=None, require_scan=False, env_file=None):
    """Build the backend and frontend images (content tags, in parallel); check size budget and image policy."""

    def body() -> None:
        import os
        from pathlib import Path

        from orchestrator.events import make_reporter
        from orchestrator.image_budget import Budget, parse_image_budgets
        from orchestrator.image_pipeline import build_and_check, secret_values_from
        from orchestrator.images import ROOT, default_specs

        path = Path(env_file) if env_file else (ROOT / ".env")
        budget = Budget.from_mb(float(budget_mb), parse_image_budgets(image_budget or []))
        build_and_check(
            default_specs(),
            make_reporter(json),
            secret_values_from(path, os.environ),
            budget,
            require_scan=require_scan,
        )

    _edge(body)


ns = Collection()
ns.add_task(validate)
ns.add_task(build)
