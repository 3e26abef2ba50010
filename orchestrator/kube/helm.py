"""Helm: pure argv builders, the skip rule, stuck-release recovery, and the calls themselves.

Rules this module keeps:
- never `--set`: values go through a 0600 YAML file that is always removed; secrets never go to helm
  at all (the chart references a Secret the orchestrator writes through the API);
- never `--wait`: the orchestrator watches the rollout itself (rollout.wait) and reports why;
- every release carries `--description "todo-deploy fingerprint=<sha256>"` over the chart files and
  the values, so an unchanged deploy is skipped: `helm history` shows the last revision's
  description and status, and the same fingerprint on a `deployed` revision means nothing to do;
- a release left `pending-*` by a killed helm blocks every later upgrade: `recover()` rolls back to
  the last deployed revision, or uninstalls when the first install never deployed;
- helm does not retry an API server it cannot reach: a call that failed that way, fast, is made
  again, up to three attempts with a growing pause (events `helm.retry`). A retried upgrade that had started
  writing finds the release locked and says so (`--recover`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import yaml

from orchestrator import shell
from orchestrator.errors import DeployNeedsAction, EnvironmentProblem, InputError, OrchestratorError
from orchestrator.kube.ingress import CONTROLLER_SELECTOR, INGRESS_NAMESPACE, WEBHOOK_NAME
from orchestrator.run.events import Reporter
from orchestrator.run.interrupts import scratch, unscratch
from orchestrator.settings.defaults import ROLLOUT_TIMEOUT_S
from orchestrator.shell import CommandFailed

FINGERPRINT_PREFIX = "todo-deploy fingerprint="
PENDING_STATUSES = ("pending-install", "pending-upgrade", "pending-rollback")
# helm's wording when the API server cannot be reached. Only a failure that came fast is retried: a
# slow one means helm's client already retried (it does so for 503s, about 10 s).
UNREACHABLE_MARKERS = (
    "kubernetes cluster unreachable",
    "connection refused",
)
FAST_FAILURE_S = 5.0
UNAVAILABLE_MARKER = "the server is currently unable to handle the request"  # a 503
RETRY_WAITS_S = (1.5, 3.0)  # pauses between the three attempts
RECOVER_HINT = "run `invoke up --recover` (rolls back to the last deployed revision, or uninstalls a first install)"

Runner = Callable[..., shell.Result]


# --- pure argv builders --------------------------------------------------------------------------


@dataclass(frozen=True)
class HelmTarget:
    """Where a release lives: every argv carries the frozen kubeconfig and context explicitly."""

    release: str
    namespace: str
    kubeconfig: str
    kube_context: str | None = None
    binary: str = "helm"

    def common(self) -> list[str]:
        argv = ["--namespace", self.namespace, "--kubeconfig", self.kubeconfig]
        if self.kube_context:
            argv += ["--kube-context", self.kube_context]
        return argv


def upgrade_argv(
    release: str,
    chart_dir: str | Path,
    namespace: str,
    values_file: str | Path,
    kubeconfig: str,
    kube_context: str | None,
    timeout_s: float,
    description: str,
    *,
    disable_openapi_validation: bool = False,
    extra: Sequence[str] = (),
    binary: str = "helm",
) -> list[str]:
    """`helm upgrade --install` with one values file; no --wait, no --set."""
    for arg in extra:
        if arg.startswith("--set") or arg.startswith("--wait"):
            raise InputError(
                f"helm argument {arg.split('=')[0]} is not allowed", "put non-secret values in the chart values"
            )
    argv = [binary, "upgrade", "--install", release, str(chart_dir)]
    argv += HelmTarget(release, namespace, kubeconfig, kube_context).common()
    argv += ["-f", str(values_file), "--timeout", f"{int(max(1, timeout_s))}s", "--description", description]
    if disable_openapi_validation:
        argv.append("--disable-openapi-validation")
    argv += list(extra)
    return argv


def rollback_argv(t: HelmTarget, revision: int | None, timeout_s: float = ROLLOUT_TIMEOUT_S) -> list[str]:
    argv = [t.binary, "rollback", t.release]
    if revision is not None:
        argv.append(str(revision))
    return argv + t.common() + ["--timeout", f"{int(max(1, timeout_s))}s"]


def uninstall_argv(t: HelmTarget, timeout_s: float = ROLLOUT_TIMEOUT_S) -> list[str]:
    return [t.binary, "uninstall", t.release, *t.common(), "--timeout", f"{int(max(1, timeout_s))}s"]


def history_argv(t: HelmTarget, max_revisions: int = 20) -> list[str]:
    return [t.binary, "history", t.release, *t.common(), "--max", str(max_revisions), "-o", "json"]


def status_argv(t: HelmTarget) -> list[str]:
    return [t.binary, "status", t.release, *t.common(), "-o", "json"]


def get_values_argv(t: HelmTarget, revision: int, all_values: bool = False) -> list[str]:
    """Always with `--revision`: without it helm returns the *last* revision's values, even a failed one
    (helm/helm pkg/action/get_values.go and pkg/action/action.go `releaseContent`: revision 0 reads
    `Releases.Last`, whatever its status)."""
    argv = [t.binary, "get", "values", t.release, *t.common(), "--revision", str(revision), "-o", "json"]
    return argv + (["--all"] if all_values else [])


# --- fingerprint and history (pure) --------------------------------------------------------------


def fingerprint(chart_dir: str | Path, values: Mapping[str, Any]) -> str:
    """sha256 over every chart file (relative path + bytes, sorted) and the values as canonical JSON."""
    root = Path(chart_dir)
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        digest.update(rel.encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    digest.update(b"values\0" + json.dumps(values, sort_keys=True, separators=(",", ":"), default=str).encode())
    return digest.hexdigest()


def description_for(fp: str) -> str:
    return f"{FINGERPRINT_PREFIX}{fp}"


@dataclass(frozen=True)
class Revision:
    revision: int
    status: str
    description: str
    chart: str = ""
    app_version: str = ""
    updated: str = ""

    @property
    def fingerprint(self) -> str | None:
        if self.description.startswith(FINGERPRINT_PREFIX):
            return self.description[len(FINGERPRINT_PREFIX) :].split()[0]
        return None


def parse_history(text: str) -> list[Revision]:
    """`helm history -o json` -> revisions, oldest first."""
    data = json.loads(text or "[]") or []
    revisions = [
        Revision(
            revision=int(item.get("revision", 0)),
            status=str(item.get("status", "")),
            description=str(item.get("description", "")),
            chart=str(item.get("chart", "")),
            app_version=str(item.get("app_version", "")),
            updated=str(item.get("updated", "")),
        )
        for item in data
    ]
    return sorted(revisions, key=lambda r: r.revision)


class Action(str, Enum):
    INSTALL = "install"
    UPGRADE = "upgrade"
    SKIP = "skip"
    STUCK = "stuck"


_ROLLBACK_TO = re.compile(r"^Rollback to (\d+)$")


def content_fingerprint(history: Sequence[Revision], revision: Revision) -> str | None:
    """The fingerprint of what a revision runs: a `Rollback to N` revision runs revision N's content."""
    seen: set[int] = set()
    current: Revision | None = revision
    while current is not None and current.revision not in seen:
        if current.fingerprint is not None:
            return current.fingerprint
        seen.add(current.revision)
        match = _ROLLBACK_TO.match(current.description.strip())
        if match is None:
            return None
        target = int(match.group(1))
        current = next((r for r in history if r.revision == target), None)
    return None


def decide(history: Sequence[Revision], fp: str) -> Action:
    """Install, upgrade, skip (same fingerprint already deployed) or stuck (a pending-* release)."""
    if not history:
        return Action.INSTALL
    last = history[-1]
    if last.status in PENDING_STATUSES:
        return Action.STUCK
    if last.status == "deployed" and content_fingerprint(history, last) == fp:
        return Action.SKIP
    if all(r.status == "uninstalled" for r in history):
        return Action.INSTALL
    return Action.UPGRADE


def last_deployed(history: Sequence[Revision], before: int | None = None) -> Revision | None:
    """The newest revision that reached `deployed` or `superseded` (was deployed once), below `before`."""
    for rev in reversed(history):
        if before is not None and rev.revision >= before:
            continue
        if rev.status in ("deployed", "superseded"):
            return rev
    return None


@dataclass(frozen=True)
class RecoveryPlan:
    action: str  # "none" | "rollback" | "uninstall"
    to_revision: int | None = None


def plan_recovery(history: Sequence[Revision]) -> RecoveryPlan:
    if not history or history[-1].status not in PENDING_STATUSES:
        return RecoveryPlan("none")
    stuck = history[-1]
    good = last_deployed(history, before=stuck.revision)
    if good is None:
        return RecoveryPlan("uninstall")
    return RecoveryPlan("rollback", good.revision)


def stuck_error(release: str, status: str) -> DeployNeedsAction:
    return DeployNeedsAction(f"helm release {release} is stuck in {status} (a helm run was interrupted)", RECOVER_HINT)


def webhook_unavailable(stderr: str) -> bool:
    """Did the API server fail to call an admission webhook (the ingress controller not ready yet)?

    The API server words it `failed calling webhook "<name>": failed to call webhook: Post ...: dial
    tcp ...: connect: connection refused` (kubernetes/kubernetes
    staging/src/k8s.io/apiserver/pkg/util/webhook/error.go): the API server answered, so this is not
    an unreachable cluster, although the text says "connection refused". Pure."""
    return "failed calling webhook" in stderr.lower()


def ingress_conflict(stderr: str) -> str | None:
    """ingress-nginx's webhook refusing an Ingress whose host and path another Ingress routes: the
    `host "..." and path "..." is already defined in ingress ns/name` part, else None. Pure.
    (kubernetes/ingress-nginx internal/ingress/controller/controller.go, checkOverlap)"""
    match = re.search(r'host "[^"]*" and path "[^"]*" is already defined in ingress [\w.-]+/[\w.-]+', stderr)
    return match.group(0) if match else None


def unreachable(stderr: str) -> bool:
    """Did helm fail because the API server could not be reached (worth another attempt)? Pure."""
    lowered = stderr.lower()
    return not webhook_unavailable(stderr) and any(marker in lowered for marker in UNREACHABLE_MARKERS)


def classify_failure(exc: CommandFailed, release: str) -> OrchestratorError:
    """Map a failed helm command to the project's error with the next step."""
    stderr = exc.result.stderr
    lowered = stderr.lower()
    if webhook_unavailable(stderr):
        return EnvironmentProblem(
            f"the ingress controller is not ready: its admission webhook ({WEBHOOK_NAME}) could not be called, "
            f"so the API server refused the Ingress of release {release}",
            f"wait until `kubectl -n {INGRESS_NAMESPACE} get pods -l {CONTROLLER_SELECTOR}` shows the controller "
            "ready (it takes a minute after `minikube addons enable ingress`), then run `invoke up` again",
            details=exc.details,
        )
    conflict = ingress_conflict(stderr)
    if conflict:
        return InputError(
            f"the ingress controller refused the Ingress of release {release}: {conflict}",
            "another Ingress already serves that host and path: remove it (`kubectl delete ingress -n <namespace> "
            "<name>`) or deploy with another --release/--namespace (each pair gets its own host)",
            details=exc.details,
        )
    if unreachable(stderr) or UNAVAILABLE_MARKER in lowered:
        return EnvironmentProblem(
            "the Kubernetes cluster is unreachable for helm",
            "start it (`minikube start`) and check `kubectl get nodes`",
            details=exc.details,
        )
    if "another operation (install/upgrade/rollback) is in progress" in lowered:
        return DeployNeedsAction(
            f"helm release {release} is locked by an unfinished operation", RECOVER_HINT, details=exc.details
        )
    if "values don't meet the specifications of the schema" in lowered or "parse error" in lowered:
        return InputError(
            f"the chart rejected the values for release {release}",
            "fix the values named above (charts/todo-app/values.schema.json)",
            details=exc.details,
        )
    return DeployNeedsAction(
        f"helm failed for release {release}",
        "read the helm output above; `helm history` shows the release state",
        details=exc.details,
    )


# --- values file ---------------------------------------------------------------------------------


@contextmanager
def values_file(values: Mapping[str, Any], directory: str | None = None) -> Iterator[Path]:
    """Write non-secret values to a 0600 YAML file; remove it however the block ends."""
    fd, name = tempfile.mkstemp(prefix="todo-values-", suffix=".yaml", dir=directory)
    path = Path(name)
    scratch(path)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            yaml.safe_dump(json.loads(json.dumps(values, default=str)), handle, sort_keys=True)
        yield path
    finally:
        path.unlink(missing_ok=True)
        unscratch(path)


# --- the calls -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class UpgradeOutcome:
    action: Action
    fingerprint: str
    revision: int | None


class Helm:
    """Helm calls for one release. `run` is injectable (tests pass a fake helm through PATH instead)."""

    def __init__(
        self,
        target: HelmTarget,
        reporter: Reporter,
        *,
        run: Runner = shell.run,
        env: Mapping[str, str] | None = None,
        retry_waits_s: Sequence[float] = RETRY_WAITS_S,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        await_ingress_controller: Callable[[], bool] | None = None,
    ) -> None:
        self.target = target
        self.await_ingress_controller = await_ingress_controller
        self.reporter = reporter
        self._run = run
        self.env = {"KUBECONFIG": target.kubeconfig, **(env or {})}
        self.retry_waits_s = tuple(retry_waits_s)
        self._sleep = sleep
        self._clock = clock

    def _attempts(self, argv: list[str], **kwargs: Any) -> shell.Result:
        """Run helm; when the API server was unreachable, wait and run it again (bounded)."""
        for attempt, wait_s in enumerate((*self.retry_waits_s, None), start=1):
            started = self._clock()
            try:
                return self._run(argv, env=self.env, **kwargs)
            except CommandFailed as exc:
                fast = self._clock() - started < FAST_FAILURE_S
                if wait_s is None or not fast or not unreachable(exc.result.stderr):
                    raise
                self.reporter.emit(
                    "helm.retry",
                    command=argv[1],
                    attempt=attempt,
                    wait_s=wait_s,
                    reason="the Kubernetes API server was unreachable",
                )
                self._sleep(wait_s)
        raise AssertionError("unreachable")  # the loop returns or raises

    def _call(self, argv: list[str], timeout: float | None = None, own_session: bool = False) -> shell.Result:
        """Run helm; release-writing calls get their own session so Ctrl-C cannot cut them in half."""
        try:
            return self._attempts(argv, timeout=timeout, own_session=own_session)
        except CommandFailed as exc:
            raise classify_failure(exc, self.target.release) from exc

    def history(self) -> list[Revision]:
        try:
            result = self._attempts(history_argv(self.target), timeout=120)
        except CommandFailed as exc:
            if "release: not found" in exc.result.stderr.lower():
                return []
            raise classify_failure(exc, self.target.release) from exc
        return parse_history(result.stdout)

    def status(self) -> dict[str, Any]:
        return json.loads(self._call(status_argv(self.target), timeout=120).stdout or "{}")

    def get_values(self, revision: int, all_values: bool = False) -> dict[str, Any]:
        """The values of one revision: callers pass `last_deployed(history).revision`, never the last one."""
        argv = get_values_argv(self.target, revision, all_values)
        return json.loads(self._call(argv, timeout=120).stdout or "{}") or {}

    def upgrade(
        self,
        chart_dir: str | Path,
        values: Mapping[str, Any],
        *,
        timeout_s: float = ROLLOUT_TIMEOUT_S,
        disable_openapi_validation: bool = False,
        force: bool = False,
        extra: Sequence[str] = (),
        history: Sequence[Revision] | None = None,
    ) -> UpgradeOutcome:
        """Install or upgrade unless the same chart + values are already deployed (events helm.*).

        `history`: the release history the caller has just read (saves a second `helm history`).
        """
        fp = fingerprint(chart_dir, values)
        history = self.history() if history is None else list(history)
        action = decide(history, fp)
        if action is Action.STUCK:
            raise stuck_error(self.target.release, history[-1].status)
        if action is Action.SKIP and not force:
            self.reporter.emit(
                "helm.skipped", release=self.target.release, revision=history[-1].revision, fingerprint=fp[:12]
            )
            return UpgradeOutcome(Action.SKIP, fp, history[-1].revision)
        if action is Action.SKIP:
            action = Action.UPGRADE
        with values_file(values) as path:
            argv = upgrade_argv(
                self.target.release,
                chart_dir,
                self.target.namespace,
                path,
                self.target.kubeconfig,
                self.target.kube_context,
                timeout_s,
                description_for(fp),
                disable_openapi_validation=disable_openapi_validation,
                extra=extra,
                binary=self.target.binary,
            )
            self._upgrade_call(argv, timeout=timeout_s + 60)
        after = self.history()
        revision = after[-1].revision if after else None
        self.reporter.emit(
            "helm.upgraded", release=self.target.release, action=action.value, revision=revision, fingerprint=fp[:12]
        )
        return UpgradeOutcome(action, fp, revision)

    def _upgrade_call(self, argv: list[str], timeout: float) -> None:
        """The upgrade; refused because the ingress controller's webhook is not up yet, wait for the
        controller (bounded, `await_ingress_controller`) and run it once more."""
        try:
            self._attempts(argv, timeout=timeout, own_session=True)
            return
        except CommandFailed as exc:
            if self.await_ingress_controller is None or not webhook_unavailable(exc.result.stderr):
                raise classify_failure(exc, self.target.release) from exc
            self.reporter.emit(
                "helm.retry",
                command=argv[1],
                attempt=1,
                wait_s=None,
                reason="the ingress controller's admission webhook is not ready: waiting for the controller",
            )
            started = self._clock()
            if not self.await_ingress_controller():
                error = classify_failure(exc, self.target.release)
                error.message += f" (waited {self._clock() - started:.0f} s for the controller)"
                raise error from exc
        self._call(argv, timeout=timeout, own_session=True)

    def rollback(self, to_revision: int | None = None, timeout_s: float = ROLLOUT_TIMEOUT_S) -> int | None:
        """Roll back to `to_revision` (None: the previous one); returns the new revision number."""
        self._call(rollback_argv(self.target, to_revision, timeout_s), timeout=timeout_s + 60, own_session=True)
        after = self.history()
        revision = after[-1].revision if after else None
        self.reporter.emit("helm.rolled_back", release=self.target.release, to_revision=to_revision, revision=revision)
        return revision

    def uninstall(self, timeout_s: float = ROLLOUT_TIMEOUT_S, missing_ok: bool = True) -> bool:
        try:
            self._attempts(uninstall_argv(self.target, timeout_s), timeout=timeout_s + 60, own_session=True)
        except CommandFailed as exc:
            if missing_ok and "release: not found" in exc.result.stderr.lower():
                return False
            raise classify_failure(exc, self.target.release) from exc
        self.reporter.emit("helm.uninstalled", release=self.target.release)
        return True

    def recover(self, timeout_s: float = ROLLOUT_TIMEOUT_S) -> RecoveryPlan:
        """Unblock a release stuck in pending-*: roll back to the last deployed revision, or uninstall."""
        plan = plan_recovery(self.history())
        if plan.action == "rollback":
            self.rollback(plan.to_revision, timeout_s)
        elif plan.action == "uninstall":
            self.uninstall(timeout_s)
        return plan
