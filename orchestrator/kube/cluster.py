"""One deploy target, resolved once per run: the frozen kube context, the API client, helm, and the
way images reach the cluster. Every later step talks to the cluster only through this object, so a
context switch in another terminal cannot redirect a run that has started.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from orchestrator.kube.guard import FrozenContext, freeze_context
from orchestrator.kube.helm import Helm, HelmTarget
from orchestrator.paths import CHART_NAME
from orchestrator.run.events import Reporter
from orchestrator.settings.config import Settings, Target

if TYPE_CHECKING:  # pragma: no cover
    from orchestrator.kube.rest import Rest


def fullname(release: str) -> str:
    """The chart's `todo-app.fullname` for the default values (see charts/todo-app/_helpers.tpl)."""
    name = release if CHART_NAME in release else f"{release}-{CHART_NAME}"
    return name[:54].rstrip("-")


@dataclass(frozen=True)
class Workloads:
    """The names the chart gives a release's objects."""

    backend: str
    frontend: str
    selector: str

    @classmethod
    def of(cls, release: str) -> Workloads:
        base = fullname(release)
        return cls(f"{base}-backend", f"{base}-frontend", f"app.kubernetes.io/instance={release}")

    @property
    def deployments(self) -> list[str]:
        return [self.backend, self.frontend]


@dataclass
class Cluster:
    settings: Settings
    frozen: FrozenContext
    reporter: Reporter
    registry: str | None = None
    _api: Any = field(default=None, repr=False)
    _target: Any = field(default=None, repr=False)
    _rest: Rest | None = field(default=None, repr=False)

    @classmethod
    def open(cls, settings: Settings, reporter: Reporter, registry: str | None = None) -> Cluster:
        frozen = freeze_context(settings.target, requested=settings.kube_context, allow_remote=settings.allow_remote)
        return cls(settings, frozen, reporter, registry)

    def close(self) -> None:
        if self._api is not None:
            self._api.close()
            self._api = None
            self._rest = None
        self.frozen.cleanup()

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def api(self) -> Any:
        if self._api is None:
            from orchestrator.kube.api import quiet_client_logging

            self._api = self.frozen.api_client()
            quiet_client_logging(self._api)
        return self._api

    def rest(self) -> Rest:
        """Plain-JSON requests (orchestrator.kube.rest): what every read and write of the tool uses."""
        if self._rest is None:
            from orchestrator.kube.rest import Rest

            self._rest = Rest(self.api)
        return self._rest

    def answers(self) -> bool:
        """Whether the API server answers right now: one GET /version, no retries, a short timeout."""
        try:
            self.rest().request("GET", "/version", timeout=3, retries=False)
        except Exception:  # refused, timed out, or a non-2xx such as a 503
            return False
        return True

    @property
    def env(self) -> dict[str, str]:
        return self.frozen.env()

    @property
    def workloads(self) -> Workloads:
        return Workloads.of(self.settings.release)

    def helm(self) -> Helm:
        target = HelmTarget(
            self.settings.release, self.settings.namespace, str(self.frozen.kubeconfig_path), self.frozen.name
        )
        from orchestrator.kube.ingress import controller_waiter

        return Helm(target, self.reporter, env=self.env, await_ingress_controller=lambda: controller_waiter(self.api)())

    def image_target(self) -> Any:
        """How images reach this cluster; one object per run, so what it learned (the node's image
        list) serves every later step."""
        if self._target is None:
            self._target = self._make_target()
        return self._target

    def _make_target(self) -> Any:
        from orchestrator.kube import targets

        kubeconfig = str(self.frozen.kubeconfig_path)
        kind = self.settings.target
        if self.registry:
            return targets.RegistryTarget(self.registry)
        if kind is Target.MINIKUBE:
            return targets.MinikubeTarget(
                kubeconfig=kubeconfig, node_images=lambda: targets.node_image_names(self.rest())
            )
        if kind is Target.KIND:
            return targets.LocalCliTarget(targets.KIND, self.frozen.name.removeprefix("kind-"), kubeconfig)
        if kind is Target.K3D:
            return targets.LocalCliTarget(targets.K3D, self.frozen.name.removeprefix("k3d-"), kubeconfig)
        from orchestrator.errors import InputError

        raise InputError(
            "the registry target needs --registry HOST[:PORT]",
            "pass --registry, e.g. --registry registry.example.com:5000",
        )
