"""`invoke up`: input -> minikube ready -> cluster guard -> images -> load -> secret -> release -> rollout -> health.

With the minikube target, minikube is brought to a deployable state first (orchestrator.steps.
prepare_minikube: start, unpause, update-context, enable the ingress addon, each announced before it
runs; `--no-start` runs none of them and stops with the commands), and the ingress controller is
waited for. A run with nothing to fix only reads `minikube status` and its addon list.

With no DATABASE_URL the chart's own PostgreSQL is deployed (its image loaded like the app's), and
secret keys left out take their embedded defaults (orchestrator.settings.embedded), each announced.

Each step is idempotent and does nothing when nothing changed: images with an existing content tag
are not rebuilt, an image the cluster has is not loaded again, an unchanged Secret is not written,
and a release whose chart, values and images equal the deployed one is not upgraded. A second `up`
with nothing changed therefore writes nothing and restarts no pod.

The release's deploy lock (orchestrator.kube.lock, a coordination.k8s.io Lease) is taken only by a
run that changes something, and that run decides again under it; a run that changes nothing only
waits while another run holds it. Nothing imports in a background thread: the `kubernetes` client
is imported on this thread when the first API call needs it (tests/robustness/test_import_race.py).

On a rollout that cannot succeed the diagnostics are collected first, then the release is rolled
back to the last good revision (a first install is uninstalled) unless `--no-rollback`.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass, field

from orchestrator.errors import InputError, OrchestratorError
from orchestrator.kube.cluster import Cluster
from orchestrator.kube.lock import open_lock
from orchestrator.run.events import Reporter
from orchestrator.run.interrupts import InterruptGuard
from orchestrator.run.phases import PhaseClock
from orchestrator.settings.config import Settings, Target
from orchestrator.settings.embedded import Resolved, embedded_database
from orchestrator.settings.profiles import profile_problems
from orchestrator.steps import (
    ReleasePlan,
    UpOptions,
    announce_defaults,
    build_step,
    check_kubernetes_version,
    collect_garbage,
    database_image_step,
    deployed_secret,
    image_archives,
    load_step,
    namespace_step,
    plan_release,
    prepare_minikube,
    release_values,
    resolve_secrets,
    rollout_and_health,
    secret_step,
    wait_for_ingress_controller,
)


@dataclass
class UpResult:
    images: dict[str, str] = field(default_factory=dict)
    secret: str = ""
    revision: int | None = None
    url: str = ""
    access: list[str] = field(default_factory=list)  # the summary's lines: the URL that works now, /etc/hosts
    database_image: str | None = None
    defaults: list[str] = field(default_factory=list)  # the keys that took their embedded default


# --- the command ----------------------------------------------------------------------------------


def up(
    settings: Settings, opts: UpOptions, reporter: Reporter, clock: PhaseClock, guard: InterruptGuard | None = None
) -> UpResult:
    """Deploy. Raises an OrchestratorError (with its exit code) on any failure."""
    result = UpResult()
    problems = profile_problems(
        settings.profile, registry=opts.registry, database_url_set=bool(settings.secret_values().get("DATABASE_URL"))
    )
    if problems:
        raise InputError("; ".join(p for p, _ in problems), "; ".join(f for _, f in problems))
    # A dry run changes nothing, minikube included: it only checks minikube's state as before.
    minikube = settings.target is Target.MINIKUBE and not opts.dry_run
    with clock.phase("cluster") as note:
        if minikube:
            from orchestrator.kube.api import load_client

            prepare_minikube(reporter, no_start=opts.no_start, meanwhile=load_client)
        cluster = Cluster.open(settings, reporter, registry=opts.registry)
        note["summary"] = f"context {cluster.frozen.name} ({cluster.frozen.server})"
        try:
            if not minikube and not opts.build_in_cluster and opts.registry is None:
                cluster.image_target().ensure_ready()
            check_kubernetes_version(settings, opts, cluster, reporter)
            if minikube:
                wait_for_ingress_controller(cluster, reporter)
        except BaseException:  # the frozen kubeconfig goes, whatever stopped the phase
            cluster.close()
            raise
    with cluster:
        if opts.dry_run:
            from orchestrator.steps import show_plan

            show_plan(settings, opts, cluster, reporter)
            return result

        with image_archives(opts, cluster) as archive_dir:  # each image exported once, for its check and its load
            with clock.phase("images") as note:
                built = build_step(settings, opts, cluster, reporter, archive_dir)
                note["summary"] = ", ".join(built.refs.values())
            with clock.phase("load") as note:
                refs = load_step(built, opts, cluster, reporter)
                if embedded_database(settings.secrets):
                    result.database_image = database_image_step(opts, cluster, reporter)
                note["summary"] = cluster.image_target().name if not opts.build_in_cluster else "built in cluster"
        result.images = refs

        lock = open_lock(cluster, "up", reporter, wait=opts.wait_lock)
        with clock.phase("plan") as note:
            lock.wait_free()
            resolved_settings, resolved = resolve_secrets(settings, cluster, reporter, announce=False)
            plan = plan_release(resolved_settings, opts, cluster, refs)
            note["summary"] = plan.summary
        if not plan.changes_something:
            announce_defaults(resolved, reporter)
            _deploy(
                resolved_settings, resolved, opts, reporter, clock, guard, cluster, refs, plan, result, locked=False
            )
            return result
        namespace_step(settings, cluster, reporter)  # the Lease lives in it
        with lock.hold():
            # Decide again under the lock: another run may have deployed (or generated defaults) meanwhile.
            resolved_settings, resolved = resolve_secrets(settings, cluster, reporter)
            plan = plan_release(resolved_settings, opts, cluster, refs)
            _deploy(resolved_settings, resolved, opts, reporter, clock, guard, cluster, refs, plan, result, locked=True)
    return result


def _deploy(
    settings: Settings,
    resolved: Resolved,
    opts: UpOptions,
    reporter: Reporter,
    clock: PhaseClock,
    guard: InterruptGuard | None,
    cluster: Cluster,
    refs: dict[str, str],
    plan: ReleasePlan,
    result: UpResult,
    *,
    locked: bool,
) -> None:
    """Secret, release, rollout, health, cleanup. Writes only when `locked` (a no-op writes nothing)."""
    result.defaults = [a.key for a in resolved.announcements]
    with clock.phase("secret") as note:
        secret = secret_step(settings, cluster, reporter)
        note["summary"] = secret.name
    result.secret = secret.name

    helm = cluster.helm()
    with clock.phase("release") as note:
        from orchestrator.kube.helm import Action, last_deployed

        history = list(plan.history)
        if history and history[-1].status.startswith("pending-"):
            # Under the deploy lock, so no live run of this tool is in the middle of it.
            if not opts.recover:
                from orchestrator.kube.helm import stuck_error

                raise stuck_error(settings.release, history[-1].status)
            with guard.critical() if guard else nullcontext():
                recovery = helm.recover()
            reporter.log(f"recovered the release: {recovery.action}")
            history = helm.history()
        good = last_deployed(history)
        previous_secret = None
        if good is not None and locked:  # only the cleanup needs it, and a no-op cleans nothing
            try:
                previous_secret = deployed_secret(helm.get_values(good.revision))
            except OrchestratorError:
                previous_secret = None
        values = release_values(settings, refs, secret)
        with guard.critical() if guard else nullcontext():
            outcome = helm.upgrade(opts.chart_dir, values, timeout_s=opts.timeout_s, history=history)
        result.revision = outcome.revision
        upgraded = outcome.action is not Action.SKIP
        note["summary"] = f"revision {outcome.revision} ({outcome.action.value})"

    access = rollout_and_health(
        settings,
        opts,
        cluster,
        reporter,
        clock,
        previous_revision=good.revision if good else None,
        first_install=good is None,
        upgraded=upgraded,
    )
    result.url, result.access = access.url, list(access.lines)
    if locked:
        keep = {secret.name} | ({previous_secret} if previous_secret else set())
        collect_garbage(settings, cluster, reporter, keep)
