"""`invoke logs`: the release's pod logs, prefixed with the pod name, secret values redacted."""

from __future__ import annotations

from collections.abc import Iterator

from orchestrator.errors import InputError, OrchestratorError
from orchestrator.kube.cluster import Cluster
from orchestrator.run.events import Reporter
from orchestrator.settings.config import Settings

COMPONENTS = ("backend", "frontend")


def pod_names(cluster: Cluster, namespace: str, component: str | None) -> list[tuple[str, str]]:
    """(pod, container) pairs of the release, optionally one component."""
    selector = cluster.workloads.selector
    if component:
        if component not in COMPONENTS:
            raise InputError(f"unknown component {component!r}", f"use one of {', '.join(COMPONENTS)}")
        selector += f",app.kubernetes.io/component={component}"
    from orchestrator.kube.api import list_raw
    from orchestrator.kube.rest import core_path

    pods = list_raw(cluster.rest(), core_path(namespace, "pods"), namespace, selector)
    out = []
    for pod in pods:
        for c in pod.get("spec", {}).get("containers", []):
            out.append((pod["metadata"]["name"], c["name"]))
    return out


def logs(
    settings: Settings,
    reporter: Reporter,
    *,
    component: str | None = None,
    tail: int = 100,
    follow: bool = False,
    redact_values: list[str] | None = None,
) -> Iterator[str]:
    """Yield log lines of the release's pods (prefixed with the pod name), redacted."""
    from orchestrator.kube.api import api_error, call
    from orchestrator.redact import Redactor
    from orchestrator.steps import secret_values_to_redact

    with Cluster.open(settings, reporter) as cluster:
        rest = cluster.rest()
        redactor = Redactor(redact_values if redact_values is not None else secret_values_to_redact(settings, rest))
        targets = pod_names(cluster, settings.namespace, component)
        if not targets:
            yield f"(no pods of release {settings.release} in {settings.namespace})"
            return
        if follow and len(targets) > 1:
            raise InputError("--follow follows one container", "name a component: `invoke logs backend --follow`")
        for pod, container in targets:
            try:
                if follow:
                    for line in rest.follow_log(settings.namespace, pod, container, tail_lines=tail):
                        yield f"{pod}: {redactor.redact(line)}"
                    continue
                text = call(rest.pod_log, settings.namespace, pod, container, tail_lines=tail)
            except OrchestratorError:
                raise
            except Exception as exc:
                raise api_error(exc, f"reading logs of {pod}") from None
            for line in text.splitlines():
                yield f"{pod}: {redactor.redact(line)}"
