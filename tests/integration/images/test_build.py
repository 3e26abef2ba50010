"""The build pipeline on tiny fixture images: tags, skips, parallel builds, failures, lost engine, budget."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import docker
from orchestrator.errors import EnvironmentProblem, ExitCode, ImageError
from orchestrator.images.budget import Budget
from orchestrator.images.build import build_images, check_budget, plan
from orchestrator.images.build_lock import building
from orchestrator.run.events import Reporter
from tests.integration.images.conftest import PREFIX, ROOT, fixture_spec, nonce

pytestmark = pytest.mark.docker


def _containers_with(client: docker.DockerClient, marker: str) -> list[str]:
    """IDs of the containers (any state) whose command holds `marker`. One list request: listing
    through `containers.list` inspects each container after, and another test's build removes its
    intermediate containers meanwhile (404)."""
    return [c["Id"] for c in client.api.containers(all=True) if marker in (c.get("Command") or "")]


def test_fixture_builds_with_a_content_tag_then_skips(docker_client, cleanup, fixture_context: Path) -> None:
    spec = fixture_spec("good", fixture_context)
    reporter = Reporter()
    [first] = build_images([spec], reporter, docker_client)
    cleanup.refs.append(first.ref)
    assert re.fullmatch(rf"{PREFIX}-good:[0-9a-f]{{12}}", first.ref)
    assert first.tag != "latest" and first.size > 0
    assert first.above_base is not None and 0 < first.above_base < 1_000_000
    assert docker_client.api.inspect_image(first.ref)["Id"] == first.image_id
    tags = [t for image in docker_client.images.list(name=f"{PREFIX}-good") for t in image.tags]
    assert f"{PREFIX}-good:latest" not in tags

    started = time.monotonic()
    [again] = build_images([spec], reporter, docker_client)
    assert time.monotonic() - started < 5
    assert (again.ref, again.built) == (first.ref, False)
    assert [e["ref"] for e in reporter.named("image.skipped")] == [first.ref]
    assert len(reporter.named("image.built")) == 1

    # A file the build sees changes the tag; a file .dockerignore keeps out does not.
    (fixture_context / ".dockerignore").write_text("notes.txt\n")
    [with_ignore] = build_images([spec], reporter, docker_client)
    cleanup.refs.append(with_ignore.ref)
    (fixture_context / "notes.txt").write_text("not part of the build\n")
    [ignored_change] = build_images([spec], reporter, docker_client)
    assert ignored_change.ref == with_ignore.ref and not ignored_change.built
    (fixture_context / "app.py").write_text((fixture_context / "app.py").read_text() + "\n# changed\n")
    [changed] = build_images([spec], reporter, docker_client)
    cleanup.refs.append(changed.ref)
    assert changed.built and changed.ref != with_ignore.ref


def _build_in_background(spec, client) -> tuple[Reporter, threading.Thread, list]:  # type: ignore[no-untyped-def]
    reporter, result = Reporter(), []
    thread = threading.Thread(target=lambda: result.extend(build_images([spec], reporter, client)), daemon=True)
    thread.start()
    return reporter, thread, result


def _until(condition, seconds: float = 30) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_build_another_run_is_making_is_waited_for_and_its_image_taken(
    docker_client, cleanup, fixture_context: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two runs that need the same missing tag build it once: the second waits, then skips."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    [made] = build_images([fixture_spec("good", fixture_context, NONCE=nonce())], Reporter(), docker_client)
    cleanup.refs.append(made.ref)
    spec = fixture_spec("good", fixture_context, NONCE=nonce())
    ref = plan(spec, docker_client).ref
    cleanup.refs.append(ref)
    with building(ref):  # the other run, building `ref`
        reporter, thread, result = _build_in_background(spec, docker_client)
        _until(lambda: reporter.named("image.waiting"))
        assert not reporter.named("image.building")
        repository, _, tag = ref.partition(":")
        docker_client.api.tag(made.image_id, repository, tag)  # its build ends with the tag
    thread.join(60)
    assert [(i.ref, i.built) for i in result] == [(ref, False)]
    assert [e["event"] for e in reporter.history if e["event"].startswith("image.")] == [
        "image.waiting",
        "image.skipped",
    ]
    assert reporter.named("image.skipped")[0]["reason"] == "built by another run meanwhile"


def test_when_the_other_run_stops_without_the_image_the_waiting_run_builds_it(
    docker_client, cleanup, fixture_context: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    spec = fixture_spec("good", fixture_context, NONCE=nonce())
    ref = plan(spec, docker_client).ref
    cleanup.refs.append(ref)
    with building(ref):  # the other run, interrupted before its build tagged anything
        reporter, thread, result = _build_in_background(spec, docker_client)
        _until(lambda: reporter.named("image.waiting"))
    thread.join(120)
    assert [(i.ref, i.built) for i in result] == [(ref, True)]
    events = [e["event"] for e in reporter.history if e["event"] in ("image.waiting", "image.building", "image.built")]
    assert events == ["image.waiting", "image.building", "image.built"]
    assert list((tmp_path / "cache" / "todo-deploy" / "builds").iterdir()) == []


def test_two_images_build_at_the_same_time_with_a_step_per_line(docker_client, cleanup, fixture_context: Path) -> None:
    tag = nonce()
    specs = [fixture_spec("good", fixture_context, NONCE=tag), fixture_spec("large", fixture_context, NONCE=tag)]
    reporter = Reporter()
    images = build_images(specs, reporter, docker_client)
    cleanup.refs.extend(i.ref for i in images)
    assert [i.name for i in images] == [f"{PREFIX}-good", f"{PREFIX}-large"] and all(i.built for i in images)
    steps = reporter.named("image.step")
    for image in images:
        mine = [e for e in steps if e["image"] == image.name]
        assert mine and mine[0]["step"].startswith("1/") and all(e["instruction"] for e in mine)
    # Both builds were in flight together: each started before the other finished.
    starts = {e["image"]: e["ts"] for e in reporter.named("image.building")}
    ends = {e["image"]: e["ts"] for e in reporter.named("image.built")}
    assert max(starts.values()) <= min(ends.values())
    built = {e["image"]: e for e in reporter.named("image.built")}
    for image in images:
        assert built[image.name]["ref"] == image.ref and built[image.name]["size"] == image.size
        assert built[image.name]["seconds"] >= 0


def test_failed_build_names_the_step_and_leaves_no_tag_or_container(docker_client, fixture_context: Path) -> None:
    marker = nonce()
    spec = fixture_spec("failing", fixture_context, NONCE=marker)
    with pytest.raises(ImageError) as caught:
        build_images([spec], Reporter(), docker_client)
    err = caught.value
    assert err.exit_code == ExitCode.IMAGE
    assert re.search(r"failed at Step \d+/\d+ : RUN echo", err.message)
    assert any(f"fixture-step-output {marker}" in d for d in err.details)
    assert any("returned a non-zero code: 3" in d for d in err.details)
    assert "fix" in err.hint
    assert not docker_client.images.list(name=spec.name)
    leftovers = _containers_with(docker_client, marker)
    assert leftovers == []


def test_missing_base_image_says_how_to_get_it(docker_client, fixture_context: Path) -> None:
    spec = fixture_spec("good", fixture_context, PYTHON_IMAGE=f"{PREFIX}-no-such-base:{nonce()}")
    with pytest.raises(ImageError) as caught:
        build_images([spec], Reporter(), docker_client)
    assert "seed-base-images" in caught.value.hint
    assert not docker_client.images.list(name=spec.name)


def test_engine_down_at_start_is_an_environment_problem(monkeypatch, tmp_path: Path, fixture_context: Path) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    with pytest.raises(EnvironmentProblem) as caught:
        build_images([fixture_spec("good", fixture_context)], Reporter())
    assert caught.value.message.startswith("Docker engine unavailable")
    assert caught.value.exit_code == ExitCode.ENVIRONMENT and "docker info" in caught.value.hint


def test_invoke_build_with_engine_down_exits_3_without_traceback(tmp_path: Path) -> None:
    env = dict(os.environ, DOCKER_HOST=f"unix://{tmp_path}/no-engine.sock")
    done = subprocess.run(
        [str(Path(sys.executable).parent / "invoke"), "build"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 3, done.stderr
    assert "Docker engine unavailable" in done.stderr + done.stdout
    assert "Traceback" not in done.stderr + done.stdout


@pytest.fixture
def engine_proxy(tmp_path: Path):
    """A killable proxy process in front of /var/run/docker.sock."""
    sock = tmp_path / "proxy.sock"
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("docker_proxy.py")), str(sock), "/var/run/docker.sock"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    yield sock, proc
    proc.kill()
    proc.wait(timeout=10)


def test_engine_lost_mid_build_is_an_environment_problem(docker_client, engine_proxy, fixture_context: Path) -> None:
    sock, proc = engine_proxy
    marker = nonce()
    spec = fixture_spec("slow", fixture_context, NONCE=marker)
    killed: list[float] = []

    def kill_on_slow_step(event: dict) -> None:
        if event["event"] == "image.step" and "sleep" in event.get("instruction", "") and not killed:
            time.sleep(1)  # the step's container is running now
            proc.kill()
            killed.append(time.monotonic())

    through_proxy = docker.DockerClient(base_url=f"unix://{sock}", timeout=60)
    started = time.monotonic()
    with pytest.raises(EnvironmentProblem) as caught:
        build_images([spec], Reporter(sinks=[kill_on_slow_step]), through_proxy)
    assert killed, "the build never reached the slow step"
    assert time.monotonic() - started < 25, "the lost connection was not noticed"
    assert caught.value.message.startswith("Docker engine unavailable")
    assert spec.name in caught.value.message and caught.value.exit_code == ExitCode.ENVIRONMENT
    # The real engine is still there; the cancelled build left no tag and (soon) no container.
    assert docker_client.ping()
    assert not docker_client.images.list(name=spec.name)
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        left = _containers_with(docker_client, marker)
        if not left:
            break
        time.sleep(1)
    assert not left


def test_size_budget_reports_sizes_and_fails_with_the_largest_layers(
    docker_client, cleanup, fixture_context: Path
) -> None:
    reporter = Reporter()
    images = build_images(
        [fixture_spec("good", fixture_context), fixture_spec("large", fixture_context)], reporter, docker_client
    )
    cleanup.refs.extend(i.ref for i in images)
    good, large = images
    assert large.above_base is not None and 29_000_000 < large.above_base < 32_000_000

    report = check_budget(images, Budget(), reporter, docker_client)
    assert report.ok and report.total == good.size + large.size
    [event] = reporter.named("image.budget")
    assert event["total"] == report.total and event["budget"] == 600_000_000 and "uncompressed" in event["unit"]
    logs = [e["message"] for e in reporter.named("log")]
    assert any(large.ref in line and "above its base" in line for line in logs)
    assert any(line.startswith("total:") and "uncompressed" in line for line in logs)

    tight_total = Budget.from_mb((good.size + large.size) / 1e6 - 1)
    with pytest.raises(ImageError) as caught:
        check_budget(images, tight_total, Reporter(), docker_client)
    assert caught.value.exit_code == ExitCode.IMAGE and "total" in caught.value.message
    assert "largest layers:" in caught.value.details
    rows = caught.value.details[1:]
    assert any("todo-imgtest-large" in r and "head -c 30000000" in r for r in rows)
    assert sum("base image: python:3.11-slim" in r for r in rows) == 1  # shared base counted once

    per_image = Budget.from_mb(600, {large.name: (large.size / 1e6) - 1})
    with pytest.raises(ImageError) as caught:
        check_budget(images, per_image, Reporter(), docker_client)
    assert large.name in caught.value.message and good.name not in caught.value.message


def test_interrupt_stops_the_builds_at_once_and_leaves_nothing(docker_client, fixture_context: Path) -> None:
    import signal

    from orchestrator.errors import Interrupted

    marker = nonce()
    spec = fixture_spec("slow", fixture_context, NONCE=marker)

    def on_sigint(signum, frame):
        raise Interrupted("interrupted", "re-run `invoke build`")

    def interrupt_on_slow_step(event: dict) -> None:
        if event["event"] == "image.step" and "sleep" in event.get("instruction", ""):
            time.sleep(1)
            os.kill(os.getpid(), signal.SIGINT)

    previous = signal.signal(signal.SIGINT, on_sigint)
    started = time.monotonic()
    try:
        with pytest.raises(Interrupted):
            build_images([spec], Reporter(sinks=[interrupt_on_slow_step]), docker_client)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert time.monotonic() - started < 15, "the interrupt waited for the 30 s step"
    assert docker_client.ping()
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        left = _containers_with(docker_client, marker)
        if not left:
            break
        time.sleep(1)
    assert not left, "the cancelled step's container was left behind"
    assert not docker_client.images.list(name=spec.name)
