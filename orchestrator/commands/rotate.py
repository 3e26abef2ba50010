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

from orchestrator.errors import EnvironmentProblem, InputError
from orchestrator.kube.cluster import Cluster
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


def read_secret_values(core, namespace: str, name: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    from orchestrator.kube.api import api_error, call

    try:
        secret = call(core.read_namespaced_secret, name, namespace)
    except Exception as exc:
        raise api_error(exc, f"reading Secret {name}") from None
    return {k: base64.b64decode(v).decode("utf-8") for k, v in (secret.data or {}).items()}


def rotate(
    settings: Settings, opts: RotateOptions, reporter: Reporter, clock: PhaseClock, guard: InterruptGuard | None = None
) -> RotateResult:
    from orchestrator.kube.cluster import fullname
    from orchestrator.kube.helm import last_deployed
    from orchestrator.kube.secret_store import generate_secret, write_secret
    from orchestrator.settings.embedded import resolve
    from orchestrator.settings.envfile import set_env_value

    check_keys(opts)
    result = RotateResult()
    with clock.phase("cluster") as note:
        cluster = Cluster.open(settings, reporter)
        note["summary"] = f"context {cluster.frozen.name}"
    with cluster:
        helm = cluster.helm()
        with clock.phase("secret") as note:
            good = last_deployed(helm.history())
            if good is None:
                raise EnvironmentProblem(f"release {settings.release} is not deployed", "run `invoke up` first")
            deployed_values = helm.get_values(good.revision)
            previous = deployed_secret(deployed_values)
            if previous is None:
                raise EnvironmentProblem(
                    f"release {settings.release} references no Secret", "run `invoke up` to deploy it with one"
                )
            result.previous = previous
            core = cluster.core()
            current = read_secret_values(core, settings.namespace, previous)
            generated = {key: generate_secret(key) for key in opts.generate}
            # Keys the user does not set keep the values the release runs on (generated ones, the
            # in-cluster database's password): a rotation changes only what it is asked to.
            resolved = resolve(
                settings.secret_values(), current, release=settings.release, fullname=fullname(settings.release)
            )
            values = new_values(current, resolved.values, opts, generated)
            settings = settings.with_secrets(values)  # so the logs of this run redact them too
            written = write_secret(core, settings.namespace, settings.release, values)
            result.secret = written.name
            if written.name == previous:
                reporter.emit("secret.unchanged", name=written.name, version=written.version)
                note["summary"] = "values unchanged: nothing to rotate"
                return result
            reporter.emit("secret.written", name=written.name, version=written.version, namespace=settings.namespace)
            note["summary"] = f"{previous} -> {written.name}"
        with clock.phase("release") as note:
            values_next = copy.deepcopy(deployed_values)
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
            previous_revision=good.revision,
            first_install=False,
            upgraded=True,
        )
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
    return result
