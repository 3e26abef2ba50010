"""Build the backend and frontend images: content tags, parallel builds, size budget.

    build_images(specs, reporter, client=None) -> list[BuiltImage]
        Tags every image `<name>:<12 hex of its content>` (orchestrator.images.context). A tag that
        exists locally is not rebuilt (event image.skipped); the others build at the same time, one
        thread each, streaming one image.step event per Dockerfile step, then image.built with the
        ref, the size, the bytes above the base image and the seconds taken. No `latest` tag.
        While another run on this machine builds the same tag, a build waits for it (image.waiting)
        and takes its image (orchestrator.images.build_lock).
    check_budget(images, budget, reporter, client=None) -> BudgetReport
        Sizes against the total and per-image budgets (orchestrator.images.budget).
    The image policy (HEALTHCHECK, user, secrets, vulnerability scan) is orchestrator.images.policy.

Errors: a failed build is an ImageError (exit 4) naming the failing step with the last log lines;
the build runs with forcerm, so no container is left, and a failed build tags nothing. An engine
that does not answer, or drops during a build, is an EnvironmentProblem (exit 3), not a traceback.

docker-py always uses the classic builder (FINDINGS): the Dockerfiles avoid BuildKit-only syntax.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrator.errors import EnvironmentProblem, ImageError, OrchestratorError
from orchestrator.images.budget import (
    Budget,
    BudgetReport,
    ImageSize,
    Layer,
    above_base,
    evaluate_budget,
    largest_layers,
    mb,
)
from orchestrator.images.build_lock import BuildCancelled, building
from orchestrator.images.context import base_images, content_tag, context_digest_lines, context_files
from orchestrator.run.events import Reporter

if TYPE_CHECKING:  # docker is imported lazily: `invoke --list` must not pay for it
    from docker import DockerClient

from orchestrator.paths import ROOT

ENGINE_DOWN = "Docker engine unavailable"
ENGINE_HINT = (
    "start the Docker engine (Docker Desktop, `sudo systemctl start docker`, or scripts/ensure-docker "
    "on CI) and check `docker info`; DOCKER_HOST={host}"
)
SEED_HINT = "`docker pull {image}`, or without a registry: scripts/seed-base-images"
BUILD_READ_TIMEOUT = 900  # seconds without a byte from the engine during one build step
LOG_TAIL = 20


@dataclass(frozen=True)
class ImageSpec:
    """One image to build: its repository name, Dockerfile, context directory and build args."""

    name: str
    dockerfile: Path
    context: Path
    build_args: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class BuiltImage:
    """A tagged local image. `built` is False when the tag already existed (nothing was built)."""

    name: str
    ref: str
    tag: str
    size: int
    above_base: int | None
    built: bool
    seconds: float
    image_id: str = ""
    base: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "ref": self.ref,
            "tag": self.tag,
            "image_id": self.image_id,
            "size": self.size,
            "above_base": self.above_base,
            "base": self.base,
            "built": self.built,
            "seconds": round(self.seconds, 2),
        }


def default_specs(root: Path = ROOT) -> list[ImageSpec]:
    """The project's two images: build contexts are the app folders, Dockerfiles live in docker/."""
    return [
        ImageSpec("todo-backend", root / "docker" / "backend.Dockerfile", root / "app" / "backend"),
        ImageSpec("todo-frontend", root / "docker" / "frontend.Dockerfile", root / "app" / "frontend"),
    ]


# --- the engine ----------------------------------------------------------------------------------


def _docker_host() -> str:
    import os

    return os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")


def engine_unavailable(detail: str) -> EnvironmentProblem:
    return EnvironmentProblem(f"{ENGINE_DOWN}: {detail}", ENGINE_HINT.format(host=_docker_host()))


def connect(timeout: int = 60) -> DockerClient:
    """A docker-py client for DOCKER_HOST (or the default socket) that has answered a ping."""
    import docker

    try:
        client = docker.from_env(timeout=timeout)
        client.ping()
    except docker.errors.DockerException as exc:
        raise engine_unavailable("no answer from the engine") from exc
    except Exception as exc:  # requests/urllib3 errors on a socket that accepts but does not talk
        if is_connection_loss(exc):
            raise engine_unavailable("no answer from the engine") from exc
        raise
    return client


def _connection_errors() -> tuple[type[BaseException], ...]:
    import requests
    import urllib3

    return (
        urllib3.exceptions.ProtocolError,
        requests.exceptions.ConnectionError,
        requests.exceptions.ChunkedEncodingError,
        ConnectionError,
    )


def is_connection_loss(exc: BaseException) -> bool:
    return isinstance(exc, _connection_errors())


def _image_attrs(client: DockerClient, ref: str) -> dict[str, Any] | None:
    import docker

    try:
        return client.api.inspect_image(ref)
    except docker.errors.ImageNotFound:
        return None


def ensure_local_image(client: DockerClient, ref: str, reporter: Any, *, pull_timeout_s: float = 600) -> None:
    """A third-party image (the in-cluster database's) on this machine's engine: present, or pulled
    now (`image.pulled`). Where no registry answers it cannot be had: exit 3 with the way out."""
    import docker

    if _image_attrs(client, ref) is not None:
        return
    repository, _, tag = ref.rpartition(":")
    try:
        client.images.pull(repository, tag=tag)
    except docker.errors.DockerException as exc:
        raise EnvironmentProblem(
            f"the image {ref} is not on this machine and could not be pulled ({type(exc).__name__})",
            f"run `docker pull {ref}`; on a machine without a registry, `scripts/seed-base-images` makes "
            f"one from Debian's packages; or set DATABASE_URL to use an external database",
        ) from None
    reporter.emit("image.pulled", image=ref)


# --- tags ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    spec: ImageSpec
    tag: str
    base: str | None

    @property
    def ref(self) -> str:
        return f"{self.spec.name}:{self.tag}"


def plan(spec: ImageSpec, client: DockerClient) -> Plan:
    """The content tag of `spec` (reads the context, asks the engine for the base images' IDs)."""
    if not spec.dockerfile.is_file():
        raise ImageError(f"{spec.name}: Dockerfile {spec.dockerfile} does not exist", "check the image specs")
    if not spec.context.is_dir():
        raise ImageError(f"{spec.name}: build context {spec.context} is not a directory", "check the image specs")
    text = spec.dockerfile.read_bytes()
    images, final_base = base_images(text.decode(errors="replace"), spec.build_args)
    base_ids = {}
    for image in images:
        attrs = _image_attrs(client, image)
        base_ids[image] = attrs["Id"] if attrs else "absent"
    lines = context_digest_lines(spec.context, context_files(spec.context, spec.dockerfile))
    return Plan(spec, content_tag(text, spec.build_args, base_ids, lines), final_base)


# --- building ------------------------------------------------------------------------------------


class _BuildStreams:
    """The open `/build` responses, so an interrupt can drop their connections at once.

    Dropping the connection is how a client cancels a classic build: the engine stops the step,
    removes its container (forcerm) and tags nothing. A requests response hook records them.
    """

    def __init__(self, client: DockerClient) -> None:
        self.client = client
        self.responses: list[Any] = []
        self.lock = threading.Lock()
        client.api.hooks.setdefault("response", []).append(self._record)

    def _record(self, response: Any, *args: Any, **kwargs: Any) -> Any:
        if "/build" in (response.request.path_url or ""):
            with self.lock:
                self.responses.append(response)
        return response

    def abort(self) -> None:
        import socket

        with self.lock:
            responses = list(self.responses)
        for response in responses:
            sock = getattr(getattr(response.raw, "_connection", None), "sock", None)
            try:
                if sock is not None:
                    sock.shutdown(socket.SHUT_RDWR)
                response.close()
            except OSError:
                pass

    def uninstall(self) -> None:
        try:
            self.client.api.hooks["response"].remove(self._record)
        except (KeyError, ValueError):
            pass


class _Emitter:
    """Reporter calls from several build threads, one at a time."""

    def __init__(self, reporter: Reporter) -> None:
        self.reporter = reporter
        self.lock = threading.Lock()

    def __call__(self, event: str, **fields: Any) -> None:
        with self.lock:
            self.reporter.emit(event, **fields)


@dataclass
class BuildLog:
    """The whole output of one build, and the step it was in."""

    lines: list[str] = field(default_factory=list)
    step: str = ""
    image_id: str = ""
    error: str = ""

    def tail(self, count: int = LOG_TAIL) -> list[str]:
        return self.lines[-count:]


def _read_stream(
    chunks: Iterator[dict[str, Any]], log: BuildLog, name: str, emit: _Emitter, cancel: threading.Event | None = None
) -> None:
    for chunk in chunks:
        if cancel is not None and cancel.is_set():
            # Closing the stream drops the connection, and the engine cancels the build.
            close = getattr(chunks, "close", None)
            if close:
                close()
            raise BuildCancelled(name)
        if "stream" in chunk:
            for line in str(chunk["stream"]).splitlines():
                if not line.strip():
                    continue
                log.lines.append(line)
                if line.startswith("Step "):
                    number, _, instruction = line[5:].partition(" : ")
                    log.step = line
                    emit("image.step", image=name, step=number, instruction=instruction[:160])
        elif "error" in chunk:
            log.error = str(chunk["error"]).strip()
            log.lines.append(log.error)
        elif "aux" in chunk and isinstance(chunk["aux"], dict) and "ID" in chunk["aux"]:
            log.image_id = chunk["aux"]["ID"]
        elif "status" in chunk:  # pulling a base image
            log.lines.append(" ".join(str(chunk[k]) for k in ("id", "status", "progress") if chunk.get(k)))


def _build_failed(plan_: Plan, log: BuildLog) -> ImageError:
    step = log.step or "before the first step"
    hint = f"fix the failing step in {plan_.spec.dockerfile.name} (full log above), then re-run `invoke build`"
    if log.step.split(" : ", 1)[-1].upper().startswith("FROM") or "pull access denied" in log.error:
        base = log.step.split(" : ", 1)[-1][5:].strip() or (plan_.base or "the base image")
        hint = f"the base image is missing: {SEED_HINT.format(image=base)}"
    err = ImageError(
        f"building {plan_.spec.name} failed at {step}",
        hint,
        details=[f"| {line}" for line in log.tail()],
    )
    err.log = list(log.lines)  # type: ignore[attr-defined]
    return err


def _sizes(client: DockerClient, ref: str, base: str | None) -> tuple[int, int | None, str]:
    attrs = _image_attrs(client, ref)
    if attrs is None:
        raise ImageError(f"{ref} is missing after its build", "re-run `invoke build`")
    size = int(attrs["Size"])
    base_attrs = _image_attrs(client, base) if base else None
    above = None
    if base_attrs is not None:
        above = above_base(attrs["RootFS"]["Layers"], size, base_attrs["RootFS"]["Layers"], int(base_attrs["Size"]))
    return size, above, attrs["Id"]


def _context_archive(spec: ImageSpec) -> tuple[Any, str]:
    """The build context as docker-py would send it (.dockerignore applied, an outside Dockerfile
    added under a generated name), in an anonymous temporary file: nothing is left on disk even
    when the process ends in the middle of a build."""
    import tempfile

    from docker.api.build import process_dockerfile
    from docker.utils import build as build_utils

    ignore = spec.context / ".dockerignore"
    exclude = None
    if ignore.is_file():
        exclude = [line.strip() for line in ignore.read_text().splitlines()]
        exclude = [line for line in exclude if line and not line.startswith("#")]
    name, text = process_dockerfile(str(spec.dockerfile.resolve()), str(spec.context))
    archive = build_utils.tar(
        str(spec.context), exclude=exclude, dockerfile=(name, text), fileobj=tempfile.TemporaryFile()
    )
    return archive, name


class _BuildThread(threading.Thread):
    """One build. A daemon thread: an interrupted run exits at once instead of joining a build whose
    request the engine has not answered yet (the dropped connection cancels it in the engine)."""

    def __init__(self, target: Any, *args: Any) -> None:
        super().__init__(name="build", daemon=True)
        self._work, self._args = target, args
        self.result: BuiltImage | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.result = self._work(*self._args)
        except BaseException as exc:  # handed to the caller's thread
            self.error = exc


def _build_one(
    plan_: Plan, client: DockerClient, emit: _Emitter, no_cache: bool = False, cancel: threading.Event | None = None
) -> BuiltImage:
    """Build under the machine's build lock of the ref (orchestrator.images.build_lock): when another
    run is building the same content, wait for it and take its image."""
    started = time.monotonic()

    def waiting() -> None:
        emit("image.waiting", image=plan_.spec.name, ref=plan_.ref, reason="another run on this machine is building it")

    with building(plan_.ref, cancel=cancel, on_wait=waiting):
        try:
            present = _image_attrs(client, plan_.ref) is not None
        except Exception as exc:
            if is_connection_loss(exc):
                raise engine_unavailable(f"lost while reading {plan_.ref}") from exc
            raise
        if present:
            return _skip(plan_, client, emit, started, reason="built by another run meanwhile")
        return _build_locked(plan_, client, emit, no_cache, cancel)


def _build_locked(
    plan_: Plan, client: DockerClient, emit: _Emitter, no_cache: bool, cancel: threading.Event | None
) -> BuiltImage:
    import docker

    spec = plan_.spec
    started = time.monotonic()
    emit("image.building", image=spec.name, ref=plan_.ref, base=plan_.base)
    log = BuildLog()
    context, dockerfile = _context_archive(spec)
    try:
        chunks = client.api.build(
            fileobj=context,
            custom_context=True,
            dockerfile=dockerfile,
            tag=plan_.ref,
            buildargs=dict(spec.build_args),
            rm=True,
            forcerm=True,
            pull=False,
            nocache=no_cache,
            decode=True,
            timeout=BUILD_READ_TIMEOUT,
        )
        _read_stream(chunks, log, spec.name, emit, cancel)
    except docker.errors.APIError as exc:
        log.error = str(exc.explanation or exc)
        log.lines.append(log.error)
        raise _build_failed(plan_, log) from None
    except docker.errors.DockerException as exc:
        raise engine_unavailable(f"lost while building {spec.name}") from exc
    except Exception as exc:
        if is_connection_loss(exc):
            raise engine_unavailable(
                f"the connection dropped while building {spec.name} ({log.step or 'start'})"
            ) from exc
        raise
    finally:
        context.close()
    if log.error:
        raise _build_failed(plan_, log)
    if _image_attrs(client, plan_.ref) is None:
        # The stream ended without an error or a result: the engine went away mid-build.
        raise engine_unavailable(f"the build of {spec.name} ended without a result ({log.step or 'start'})")
    size, above, image_id = _sizes(client, plan_.ref, plan_.base)
    seconds = time.monotonic() - started
    emit("image.built", image=spec.name, ref=plan_.ref, size=size, above_base=above, seconds=round(seconds, 1))
    return BuiltImage(spec.name, plan_.ref, plan_.tag, size, above, True, seconds, image_id, plan_.base)


def _skip(
    plan_: Plan, client: DockerClient, emit: _Emitter, started: float, reason: str = "tag exists (same content)"
) -> BuiltImage:
    size, above, image_id = _sizes(client, plan_.ref, plan_.base)
    seconds = time.monotonic() - started
    emit("image.skipped", image=plan_.spec.name, ref=plan_.ref, reason=reason, size=size)
    return BuiltImage(plan_.spec.name, plan_.ref, plan_.tag, size, above, False, seconds, image_id, plan_.base)


def build_images(
    specs: Sequence[ImageSpec],
    reporter: Reporter,
    client: DockerClient | None = None,
    *,
    no_cache: bool = False,
) -> list[BuiltImage]:
    """Tag, and build where the tag is missing, every spec; all builds run at the same time.

    `no_cache` builds every missing image without the engine's layer cache (benchmarks).
    """
    started = time.monotonic()
    client = client or connect()
    emit = _Emitter(reporter)
    try:
        plans = [plan(spec, client) for spec in specs]
        existing = {p.ref for p in plans if _image_attrs(client, p.ref) is not None}
    except OrchestratorError:
        raise
    except Exception as exc:
        if is_connection_loss(exc):
            raise engine_unavailable("lost while reading local images") from exc
        raise
    results: dict[str, BuiltImage] = {}
    errors: list[OrchestratorError] = []
    to_build = [p for p in plans if p.ref not in existing]
    for p in plans:
        if p.ref in existing:
            results[p.spec.name] = _skip(p, client, emit, started)
    if to_build:
        cancel = threading.Event()
        streams = _BuildStreams(client)
        threads = {p.spec.name: _BuildThread(_build_one, p, client, emit, no_cache, cancel) for p in to_build}
        try:
            for thread in threads.values():
                thread.start()
            for thread in threads.values():
                while thread.is_alive():  # short waits: a signal handler in this thread runs promptly
                    thread.join(0.5)
            for name, thread in threads.items():
                if isinstance(thread.error, OrchestratorError):
                    errors.append(thread.error)
                elif thread.error is not None:
                    raise thread.error
                elif thread.result is not None:
                    results[name] = thread.result
        except BaseException:  # Ctrl-C / SIGTERM: stop the builds instead of waiting for them
            cancel.set()
            streams.abort()
            raise
        finally:
            streams.uninstall()
    if errors:
        # The engine being gone explains every other failure: report that first.
        errors.sort(key=lambda e: not isinstance(e, EnvironmentProblem))
        first = errors[0]
        for other in errors[1:]:
            first.details.append(f"also: {other.message}")
        raise first
    return [results[spec.name] for spec in specs]


# --- size budget ---------------------------------------------------------------------------------


def image_size(client: DockerClient, image: BuiltImage) -> ImageSize:
    """An image's size with its own layers (history above the base's history) and its base's size."""
    history = [Layer(str(h.get("CreatedBy", "")), int(h.get("Size", 0))) for h in client.api.history(image.ref)]
    base_attrs = _image_attrs(client, image.base) if image.base else None
    own = history
    base_size = None
    if base_attrs is not None and image.above_base is not None:
        base_count = len(client.api.history(image.base))
        own = history[: max(len(history) - base_count, 0)]
        base_size = int(base_attrs["Size"])
    return ImageSize(image.name, image.ref, image.size, image.above_base, tuple(own), image.base, base_size)


def measure_budget(
    images: Sequence[BuiltImage], budget: Budget, reporter: Reporter, client: DockerClient
) -> tuple[BudgetReport, list[ImageSize]]:
    """Sizes (uncompressed) against the budget; emits image.budget and one line per image."""
    sizes = [image_size(client, i) for i in images]
    report = evaluate_budget(sizes, budget)
    reporter.emit(
        "image.budget",
        total=report.total,
        budget=budget.total,
        ok=report.ok,
        over=list(report.over),
        images={i.name: {"size": i.size, "above_base": i.above_base} for i in images},
        unit="bytes, uncompressed",
    )
    for line in report.lines():
        reporter.log(line)
    return report, sizes


def budget_error(report: BudgetReport, sizes: Sequence[ImageSize]) -> ImageError:
    return ImageError(
        f"images over their size budget ({', '.join(report.over)}): total {mb(report.total)} "
        f"of {mb(report.budget.total)} (uncompressed)",
        "shrink the largest layers below (multi-stage builds, fewer dependencies, .dockerignore) "
        "or raise the budget (--budget-mb, --image-budget NAME=MB)",
        details=["largest layers:"] + largest_layers(sizes),
    )


def check_budget(
    images: Sequence[BuiltImage], budget: Budget, reporter: Reporter, client: DockerClient | None = None
) -> BudgetReport:
    """Compare image sizes (uncompressed) with the budget; over budget: ImageError with the largest layers."""
    report, sizes = measure_budget(images, budget, reporter, client or connect())
    if not report.ok:
        raise budget_error(report, sizes)
    return report
