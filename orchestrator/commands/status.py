"""`invoke status` and `invoke logs`: read-only views of a release, secret values redacted."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from orchestrator.kube.cluster import Cluster
from orchestrator.settings.config import Settings
from orchestrator.errors import InputError, OrchestratorError
from orchestrator.run.events import Reporter

COMPONENTS = ("backend", "frontend")


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

    def lines(self) -> list[str]:
        out = [f"release {self.release} in {self.namespace}: {self.release_status}"
               + (f" (revision {self.revision})" if self.revision else "")]
        if self.secret:
            out.append(f"secret {self.secret} (version {self.secret_version})")
        for w in self.workloads:
            out.append(f"deployment/{w['name']}: {w['status']} {w['reason']} ({w['message']}) image {w['image']}")
        for p in self.pods:
            out.append(f"  pod/{p['name']}: {p['status']} {p['reason']} ({p['message']}) restarts {p['restarts']}")
        if self.health:
            state = "ok" if self.health.get("ok") else "not answering"
            out.append(f"health: {state} {self.health.get('url', '')}".rstrip())
        return out


def _raw_list(fn: Callable[..., Any], namespace: str, selector: str) -> list[dict[str, Any]]:
    from orchestrator.kube.api import call

    response = call(fn, namespace, label_selector=selector, _preload_content=False)
    return list(json.loads(response.data).get("items") or [])


def status(settings: Settings, reporter: Reporter, *, check_health: bool = True, url: str | None = None,
           health_timeout_s: float = 5.0) -> StatusReport:
    from orchestrator.kube.helm import last_deployed
    from orchestrator.kube.api import api_error
    from orchestrator.kube.rollout.status import compute, name_of

    report = StatusReport(settings.release, settings.namespace)
    with Cluster.open(settings, reporter) as cluster:
        helm = cluster.helm()
        history = helm.history()
        if history:
            report.revision = history[-1].revision
            report.release_status = history[-1].status
        if last_deployed(history) is not None:
            values = helm.get_values()
            secrets = values.get("secrets") or {}
            report.secret, report.secret_version = secrets.get("existingSecret"), secrets.get("version")
        selector = cluster.workloads.selector
        try:
            deployments = _raw_list(cluster.apps().list_namespaced_deployment, settings.namespace, selector)
            pods = _raw_list(cluster.core().list_namespaced_pod, settings.namespace, selector)
        except OrchestratorError:
            raise
        except Exception as exc:
            raise api_error(exc, "reading the workloads") from None
        for d in sorted(deployments, key=name_of):
            r = compute(d, "Deployment")
            containers = d.get("spec", {}).get("template", {}).get("spec", {}).get("containers", [])
            report.workloads.append({"name": name_of(d), "status": r.status.value, "reason": r.reason,
                                     "message": r.message, "image": ",".join(c.get("image", "") for c in containers)})
        for p in sorted(pods, key=name_of):
            r = compute(p, "Pod")
            restarts = sum(int(c.get("restartCount", 0)) for c in p.get("status", {}).get("containerStatuses") or [])
            report.pods.append({"name": name_of(p), "status": r.status.value, "reason": r.reason,
                                "message": r.message, "restarts": restarts})
        if check_health and report.workloads:
            from orchestrator.steps import UpOptions, health_step

            opts = UpOptions(url=url, health_timeout_s=health_timeout_s)
            try:
                report.health = {"ok": True, "url": health_step(settings, opts, cluster, _Silent())}
            except OrchestratorError as err:
                report.health = {"ok": False, "error": err.message, "tried": err.details}
    return report


class _Silent(Reporter):
    """A reporter that records nothing: status prints one report, not the health poll's events."""

    def emit(self, event: str, **fields: Any) -> dict[str, Any]:
        return {"event": event, **fields}


def pod_names(cluster: Cluster, namespace: str, component: str | None) -> list[tuple[str, str]]:
    """(pod, container) pairs of the release, optionally one component."""
    selector = cluster.workloads.selector
    if component:
        if component not in COMPONENTS:
            raise InputError(f"unknown component {component!r}", f"use one of {', '.join(COMPONENTS)}")
        selector += f",app.kubernetes.io/component={component}"
    pods = _raw_list(cluster.core().list_namespaced_pod, namespace, selector)
    out = []
    for pod in pods:
        for c in pod.get("spec", {}).get("containers", []):
            out.append((pod["metadata"]["name"], c["name"]))
    return out


def logs(settings: Settings, reporter: Reporter, *, component: str | None = None, tail: int = 100,
         follow: bool = False, redact_values: list[str] | None = None) -> Iterator[str]:
    """Yield log lines of the release's pods (prefixed with the pod name), redacted."""
    from orchestrator.kube.api import api_error, call
    from orchestrator.redact import Redactor

    redactor = Redactor(redact_values if redact_values is not None else list(settings.secret_values().values()))
    with Cluster.open(settings, reporter) as cluster:
        core = cluster.core()
        targets = pod_names(cluster, settings.namespace, component)
        if not targets:
            yield f"(no pods of release {settings.release} in {settings.namespace})"
            return
        if follow and len(targets) > 1:
            raise InputError("--follow follows one container", "name a component: `invoke logs backend --follow`")
        for pod, container in targets:
            try:
                if follow:
                    response = core.read_namespaced_pod_log(pod, settings.namespace, container=container,
                                                            tail_lines=tail, follow=True, _preload_content=False)
                    for raw in response.stream():
                        for line in raw.decode("utf-8", "replace").splitlines():
                            yield f"{pod}: {redactor.redact(line)}"
                    continue
                text = call(core.read_namespaced_pod_log, pod, settings.namespace, container=container,
                            tail_lines=tail)
            except OrchestratorError:
                raise
            except Exception as exc:
                raise api_error(exc, f"reading logs of {pod}") from None
            for line in str(text or "").splitlines():
                yield f"{pod}: {redactor.redact(line)}"
