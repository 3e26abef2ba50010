"""The ingress controller the chart's Ingress needs: minikube's ingress addon (ingress-nginx).

The addon installs a validating admission webhook with failurePolicy Fail
(kubernetes/minikube deploy/addons/ingress/ingress-deploy.yaml.tmpl): until a controller pod is
ready, the API server refuses every Ingress write with `failed calling webhook
"validate.nginx.ingress.kubernetes.io" ... connection refused` (kubernetes/minikube#13799). Right
after `minikube addons enable ingress` that lasts tens of seconds, so `up` waits for the controller
(bounded) and tries again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from orchestrator.kube.rollout.status import Status, pod_status

INGRESS_NAMESPACE = "ingress-nginx"
CONTROLLER_SELECTOR = "app.kubernetes.io/component=controller"
WEBHOOK_NAME = "validate.nginx.ingress.kubernetes.io"
CONTROLLER_WAIT_S = 180.0


def ready_controllers(pods: list[dict[str, Any]]) -> int:
    """How many of the controller pods are ready. Pure."""
    return sum(1 for pod in pods if pod_status(dict(pod, kind="Pod")).status is Status.CURRENT)


def controller_waiter(
    api_client: Any,
    timeout_s: float = CONTROLLER_WAIT_S,
    *,
    interval_s: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Callable[[], bool]:
    """A function that waits until an ingress controller pod is ready; True when one is, False at the
    deadline. API errors count as "not ready yet" (the wait is bounded either way)."""

    def wait() -> bool:
        from orchestrator.kube.rest import Rest, core_path

        rest = Rest(api_client)
        deadline = clock() + timeout_s
        while True:
            try:
                pods = rest.get(
                    core_path(INGRESS_NAMESPACE, "pods"), request_timeout=(5, 15), labelSelector=CONTROLLER_SELECTOR
                )
                if ready_controllers(pods.get("items") or []):
                    return True
            except Exception:  # not answering is "not ready yet" here; the deadline bounds it
                pass
            if clock() >= deadline:
                return False
            sleep(interval_s)

    return wait
