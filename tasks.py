"""The command line: flags -> Settings -> orchestrator calls -> report; errors -> exit codes.

Heavy clients (docker, kubernetes) are imported inside the tasks, so `invoke --list` stays fast.
Exit codes are documented in README.md and in orchestrator/errors.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from invoke import Collection, Exit, task

from orchestrator.settings.defaults import HEALTH_TIMEOUT_S, IMAGE_BUDGET_MB, ROLLOUT_TIMEOUT_S

_PROFILE_HELP = "dev (default: one node, images loaded) or production (replicas over nodes, autoscaling, registry by digest)"


def _edge(body: Callable[[], Any]) -> Any:
    """Run a task body; turn orchestrator errors into a message and the documented exit code."""
    from orchestrator.errors import ExitCode, OrchestratorError

    try:
        return body()
    except OrchestratorError as err:
        raise Exit(err.render(), code=int(err.exit_code)) from None
    except KeyboardInterrupt:
        raise Exit("interrupted", code=int(ExitCode.INTERRUPTED)) from None
    except Exception as exc:  # a bug: say what and where, not the text (it could quote a value)
        import os
        import traceback

        if os.environ.get("TODO_DEBUG"):
            raise
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        where = f"{frame.filename.rsplit('/', 1)[-1]}:{frame.lineno}"
        raise Exit(f"unexpected error: {type(exc).__name__} at {where}\n"
                   "fix: run again with TODO_DEBUG=1 for the full traceback, and report it",
                   code=int(ExitCode.UNEXPECTED)) from None


@task(
    help={
        "set": "extra chart value KEY=VALUE (repeatable), on top of the sample secret name and version",
        "json": "print JSON lines instead of human lines",
        "profile": _PROFILE_HELP,
    },
    iterable=["set"],
)
def validate(c, set=None, profile=None, json=False):  # noqa: A002 - invoke derives the flag name from the parameter
    """Render the chart; run helm lint, kubernetes-validate (1.30-1.35), the policy, checkov and hadolint."""

    def body() -> None:
        from orchestrator.run.events import make_reporter
        from orchestrator.chart.tools import CheckPrinter, options_with_values, require_clean, run_validation

        printer = CheckPrinter(make_reporter(json), as_json=json)
        report = run_validation(options_with_values(set or [], profile=profile), on_result=printer)
        printer.finished(report)
        require_clean(report)

    _edge(body)


@task(
    help={
        "json": "print JSON lines instead of human lines (the last one, run.finished, has refs, sizes and policy)",
        "budget_mb": f"total size budget of both images in MB (uncompressed, default {IMAGE_BUDGET_MB})",
        "image_budget": "a per-image budget NAME=MB, e.g. todo-backend=250 (repeatable)",
        "require_scan": "fail when no vulnerability scanner (trivy, grype) or database is available",
        "env_file": "env file whose secret values the canary scan looks for (default .env when present)",
    },
    iterable=["image_budget"],
)
def build(c, json=False, budget_mb=IMAGE_BUDGET_MB, image_budget=None, require_scan=False, env_file=None):
    """Build the backend and frontend images (content tags, in parallel); check size budget and image policy."""

    def body() -> None:
        import os
        from pathlib import Path

        from orchestrator.run.events import make_reporter
        from orchestrator.images.budget import Budget, parse_image_budgets
        from orchestrator.images.pipeline import build_and_check, secret_values_from
        from orchestrator.images.build import ROOT, default_specs

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


_WAIT_LOCK_HELP = ("wait while another run holds the release's deploy lock (default); --no-wait-lock stops "
                   "at once with exit 7")

_SETTINGS_HELP = {
    "env_file": "the env file with the secrets and settings (default .env; the process environment wins)",
    "context": "the kube context to deploy to (default: minikube, or the target's local context)",
    "allow_remote": "allow a context whose API server is not on this machine (needs --context)",
    "target": "how images reach the cluster: minikube (default), kind, k3d or registry",
    "release": "the Helm release name (default todo-app)",
    "namespace": "the Kubernetes namespace (default todo-app)",
    "json": "print one JSON object per line instead of human progress",
}


def _request(env_file=None, release=None, namespace=None, target=None, context=None, allow_remote=False,
             profile=None):
    from orchestrator.run.frame import SettingsRequest

    return SettingsRequest(env_file=env_file, release=release, namespace=namespace, target=target,
                           context=context, allow_remote=allow_remote, profile=profile)


def _say(text: str, as_json: bool) -> None:
    """Final human summary on stdout (JSON mode: the events already say it)."""
    if not as_json:
        print(text)


@task(
    help={
        **_SETTINGS_HELP,
        "dry_run": "print the plan (what would be built, loaded, written, upgraded) and change nothing",
        "recover": "unblock a release stuck in pending-install/pending-upgrade (rollback or uninstall), then go on",
        "rollback": "roll a failed rollout back to the last good revision (default on; --no-rollback keeps it)",
        "timeout": f"seconds to wait for the rollout (default {ROLLOUT_TIMEOUT_S:g})",
        "health_timeout": f"seconds to wait for /health after the rollout (default {HEALTH_TIMEOUT_S:g})",
        "url": "the URL to check /health at, when neither ingress, NodePort nor port-forward fits",
        "registry": "push images to this registry instead of loading them (for remote clusters)",
        "build_in_cluster": "build straight into minikube's Docker engine (minikube docker-env)",
        "budget_mb": f"total size budget of both images in MB, uncompressed (default {IMAGE_BUDGET_MB})",
        "require_scan": "fail when no vulnerability scanner (trivy, grype) can run",
        "profile": _PROFILE_HELP,
        "wait_lock": _WAIT_LOCK_HELP,
    },
)
def up(c, env_file=None, context=None, allow_remote=False, target=None, release=None, namespace=None,
       dry_run=False, recover=False, rollback=True, timeout=None, health_timeout=None, url=None, registry=None,
       build_in_cluster=False, budget_mb=None, require_scan=False, profile=None, json=False, wait_lock=True):
    """Build, load, create the Secret, install the chart, watch the rollout and /health."""

    def body() -> None:
        from orchestrator.settings.flags import number
        from orchestrator.run.frame import run_command
        from orchestrator.commands.up import up as deploy
        from orchestrator.steps import UpOptions

        def options():
            return UpOptions(dry_run=dry_run, recover=recover, rollback=rollback,
                             timeout_s=number("timeout", timeout, ROLLOUT_TIMEOUT_S, minimum=1),
                             health_timeout_s=number("health-timeout", health_timeout, HEALTH_TIMEOUT_S, minimum=1), url=url,
                             registry=registry, build_in_cluster=build_in_cluster,
                             budget_mb=number("budget-mb", budget_mb, IMAGE_BUDGET_MB, minimum=1), require_scan=require_scan,
                             wait_lock=wait_lock)

        request = _request(env_file, release, namespace, "registry" if registry and not target else target,
                           context, allow_remote, profile)

        def work(run):
            opts = options()
            settings = run.settings(request)
            return deploy(settings, opts, run.reporter, run.clock, run.guard)

        result = run_command("up", json, work)
        if dry_run:
            _say("dry run: nothing was changed", json)
        else:
            _say(f"todo-app is up: {result.url.removesuffix('/health') or result.url}", json)

    _edge(body)


@task(help={**_SETTINGS_HELP, "keep_namespace": "uninstall and delete the Secrets but keep the namespace",
            "wait_lock": _WAIT_LOCK_HELP})
def down(c, env_file=None, context=None, allow_remote=False, target=None, release=None, namespace=None,
         keep_namespace=False, json=False, wait_lock=True):
    """Uninstall the release, delete its Secrets and the namespace. Safe to run twice."""

    def body() -> None:
        from orchestrator.commands.down import down as take_down
        from orchestrator.run.frame import run_command

        def work(run):
            settings = run.settings(_request(env_file, release, namespace, target, context, allow_remote))
            return take_down(settings, run.reporter, run.clock, keep_namespace=keep_namespace, guard=run.guard,
                             wait_lock=wait_lock)

        result = run_command("down", json, work)
        _say("nothing to remove" if result.nothing_to_remove else "removed: " + ", ".join(result.removed), json)

    _edge(body)


@task(
    name="rotate-secrets",
    help={
        **_SETTINGS_HELP,
        "only": "rotate only this key (repeatable); the others keep their deployed values",
        "generate": "generate a new random value for this key (repeatable; e.g. JWT_SECRET) and save it to the env file",
        "timeout": f"seconds to wait for the rollout (default {ROLLOUT_TIMEOUT_S:g})",
        "health_timeout": f"seconds to wait for /health (default {HEALTH_TIMEOUT_S:g})",
        "url": "the URL to check /health at",
        "wait_lock": _WAIT_LOCK_HELP,
    },
    iterable=["only", "generate"],
)
def rotate_secrets(c, env_file=None, context=None, allow_remote=False, target=None, release=None, namespace=None,
                   only=None, generate=None, timeout=None, health_timeout=None, url=None, json=False,
                   wait_lock=True):
    """Write a new Secret version, move the release onto it, watch; roll back on failure."""

    def body() -> None:
        from orchestrator.settings.flags import number
        from orchestrator.commands.rotate import RotateOptions, check_keys, rotate
        from orchestrator.run.frame import run_command
        from orchestrator.steps import UpOptions

        opts = RotateOptions(only=tuple(only or ()), generate=tuple(generate or ()),
                             up=UpOptions(timeout_s=number("timeout", timeout, ROLLOUT_TIMEOUT_S, minimum=1),
                                          health_timeout_s=number("health-timeout", health_timeout, HEALTH_TIMEOUT_S, minimum=1),
                                          url=url))
        check_keys(opts)

        def work(run):
            settings = run.settings(_request(env_file, release, namespace, target, context, allow_remote))
            return rotate(settings, opts, run.reporter, run.clock, run.guard, wait_lock=wait_lock)

        result = run_command("rotate-secrets", json, work)
        _say(f"rotated: {result.previous} -> {result.secret}" if result.rotated else "nothing to rotate", json)

    _edge(body)


@task(help={**_SETTINGS_HELP, "url": "the URL to check /health at", "no_health": "skip the /health check"})
def status(c, env_file=None, context=None, allow_remote=False, target=None, release=None, namespace=None,
           url=None, no_health=False, json=False):
    """Release revision, workloads and pods with their status, image tags, Secret version, health."""

    def body() -> None:
        import json as jsonlib

        from orchestrator.run.events import Reporter
        from orchestrator.commands.status import status as read_status
        from orchestrator.run.frame import run_command

        def work(run):
            settings = run.settings(_request(env_file, release, namespace, target, context, allow_remote))
            return read_status(settings, run.reporter, check_health=not no_health, url=url)

        report = run_command("status", json, work, reporter=Reporter())
        if json:
            print(jsonlib.dumps({"event": "status", **report.as_dict()}, default=str))
        else:
            print("\n".join(report.lines()))

    _edge(body)


@task(
    help={**_SETTINGS_HELP, "component": "backend or frontend (default: both)", "follow": "keep streaming",
          "tail": "lines per container (default 100)"},
    positional=["component"],
)
def logs(c, component=None, follow=False, tail=None, env_file=None, context=None, allow_remote=False, target=None,
         release=None, namespace=None, json=False):
    """Logs of the release's pods, secret values redacted."""

    def body() -> None:
        from orchestrator.run.events import Reporter
        from orchestrator.settings.flags import choice, number
        from orchestrator.commands.logs import COMPONENTS, logs as read_logs
        from orchestrator.run.frame import run_command

        lines = int(number("tail", tail, 100, minimum=0, integer=True))
        choice("component", component, COMPONENTS)

        def work(run):
            settings = run.settings(_request(env_file, release, namespace, target, context, allow_remote))
            for line in read_logs(settings, run.reporter, component=component, tail=lines, follow=follow):
                print(line, flush=True)

        run_command("logs", json, work, reporter=Reporter())

    _edge(body)


@task(help={"env_file": _SETTINGS_HELP["env_file"], "json": "print the checks as JSON"})
def doctor(c, env_file=None, json=False):
    """Check this machine for everything `invoke up` needs; print the fix for each problem."""

    def body() -> None:
        import json as jsonlib

        from pathlib import Path

        from orchestrator.commands import doctor as checks
        results = checks.run_checks(checks.DoctorInputs(env_file=Path(env_file)) if env_file else None)
        print(jsonlib.dumps(checks.as_json(results)) if json else checks.render(results))
        if not checks.all_ok(results):
            from orchestrator.errors import EnvironmentProblem

            raise EnvironmentProblem("some checks failed", "run the fix shown next to each failed check")

    _edge(body)


ns = Collection()
ns.add_task(validate)
ns.add_task(build)
ns.add_task(up)
ns.add_task(down)
ns.add_task(rotate_secrets)
ns.add_task(status)
ns.add_task(logs)
ns.add_task(doctor)
