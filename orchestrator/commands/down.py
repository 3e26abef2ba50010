"""`invoke down`: uninstall the release, delete its Secrets, then the namespace (unless kept).

Every step tolerates what is already gone, so a second run reports that nothing was left to remove.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from orchestrator.kube.cluster import Cluster
from orchestrator.settings.config import Settings
from orchestrator.run.events import Reporter
from orchestrator.run.interrupts import InterruptGuard
from orchestrator.run.phases import PhaseClock


@dataclass
class DownResult:
    removed: list[str] = field(default_factory=list)

    @property
    def nothing_to_remove(self) -> bool:
        return not self.removed


def down(settings: Settings, reporter: Reporter, clock: PhaseClock, *, keep_namespace: bool = False,
         guard: InterruptGuard | None = None, wait_lock: bool = True) -> DownResult:
    from contextlib import nullcontext

    from orchestrator.kube.lock import open_lock

    result = DownResult()
    with clock.phase("cluster") as note:
        cluster = Cluster.open(settings, reporter)
        note["summary"] = f"context {cluster.frozen.name}"
    with cluster:
        # The deploy lock lives in the namespace: no namespace, nothing to remove and nobody to wait for.
        exists = _namespace_exists(cluster.core(), settings.namespace)
        with open_lock(cluster, "down", reporter, wait=wait_lock).hold() if exists else nullcontext():
            _take_down(settings, reporter, clock, cluster, result, keep_namespace=keep_namespace, guard=guard)
    if result.nothing_to_remove:
        reporter.log(f"nothing to remove: no release {settings.release} and no namespace {settings.namespace}")
    return result


def _namespace_exists(core, namespace: str) -> bool:  # type: ignore[no-untyped-def]
    from orchestrator.kube.api import api_error, call, status_of

    try:
        call(core.read_namespace, namespace)
    except Exception as exc:
        if status_of(exc) == 404:
            return False
        raise api_error(exc, f"reading namespace {namespace}") from None
    return True


def _take_down(settings: Settings, reporter: Reporter, clock: PhaseClock, cluster: Cluster, result: DownResult,
               *, keep_namespace: bool, guard: InterruptGuard | None) -> None:
    from contextlib import nullcontext

    from orchestrator.kube.api import call
    from orchestrator.kube.secret_store import list_secret_versions

    with clock.phase("release"):
        with guard.critical() if guard else nullcontext():
            if cluster.helm().uninstall():
                result.removed.append(f"release {settings.release}")
    with clock.phase("secrets"):
        core = cluster.core()
        for version in list_secret_versions(core, settings.namespace, settings.release):
            _delete(functools.partial(call, core.delete_namespaced_secret, version.name, settings.namespace))
            reporter.emit("secret.deleted", name=version.name)
            result.removed.append(f"secret {version.name}")
    if not keep_namespace:
        with clock.phase("namespace"):
            if _delete(lambda: call(core.delete_namespace, settings.namespace)):
                _wait_gone(core, settings.namespace)
                reporter.emit("namespace.deleted", namespace=settings.namespace)
                result.removed.append(f"namespace {settings.namespace}")


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


def _wait_gone(core, namespace: str, timeout_s: float = 120.0) -> None:  # type: ignore[no-untyped-def]
    """A namespace terminates asynchronously; a following `up` needs it gone, so wait (bounded)."""
    import time

    from orchestrator.errors import DeployNeedsAction
    from orchestrator.kube.api import status_of

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            core.read_namespace(namespace)
        except Exception as exc:
            if status_of(exc) == 404:
                return
        time.sleep(0.5)
    raise DeployNeedsAction(
        f"namespace {namespace} is still terminating after {timeout_s:.0f}s",
        f"look for finalizers: `kubectl get namespace {namespace} -o yaml`, then run `invoke down` again",
    )
