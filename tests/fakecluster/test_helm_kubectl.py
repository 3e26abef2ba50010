"""The real kubectl v1.35 and helm v4.1.4 binaries against the fake cluster."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from fakecluster import FakeCluster

from .conftest import CHART, run

ROOT = Path(__file__).resolve().parents[2]
PROJECT_CHART = ROOT / "charts" / "todo-app"
IMAGE = "fakecluster-test-web:1"  # conftest.local_image

MANIFEST = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  progressDeadlineSeconds: {deadline}
  selector:
    matchLabels: {{app: web}}
  template:
    metadata:
      labels: {{app: web}}
    spec:
      containers:
        - name: web
          image: {image}
          imagePullPolicy: Never
"""


def helm_install(cluster: FakeCluster, namespace: str, *extra: str, check: bool = True, release: str = "tiny"):
    return run(
        ["helm", "upgrade", "--install", release, str(CHART), "-n", namespace, "--set", f"image={IMAGE}", *extra],
        cluster.env,
        check=check,
    )


@pytest.fixture
def ready_world(cluster: FakeCluster, namespace: str, local_image: str) -> str:
    """The tiny chart's prerequisites: its image loaded, its Secret created (holding a canary)."""
    run(["minikube", "image", "load", local_image], cluster.env)
    run(
        [
            "kubectl",
            "-n",
            namespace,
            "create",
            "secret",
            "generic",
            "tiny-secrets",
            "--from-literal=API_KEY=canary-helm-7781",
        ],
        cluster.env,
    )
    return namespace


def test_kubectl_apply_get_rollout_status_and_logs(cluster: FakeCluster, namespace: str, local_image: str) -> None:
    env = cluster.env
    run(["minikube", "image", "load", local_image], env)
    manifest = cluster.state_dir / "web.yaml"
    manifest.write_text(MANIFEST.format(image=local_image, deadline=600))
    assert "deployment.apps/web created" in run(["kubectl", "-n", namespace, "apply", "-f", str(manifest)], env).stdout
    out = run(["kubectl", "-n", namespace, "rollout", "status", "deployment/web", "--timeout=10s"], env).stdout
    assert 'deployment "web" successfully rolled out' in out
    assert "unchanged" in run(["kubectl", "-n", namespace, "apply", "-f", str(manifest)], env).stdout
    pods = json.loads(run(["kubectl", "-n", namespace, "get", "pods", "-l", "app=web", "-o", "json"], env).stdout)
    [pod] = pods["items"]
    logs = run(["kubectl", "-n", namespace, "logs", pod["metadata"]["name"], "--tail=1"], env).stdout
    assert logs.strip().startswith("INFO:")
    table = run(["kubectl", "-n", namespace, "get", "pods"], env).stdout
    assert "Running" in table and "1/1" in table
    events = run(
        [
            "kubectl",
            "-n",
            namespace,
            "get",
            "events",
            "--field-selector",
            "reason=Scheduled",
            "-o",
            "jsonpath={.items[*].reason}",
        ],
        env,
    ).stdout
    assert events == "Scheduled"


def test_kubectl_rollout_status_fails_on_progress_deadline(cluster: FakeCluster, namespace: str) -> None:
    manifest = cluster.state_dir / "web.yaml"
    manifest.write_text(MANIFEST.format(image="not-loaded:1", deadline=1))
    run(["kubectl", "-n", namespace, "apply", "-f", str(manifest)], cluster.env)
    proc = run(
        ["kubectl", "-n", namespace, "rollout", "status", "deployment/web", "--timeout=10s"], cluster.env, check=False
    )
    assert proc.returncode != 0
    assert 'deployment "web" exceeded its progress deadline' in proc.stderr


def test_helm_install_history_status_rollback_uninstall(cluster: FakeCluster, ready_world: str) -> None:
    env, ns = cluster.env, ready_world
    started = time.monotonic()
    helm_install(cluster, ns, "--wait", "--timeout", "20s")
    assert time.monotonic() - started < 15
    helm_install(cluster, ns, "--wait", "--timeout", "20s", "--set", "message=second")
    history = json.loads(run(["helm", "history", "tiny", "-n", ns, "-o", "json"], env).stdout)
    assert [(h["revision"], h["status"]) for h in history] == [(1, "superseded"), (2, "deployed")]
    status = json.loads(run(["helm", "status", "tiny", "-n", ns, "-o", "json"], env).stdout)
    assert status["info"]["status"] == "deployed" and status["version"] == 2
    run(["helm", "rollback", "tiny", "1", "-n", ns, "--wait", "--timeout", "20s"], env)
    assert cluster.get("ConfigMap", ns, "tiny-config")["data"] == {"MESSAGE": "hello"}
    # helm keeps its releases in Secrets (sent as protobuf by its Go client).
    releases = [s for s in cluster.objects("Secret", ns) if s["type"] == "helm.sh/release.v1"]
    assert len(releases) == 3 and releases[0]["metadata"]["labels"]["owner"] == "helm"
    assert "application/vnd.kubernetes.protobuf" in {
        r.content_type for r in cluster.requests if r.path.endswith("/secrets")
    }
    run(["helm", "uninstall", "tiny", "-n", ns, "--wait"], env)
    assert cluster.objects("Deployment", ns) == [] and cluster.objects("Pod", ns) == []
    assert not [s for s in cluster.objects("Secret", ns) if s["type"] == "helm.sh/release.v1"]


def test_helm_client_side_apply_also_works(cluster: FakeCluster, ready_world: str) -> None:
    """--server-side=false: helm computes three-way strategic merge patches itself."""
    helm_install(cluster, ready_world, "--server-side=false", "--wait", "--timeout", "20s")
    helm_install(cluster, ready_world, "--server-side=false", "--wait", "--timeout", "20s", "--set", "message=csa")
    patches = [r for r in cluster.requests if r.method == "PATCH" and "tiny-config" in r.path]
    assert patches and all(r.content_type == "application/strategic-merge-patch+json" for r in patches)
    assert cluster.get("ConfigMap", ready_world, "tiny-config")["data"] == {"MESSAGE": "csa"}
    assert len(cluster.objects("ReplicaSet", ready_world)) == 2


def test_helm_never_sends_the_secret_value(cluster: FakeCluster, ready_world: str) -> None:
    helm_install(cluster, ready_world, "--wait", "--timeout", "20s")
    carriers = [r for r in cluster.requests if r.is_write and r.mentions("canary-helm-7781")]
    assert [(r.method, r.path) for r in carriers] == [("POST", f"/api/v1/namespaces/{ready_world}/secrets")]


def test_values_inside_helm_release_records_are_found(cluster: FakeCluster, ready_world: str) -> None:
    """A value passed with --set ends up gzipped inside the release Secret: `mentions` must see it."""
    helm_install(cluster, ready_world, "--set", "message=canary-in-values-5521")
    carriers = [r for r in cluster.requests if r.is_write and r.mentions("canary-in-values-5521")]
    paths = {r.path for r in carriers}
    assert f"/api/v1/namespaces/{ready_world}/secrets" in paths  # the release record (protobuf, gzipped)
    assert f"/api/v1/namespaces/{ready_world}/configmaps/tiny-config" in paths


def test_helm_wait_fails_on_crash_loop_and_rolls_back(cluster: FakeCluster, ready_world: str) -> None:
    helm_install(cluster, ready_world, "--wait", "--timeout", "20s")
    cluster.set_scenario("crash-loop")
    proc = helm_install(
        cluster,
        ready_world,
        "--wait",
        "--timeout",
        "3s",
        "--rollback-on-failure",
        "--set",
        "message=broken",
        check=False,
    )
    assert proc.returncode != 0
    assert "not ready" in proc.stderr or "context deadline exceeded" in proc.stderr
    history = json.loads(run(["helm", "history", "tiny", "-n", ready_world, "-o", "json"], cluster.env).stdout)
    assert [h["status"] for h in history] == ["superseded", "failed", "deployed"]
    assert cluster.get("ConfigMap", ready_world, "tiny-config")["data"] == {"MESSAGE": "hello"}
    # The rollback brought the first ReplicaSet back, and with it the healthy pods it had.
    run(["kubectl", "-n", ready_world, "rollout", "status", "deployment/tiny-web", "--timeout=10s"], cluster.env)
    [rs] = [r for r in cluster.objects("ReplicaSet", ready_world) if r["spec"]["replicas"]]
    assert rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"


def test_helm_wait_fails_when_the_secret_lacks_a_key(cluster: FakeCluster, ready_world: str) -> None:
    proc = helm_install(
        cluster, ready_world, "--wait", "--timeout", "3s", "--set", "secretKey=COHERE_API_KEY", check=False
    )
    assert proc.returncode != 0
    pod = cluster.objects("Pod", ready_world)[0]
    waiting = pod["status"]["containerStatuses"][0]["state"]["waiting"]
    assert waiting["reason"] == "CreateContainerConfigError"
    status = json.loads(run(["helm", "status", "tiny", "-n", ready_world, "-o", "json"], cluster.env).stdout)
    assert status["info"]["status"] == "failed"


@pytest.mark.skipif(not (PROJECT_CHART / "Chart.yaml").exists(), reason="the project chart is not in this tree")
def test_project_chart_installs_and_becomes_ready(cluster: FakeCluster, namespace: str, local_image: str) -> None:
    env = cluster.env
    for name in ("todo-backend", "todo-frontend"):
        run(["/usr/bin/docker", "tag", local_image, f"{name}:fake1"], env)
        run(["minikube", "image", "load", f"{name}:fake1"], env)
    run(
        [
            "kubectl",
            "-n",
            namespace,
            "create",
            "secret",
            "generic",
            "todo-secrets",
            "--from-literal=COHERE_API_KEY=c",
            "--from-literal=DATABASE_URL=sqlite:////tmp/x.db",
            "--from-literal=JWT_SECRET=j",
        ],
        env,
    )
    proc = run(
        [
            "helm",
            "upgrade",
            "--install",
            "todo",
            str(PROJECT_CHART),
            "-n",
            namespace,
            "--wait",
            "--timeout",
            "30s",
            "--set",
            "secrets.existingSecret=todo-secrets",
            "--set",
            "backend.image.tag=fake1",
            "--set",
            "frontend.image.tag=fake1",
            "--set",
            "database.enabled=false",
        ],
        env,
        check=False,
    )  # DATABASE_URL is given
    assert proc.returncode == 0, proc.stderr
    deployments = cluster.objects("Deployment", namespace)
    assert len(deployments) == 2
    assert all(d["status"].get("availableReplicas") == d["spec"]["replicas"] for d in deployments)
    [frontend] = [s for s in cluster.objects("Service", namespace) if s["spec"]["type"] == "NodePort"]
    port = frontend["spec"]["ports"][0]["nodePort"]
    assert port >= 30000
    cluster.wait_for(lambda: port in cluster.network.node_ports, timeout=3)
    assert httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).json() == {"status": "ok"}
