"""Injected faults through the real CLI against the fake cluster: the Docker engine missing or lost
mid-build, images over their size budget, an API outage longer than the rollout budget, a release
left locked by a killed helm, helm failing mid-upgrade, and helm hitting a short API error window.
Each asserts the exit code, a specific message, the state left behind, and a bound on the time (it
did not wait for a deadline it had no reason to wait for).

The crash loop, unschedulable pods, an image the node drops, a Secret missing a key, a slow rollout,
API 500s with an outage that recovers, minikube stopped, a wrong context, a failed upgrade rolled
back and a rotation rolled back are in tests/e2e/test_failures.py. A failing Dockerfile step is
covered by tests/integration/images (the CLI builds only the project's own Dockerfiles).
"""

from __future__ import annotations

import base64
import gzip
import json
import subprocess
import time
from pathlib import Path

import pytest

from fakecluster import FakeCluster
from orchestrator.images.budget import MB
from tests.e2e.harness import (
    CANARIES,
    Background,
    CliRun,
    helm_release_records,
    invoke,
    kubectl,
    leaks,
    unbuilt_backend,
    write_env,
)
from tests.robustness import rig, wrappers

pytestmark = [pytest.mark.e2e, pytest.mark.docker, pytest.mark.proof("faults"), pytest.mark.usefixtures("images_built")]
NS = "todo-app"
RELEASE = "todo-app"


def writes(cluster: FakeCluster) -> list[str]:
    return [f"{r.method} {r.path}" for r in cluster.requests if r.is_write]


def seconds(run: CliRun) -> float:
    return sum(run.finished["phases"].values())


def history(cluster: FakeCluster) -> list[dict]:
    return sorted((json.loads(r) for r in helm_release_records(cluster, NS)), key=lambda r: r["version"])


def deployed_up(cluster: FakeCluster, env_file: Path) -> list[dict]:
    run = rig.converge(cluster, env_file=env_file)
    assert run.returncode == 0, run.explain()
    return history(cluster)


# --- the Docker engine ------------------------------------------------------------------------------


def test_engine_unreachable_at_start(cluster: FakeCluster, env_file: Path) -> None:
    started = time.monotonic()
    run = invoke(cluster, "up", env_file=env_file, extra_env={"DOCKER_HOST": "unix:///nonexistent.sock"})
    assert run.returncode == 3, run.explain()
    assert "Docker engine unavailable" in run.output and "/nonexistent.sock" in run.output
    assert run.finished["exit_code"] == 3 and "Traceback" not in run.output
    assert writes(cluster) == []
    assert time.monotonic() - started < 60


def test_engine_lost_mid_build(cluster: FakeCluster, env_file: Path, tmp_path: Path) -> None:
    with unbuilt_backend(tmp_path) as (root, ref), rig.held_engine(tmp_path) as engine:
        background = Background(
            cluster, "up", env_file=env_file, extra_env={"DOCKER_HOST": engine.docker_host}, root=root
        )
        engine.wait_held()
        rig.wait_for(background, "image.building", image="todo-backend")
        engine.kill()  # every connection to the engine drops at once
        lost = time.monotonic()
        run = background.finish(timeout=120)
        assert time.monotonic() - lost < 20, "the lost engine was not noticed"
        assert run.returncode == 3, run.explain()
        assert "Docker engine unavailable" in run.output and "todo-backend" in run.output
        assert run.finished["exit_code"] == 3 and "Traceback" not in run.output
        assert not rig.tag_exists(ref), "the cut build left a tag"
        assert writes(cluster) == []


def test_images_over_the_size_budget(cluster: FakeCluster, env_file: Path) -> None:
    run = invoke(cluster, "up", "--budget-mb", "50", env_file=env_file)
    assert run.returncode == 4, run.explain()
    assert "over their size budget" in run.output and "largest layers" in run.output
    assert "--budget-mb" in run.output  # the hint names the way out
    budget = run.named("image.budget")
    assert budget and not budget[-1]["ok"] and budget[-1]["budget"] == int(50 * MB)
    assert budget[-1]["total"] > budget[-1]["budget"]
    assert writes(cluster) == [] and not run.named("image.loaded")
    assert seconds(run) < 120


# --- the API and helm ---------------------------------------------------------------------------------


def test_api_outage_longer_than_the_rollout_budget(cluster: FakeCluster, env_file: Path) -> None:
    background = Background(cluster, "up", "--timeout", "5", env_file=env_file)
    rig.wait_for(background, "helm.upgraded")
    cluster.outage(60.0)
    cut = time.monotonic()
    run = background.finish(timeout=120)
    assert time.monotonic() - cut < 30, "the CLI waited for the outage instead of its 5 s budget"
    assert run.returncode == 6, run.explain()
    assert run.finished["exit_code"] == 6
    assert "the Kubernetes API stopped answering" in run.finished["error"], run.explain()
    assert "unverified" in run.finished["error"] and "invoke up" in run.finished["hint"]
    assert not run.named("helm.rolled_back")  # nothing was rolled back through a dead API
    assert "the rollback was not tried" in run.output  # through an API that never answered: no helm call


def pending_copy(cluster: FakeCluster, status: str = "pending-upgrade") -> int:
    """What a helm killed mid-upgrade leaves: a new release record stuck in `pending-upgrade`."""
    last = history(cluster)[-1]
    record = {
        **last,
        "version": last["version"] + 1,
        "info": {**last["info"], "status": status, "description": "Preparing upgrade"},
    }
    blob = base64.b64encode(gzip.compress(json.dumps(record).encode())).decode()
    name = f"sh.helm.release.v1.{RELEASE}.v{record['version']}"
    manifest = {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "helm.sh/release.v1",
        "metadata": {
            "name": name,
            "namespace": NS,
            "labels": {"name": RELEASE, "owner": "helm", "status": status, "version": str(record["version"])},
        },
        "data": {"release": base64.b64encode(blob.encode()).decode()},
    }
    kubectl(cluster, "create", "-f", "-", manifest=manifest)
    return record["version"]


def test_release_locked_by_a_killed_helm_needs_recover(cluster: FakeCluster, env_file: Path) -> None:
    deployed_up(cluster, env_file)
    stuck = pending_copy(cluster)
    helm_status = subprocess.run(
        ["helm", "status", RELEASE, "-n", NS, "-o", "json"], env=cluster.env, capture_output=True, text=True, check=True
    )
    assert json.loads(helm_status.stdout)["info"]["status"] == "pending-upgrade"  # helm itself sees the lock

    blocked = invoke(cluster, "up", env_file=env_file)
    assert blocked.returncode == 6, blocked.explain()
    assert "pending-upgrade" in blocked.output and "--recover" in blocked.output
    assert not blocked.named("helm.upgraded") and seconds(blocked) < 60
    assert history(cluster)[-1]["info"]["status"] == "pending-upgrade"  # refused, changed nothing

    recovered = rig.converge(cluster, "--recover", env_file=env_file)
    assert recovered.returncode == 0, recovered.explain()
    assert recovered.named("helm.rolled_back") and recovered.named("health.ok")
    records = history(cluster)
    assert records[-1]["version"] > stuck and records[-1]["info"]["status"] == "deployed"
    again = rig.converge(cluster, env_file=env_file)  # unblocked: a plain up converges, nothing to change
    assert again.returncode == 0 and again.named("helm.skipped"), again.explain()


# A failure helm reports mid-upgrade that is neither transient nor the ingress webhook (both have their own
# handling): the API server refusing a changed object (kubernetes/kubernetes
# staging/src/k8s.io/apimachinery/pkg/api/errors/errors.go NewInvalid words it this way).
UPGRADE_FAILED = (
    'Error: UPGRADE FAILED: cannot patch "todo-app-backend" with kind Deployment: Deployment.apps '
    '"todo-app-backend" is invalid: spec.template.spec.containers[0].resources.requests: Invalid value: '
    '"2": must be less than or equal to cpu limit\n'
)


def test_helm_failing_mid_upgrade_keeps_the_previous_release(
    cluster: FakeCluster, env_file: Path, tmp_path: Path
) -> None:
    before = deployed_up(cluster, env_file)
    templates = {d["metadata"]["name"]: d["spec"]["template"] for d in cluster.objects("Deployment", NS)}
    failing = wrappers.install(
        tmp_path / "bin", "helm", cluster.env["PATH"], ("upgrade",), exit_code=1, stderr=UPGRADE_FAILED
    )
    changed = write_env(tmp_path / "changed.env", {**CANARIES, "COHERE_API_KEY": "co-canary-changed-5e0f"})
    run = invoke(cluster, "up", env_file=changed, extra_env={"PATH": failing.path})
    assert failing.started()
    assert run.returncode == 6, run.explain()
    assert f"helm failed for release {RELEASE}" in run.output
    assert "UPGRADE FAILED" in run.output and "helm history" in run.output
    assert not run.named("phase.started") or "rollout" not in [e["phase"] for e in run.named("phase.started")]
    assert history(cluster) == before  # the previous release is intact
    assert {d["metadata"]["name"]: d["spec"]["template"] for d in cluster.objects("Deployment", NS)} == templates
    assert seconds(run) < 120 and not leaks(run.output)


def test_helm_retries_a_short_api_error_window(cluster: FakeCluster, env_file: Path) -> None:
    background = Background(cluster, "up", env_file=env_file)
    rig.wait_for(background, "phase.started", "release")
    cluster.outage(2.0, error_seconds=0.5)
    run = background.finish(timeout=300)
    assert run.returncode == 0, run.explain()
    assert any(r.status >= 500 for r in cluster.requests)  # the API really failed requests
    retried = run.named("helm.retry")
    assert retried, run.explain()  # helm itself failed and the orchestrator called it again
    assert history(cluster)[-1]["info"]["status"] == "deployed" and run.named("health.ok")
