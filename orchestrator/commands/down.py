"""`invoke down`: uninstall the release, delete its Secrets, then the namespace (unless kept).

While the chart's own database has data (its PersistentVolumeClaim exists), `down` keeps what that
data needs: the claim, the namespace that holds it, and the newest Secret version (it holds the
database's password, and the generated JWT_SECRET: a volume without its password is lost data too).
It says so, and `--delete-data` removes everything, the claims included.

The namespaces Kubernetes protects (default, kube-system, kube-public: deleting them is a 403) are never
deleted: `down` says so and succeeds.

Every step tolerates what is already gone, so a second run reports that nothing was left to remove.
While the namespace exists, the work runs under the release's deploy lock (orchestrator.kube.lock),
so `down` never interleaves with an `up` or a `rotate-secrets` of the same release.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from orchestrator.kube.cluster import Cluster
from orchestrator.kube.rest import core_path
from orchestrator.run.events import Reporter
from orchestrator.run.interrupts import InterruptGuard
from orchestrator.run.phases import PhaseClock
from orchestrator.settings.config import Settings

DATABASE_COMPONENT = "database"


@dataclass
class DownResult:
    removed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)

    @property
    def nothing_to_remove(self) -> bool:
        return not self.removed


def keep_plan(claims: list[str], versions: list[str], *, delete_data: bool) -> tuple[list[str], list[str]]:
    """Pure: (Secret versions to delete, Secret versions to keep). With data kept, the newest version
    (the first: `versions` is newest first) stays, since it holds the database password."""
    if delete_data or not claims or not versions:
        return list(versions), []
    return list(versions[1:]), [versions[0]]


def down(
    settings: Settings,
    reporter: Reporter,
    clock: PhaseClock,
    *,
    keep_namespace: bool = False,
    delete_data: bool = False,
    guard: InterruptGuard | None = None,
    wait_lock: bool = True,
) -> DownResult:
    from contextlib import nullcontext

    from orchestrator.kube.lock import open_lock

    result = DownResult()
    with clock.phase("cluster") as note:
        cluster = Cluster.open(settings, reporter)
        note["summary"] = f"context {cluster.frozen.name}"
    with cluster:
        # The deploy lock lives in the namespace: no namespace, nothing to remove and nobody to wait for.
        exists = _namespace_exists(cluster.rest(), settings.namespace)
        with open_lock(cluster, "down", reporter, wait=wait_lock).hold() if exists else nullcontext():
            _take_down(
                settings,
                reporter,
                clock,
                cluster,
                result,
                keep_namespace=keep_namespace,
                delete_data=delete_data,
                guard=guard,
            )
    if result.nothing_to_remove:
        reporter.log(f"nothing to remove: no release {settings.release} and no namespace {settings.namespace}")
    return result


def _take_down(
    settings: Settings,
    reporter: Reporter,
    clock: PhaseClock,
    cluster: Cluster,
    result: DownResult,
    *,
    keep_namespace: bool,
    delete_data: bool,
    guard: InterruptGuard | None,
) -> None:
    from contextlib import nullcontext

    from orchestrator.errors import DeployNeedsAction
    from orchestrator.kube.api import call
    from orchestrator.kube.secret_store import (
        NAMESPACE_WAIT_S,
        is_protected_namespace,
        list_secret_versions,
        wait_namespace_gone,
    )

    with clock.phase("release"):
        with guard.critical() if guard else nullcontext():
            if cluster.helm().uninstall():
                result.removed.append(f"release {settings.release}")
    rest = cluster.rest()
    claims = database_claims(rest, settings.namespace, settings.release)
    with clock.phase("secrets"):
        versions = (
            [v.name for v in list_secret_versions(rest, settings.namespace, settings.release)]
            if _namespace_exists(rest, settings.namespace)
            else []
        )
        delete, keep = keep_plan(claims, versions, delete_data=delete_data)
        for name in delete:
            _delete(functools.partial(call, rest.delete, core_path(settings.namespace, "secrets", name)))
            reporter.emit("secret.deleted", name=name)
            result.removed.append(f"secret {name}")
    if claims and not delete_data:
        result.kept += [f"PersistentVolumeClaim {c}" for c in claims] + [f"secret {s}" for s in keep]
        result.kept.append(f"namespace {settings.namespace}")
        reporter.emit("data.kept", namespace=settings.namespace, claims=claims, secrets=keep)
        reporter.log(
            f"kept the database's data: {', '.join(result.kept)}; `invoke down --delete-data` removes them too"
        )
        return
    if delete_data:
        with clock.phase("data"):
            for claim in claims:
                _delete(
                    functools.partial(call, rest.delete, core_path(settings.namespace, "persistentvolumeclaims", claim))
                )
                reporter.emit("volume.deleted", name=claim, namespace=settings.namespace)
                result.removed.append(f"PersistentVolumeClaim {claim}")
    if is_protected_namespace(settings.namespace):
        # Kubernetes refuses to delete it (403): never try, say so, and succeed.
        reporter.emit("namespace.kept", namespace=settings.namespace, reason="protected by Kubernetes")
        reporter.log(f"namespace {settings.namespace} is kept: Kubernetes never deletes it")
    elif not keep_namespace:
        with clock.phase("namespace"):
            if _delete(lambda: call(rest.delete, core_path(None, "namespaces", settings.namespace))):
                if not wait_namespace_gone(rest, settings.namespace):
                    raise DeployNeedsAction(
                        f"namespace {settings.namespace} is still terminating after {NAMESPACE_WAIT_S:.0f}s",
                        f"look for finalizers: `kubectl get namespace {settings.namespace} -o yaml`, "
                        "then run `invoke down` again",
                    )
                reporter.emit("namespace.deleted", namespace=settings.namespace)
                result.removed.append(f"namespace {settings.namespace}")


def database_claims(rest: Any, namespace: str, release: str) -> list[str]:
    """The PersistentVolumeClaims of this release's database (the StatefulSet's claims carry its
    selector labels), sorted; none when the namespace is gone."""
    from orchestrator.kube.api import api_error, call, status_of

    selector = f"app.kubernetes.io/instance={release},app.kubernetes.io/component={DATABASE_COMPONENT}"
    try:
        listing = call(rest.get, core_path(namespace, "persistentvolumeclaims"), labelSelector=selector)
    except Exception as exc:
        if status_of(exc) == 404:
            return []
        raise api_error(exc, "listing the database's volumes") from None
    names = []
    for item in listing.get("items") or []:
        meta = item.get("metadata") or {}
        labels = meta.get("labels") or {}
        # Filter again: a server that ignored the selector must not make us keep or delete others.
        if (
            labels.get("app.kubernetes.io/instance") == release
            and labels.get("app.kubernetes.io/component") == DATABASE_COMPONENT
        ):
            names.append(meta["name"])
    return sorted(names)


def _namespace_exists(rest: Any, namespace: str) -> bool:
    from orchestrator.kube.api import api_error, call, status_of

    try:
        call(rest.get, core_path(None, "namespaces", namespace))
    except Exception as exc:
        if status_of(exc) == 404:
            return False
        raise api_error(exc, "reading the namespace") from None
    return True


def _delete(action) -> bool:  # type: ignore[no-untyped-def]
    """Run a delete; a 404 means it is already gone (False)."""
    from orchestrator.kube.api import api_error, status_of

    try:
        action()
    except Exception as exc:
        if status_of(exc) == 404:
            return False
        raise api_error(exc, "deleting") from None
    return True
