"""The project's own images: built from docker/*.Dockerfile, then run under the chart's pod constraints.

The pod contract: user 10001:10001, read-only root filesystem with tmpfs at /tmp (and
/app/.next/cache for the frontend), no capabilities, no-new-privileges, settings from a test
secret; readiness and liveness answer, Docker's HEALTHCHECK turns healthy, and the frontend
reaches the backend by the chart's Service name (todo-app-backend) on a user-defined network.
"""

from __future__ import annotations

import re
import time

import httpx
import pytest

from orchestrator.images.budget import Budget
from orchestrator.images.build import BuiltImage, build_images, check_budget, default_specs
from orchestrator.images.policy import Rule, Status, check_policy
from orchestrator.run.events import Reporter
from tests.integration.images.conftest import PREFIX, ROOT, Cleanup, nonce

pytestmark = pytest.mark.docker

# What the chart's Secret holds, with canary values (the policy test looks for them in the images).
TEST_SECRET = {
    "JWT_SECRET": "canary-jwt-secret-" + "5" * 32,
    "COHERE_API_KEY": "canary-cohere-key-4d9e2b",
    "DATABASE_URL": "sqlite:////tmp/todo.db",
}
# The pod runs on SQLite in /tmp (no database server here), which is the backend's own default, so
# the canary scan gets a network URL that no file can hold by accident.
CANARIES = {**TEST_SECRET, "DATABASE_URL": "postgresql://todo:canary-db-pw-6f1a@db.internal:5432/todo"}
BACKEND_ALIAS = "todo-app-backend"
HEALTHY_WITHIN = 60


@pytest.fixture(scope="module")
def project_images(docker_client) -> tuple[list[BuiltImage], Reporter]:
    reporter = Reporter()
    images = build_images(default_specs(ROOT), reporter, docker_client)
    # The tags stay: they are the project's content tags, which the end-to-end tests (maybe running
    # in another process right now) deploy.
    return images, reporter


def test_project_images_have_content_tags_and_skip_when_unchanged(docker_client, project_images) -> None:
    images, _ = project_images
    assert [i.name for i in images] == ["todo-backend", "todo-frontend"]
    for image in images:
        assert re.fullmatch(rf"{image.name}:[0-9a-f]{{12}}", image.ref)
        assert docker_client.api.inspect_image(image.ref)["Id"] == image.image_id
    again_reporter = Reporter()
    started = time.monotonic()
    again = build_images(default_specs(ROOT), again_reporter, docker_client)
    assert time.monotonic() - started < 10
    assert [(i.ref, i.built) for i in again] == [(i.ref, False) for i in images]
    assert not again_reporter.named("image.building") and len(again_reporter.named("image.skipped")) == 2


def test_project_images_fit_the_budget(docker_client, project_images) -> None:
    images, _ = project_images
    report = check_budget(images, Budget(), Reporter(), docker_client)
    assert report.ok and report.total < 600_000_000
    backend, frontend = images
    assert backend.base == "python:3.11-slim" and frontend.base == "node:22-slim"
    assert backend.above_base is not None and backend.above_base <= 100_000_000
    assert frontend.above_base is not None and frontend.above_base <= 80_000_000


@pytest.mark.parametrize("index", [0, 1], ids=["backend", "frontend"])
def test_project_images_pass_the_policy(docker_client, project_images, index: int) -> None:
    image = project_images[0][index]
    results = {r.rule: r for r in check_policy(image, CANARIES, docker_client)}
    for rule in (Rule.HEALTHCHECK, Rule.NON_ROOT_USER, Rule.SECRET_ENV, Rule.SECRET_FILES, Rule.CANARY):
        assert results[rule].status is Status.PASS, (rule, results[rule])
    assert results[Rule.NON_ROOT_USER].detail == "USER 10001:10001"
    attrs = docker_client.api.inspect_image(image.ref)
    config = attrs["Config"]
    env = dict(e.split("=", 1) for e in config["Env"])
    assert not {"pip", "gcc", "cc"} & set(_which_in(docker_client, image.ref, ["pip", "gcc", "cc"]))
    if image.name == "todo-frontend":
        assert env["NODE_ENV"] == "production" and config["Cmd"] == ["node", "server.js"]
    else:
        assert "/opt/venv/bin" in env["PATH"]


def _which_in(client, ref: str, names: list[str]) -> list[str]:
    """Which of `names` resolve on the image's PATH (pip and compilers must not)."""
    script = " ".join(f"command -v {n} >/dev/null && echo {n};" for n in names)
    out = client.containers.run(ref, ["sh", "-c", script + " true"], remove=True, user="10001:10001", read_only=True)
    return out.decode().split()


def _run(
    client,
    cleanup: Cleanup,
    image: str,
    name: str,
    network: str,
    tmpfs: list[str],
    env: dict[str, str],
    alias: str | None = None,
):
    container = client.containers.run(
        image,
        name=name,
        detach=True,
        user="10001:10001",
        read_only=True,
        tmpfs={path: "rw,size=64m" for path in tmpfs},
        cap_drop=["ALL"],
        security_opt=["no-new-privileges"],
        environment=env,
        network=network,
        networking_config={network: client.api.create_endpoint_config(aliases=[alias] if alias else None)},
        ports={f"{port}/tcp": ("127.0.0.1", None) for port in _exposed(client, image)},
        healthcheck={"interval": 2_000_000_000},  # the image's own test, checked every 2 s
    )
    cleanup.containers.append(container.id)
    return container


def _exposed(client, image: str) -> list[int]:
    return [int(p.split("/")[0]) for p in (client.api.inspect_image(image)["Config"].get("ExposedPorts") or {})]


def _url(container, port: int, path: str) -> str:
    container.reload()
    host_port = container.attrs["NetworkSettings"]["Ports"][f"{port}/tcp"][0]["HostPort"]
    return f"http://127.0.0.1:{host_port}{path}"


def _wait_for(url: str, status: int = 200, timeout: float = HEALTHY_WITHIN) -> httpx.Response:
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            response = httpx.get(url, timeout=3)
            if response.status_code == status:
                return response
            last = response.status_code
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(0.5)
    raise AssertionError(f"{url} did not answer {status} within {timeout}s (last: {last})")


def _wait_healthy(container, timeout: float = HEALTHY_WITHIN) -> None:
    deadline = time.monotonic() + timeout
    status = None
    while time.monotonic() < deadline:
        container.reload()
        status = container.attrs["State"].get("Health", {}).get("Status")
        if status == "healthy":
            return
        assert container.status == "running", container.logs(tail=30).decode(errors="replace")
        time.sleep(1)
    raise AssertionError(f"{container.name} is {status}, not healthy, after {timeout}s")


def test_pod_contract(docker_client, cleanup: Cleanup, project_images) -> None:
    (backend, frontend), _ = project_images
    network = f"{PREFIX}-net-{nonce()}"
    docker_client.networks.create(network, driver="bridge")
    cleanup.networks.append(network)

    be = _run(
        docker_client,
        cleanup,
        backend.ref,
        f"{PREFIX}-backend-{nonce()}",
        network,
        ["/tmp"],
        TEST_SECRET,
        BACKEND_ALIAS,
    )
    fe = _run(
        docker_client,
        cleanup,
        frontend.ref,
        f"{PREFIX}-frontend-{nonce()}",
        network,
        ["/tmp", "/app/.next/cache"],
        {"BACKEND_URL": f"http://{BACKEND_ALIAS}:8000"},
    )
    assert _wait_for(_url(be, 8000, "/health")).json() == {"status": "ok"}
    assert _wait_for(_url(be, 8000, "/ready")).json()["status"] == "ready"
    assert _wait_for(_url(fe, 3000, "/api/health")).status_code == 200
    assert _wait_for(_url(fe, 3000, "/health")).status_code == 200  # proxied to the backend by name
    _wait_healthy(be)
    _wait_healthy(fe)

    for container in (be, fe):
        host = container.attrs["HostConfig"]
        assert host["ReadonlyRootfs"] and host["CapDrop"] == ["ALL"] and "no-new-privileges" in host["SecurityOpt"]
        assert container.exec_run(["id", "-u"]).output.decode().strip() == "10001"
        wrote = container.exec_run(["sh", "-c", "touch /app/x 2>/dev/null && echo wrote || echo refused"])
        assert wrote.output.decode().strip() == "refused"
    logs = be.logs().decode(errors="replace") + fe.logs().decode(errors="replace")
    assert all(value not in logs for key, value in TEST_SECRET.items() if key != "DATABASE_URL")

    # The frontend's /health really goes to the backend: without the backend it is not 200.
    be.stop(timeout=10)
    response = httpx.get(_url(fe, 3000, "/health"), timeout=10)
    assert response.status_code != 200
    assert httpx.get(_url(fe, 3000, "/api/health"), timeout=10).status_code == 200
    assert be.wait(timeout=5)["StatusCode"] in (0, 143), "the backend did not stop cleanly on SIGTERM"
