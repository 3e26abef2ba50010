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
from tenacity.stop import stop_base

from orchestrator.errors import EnvironmentProblem, OrchestratorError

if TYPE_CHECKING:  # pragma: no cover
    from kubernetes.client import ApiClient

T = TypeVar("T")


def load_client() -> None:
    """Import the `kubernetes` client (about half a second of CPU) now, on this thread: `up` does it
    while minikube's status runs in a child process."""
    from kubernetes import config  # noqa: F401


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
    stop: stop_base = stop_after_attempt(attempts)
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


def list_raw(rest: Any, path: str, namespace: str, selector: str) -> list[dict[str, Any]]:
    """A list request (`rest`: orchestrator.kube.rest.Rest, `path` a collection in `namespace`) with the
    retry rule, as plain dicts; a failure is the project's error (`invoke logs` against a 5xx is exit 3,
    as every task)."""
    try:
        listing = call(rest.get, path, labelSelector=selector)
    except Exception as exc:
        raise api_error(exc, f"listing in namespace {namespace}", namespace) from None
    return list(listing.get("items") or [])


def api_error(
    exc: BaseException, what: str, namespace: str | None = None, can_i: str = "list pods"
) -> OrchestratorError:
    """The one mapping of a failed API call to the project's errors (status and reason only: a response
    body can echo a Secret, so it is never shown). Used after the retries of `call`, so a status that
    was worth retrying and still failed (no answer, 429, 5xx) is the environment's problem: exit 3.

    `can_i` is the `kubectl auth can-i` question a 403 hint asks (e.g. "create secrets").
    """
    from kubernetes.client.exceptions import ApiException

    status = status_of(exc)
    in_namespace = f" -n {namespace}" if namespace else ""
    if status == NO_RESPONSE or (status is None and isinstance(exc, OSError)):
        return EnvironmentProblem(
            f"the Kubernetes API is unreachable: it did not answer while {what} ({type(exc).__name__})",
            "start the cluster (`minikube start`), then check `minikube status` and `kubectl cluster-info`",
        )
    if status is None:
        return OrchestratorError(f"unexpected error while {what}: {type(exc).__name__}", "run `invoke doctor`")
    reason = str(exc.reason or "") if isinstance(exc, ApiException) else ""
    answered = f"{status} {reason}".strip()
    if status == 401:
        return EnvironmentProblem(
            f"the Kubernetes API rejected the credentials ({answered}) while {what}",
            "refresh the kubeconfig: `minikube update-context`, then `kubectl get nodes`",
        )
    if status == 403:
        return EnvironmentProblem(
            f"the Kubernetes API refused access ({answered}) while {what}",
            f"your user needs RBAC rights: `kubectl auth can-i {can_i}{in_namespace}`",
        )
    if is_retryable_status(status):
        return EnvironmentProblem(
            f"the Kubernetes API failed ({answered}) while {what}, after retries",
            "the cluster is unhealthy: check `kubectl get --raw /readyz`, then re-run",
        )
    if status == 404:
        return EnvironmentProblem(
            f"not found (404) while {what}",
            f"the namespace may be missing: `kubectl create namespace {namespace}`"
            if namespace
            else "check the kube context points at the cluster you deployed to: `kubectl config current-context`",
        )
    return OrchestratorError(
        f"the Kubernetes API answered {answered} while {what}",
        "re-run with the same flags; if it persists run `invoke doctor` and report the output",
    )


class _DropBodies(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "body" not in str(record.msg).lower()


def quiet_client_logging(api: Any | None = None) -> None:
    """Make sure the kubernetes client cannot print request or response bodies (Secret data included).

    Its `Configuration.debug` turns on http.client's stdout dump of every request, and the client
    logs response bodies at DEBUG on `kubernetes.client.rest`: debug goes off, the loggers stay at
    INFO or above, and a filter drops any record about a body.
    """
    owner = getattr(api, "api_client", api)  # an API class (CoreV1Api) or an ApiClient itself
    configuration = getattr(owner, "configuration", None)
    if configuration is not None and getattr(configuration, "debug", False):
        configuration.debug = False
    for name in ("kubernetes", "kubernetes.client", "kubernetes.client.rest", "client", "urllib3"):
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() < logging.INFO:
            logger.setLevel(logging.INFO)
        if not any(isinstance(f, _DropBodies) for f in logger.filters):
            logger.addFilter(_DropBodies())


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
