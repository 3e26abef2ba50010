"""up -> no-op up -> status -> rotate-secrets -> down -> down again, through the real CLI, once through
each way `/health` is reached: the NodePort, the ingress, and `kubectl port-forward` (the only way on
kind, k3d and the docker driver on macOS/Windows, where the node address is not reachable)."""

from __future__ import annotations

import random
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fakecluster import FakeCluster, Timings
from fakecluster.network import port_is_free
from tests.e2e.harness import (
    CANARIES,
    FAST,
    app_secrets,
    decoded,
    deployment_images,
    helm_release_records,
    http,
    invoke,
    leaks,
    pod_uids,
    running_container,
    write_env,
)

pytestmark = [pytest.mark.e2e, pytest.mark.docker]
NS = "todo-app"


def _free_loopback_address() -> str:
    """A 127.x address of this test's own whose port 80 is free (other fake clusters may hold 127.0.0.1:80)."""
    for _ in range(50):
        address = f"127.0.{random.randint(1, 250)}.{random.randint(2, 250)}"
        if port_is_free(80, address):
            return address
    raise AssertionError("no loopback address with a free port 80")


@pytest.fixture(params=["nodeport", "ingress", "port-forward"])
def health_path(request: pytest.FixtureRequest, cluster_options: dict[str, Any]) -> Iterator[tuple[str, FakeCluster]]:
    """The suite's cluster, set up so that exactly one of the three ways to /health works."""
    path = request.param
    options = dict(cluster_options)
    if path != "nodeport":
        options["ingress_address"] = _free_loopback_address()
        options["ingress_port"] = 80 if path == "ingress" else "none"
    with FakeCluster("healthy", **options) as cluster:
        if path != "nodeport":
            # `minikube ip` is an address with nothing on the node ports: the ingress on :80 (as with
            # `minikube tunnel`), or nothing at all (the docker driver on macOS: port-forward only).
            cluster.set_minikube(ip=options["ingress_address"])
        if not cluster.real_pods:
            cluster.start_upstream()  # a backend still starting would time out and let port-forward win
        if path == "ingress":
            subprocess.run(
                ["minikube", "addons", "enable", "ingress"], env=cluster.env, check=True, capture_output=True
            )
            cluster.wait_for(lambda: cluster.get("ValidatingWebhookConfiguration", "", "ingress-nginx-admission"))
        yield path, cluster


def _health_url_is_through(path: str, url: str, cluster: FakeCluster) -> bool:
    address = cluster.minikube_state.get("ip", "127.0.0.1")
    if path == "ingress":
        return url == f"http://{address}/health"
    if path == "nodeport":
        return url.startswith(f"http://{address}:3")
    return url.startswith("http://127.0.0.1:") and not url.startswith(f"http://{address}")


def test_up_noop_status_rotate_down(health_path: tuple[str, FakeCluster], env_file: Path, tmp_path: Path) -> None:
    path, cluster = health_path
    # -- first up: everything is created -------------------------------------------------------
    first = invoke(cluster, "up", env_file=env_file)
    assert first.returncode == 0, first.explain()
    (ok,) = first.named("health.ok")
    assert _health_url_is_through(path, ok["url"], cluster), (path, ok)
    assert first.finished["exit_code"] == 0
    assert set(first.finished["phases"]) >= {
        "input",
        "cluster",
        "images",
        "load",
        "secret",
        "release",
        "rollout",
        "health",
    }
    assert len(first.named("image.loaded")) == 2
    assert len(first.named("secret.written")) == 1
    assert len(first.named("helm.upgraded")) == 1
    assert first.named("health.ok"), first.explain()
    assert any(e["status"] == "Current" for e in first.named("rollout.status"))

    secrets = app_secrets(cluster, NS)
    assert len(secrets) == 1
    assert decoded(secrets[0]) == CANARIES  # exact values, newline and all, arrived
    assert secrets[0].get("immutable") is True
    built = {
        e["image"] if "image" in e else e["name"]: e["ref"]
        for e in first.events
        if e["event"] in ("image.built", "image.skipped")
    }
    images = deployment_images(cluster, NS)
    assert sorted(img for imgs in images.values() for img in imgs) == sorted(built.values())
    assert not any(img.endswith(":latest") for imgs in images.values() for img in imgs)

    # The app runs for real: each component's container from the deployed tag, under the pod's
    # security context; /health through the frontend container (which calls the backend by its
    # Service name); a user and a task through the frontend's /api route; the backend's own log.
    for component in ("backend", "frontend"):
        container = running_container(cluster, NS, component)
        deployed = next(img for name, imgs in images.items() if name.endswith(component) for img in imgs)
        assert container["Config"]["Image"] == deployed and container["State"]["Running"]
        host = container["HostConfig"]
        assert container["Config"]["User"] == "10001:10001" and host["ReadonlyRootfs"] is True
        assert host["CapDrop"] == ["ALL"] and "no-new-privileges:true" in host["SecurityOpt"]
        assert "seccomp=unconfined" not in host["SecurityOpt"] and host["Memory"] == 512 * 2**20
    port = cluster.node_port(NS, "todo-app-frontend")
    status, body = http("GET", f"http://127.0.0.1:{port}/health")
    assert status == 200 and body["status"] == "ok", body
    email = f"e2e-{uuid.uuid4().hex[:8]}@example.org"
    status, _ = http("POST", f"http://127.0.0.1:{port}/api/auth/register", {"email": email, "password": "pw-12345678"})
    assert status == 201
    status, token = http("POST", f"http://127.0.0.1:{port}/api/auth/login", {"email": email, "password": "pw-12345678"})
    assert status == 200, token
    bearer = token["access_token"]
    status, task = http("POST", f"http://127.0.0.1:{port}/api/tasks", {"title": "ship it"}, bearer)
    assert status == 201, (
        task,
        [
            (e["reason"], e["message"])
            for e in cluster.objects("Event", NS)
            if e["type"] == "Warning" or e["reason"] == "Killing"
        ],
    )
    status, tasks = http("GET", f"http://127.0.0.1:{port}/api/tasks", token=bearer)
    assert status == 200 and [t["title"] for t in tasks] == ["ship it"]
    logs = invoke(cluster, "logs", "backend", env_file=env_file, json_lines=False)
    assert logs.returncode == 0, logs.explain()
    assert '"started"' in logs.stdout and '"database schema ready"' in logs.stdout, logs.stdout
    assert not leaks(logs.output)

    # No secret value outside the Secret: other objects, helm's release records, the CLI output.
    for kind in ("Deployment", "ConfigMap", "Service", "Pod", "ReplicaSet", "Event", "Ingress"):
        for obj in cluster.objects(kind, NS):
            assert not leaks(str(obj)), f"{kind} {obj['metadata']['name']} carries a secret value"
    records = helm_release_records(cluster, NS)
    assert records and not any(leaks(r) for r in records)
    assert not leaks(first.output)
    carrying = [r for r in cluster.requests if r.is_write and any(r.mentions(v) for v in CANARIES.values())]
    assert len(carrying) == 1 and carrying[0].method == "POST" and carrying[0].path.endswith("/secrets")

    # -- second up with nothing changed: a no-op ----------------------------------------------------
    uids = pod_uids(cluster, NS)
    cluster.clear_requests()
    second = invoke(cluster, "up", env_file=env_file)
    assert second.returncode == 0, second.explain()
    for name in ("image.skipped", "image.load_skipped"):
        assert len(second.named(name)) == 2, second.explain()
    assert second.named("secret.unchanged") and not second.named("secret.written")
    assert second.named("helm.skipped") and not second.named("helm.upgraded")
    assert not [r for r in cluster.requests if r.is_write], [(r.method, r.path) for r in cluster.requests if r.is_write]
    assert pod_uids(cluster, NS) == uids

    # -- status ---------------------------------------------------------------------------------------
    status = invoke(cluster, "status", env_file=env_file)
    assert status.returncode == 0, status.explain()
    report = status.named("status.report")[0]
    assert report["revision"] == 1 and report["release_status"] == "deployed"
    assert report["secret"] == secrets[0]["metadata"]["name"]
    assert {w["status"] for w in report["workloads"]} == {"Current"}
    assert report["health"]["ok"] is True
    assert _health_url_is_through(path, report["health"]["url"], cluster), (path, report["health"])

    # -- rotate one key -----------------------------------------------------------------------------
    rotated_values = {**CANARIES, "COHERE_API_KEY": "co-canary-rotated-9c1d $#'\"=\\ é"}
    rotated_env = write_env(tmp_path / "rotated.env", rotated_values)
    rotate = invoke(cluster, "rotate-secrets", "--only", "COHERE_API_KEY", env_file=rotated_env)
    assert rotate.returncode == 0, rotate.explain()
    names = {s["metadata"]["name"] for s in app_secrets(cluster, NS)}
    assert len(names) == 2
    new_name = rotate.named("secret.written")[0]["name"]
    assert decoded(next(s for s in app_secrets(cluster, NS) if s["metadata"]["name"] == new_name)) == rotated_values
    backend = next(d for d in cluster.objects("Deployment", NS) if d["metadata"]["name"].endswith("-backend"))
    assert new_name in str(backend["spec"]["template"])
    assert not leaks(rotate.output, rotated_values.values())

    # -- down, twice ----------------------------------------------------------------------------------
    down = invoke(cluster, "down", env_file=env_file)
    assert down.returncode == 0, down.explain()
    assert not app_secrets(cluster, NS)
    assert not cluster.objects("Deployment", NS)
    assert not [n for n in cluster.objects("Namespace") if n["metadata"]["name"] == NS]
    again = invoke(cluster, "down", env_file=env_file, json_lines=False)
    assert again.returncode == 0, again.explain()
    assert "nothing to remove" in again.stdout


def test_build_in_cluster_skips_the_load(cluster: FakeCluster, env_file: Path) -> None:
    run = invoke(cluster, "up", "--build-in-cluster", env_file=env_file)
    assert run.returncode == 0, run.explain()
    skipped = run.named("image.load_skipped")
    assert len(skipped) == 2 and all("built in" in e["reason"] for e in skipped)
    assert not run.named("image.loaded")
    assert run.named("health.ok")


def test_dry_run_changes_nothing(cluster: FakeCluster, env_file: Path) -> None:
    run = invoke(cluster, "up", "--dry-run", env_file=env_file)
    assert run.returncode == 0, run.explain()
    actions = {e["event"]: e["action"] for e in run.events if e["event"].startswith("plan.")}
    assert actions["plan.secret"] == "write" and actions["plan.release"] == "install"
    assert not [r for r in cluster.requests if r.is_write]
    assert not cluster.minikube_state.get("images")
    assert not run.named("helm.upgraded") and not run.named("secret.written")


def test_up_into_a_namespace_whose_service_account_comes_late(env_file: Path) -> None:
    """A brand-new namespace refuses pods until its `default` ServiceAccount exists: the ReplicaSet
    controller records FailedCreate and retries. `up` waits that out and reports no failure."""
    late = Timings(**{**FAST.__dict__, "service_account_delay": 8.0})
    with FakeCluster("healthy", timings=late, ingress_port="none") as cluster:
        run = invoke(cluster, "up", env_file=env_file)
        assert run.returncode == 0, run.explain()
        refused = [e for e in cluster.objects("Event", NS) if e["reason"] == "FailedCreate"]
        assert refused and 'serviceaccount "default" not found' in refused[0]["message"]  # the window was hit
        statuses = [e["status"] for e in run.named("rollout.status")]
        assert "Failed" not in statuses and statuses[-1] == "Current", run.explain()
        assert "forbidden" not in run.output.lower()
        assert run.named("health.ok")
