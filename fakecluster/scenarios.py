"""The scripted worlds the fake cluster can simulate, and their timing knobs (env overridable)."""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass


class Scenario(enum.Enum):
    HEALTHY = "healthy"
    SLOW = "slow"
    CRASH_LOOP = "crash-loop"
    IMAGE_NOT_LOADED = "image-not-loaded"
    MISSING_SECRET_KEY = "missing-secret-key"
    UNSCHEDULABLE = "unschedulable"
    API_FLAKY = "api-flaky"
    CRASH_ONCE = "crash-once"
    NODE_NOT_READY = "node-not-ready"

    @classmethod
    def parse(cls, name: str | Scenario) -> Scenario:
        if isinstance(name, Scenario):
            return name
        try:
            return cls(name)
        except ValueError:
            known = ", ".join(s.value for s in cls)
            raise ValueError(f"unknown scenario {name!r}; known: {known}") from None


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return float(raw) if raw else default


@dataclass(frozen=True)
class Timings:
    """Seconds. Every field can be overridden by the env var named in `from_env`."""

    ready_after: float = 0.5  # healthy pods: container start -> Ready
    slow_ready_after: float = 20.0  # slow scenario
    crash_interval: float = 2.0  # crash-loop: seconds between restarts
    flaky_delay: float = 3.0  # api-flaky: scenario start -> first 500s
    flaky_error_seconds: float = 5.0  # api-flaky: how long some requests fail with 500
    outage_seconds: float = 10.0  # api-flaky: 503s then refused connections, in total
    node_ready_after: float = 5.0  # node-not-ready: pod creation -> the node takes it
    namespace_termination: float = 0.5  # namespace DELETE -> gone (the namespace controller's work)
    tick: float = 0.2  # controller resync period
    service_account_delay: float = 0.3  # new namespace -> its `default` ServiceAccount (serviceaccounts.py)
    # Real pods: probes' initialDelaySeconds, their periodSeconds and the restart back-off are multiplied
    # by these (a short period makes a probe less patient with a busy machine: scale it with care).
    probe_scale: float = 1.0
    probe_period_scale: float = 1.0
    backoff_scale: float = 1.0
    # The ingress addon's controller pod: created -> Ready. Until then its admission webhook refuses
    # every Ingress write (fakecluster/ingress_webhook.py). On a real minikube this takes tens of seconds.
    ingress_ready_after: float = 0.5
    # An Ingress created or changed -> the ingress controller routes it; its default server answers
    # 404 until then (fakecluster/network.py). Real ingress-nginx syncs at most every ~3.3 s.
    ingress_sync_after: float = 1.0

    @classmethod
    def from_env(cls) -> Timings:
        return cls(
            ready_after=_env_float("FAKECLUSTER_READY_SECONDS", cls.ready_after),
            slow_ready_after=_env_float("FAKECLUSTER_SLOW_SECONDS", cls.slow_ready_after),
            crash_interval=_env_float("FAKECLUSTER_CRASH_INTERVAL", cls.crash_interval),
            flaky_delay=_env_float("FAKECLUSTER_FLAKY_DELAY", cls.flaky_delay),
            flaky_error_seconds=_env_float("FAKECLUSTER_FLAKY_ERROR_SECONDS", cls.flaky_error_seconds),
            outage_seconds=_env_float("FAKECLUSTER_OUTAGE_SECONDS", cls.outage_seconds),
            service_account_delay=_env_float("FAKECLUSTER_SERVICE_ACCOUNT_SECONDS", cls.service_account_delay),
            probe_scale=_env_float("FAKECLUSTER_PROBE_SCALE", cls.probe_scale),
            probe_period_scale=_env_float("FAKECLUSTER_PROBE_PERIOD_SCALE", cls.probe_period_scale),
            backoff_scale=_env_float("FAKECLUSTER_BACKOFF_SCALE", cls.backoff_scale),
            ingress_ready_after=_env_float("FAKECLUSTER_INGRESS_READY_SECONDS", cls.ingress_ready_after),
            ingress_sync_after=_env_float("FAKECLUSTER_INGRESS_SYNC_SECONDS", cls.ingress_sync_after),
            node_ready_after=_env_float("FAKECLUSTER_NODE_READY_SECONDS", cls.node_ready_after),
            namespace_termination=_env_float("FAKECLUSTER_NAMESPACE_TERMINATION_SECONDS", cls.namespace_termination),
        )

    def ready_delay(self, scenario: Scenario) -> float:
        return self.slow_ready_after if scenario is Scenario.SLOW else self.ready_after


CRASH_LOG = (
    "INFO:     Started server process [1]",
    "INFO:     Waiting for application startup.",
    "Traceback (most recent call last):",
    '  File "/app/todo_api/main.py", line 42, in lifespan',
    "    await init_db()",
    "RuntimeError: application startup failed: could not connect to the database",
    "ERROR:    Application startup failed. Exiting.",
)

HEALTHY_LOG = (
    "INFO:     Started server process [1]",
    "INFO:     Waiting for application startup.",
    "INFO:     Application startup complete.",
    "INFO:     Uvicorn running on http://0.0.0.0:8000 (Press CTRL+C to quit)",
)
