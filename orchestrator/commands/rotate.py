"""`invoke rotate-secrets`: a new immutable Secret version, the release moved onto it, watched.

The previous Secret is never modified: on a failed rollout the release is rolled back to the
revision that references it, so the app returns to exactly the values it had.
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

from orchestrator.errors import EnvironmentProblem, InputError
from orchestrator.kube.cluster import Cluster
from orchestrator.kube.rest import Rest
from orchestrator.run.events import Reporter
from orchestrator.run.interrupts import InterruptGuard
from orchestrator.run.phases import PhaseClock
from orchestrator.settings.config import Settings
from orchestrator.settings.keys import SECRET_KEYS
from orchestrator.steps import UpOptions, collect_garbage, deployed_secret, rollout_and_health


@dataclass(frozen=True)
class RotateOptions:
    only: Sequence[str] = ()
    generate: Sequence[str] = ()
    up: UpOptions = field(default_factory=UpOptions)


@dataclass
class RotateResult:
    secret: str = ""
    previous: str = ""
    rotated: bool = False
    url: str = ""


def check_keys(opts: RotateOptions) -> None:
    for key in [*opts.only, *opts.generate]:
        if key not in SECRET_KEYS:
            raise InputError(f"unknown secret key {key!r}", f"use one of {', '.join(SECRET_KEYS)}")


def new_values(
    current: dict[str, str], from_env: dict[str, str], opts: RotateOptions, generated: dict[str, str]
) -> dict[str, str]:
    """Pure: with --only, keep the deployed values except the named keys; else take the env's."""
    if opts.only:
        values = dict(current)
        for key in opts.only:
            values[key] = from_env[key]
    else:
        values = dict(from_env)
    values.update(generated)
    return values


def read_secret_values(rest: Rest, namespace: str, name: str) -> dict[str, str]:
    from orchestrator.kube.api import api_error, call
    from orchestrator.kube.rest import core_path

    try:
        secret = call(rest.get, core_path(namespace, "secrets", name))
    except Exception as exc:
        raise api_error(exc, f"reading Secret {name}") from None
    return {k: base64.b64decode(v).decode("utf-8") for k, v in (secret.get("data") or {}).items()}


@dataclass(frozen=True)
class RotationPlan:
    """What a rotation would write, read without writing."""

    good: Any  # the last deployed helm Revision
    deployed_values: dict[str, Any]
    previous: str
    values: dict[str, str]
    version: str  # the Secret version these values get
    name: str


def plan_rotation(settings: Settings, opts: RotateOptions, cluster: Cluster, generated: dict[str, str]) -> RotationPlan:
    """Reads only: the release's deployed Secret and the values the new version would hold."""
    from orchestrator.kube.cluster import fullname
    from orchestrator.kube.helm import last_deployed
    from orchestrator.kube.secret_store import secret_name, secret_version
    from orchestrator.settings.embedded import resolve

    helm = cluster.helm()
    good = last_deployed(helm.history())
    if good is None:
        raise EnvironmentProblem(f"release {settings.release} is not deployed", "run `invoke up` first")
    deployed_values = helm.get_values(good.revision)
    previous = deployed_secret(deployed_values)
    if previous is None:
        raise EnvironmentProblem(
            f"release {settings.release} references no Secret", "run `invoke up` to deploy it with one"
        )
    current = read_secret_values(cluster.rest(), settings.namespace, previous)
    # Keys the user does not set keep the values the release runs on (generated ones, the
    # in-cluster database's password): a rotation changes only what it is asked to.
    resolved = resolve(settings.secret_values(), current, release=settings.release, fullname=fullname(settings.release))
    values = new_values(current, resolved.values, opts, generated)
    version = secret_version(values)
    return RotationPlan(good, deployed_values, previous, values, version, secret_name(settings.release, version))


def rotate(
    settings: Settings,
    opts: RotateOptions,
    reporter: Reporter,
    clock: PhaseClock,
    guard: InterruptGuard | None = None,
    *,
    wait_lock: bool = True,
) -> RotateResult:
    """Rotate under the release's deploy lock; a rotation that changes nothing only waits for it."""
    from orchestrator.kube.lock import open_lock
    from orchestrator.kube.secret_store import generate_secret

    check_keys(opts)
    result = RotateResult()
    with clock.phase("cluster") as note:
        cluster = Cluster.open(settings, reporter)
        note["summary"] = f"context {cluster.frozen.name}"
    with cluster:
        generated = {key: generate_secret(key) for key in opts.generate}
        lock = open_lock(cluster, "rotate-secrets", reporter, wait=wait_lock)
        with clock.phase("plan") as note:
            lock.wait_free()
            plan = plan_rotation(settings, opts, cluster, generated)
            note["summary"] = "nothing to rotate" if plan.name == plan.previous else f"{plan.previous} -> {plan.name}"
        result.previous, result.secret = plan.previous, plan.name
        if plan.name == plan.previous:
            reporter.emit("secret.unchanged", name=plan.name, version=plan.version)
            return result
        with lock.hold():
            plan = plan_rotation(settings, opts, cluster, generated)  # again, under the lock
            _rotate(settings.with_secrets(plan.values), opts, reporter, clock, guard, cluster, plan, generated, result)
    return result


def _rotate(
    settings: Settings,
    opts: RotateOptions,
    reporter: Reporter,
    clock: PhaseClock,
    guard: InterruptGuard | None,
    cluster: Cluster,
    plan: RotationPlan,
    generated: dict[str, str],
    result: RotateResult,
) -> None:
    """Write the new Secret version, move the release onto it, watch. `settings` holds the new values,
    so the logs of this run redact them too."""
    from orchestrator.kube.secret_store import write_secret
    from orchestrator.settings.envfile import set_env_value

    helm = cluster.helm()
    previous = plan.previous
    result.previous = previous
    with clock.phase("secret") as note:
        written = write_secret(cluster.rest(), settings.namespace, settings.release, plan.values)
        result.secret = written.name
        if written.name == previous:
            reporter.emit("secret.unchanged", name=written.name, version=written.version)
            note["summary"] = "values unchanged: nothing to rotate"
            return
        reporter.emit("secret.written", name=written.name, version=written.version, namespace=settings.namespace)
        note["summary"] = f"{previous} -> {written.name}"
    with clock.phase("release") as note:
        values_next = copy.deepcopy(plan.deployed_values)
        values_next.setdefault("secrets", {}).update(existingSecret=written.name, version=written.version)
        with guard.critical() if guard else nullcontext():
            outcome = helm.upgrade(opts.up.chart_dir, values_next, timeout_s=opts.up.timeout_s)
        note["summary"] = f"revision {outcome.revision}"
    result.url = rollout_and_health(
        settings,
        opts.up,
        cluster,
        reporter,
        clock,
        previous_revision=plan.good.revision,
        first_install=False,
        upgraded=True,
    ).url
    result.rotated = True
    if generated and settings.env_file is not None:
        # Only now: a failed rotation must leave the env file deploying the values still in use.
        for key, value in generated.items():
            set_env_value(settings.env_file, key, value)
        reporter.log(f"wrote the generated {', '.join(generated)} to {settings.env_file}")
    elif generated:
        reporter.log(
            f"the generated {', '.join(generated)} is kept in the cluster (Secret {written.name}); "
            "the next `invoke up` reads it back from there"
        )
    collect_garbage(settings, cluster, reporter, {written.name, previous})
