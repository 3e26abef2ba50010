"""`invoke status`: a read-only view of a release (helm revision, Secret version, workloads, health)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from orchestrator.errors import OrchestratorError
from orchestrator.kube.cluster import Cluster
from orchestrator.run.events import Reporter
from orchestrator.settings.config import Settings


@dataclass
class StatusReport:
    release: str
    namespace: str
    revision: int | None = None
    release_status: str = "not installed"
    secret: str | None = None
    secret_version: str | None = None
    workloads: list[dict[str, Any]] = field(default_factory=list)
    pods: list[dict[str, Any]] = field(default_factory=list)
    health: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def last_exit(pod: dict[str, Any]) -> str:
    """How the last restarted container ended, from its lastState: "Error, exit code 137". Pure."""
    for status in pod.get("status", {}).get("containerStatuses") or []:
        ended = (status.get("lastState") or {}).get("terminated")
        if ended:
            return (
                f"{status.get('name', '?')}: {ended.get('reason') or 'Terminated'}, exit code {ended.get('exitCode')}"
            )
    return ""


def status(
    settings: Settings,
    reporter: Reporter,
    *,
    check_health: bool = True,
    url: str | None = None,
    health_timeout_s: float = 5.0,
) -> StatusReport:
    from orchestrator.kube.api import api_error, list_raw
    from orchestrator.kube.helm import last_deployed
    from orchestrator.kube.rest import core_path, group_path
    from orchestrator.kube.rollout.status import compute, name_of
    from orchestrator.kube.rollout.wait import api_probe_failures_fn
    from orchestrator.redact import Redactor
    from orchestrator.steps import secret_values_to_redact

    report = StatusReport(settings.release, settings.namespace)
    with Cluster.open(settings, reporter) as cluster:
        helm = cluster.helm()
        history = helm.history()
        if history:
            report.revision = history[-1].revision
            report.release_status = history[-1].status
        good = last_deployed(history)
        if good is not None:  # the values of the revision that runs, not of a later failed one
            values = helm.get_values(good.revision)
            secrets = values.get("secrets") or {}
            report.secret, report.secret_version = secrets.get("existingSecret"), secrets.get("version")
        selector = cluster.workloads.selector
        try:
            ns = settings.namespace
            deployments = list_raw(cluster.rest(), group_path("apps/v1", ns, "deployments"), ns, selector)
            pods = list_raw(cluster.rest(), core_path(ns, "pods"), ns, selector)
        except OrchestratorError:
            raise
        except Exception as exc:
            raise api_error(exc, "reading the workloads") from None
        for d in sorted(deployments, key=name_of):
            r = compute(d, "Deployment")
            containers = d.get("spec", {}).get("template", {}).get("spec", {}).get("containers", [])
            report.workloads.append(
                {
                    "name": name_of(d),
                    "status": r.status.value,
                    "reason": r.reason,
                    "message": r.message,
                    "image": ",".join(c.get("image", "") for c in containers),
                }
            )
        probes = api_probe_failures_fn(cluster.api)
        redactor: Redactor | None = None  # read when a restart is explained: a probe's output can be anything
        for p in sorted(pods, key=name_of):
            r = compute(p, "Pod")
            restarts = sum(int(c.get("restartCount", 0)) for c in p.get("status", {}).get("containerStatuses") or [])
            entry: dict[str, Any] = {
                "name": name_of(p),
                "status": r.status.value,
                "reason": r.reason,
                "message": r.message,
                "restarts": restarts,
            }
            if restarts:  # why it restarted: how it ended, and what the kubelet's probes said last
                entry["last_exit"] = last_exit(p)
                try:
                    failures = probes(settings.namespace, name_of(p))
                    # liveness and startup failures are what restart a container: those first
                    restarting = [m for m in failures if m.startswith(("Liveness", "Startup"))]
                    # an exec probe's message is its output; the generated values are hidden like the user's
                    redactor = redactor or Redactor(secret_values_to_redact(settings, cluster.rest()))
                    entry["probe_failures"] = [redactor.redact(m) for m in (restarting or failures)[-1:]]
                except Exception:  # the events are a courtesy; the status stands without them
                    entry["probe_failures"] = []
            report.pods.append(entry)
        if check_health and report.workloads:
            from orchestrator.steps import UpOptions, health_step

            opts = UpOptions(url=url, health_timeout_s=health_timeout_s)
            try:
                report.health = {"ok": True, "url": health_step(settings, opts, cluster, _Silent()).url}
            except OrchestratorError as err:
                report.health = {"ok": False, "error": err.message, "tried": err.details}
    return report


class _Silent(Reporter):
    """A reporter that records nothing: status prints one report, not the health poll's events."""

    def emit(self, event: str, **fields: Any) -> dict[str, Any]:
        return {"event": event, **fields}
