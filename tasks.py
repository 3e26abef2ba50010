"""The command line: each task hands its flags to one function of orchestrator.cli, which runs it in
the run frame (orchestrator/run/frame.py) and returns the exit code.

Heavy clients (docker, kubernetes) are imported inside the tasks, so `invoke --list` stays fast.
Exit codes are documented in README.md and in orchestrator/errors.py.
"""

from __future__ import annotations

import gc
from typing import Any

from invoke import Collection, Exit, task

from orchestrator.settings.defaults import HEALTH_TIMEOUT_S, IMAGE_BUDGET_MB, ROLLOUT_TIMEOUT_S

_PROFILE_HELP = (
    "dev (default: one node, images loaded) or production (replicas over nodes, autoscaling, registry by digest)"
)


def _run(name: str, **flags: Any) -> None:
    """Run the task `name` of orchestrator.cli with its flags; a failure becomes its exit code
    (the message and fix are already on stderr, the JSON lines on stdout)."""
    # A task imports the docker and kubernetes clients: thousands of objects, and with the default
    # threshold (700) a collection every few hundred of them, which costs an import-bound run (a
    # no-op `up`) about 40 ms. Cycles are still collected, every 50 000 allocations.
    gc.set_threshold(50_000, 20, 100)
    from orchestrator import cli

    code = getattr(cli, name)(**flags)
    # The run is over: spare the interpreter's last collections over every loaded module's objects
    # (about a tenth of a second at exit with the kubernetes and docker clients loaded).
    gc.freeze()
    if code:
        raise Exit(code=code)


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
    _run("validate", json=json, set=set, profile=profile)


@task(
    help={
        "json": "print JSON lines instead of human lines (image.report has refs, sizes and policy)",
        "budget_mb": f"total size budget of both images in MB (uncompressed, default {IMAGE_BUDGET_MB})",
        "image_budget": "a per-image budget NAME=MB, e.g. todo-backend=250 (repeatable)",
        "require_scan": "fail when no vulnerability scanner (trivy, grype) or database is available",
        "env_file": "env file whose secret values the canary scan looks for (default .env in the working directory)",
    },
    iterable=["image_budget"],
)
def build(c, json=False, budget_mb=None, image_budget=None, require_scan=False, env_file=None):
    """Build the backend and frontend images (content tags, in parallel); check size budget and image policy."""
    _run(
        "build", json=json, budget_mb=budget_mb, image_budget=image_budget, require_scan=require_scan, env_file=env_file
    )


_WAIT_LOCK_HELP = (
    "wait while another run holds the release's deploy lock (default); --no-wait-lock stops at once with exit 7"
)

_SETTINGS_HELP = {
    "env_file": "the env file with the secrets and settings (default .env in the working directory; the process environment wins)",
    "context": "the kube context to deploy to (default: minikube, or the target's local context)",
    "allow_remote": "allow a context whose API server is not on this machine (needs --context)",
    "target": "how images reach the cluster: minikube (default), kind, k3d or registry",
    "release": "the Helm release name (default todo-app)",
    "namespace": "the Kubernetes namespace (default todo-app)",
    "json": "print one JSON object per line instead of human progress",
}


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
        "no_start": "never start, unpause or reconfigure minikube (nor enable its ingress addon): "
        "stop with exit 3 and the commands instead",
    },
)
def up(
    c,
    env_file=None,
    context=None,
    allow_remote=False,
    target=None,
    release=None,
    namespace=None,
    dry_run=False,
    recover=False,
    rollback=True,
    timeout=None,
    health_timeout=None,
    url=None,
    registry=None,
    build_in_cluster=False,
    budget_mb=None,
    require_scan=False,
    profile=None,
    json=False,
    wait_lock=True,
    no_start=False,
):
    """Build, load, create the Secret, install the chart, watch the rollout and /health."""
    _run(
        "up",
        json=json,
        env_file=env_file,
        context=context,
        allow_remote=allow_remote,
        target=target,
        release=release,
        namespace=namespace,
        dry_run=dry_run,
        recover=recover,
        rollback=rollback,
        timeout=timeout,
        health_timeout=health_timeout,
        url=url,
        registry=registry,
        build_in_cluster=build_in_cluster,
        budget_mb=budget_mb,
        require_scan=require_scan,
        profile=profile,
        wait_lock=wait_lock,
        no_start=no_start,
    )


@task(
    help={
        **_SETTINGS_HELP,
        "keep_namespace": "uninstall and delete the Secrets but keep the namespace",
        "delete_data": "also delete the in-cluster database's volume and the Secret with its password",
        "wait_lock": _WAIT_LOCK_HELP,
    }
)
def down(
    c,
    env_file=None,
    context=None,
    allow_remote=False,
    target=None,
    release=None,
    namespace=None,
    keep_namespace=False,
    delete_data=False,
    json=False,
    wait_lock=True,
):
    """Uninstall the release, delete its Secrets and the namespace; the in-cluster database's data is
    kept unless --delete-data. Safe to run twice."""
    _run(
        "down",
        json=json,
        env_file=env_file,
        context=context,
        allow_remote=allow_remote,
        target=target,
        release=release,
        namespace=namespace,
        keep_namespace=keep_namespace,
        delete_data=delete_data,
        wait_lock=wait_lock,
    )


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
def rotate_secrets(
    c,
    env_file=None,
    context=None,
    allow_remote=False,
    target=None,
    release=None,
    namespace=None,
    only=None,
    generate=None,
    timeout=None,
    health_timeout=None,
    url=None,
    json=False,
    wait_lock=True,
):
    """Write a new Secret version, move the release onto it, watch; roll back on failure."""
    _run(
        "rotate_secrets",
        json=json,
        env_file=env_file,
        context=context,
        allow_remote=allow_remote,
        target=target,
        release=release,
        namespace=namespace,
        only=only,
        generate=generate,
        timeout=timeout,
        health_timeout=health_timeout,
        url=url,
        wait_lock=wait_lock,
    )


@task(help={**_SETTINGS_HELP, "url": "the URL to check /health at", "no_health": "skip the /health check"})
def status(
    c,
    env_file=None,
    context=None,
    allow_remote=False,
    target=None,
    release=None,
    namespace=None,
    url=None,
    no_health=False,
    json=False,
):
    """Release revision, workloads and pods with their status, image tags, Secret version, health."""
    _run(
        "status",
        json=json,
        env_file=env_file,
        context=context,
        allow_remote=allow_remote,
        target=target,
        release=release,
        namespace=namespace,
        url=url,
        no_health=no_health,
    )


@task(
    help={
        **_SETTINGS_HELP,
        "component": "backend or frontend (default: both)",
        "follow": "keep streaming",
        "tail": "lines per container (default 100)",
    },
    positional=["component"],
)
def logs(
    c,
    component=None,
    follow=False,
    tail=None,
    env_file=None,
    context=None,
    allow_remote=False,
    target=None,
    release=None,
    namespace=None,
    json=False,
):
    """Logs of the release's pods, secret values redacted."""
    _run(
        "logs",
        json=json,
        component=component,
        follow=follow,
        tail=tail,
        env_file=env_file,
        context=context,
        allow_remote=allow_remote,
        target=target,
        release=release,
        namespace=namespace,
    )


@task(help={"env_file": _SETTINGS_HELP["env_file"], "json": "print JSON lines (one doctor.check event per check)"})
def doctor(c, env_file=None, json=False):
    """Check this machine for everything `invoke up` needs; print the fix for each problem."""
    _run("doctor", json=json, env_file=env_file)


ns = Collection()
ns.add_task(validate)
ns.add_task(build)
ns.add_task(up)
ns.add_task(down)
ns.add_task(rotate_secrets)
ns.add_task(status)
ns.add_task(logs)
ns.add_task(doctor)
