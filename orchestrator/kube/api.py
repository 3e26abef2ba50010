"""Kubernetes API access: one client factory from a kubeconfig path, one rule for retryable errors.

The retry rule (the same one Helm's waiter uses): a request that got no HTTP answer at all (status 0:
connection refused, reset, timed out), 429 Too Many Requests, and every 5xx except 501 Not
Implemented may succeed when tried again. Everything else (401, 403, 404, 409, 422, 501, ...) is an
answer that will not change by asking again.

The `kubernetes` package is imported inside functions so that importing this module stays cheap.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from tenacity import Retrying, retry_if_exception, stop_after_attempt, stop_after_delay, wait_exponential

from orchestrator.errors import EnvironmentProblem, OrchestratorError

if TYPE_CHECKING:  # pragma: no cover
    from kubernetes.client import ApiClient

T = TypeVar("T")

NO_RESPONSE = 0
NOT_IMPLEMENTED = 501
TOO_MANY_REQUESTS = 429


def is_retryable_status(status: int) -> bool:
    """True for 0 (no answer), 429 and 5xx except 501."""
    return status == NO_RESPONSE or status == TOO_MANY_REQUESTS or (status >= 500 and status != NOT_IMPLEMENTED)


def status_of(exc: BaseException) -> int | None:
    """The HTTP status an API call failed with: 0 when no answer came, None when not an API error."""
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError as Urllib3Error

    if isinstance(exc, ApiException):
        return int(exc.status or 0)
    if isinstance(exc, (Urllib3Error, ConnectionError, TimeoutError)):
        return NO_RESPONSE
    return None


def is_retryable(exc: BaseException) -> bool:
    status = status_of(exc)
    return status is not None and is_retryable_status(status)


@dataclass
class RetryCounter:
    """Counts retried API calls (reported as `retries` in rollout outcomes)."""

    count: int = 0
    last_status: int | None = None
    reasons: list[str] = field(default_factory=list)

    def record(self, exc: BaseException) -> None:
        self.count += 1
        self.last_status = status_of(exc)
        self.reasons.append(f"{type(exc).__name__} (status {self.last_status})")


def retrying(
    *,
    attempts: int = 5,
    max_delay_s: float | None = None,
    initial_wait_s: float = 0.2,
    max_wait_s: float = 3.0,
    counter: RetryCounter | None = None,
) -> Retrying:
    """A tenacity `Retrying` for API calls: retries only what `is_retryable` allows, then re-raises."""
    stop = stop_after_attempt(attempts)
    if max_delay_s is not None:
        stop = stop | stop_after_delay(max_delay_s)

    def before_sleep(state: Any) -> None:
        if counter is not None and state.outcome is not None and state.outcome.failed:
            counter.record(state.outcome.exception())

    return Retrying(
        stop=stop,
        wait=wait_exponential(multiplier=initial_wait_s, max=max_wait_s),
        retry=retry_if_exception(is_retryable),
        before_sleep=before_sleep,
        reraise=True,
    )


def call(fn: Callable[..., T], *args: Any, counter: RetryCounter | None = None, attempts: int = 5, **kwargs: Any) -> T:
    """Call an API function with the retry rule; the last error propagates unchanged."""
    for attempt in retrying(attempts=attempts, counter=counter):
        with attempt:
            return fn(*args, **kwargs)
    raise AssertionError("unreachable")  # pragma: no cover


def api_error(exc: BaseException, what: str) -> OrchestratorError:
    """Turn a failed API call into the project's error with a next step (never echoes a response body)."""
    status = status_of(exc)
    if status == NO_RESPONSE:
        return EnvironmentProblem(
            f"the Kubernetes API did not answer while {what}",
            "check the cluster is running (`minikube status`) and `kubectl get nodes` answers",
        )
    if status in (401, 403):
        return EnvironmentProblem(
            f"the Kubernetes API refused access ({status}) while {what}",
            "check the kube context and its credentials: `kubectl auth can-i list pods`",
        )
    if status is not None:
        return OrchestratorError(
            f"the Kubernetes API answered {status} while {what}",
            "re-run with the same flags; if it persists run `invoke doctor`",
        )
    return OrchestratorError(f"unexpected error while {what}: {type(exc).__name__}", "run `invoke doctor`")


def quiet_client_logging() -> None:
    """The client logs response bodies (base64 Secret data) at DEBUG: keep its loggers above that."""
    for name in ("kubernetes", "kubernetes.client.rest", "urllib3"):
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET or logger.level < logging.INFO:
            logger.setLevel(logging.INFO)


def api_client(kubeconfig_path: str, context: str | None = None) -> ApiClient:
    """An ApiClient bound to exactly this kubeconfig file (and context), never the ambient one."""
    from kubernetes import config as kube_config

    quiet_client_logging()
    try:
        client = kube_config.new_client_from_config(config_file=str(kubeconfig_path), context=context)
    except kube_config.ConfigException as exc:
        raise EnvironmentProblem(
            f"cannot use kubeconfig {kubeconfig_path}" + (f" (context {context})" if context else ""),
            "check the file and context: `kubectl config get-contexts`",
        ) from exc
    client.configuration.debug = False
    return client
