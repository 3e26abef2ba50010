"""The tasks behind `invoke`: flags -> options -> one command, inside the run frame.

Each function takes the task's flags as keyword arguments (invoke's names), turns them into
options (a bad flag is an InputError, exit 2, inside the frame so `run.finished` still comes last),
runs the command, emits its result event and returns the exit code. `tasks.py` calls one of these
per task and nothing else; nothing here imports invoke or exits the process.

Layering: this module sits above `orchestrator.commands` (it is the only one that imports several
commands); heavy clients are imported inside the bodies so that `invoke --list` stays fast.
"""

from __future__ import annotations

from collections.abc import Sequence

from orchestrator.run.frame import Run, SettingsRequest, env_file_path, run_task
from orchestrator.settings.defaults import HEALTH_TIMEOUT_S, IMAGE_BUDGET_MB, ROLLOUT_TIMEOUT_S
from orchestrator.settings.flags import choice, number

DEFAULT_TAIL = 100


def _request(
    env_file: str | None,
    release: str | None,
    namespace: str | None,
    target: str | None,
    context: str | None,
    allow_remote: bool,
    profile: str | None = None,
) -> SettingsRequest:
    return SettingsRequest(
        env_file=env_file,
        release=release,
        namespace=namespace,
        target=target,
        context=context,
        allow_remote=allow_remote,
        profile=profile,
    )


def validate(
    *,
    json: bool = False,
    set: Sequence[str] | None = None,  # noqa: A002 - the flag's name
    profile: str | None = None,
) -> int:
    def body(run: Run) -> None:
        from orchestrator.chart.tools import CheckPrinter, options_with_values, require_clean, run_validation

        printer = CheckPrinter(run.reporter)
        with run.clock.phase("validate") as note:
            report = run_validation(options_with_values(list(set or []), profile=profile), on_result=printer)
            printer.finished(report)
            note["summary"] = report.lines()[-1].split(None, 1)[-1]
        require_clean(report)

    return run_task("validate", json, body)


def build(
    *,
    json: bool = False,
    budget_mb: object = None,
    image_budget: Sequence[str] | None = None,
    require_scan: bool = False,
    env_file: str | None = None,
) -> int:
    def body(run: Run) -> None:
        import os

        from orchestrator.images.budget import Budget, mb, parse_image_budgets
        from orchestrator.images.build import default_specs
        from orchestrator.images.pipeline import build_and_check, secret_values_from

        budget = Budget.from_mb(
            number("budget-mb", budget_mb, IMAGE_BUDGET_MB, minimum=1), parse_image_budgets(list(image_budget or []))
        )
        values = secret_values_from(env_file_path(env_file), os.environ)
        with run.clock.phase("images") as note:
            report = build_and_check(default_specs(), run.reporter, values, budget, require_scan=require_scan)
            note["summary"] = ", ".join(f"{i.ref} {mb(i.size)}" for i in report.images)

    return run_task("build", json, body)


def up(
    *,
    json: bool = False,
    env_file: str | None = None,
    context: str | None = None,
    allow_remote: bool = False,
    target: str | None = None,
    release: str | None = None,
    namespace: str | None = None,
    dry_run: bool = False,
    recover: bool = False,
    rollback: bool = True,
    timeout: object = None,
    health_timeout: object = None,
    url: str | None = None,
    registry: str | None = None,
    build_in_cluster: bool = False,
    budget_mb: object = None,
    require_scan: bool = False,
    profile: str | None = None,
    wait_lock: bool = True,
    no_start: bool = False,
) -> int:
    def body(run: Run) -> None:
        from orchestrator.commands.up import up as deploy
        from orchestrator.steps import UpOptions

        opts = UpOptions(
            dry_run=dry_run,
            recover=recover,
            rollback=rollback,
            timeout_s=number("timeout", timeout, ROLLOUT_TIMEOUT_S, minimum=1),
            health_timeout_s=number("health-timeout", health_timeout, HEALTH_TIMEOUT_S, minimum=1),
            url=url,
            registry=registry,
            build_in_cluster=build_in_cluster,
            budget_mb=number("budget-mb", budget_mb, IMAGE_BUDGET_MB, minimum=1),
            require_scan=require_scan,
            wait_lock=wait_lock,
            no_start=no_start,
        )
        request = _request(
            env_file,
            release,
            namespace,
            "registry" if registry and not target else target,
            context,
            allow_remote,
            profile,
        )
        settings = run.settings(request)
        result = deploy(settings, opts, run.reporter, run.clock, run.guard)
        run.reporter.emit(
            "up.result",
            release=settings.release,
            namespace=settings.namespace,
            dry_run=dry_run,
            url=result.url.removesuffix("/health") or result.url,
            access=result.access,
            images=result.images,
            secret=result.secret,
            revision=result.revision,
        )

    return run_task("up", json, body)


def down(
    *,
    json: bool = False,
    env_file: str | None = None,
    context: str | None = None,
    allow_remote: bool = False,
    target: str | None = None,
    release: str | None = None,
    namespace: str | None = None,
    keep_namespace: bool = False,
    delete_data: bool = False,
    wait_lock: bool = True,
) -> int:
    def body(run: Run) -> None:
        from orchestrator.commands.down import down as take_down

        settings = run.settings(_request(env_file, release, namespace, target, context, allow_remote))
        result = take_down(
            settings,
            run.reporter,
            run.clock,
            keep_namespace=keep_namespace,
            delete_data=delete_data,
            guard=run.guard,
            wait_lock=wait_lock,
        )
        run.reporter.emit(
            "down.result",
            release=settings.release,
            namespace=settings.namespace,
            removed=list(result.removed),
            kept=list(result.kept),
        )

    return run_task("down", json, body)


def rotate_secrets(
    *,
    json: bool = False,
    env_file: str | None = None,
    context: str | None = None,
    allow_remote: bool = False,
    target: str | None = None,
    release: str | None = None,
    namespace: str | None = None,
    only: Sequence[str] | None = None,
    generate: Sequence[str] | None = None,
    timeout: object = None,
    health_timeout: object = None,
    url: str | None = None,
    wait_lock: bool = True,
) -> int:
    def body(run: Run) -> None:
        from orchestrator.commands.rotate import RotateOptions, check_keys, rotate
        from orchestrator.steps import UpOptions

        opts = RotateOptions(
            only=tuple(only or ()),
            generate=tuple(generate or ()),
            up=UpOptions(
                timeout_s=number("timeout", timeout, ROLLOUT_TIMEOUT_S, minimum=1),
                health_timeout_s=number("health-timeout", health_timeout, HEALTH_TIMEOUT_S, minimum=1),
                url=url,
            ),
        )
        check_keys(opts)
        settings = run.settings(_request(env_file, release, namespace, target, context, allow_remote))
        result = rotate(settings, opts, run.reporter, run.clock, run.guard, wait_lock=wait_lock)
        run.reporter.emit(
            "rotate.result",
            release=settings.release,
            rotated=result.rotated,
            previous=result.previous,
            secret=result.secret,
            url=result.url.removesuffix("/health") or result.url,
        )

    return run_task("rotate-secrets", json, body)


def status(
    *,
    json: bool = False,
    env_file: str | None = None,
    context: str | None = None,
    allow_remote: bool = False,
    target: str | None = None,
    release: str | None = None,
    namespace: str | None = None,
    url: str | None = None,
    no_health: bool = False,
) -> int:
    def body(run: Run) -> None:
        from orchestrator.commands.status import status as read_status

        settings = run.settings(_request(env_file, release, namespace, target, context, allow_remote))
        report = read_status(settings, run.reporter, check_health=not no_health, url=url)
        run.reporter.emit("status.report", **report.as_dict())

    return run_task("status", json, body)


def logs(
    *,
    json: bool = False,
    component: str | None = None,
    follow: bool = False,
    tail: object = None,
    env_file: str | None = None,
    context: str | None = None,
    allow_remote: bool = False,
    target: str | None = None,
    release: str | None = None,
    namespace: str | None = None,
) -> int:
    def body(run: Run) -> None:
        from orchestrator.commands.logs import COMPONENTS
        from orchestrator.commands.logs import logs as read_logs

        lines = int(number("tail", tail, DEFAULT_TAIL, minimum=0, integer=True))
        choice("component", component, COMPONENTS)
        settings = run.settings(_request(env_file, release, namespace, target, context, allow_remote))
        for line in read_logs(settings, run.reporter, component=component, tail=lines, follow=follow):
            pod, sep, text = line.partition(": ")
            run.reporter.emit("logs.line", pod=pod if sep else "", line=text if sep else line)

    return run_task("logs", json, body)


def doctor(*, json: bool = False, env_file: str | None = None) -> int:
    def body(run: Run) -> None:
        from orchestrator.commands import doctor as checks
        from orchestrator.errors import EnvironmentProblem

        with run.clock.phase("checks") as note:
            results = checks.run_checks(checks.DoctorInputs(env_file=env_file_path(env_file)))
            for check in results:
                run.reporter.emit("doctor.check", check=check.name, ok=check.ok, detail=check.detail, fix=check.fix)
            failed = [c.name for c in results if not c.ok]
            note["summary"] = f"{len(results) - len(failed)} of {len(results)} ok"
        if failed:
            raise EnvironmentProblem("some checks failed", "run the fix shown next to each failed check")

    return run_task("doctor", json, body)
