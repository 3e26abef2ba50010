"""The steps that commands share: build, load, secret, release values, rollout and health, cleanup.

Commands (`orchestrator.commands.*`) are short lists of these steps; a step never imports a command.
Each step is idempotent and does nothing when nothing changed: images with an existing content tag
are not rebuilt, an image the cluster has is not loaded again, an unchanged Secret is not written.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.errors import DeployNeedsAction, EnvironmentProblem, OrchestratorError
from orchestrator.kube.cluster import Cluster
from orchestrator.kube.secret_store import SecretWrite
from orchestrator.paths import CHART_DIR
from orchestrator.run.events import Reporter
from orchestrator.run.phases import PhaseClock
from orchestrator.settings.config import Settings, Target
from orchestrator.settings.defaults import HEALTH_TIMEOUT_S, IMAGE_BUDGET_MB, ROLLOUT_TIMEOUT_S
from orchestrator.settings.embedded import DATABASE_IMAGE, KEPT_KEYS, Resolved, embedded_database
from orchestrator.settings.profiles import merge_values, profile_values


@dataclass(frozen=True)
class UpOptions:
    dry_run: bool = False
    recover: bool = False
    rollback: bool = True
    timeout_s: float = ROLLOUT_TIMEOUT_S
    health_timeout_s: float = HEALTH_TIMEOUT_S
    url: str | None = None
    registry: str | None = None
    build_in_cluster: bool = False
    budget_mb: float = IMAGE_BUDGET_MB
    image_budgets_mb: Mapping[str, float] = field(default_factory=dict)
    require_scan: bool = False
    chart_dir: Path = CHART_DIR
    wait_lock: bool = True
    no_start: bool = False  # never start, unpause or reconfigure minikube: exit 3 with the commands instead


@dataclass(frozen=True)
class Access:
    """How to reach the app after `up`: the URL that answered /health and the summary's lines (the URL
    that works now, and the /etc/hosts line when the Ingress host does not point at the cluster here)."""

    url: str
    lines: tuple[str, ...] = ()


# --- pure decisions -----------------------------------------------------------------------------


def split_ref(ref: str) -> tuple[str, str, str]:
    """`registry:5000/todo-backend:abc@sha256:..` -> (`registry:5000/todo-backend`, `abc`, `sha256:..`)."""
    name, _, digest = ref.partition("@")
    repository, _, tag = name.rpartition(":")
    return repository, tag, digest


def image_values(ref: str) -> dict[str, str]:
    """A component's chart image values; the digest only when the image was pushed (its bytes are fixed)."""
    repository, tag, digest = split_ref(ref)
    values = {"repository": repository, "tag": tag}
    if digest:
        values["digest"] = digest
    return values


def release_values(settings: Settings, refs: Mapping[str, str], secret: SecretWrite) -> dict[str, Any]:
    """The chart values of one deploy, over the profile's values. Names and versions only: never a secret value."""
    config = settings.config_values()
    values = {
        "backend": {"image": image_values(refs["todo-backend"])},
        "frontend": {"image": image_values(refs["todo-frontend"])},
        "secrets": {"existingSecret": secret.name, "version": secret.version},
        "database": {"enabled": embedded_database(settings.secrets)},
        "ingress": {"host": settings.ingress_host},
        "config": {
            "logLevel": config["LOG_LEVEL"],
            "environment": config["ENVIRONMENT"],
            "featureFlags": config["FEATURE_FLAGS"],
        },
    }
    return merge_values(profile_values(settings.profile), values)


def secret_values_to_redact(settings: Settings, rest: Any) -> list[str]:
    """The user's secret values and the ones a run generated and kept in the cluster (JWT_SECRET, the
    in-cluster database's password and the DATABASE_URL made from it): a pod may print any of them."""
    from orchestrator.kube.cluster import fullname
    from orchestrator.kube.secret_store import read_kept_values
    from orchestrator.settings.embedded import DATABASE_PASSWORD_KEY, KEPT_KEYS, database_service, database_url

    values = list(settings.secret_values().values())
    kept = read_kept_values(rest, settings.namespace, settings.release, KEPT_KEYS)
    values += kept.values()
    if DATABASE_PASSWORD_KEY in kept:
        values.append(database_url(database_service(fullname(settings.release)), kept[DATABASE_PASSWORD_KEY]))
    return values


def logs_redacted(cluster: Cluster, settings: Settings) -> Any:
    from orchestrator.kube.rollout.wait import api_logs_fn
    from orchestrator.redact import Redactor

    fetch = api_logs_fn(cluster.api)
    redactor = Redactor(settings.secret_values().values())

    def redacted(namespace: str, pod: str, container: str) -> list[str]:
        try:
            return [redactor.redact(line) for line in fetch(namespace, pod, container)]
        except Exception as exc:  # logs are a courtesy in an error report, never a new failure
            return [f"(logs unavailable: {type(exc).__name__})"]

    return redacted


def probe_failures_redacted(cluster: Cluster, settings: Settings) -> Any:
    from orchestrator.kube.rollout.wait import api_probe_failures_fn
    from orchestrator.redact import Redactor

    fetch = api_probe_failures_fn(cluster.api)
    redactor = Redactor(settings.secret_values().values())

    def redacted(namespace: str, pod: str) -> list[str]:
        try:
            return [redactor.redact(line) for line in fetch(namespace, pod)]
        except Exception as exc:  # a courtesy in an error report, never a new failure
            return [f"(events unavailable: {type(exc).__name__})"]

    return redacted


# --- steps ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Built:
    refs: dict[str, str]  # image name -> content-tagged ref
    archives: dict[str, Path]  # image name -> the `docker save` archive its policy check wrote


@contextmanager
def image_archives(opts: UpOptions, cluster: Cluster) -> Iterator[Path | None]:
    """A private directory for the images' archives between the images and load phases, removed
    afterwards whatever happens; None when the images do not travel as archives (built in the
    cluster's engine, or pushed to a registry)."""
    if opts.build_in_cluster or not cluster.image_target().loads_archives:
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="todo-deploy-images-") as directory:  # mode 0700
        yield Path(directory)


def build_step(
    settings: Settings, opts: UpOptions, cluster: Cluster, reporter: Reporter, archive_dir: Path | None = None
) -> Built:
    from orchestrator.images.budget import Budget
    from orchestrator.images.build import connect, default_specs
    from orchestrator.images.pipeline import build_and_check

    client = None
    if opts.build_in_cluster:
        client = _in_cluster_docker(cluster)
    report = build_and_check(
        default_specs(),
        reporter,
        settings.secret_values(),
        Budget.from_mb(opts.budget_mb, dict(opts.image_budgets_mb)),
        require_scan=opts.require_scan,
        client=client or connect(),
        archive_dir=archive_dir,
    )
    return Built({image.name: image.ref for image in report.images}, dict(report.archives))


def _in_cluster_docker(cluster: Cluster) -> Any:
    import docker
    from orchestrator.errors import InputError
    from orchestrator.kube.targets import MinikubeTarget

    target = cluster.image_target()
    if not isinstance(target, MinikubeTarget):
        raise InputError("--build-in-cluster works with the minikube target only", "drop --build-in-cluster")
    env = target.docker_env()
    tls = None
    if env.get("DOCKER_TLS_VERIFY") == "1" and env.get("DOCKER_CERT_PATH"):
        cert = Path(env["DOCKER_CERT_PATH"])
        tls = docker.tls.TLSConfig(
            client_cert=(str(cert / "cert.pem"), str(cert / "key.pem")), ca_cert=str(cert / "ca.pem"), verify=True
        )

    def client(version: str) -> Any:
        made = docker.DockerClient(base_url=env["DOCKER_HOST"], tls=tls, timeout=60, version=version)
        # requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE replace the CA docker-py sets, so minikube's
        # engine would fail verification wherever those are set; a proxy must not see it either.
        made.api.trust_env = False
        return made

    try:
        probe = client(docker.constants.MINIMUM_DOCKER_API_VERSION)  # no request at construction
        try:
            api_version = probe.api.version(api_version=False)["ApiVersion"]
        finally:
            probe.close()
    except (docker.errors.DockerException, OSError) as exc:
        raise EnvironmentProblem(
            f"cannot reach minikube's Docker engine at {env['DOCKER_HOST']} ({type(exc).__name__})",
            "check `minikube status` and `eval $(minikube docker-env) && docker version`",
        ) from exc
    return client(api_version)


def load_step(built: Built, opts: UpOptions, cluster: Cluster, reporter: Reporter) -> dict[str, str]:
    if opts.build_in_cluster:
        for ref in built.refs.values():
            reporter.emit("image.load_skipped", image=ref, target="minikube", reason="built in the cluster's engine")
        return dict(built.refs)
    target = cluster.image_target()
    return {name: target.load(ref, reporter, built.archives.get(name)) for name, ref in built.refs.items()}


def prepare_minikube(
    reporter: Reporter, *, no_start: bool, binary: str = "minikube", meanwhile: Callable[[], object] = lambda: None
) -> list[str]:
    """Make minikube deployable: plan from its status and addons, announce each action, run it, plan
    again (an action changes what the next one sees). Returns the commands run. `no_start`: run
    nothing; a cluster that needs an action is exit 3 with the commands. The first status and addon
    list run side by side, and `meanwhile` runs here while they do (`up` imports the Kubernetes client:
    its half second overlaps minikube's own)."""
    from orchestrator.kube.minikube_setup import needs_action, plan_actions, require_minikube
    from orchestrator.kube.targets import MinikubeTarget
    from orchestrator.shell import alongside

    target = MinikubeTarget(binary=require_minikube(binary))
    done: list[str] = []
    for attempt in range(6):
        if attempt == 0:  # the addon list is asked for on speculation: used only when minikube runs
            state, listed = alongside(target.state, target.addons, meanwhile=meanwhile)
        else:
            state, listed = target.state(), None
        running = state.fields.get("Host") == "Running" and state.fields.get("APIServer") == "Running"
        if not running:
            addons = None
        elif isinstance(listed, dict):
            addons = listed
        else:  # not asked yet, or asked while minikube was not ready: ask (again); its error counts now
            addons = target.addons()
        actions = plan_actions(state.exit_code, state.fields, addons)
        if not actions:
            return done
        if no_start:
            raise needs_action(actions)
        action = actions[0]
        command = action.command()
        reporter.emit(
            "minikube.action",
            step=action.step.value,
            command=command,
            reason=action.why,
            message=f"{action.why}: running `{command}`",
        )
        target.run_action(action.argv)
        done.append(command)
    raise EnvironmentProblem(
        "minikube did not become ready after " + ", ".join(done),
        "check `minikube status` and `minikube logs`, then run `invoke up` again",
    )


def wait_for_ingress_controller(cluster: Cluster, reporter: Reporter, timeout_s: float = 300) -> None:
    """The ingress addon's controller must be ready before an Ingress can be created: until then its
    admission webhook refuses it (kubernetes/minikube#13799)."""
    import time

    from orchestrator.kube.api import api_error, call
    from orchestrator.kube.rest import core_path

    rest = cluster.rest()
    selector = "app.kubernetes.io/component=controller"
    deadline = time.monotonic() + timeout_s
    interval = 0.25  # right after `addons enable` the controller is usually ready within a second or two
    announced = False
    while True:
        try:
            pods = call(rest.get, core_path("ingress-nginx", "pods"), labelSelector=selector).get("items") or []
        except Exception as exc:
            raise api_error(exc, "reading the ingress controller's pods") from None
        ready = [
            p
            for p in pods
            if any(
                c.get("type") == "Ready" and c.get("status") == "True"
                for c in (p.get("status") or {}).get("conditions") or []
            )
        ]
        if ready:
            if announced:
                reporter.emit("minikube.ingress_ready", pod=ready[0]["metadata"]["name"])
            return
        if time.monotonic() > deadline:
            raise EnvironmentProblem(
                "the ingress controller (namespace ingress-nginx) is not ready",
                "check `kubectl -n ingress-nginx get pods` and `minikube addons enable ingress`",
            )
        if not announced:
            reporter.emit("minikube.ingress_waiting", message="waiting for the ingress controller to be ready")
            announced = True
        time.sleep(interval)
        interval = min(interval * 2, 2.0)


def database_image_step(opts: UpOptions, cluster: Cluster, reporter: Reporter) -> str:
    """Get the in-cluster database's image onto the node the way the app images get there: skipped
    when the node has it; otherwise taken from this machine's engine (pulled first when missing)."""
    ref = DATABASE_IMAGE
    if opts.build_in_cluster or opts.registry:
        reporter.emit("image.load_skipped", image=ref, target="cluster", reason="the cluster's own engine pulls it")
        return ref
    target = cluster.image_target()
    present = getattr(target, "present", None)
    if present is None or not present(ref):
        from orchestrator.images.build import connect, ensure_local_image

        ensure_local_image(connect(), ref, reporter)
    return target.load(ref, reporter)


def resolve_secrets(
    settings: Settings, cluster: Cluster, reporter: Reporter, *, announce: bool = True
) -> tuple[Settings, Resolved]:
    """The run's secret values: the user's, and for each key left out its default (kept from an
    earlier run in the newest Secret version, or generated now). Each default is announced once
    (`announce=False` leaves that to `announce_defaults`)."""
    from orchestrator.kube.cluster import fullname
    from orchestrator.kube.secret_store import read_kept_values
    from orchestrator.settings.embedded import resolve

    user = settings.secret_values()
    needs_kept = "JWT_SECRET" not in user or embedded_database(user)
    kept = read_kept_values(cluster.rest(), settings.namespace, settings.release, KEPT_KEYS) if needs_kept else {}
    resolved = resolve(user, kept, release=settings.release, fullname=fullname(settings.release))
    if announce:
        announce_defaults(resolved, reporter)
    return settings.with_secrets(resolved.values), resolved


def announce_defaults(resolved: Resolved, reporter: Reporter) -> None:
    for note in resolved.announcements:
        reporter.emit("default.used", key=note.key, origin=note.origin.value, message=note.message)


def namespace_step(settings: Settings, cluster: Cluster, reporter: Reporter) -> None:
    """The release's namespace exists (created, or waited for while a deleted one is still going)."""
    from orchestrator.kube.secret_store import ensure_namespace

    def waiting() -> None:
        reporter.emit("namespace.waiting", namespace=settings.namespace, reason="Terminating")
        reporter.log(f"namespace {settings.namespace} is being deleted: waiting for it to go before creating it again")

    if ensure_namespace(cluster.rest(), settings.namespace, on_wait=waiting):
        reporter.emit("namespace.created", namespace=settings.namespace)


def secret_step(settings: Settings, cluster: Cluster, reporter: Reporter) -> SecretWrite:
    """Write the Secret of `settings` (resolved: the user's values and the defaults)."""
    from orchestrator.kube.secret_store import read_secret_keys, write_secret

    rest = cluster.rest()
    namespace_step(settings, cluster, reporter)
    written = write_secret(rest, settings.namespace, settings.release, settings.secret_values())
    reporter.emit(
        "secret.written" if written.written else "secret.unchanged",
        name=written.name,
        version=written.version,
        namespace=settings.namespace,
    )
    missing = sorted(set(settings.secrets) - read_secret_keys(rest, settings.namespace, written.name))
    if missing:
        raise DeployNeedsAction(
            f"Secret {written.name} lacks the key(s) {', '.join(missing)}",
            f"delete it (`kubectl -n {settings.namespace} delete secret {written.name}`) and run `invoke up` again",
        )
    return written


def check_kubernetes_version(settings: Settings, opts: UpOptions, cluster: Cluster, reporter: Reporter) -> None:
    """Fail fast (exit 3, before any build) when the server is older than the chart's kubeVersion."""
    from orchestrator.kube.version import chart_minimum, dotted, judge, server_git_version

    minimum = chart_minimum(opts.chart_dir)
    verdict = judge(server_git_version(cluster.api), minimum)
    reporter.emit("cluster.version", server=verdict.server, minimum=dotted(minimum) if minimum else None, ok=verdict.ok)
    if not verdict.ok:
        raise verdict.error(settings.target)


def rollout_and_health(
    settings: Settings,
    opts: UpOptions,
    cluster: Cluster,
    reporter: Reporter,
    clock: PhaseClock,
    *,
    previous_revision: int | None,
    first_install: bool,
    upgraded: bool,
) -> Access:
    """Watch the rollout, then /health. On a rollout failure roll back (after collecting diagnostics)."""
    from orchestrator.kube.rollout.wait import wait_for_rollout

    workloads = cluster.workloads
    with clock.phase("rollout") as note:
        outcome = wait_for_rollout(
            cluster.api,
            settings.namespace,
            workloads.deployments,
            opts.timeout_s,
            reporter,
            logs_fn=logs_redacted(cluster, settings),
            probes_fn=probe_failures_redacted(cluster, settings),
            selector=workloads.selector,
        )
        reporter.emit(
            "rollout.result",
            ok=outcome.ok,
            reason=outcome.reason,
            mode=outcome.mode,
            retries=outcome.retries,
            relists=outcome.relists,
            seconds=outcome.seconds,
        )
        if not outcome.ok:
            raise _after_failed_rollout(outcome, opts, cluster, reporter, previous_revision, first_install, upgraded)
        note["summary"] = f"{len(workloads.deployments)} deployments ready ({outcome.mode})"
    with clock.phase("health") as note:
        access = health_step(settings, opts, cluster, reporter)
        note["summary"] = access.url
    return access


def _after_failed_rollout(
    outcome: Any,
    opts: UpOptions,
    cluster: Cluster,
    reporter: Reporter,
    previous_revision: int | None,
    first_install: bool,
    upgraded: bool,
) -> OrchestratorError:
    """The diagnostics are in `outcome` already; now undo the release change when asked to."""
    if not opts.rollback or not upgraded:
        return outcome.error(rolled_back=False)
    if not cluster.answers():  # helm would only wait through its own retries (client-go's, 10 for a 503) and fail
        return _unverified(outcome.error(rolled_back=False), "the rollback was not tried: the API did not answer")
    helm = cluster.helm()
    try:
        if first_install:
            helm.uninstall()
            reporter.emit("helm.rolled_back", release=cluster.settings.release, to_revision=None, uninstalled=True)
        elif previous_revision is not None:
            helm.rollback(previous_revision)
        else:
            return outcome.error(rolled_back=False)
    except OrchestratorError as err:
        error = outcome.error(rolled_back=False)
        error.details.append(f"the rollback failed too: {err.message}")
        if isinstance(err, EnvironmentProblem):  # the API stopped answering: nothing is known about the pods
            return _unverified(error)
        return error
    return outcome.error(rolled_back=True)


def _unverified(error: OrchestratorError, *notes: str) -> OrchestratorError:
    """A failed rollout whose release cannot be checked or undone: the API stopped answering."""
    return DeployNeedsAction(
        f"{error.message}; the Kubernetes API stopped answering, so the deployed release is unverified "
        "and was not rolled back",
        "once `kubectl get nodes` answers again, run `invoke up` again: it checks the deployed release",
        details=[*error.details, *notes],
    )


def health_step(settings: Settings, opts: UpOptions, cluster: Cluster, reporter: Reporter) -> Access:
    from orchestrator.kube.health import (
        PortForward,
        access_lines,
        build_candidates,
        check_health,
        frontend_node_port,
        resolve_host,
    )
    from orchestrator.kube.targets import MinikubeTarget

    ip = None
    if settings.target is Target.MINIKUBE and not opts.registry:
        target = cluster.image_target()
        if isinstance(target, MinikubeTarget):
            try:
                ip = target.ip()
            except OrchestratorError:
                ip = None
    frontend = cluster.workloads.frontend
    node_port = frontend_node_port(cluster.api, settings.namespace, frontend) if ip else None
    candidates = build_candidates(
        url=opts.url,
        minikube_ip=ip,
        ingress_host=settings.ingress_host,
        node_port=node_port,
        port_forward=PortForward(
            frontend, settings.namespace, str(cluster.frozen.kubeconfig_path), cluster.frozen.name
        ),
    )
    result = check_health(candidates, reporter, opts.health_timeout_s)
    if not result.ok:
        raise result.error()
    lines = access_lines(
        result.url,
        result.via,
        ip=ip,
        host=settings.ingress_host,
        node_port=node_port,
        host_addresses=resolve_host(settings.ingress_host),
        namespace=settings.namespace,
        service=frontend,
    )
    return Access(result.url, tuple(lines))


def collect_garbage(settings: Settings, cluster: Cluster, reporter: Reporter, keep: set[str]) -> None:
    """Old Secret versions go once a rollout on the new one succeeded (the newest two stay)."""
    from orchestrator.kube.secret_store import garbage_collect

    try:
        deleted = garbage_collect(cluster.rest(), settings.namespace, settings.release, keep=keep, keep_last=2)
    except OrchestratorError as err:  # tidying up must never fail a good deploy
        reporter.log(f"old Secret versions were not removed: {err.message}")
        return
    for name in deleted:
        reporter.emit("secret.deleted", name=name)


def deployed_secret(helm_values: Mapping[str, Any]) -> str | None:
    secrets = helm_values.get("secrets") or {}
    return secrets.get("existingSecret") or None


# --- what a run will change (decided before the deploy lock is taken) ----------------------------


@dataclass(frozen=True)
class ReleasePlan:
    """What `up` would change, read without writing: the Secret version, whether it exists, the
    release history and helm's decision on it."""

    secret: SecretWrite
    secret_present: bool
    history: tuple[Any, ...]
    action: Any  # helm.Action

    @property
    def changes_something(self) -> bool:
        from orchestrator.kube.helm import Action

        return not self.secret_present or self.action is not Action.SKIP

    @property
    def summary(self) -> str:
        """The plan phase's line: what the next phases will change (`new Secret, helm install`)."""
        from orchestrator.kube.helm import Action

        release = {
            Action.INSTALL: "helm install",
            Action.UPGRADE: "helm upgrade",
            Action.STUCK: "recover the pending release",
            Action.SKIP: "release unchanged",
        }.get(self.action, str(self.action))
        if not self.changes_something:
            return "nothing to change"
        return ", ".join(["new Secret"] * (not self.secret_present) + [release])


def plan_release(settings: Settings, opts: UpOptions, cluster: Cluster, refs: Mapping[str, str]) -> ReleasePlan:
    """Reads only: the Secret this run would write, and what helm would do with the release."""
    from orchestrator.kube import helm as helm_mod
    from orchestrator.kube.secret_store import read_secret_keys, secret_name, secret_version

    version = secret_version(settings.secret_values())
    secret = SecretWrite(secret_name(settings.release, version), version, False)
    present = set(settings.secret_values()) <= read_secret_keys(cluster.rest(), settings.namespace, secret.name)
    history = tuple(cluster.helm().history())
    fp = helm_mod.fingerprint(opts.chart_dir, release_values(settings, refs, secret))
    return ReleasePlan(secret, present, history, helm_mod.decide(history, fp))


# --- dry run -------------------------------------------------------------------------------------


def show_plan(settings: Settings, opts: UpOptions, cluster: Cluster, reporter: Reporter) -> dict[str, Any]:
    from orchestrator.images.build import _image_attrs, connect, default_specs, plan
    from orchestrator.kube import helm as helm_mod
    from orchestrator.kube.secret_store import SecretWrite, read_secret_keys, secret_name, secret_version

    client = connect()
    target = cluster.image_target()
    refs: dict[str, str] = {}
    for spec in default_specs():
        p = plan(spec, client)
        refs[spec.name] = p.ref
        exists = _image_attrs(client, p.ref) is not None
        reporter.emit("plan.image", image=spec.name, ref=p.ref, action="skip" if exists else "build")
        has = getattr(target, "has_image", None)
        loaded = bool(has and has(p.ref))
        reporter.emit("plan.load", image=p.ref, action="skip" if loaded else "load")

    settings, _ = resolve_secrets(settings, cluster, reporter)
    version = secret_version(settings.secret_values())
    name = secret_name(settings.release, version)
    try:
        present = bool(read_secret_keys(cluster.rest(), settings.namespace, name))
    except OrchestratorError:
        present = False
    reporter.emit("plan.secret", name=name, action="unchanged" if present else "write")

    values = release_values(settings, refs, SecretWrite(name, version, False))
    fp = helm_mod.fingerprint(opts.chart_dir, values)
    history = cluster.helm().history()
    action = helm_mod.decide(history, fp)
    reporter.emit(
        "plan.release",
        release=settings.release,
        action=action.value,
        revision=history[-1].revision if history else None,
    )
    return {"images": refs, "secret": name, "release": action.value}
