"""The node agent (real-pod mode): pods run as Docker containers under their spec, probes as the
kubelet runs them, restarts with the back-off, Services by name, NodePort to Ready endpoints, and
nothing left behind. Images: the seeded python:3.11-slim (python3, sh)."""

from __future__ import annotations

import base64
import json
import subprocess
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from fakecluster import FakeCluster, Timings
from fakecluster.kubelet import CLUSTER_LABEL
from fakecluster.podspec import go_duration, hosts_file, quantity
from tests.fakecluster.conftest import DOCKER

pytestmark = [pytest.mark.docker]
IMAGE = "python:3.11-slim"
REAL = Timings(
    ready_after=0.2,
    slow_ready_after=2.0,
    crash_interval=0.5,
    flaky_delay=0.5,
    flaky_error_seconds=1.5,
    outage_seconds=2.0,
    tick=0.1,
    probe_scale=0.1,
    probe_period_scale=0.1,
    backoff_scale=0.1,
)
SERVE = (
    "import http.server, os, socketserver\n"
    "class H(http.server.BaseHTTPRequestHandler):\n"
    "    def do_GET(self):\n"
    "        body = (os.environ.get('GREETING', '') + ' from ' + os.uname().nodename).encode()\n"
    "        self.send_response(200 if self.path != '/broken' else 500)\n"
    "        self.end_headers(); self.wfile.write(body)\n"
    "    def log_message(self, *a): print('served', self.path, flush=True)\n"
    "print('listening', flush=True)\n"
    "socketserver.TCPServer(('', 8080), H).serve_forever()\n"
)


@pytest.fixture
def real_cluster() -> Iterator[FakeCluster]:
    with FakeCluster("healthy", upstream="builtin", timings=REAL, ingress_port="none", real_pods=True) as fake:
        image_id = subprocess.run(
            [DOCKER, "image", "inspect", "-f", "{{.Id}}", IMAGE], capture_output=True, text=True, check=True
        ).stdout.strip()
        fake.load_image(IMAGE, image_id)
        yield fake


def create(cluster: FakeCluster, kind: str, namespace: str, body: dict[str, Any]) -> None:
    store = cluster.store
    assert store is not None
    body = {"apiVersion": "apps/v1" if kind == "Deployment" else "v1", "kind": kind, **body}
    body.setdefault("metadata", {})["namespace"] = namespace
    cluster.call(lambda: store.create(store.table.by_kind(kind), namespace, body))


def deployment(name: str, container: dict[str, Any], **pod_spec: Any) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "metadata": {"name": name},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": name, "image": IMAGE, **container}], **pod_spec},
            },
        },
    }


def pod_of(cluster: FakeCluster, namespace: str, app: str) -> dict[str, Any] | None:
    pods = [p for p in cluster.objects("Pod", namespace) if p["metadata"].get("labels", {}).get("app") == app]
    return pods[0] if pods else None


def container_status(cluster: FakeCluster, namespace: str, app: str) -> dict[str, Any]:
    pod = pod_of(cluster, namespace, app)
    statuses = (pod or {}).get("status", {}).get("containerStatuses") or [{}]
    return statuses[0]


def ready(cluster: FakeCluster, namespace: str, app: str) -> bool:
    return bool(container_status(cluster, namespace, app).get("ready"))


def inspect(docker_id: str) -> dict[str, Any]:
    out = subprocess.run([DOCKER, "inspect", docker_id], capture_output=True, text=True, check=True).stdout
    return json.loads(out)[0]


def labelled(kind: str, cluster_id: str) -> list[str]:
    argv = [DOCKER, kind, "ls", "-q", "--filter", f"label={CLUSTER_LABEL}={cluster_id}"]
    if kind == "container":
        argv.insert(3, "-a")
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout.split()


def web(greeting_from: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "command": ["python3", "-c", SERVE],
        "ports": [{"name": "http", "containerPort": 8080}],
        "env": [{"name": "GREETING", **(greeting_from or {"value": "hello"})}],
        "readinessProbe": {"httpGet": {"path": "/", "port": "http"}, "periodSeconds": 1},
        **extra,
    }


def test_pod_runs_under_its_spec_and_leaves_nothing(real_cluster: FakeCluster) -> None:
    ns = "default"
    create(
        real_cluster,
        "Secret",
        ns,
        {"metadata": {"name": "s"}, "type": "Opaque", "data": {"token": base64.b64encode(b"tok-123").decode()}},
    )
    create(real_cluster, "ConfigMap", ns, {"metadata": {"name": "cm"}, "data": {"GREETING": "bonjour", "MODE": "x"}})
    script = (
        "import os, pathlib; print('uid', os.getuid(), 'gid', os.getgid(), 'groups', sorted(os.getgroups()));"
        "print('mode', os.environ['MODE'], 'token', os.environ['TOKEN'], 'derived', os.environ['DERIVED']);"
        "print('file', pathlib.Path('/etc/creds/token').read_text());"
        "pathlib.Path('/tmp/w').write_text('ok'); print('tmp writable');"
        "import time; time.sleep(600)"
    )
    spec = deployment(
        "app",
        {
            "command": ["python3", "-u", "-c", script],
            "workingDir": "/tmp",
            "envFrom": [{"configMapRef": {"name": "cm"}}],
            "env": [
                {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "s", "key": "token"}}},
                {"name": "DERIVED", "value": "$(MODE)-y"},
            ],
            "securityContext": {
                "readOnlyRootFilesystem": True,
                "allowPrivilegeEscalation": False,
                "capabilities": {"drop": ["ALL"]},
            },
            "resources": {"limits": {"memory": "96Mi", "cpu": "500m"}},
            "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}, {"name": "creds", "mountPath": "/etc/creds"}],
        },
        securityContext={
            "runAsUser": 10001,
            "runAsGroup": 10001,
            "fsGroup": 10002,
            "runAsNonRoot": True,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        volumes=[{"name": "tmp", "emptyDir": {"sizeLimit": "16Mi"}}, {"name": "creds", "secret": {"secretName": "s"}}],
    )
    create(real_cluster, "Deployment", ns, spec)
    real_cluster.wait_for(lambda: ready(real_cluster, ns, "app"), timeout=60)
    pod = pod_of(real_cluster, ns, "app")
    assert pod is not None and pod["status"]["phase"] == "Running"
    name = pod["metadata"]["name"]
    real_cluster.wait_for(lambda: "tmp writable" in "\n".join(real_cluster.api.logs[(ns, name, "app")].lines), 30)
    log = "\n".join(real_cluster.api.logs[(ns, name, "app")].lines)
    assert "uid 10001 gid 10001 groups [10001, 10002]" in log, log
    assert "mode x token tok-123 derived x-y" in log and "file tok-123" in log, log
    docker_id = container_status(real_cluster, ns, "app")["containerID"].removeprefix("docker://")
    host = inspect(docker_id)["HostConfig"]
    assert host["ReadonlyRootfs"] is True and host["CapDrop"] == ["ALL"]
    assert "no-new-privileges:true" in host["SecurityOpt"] and "seccomp=unconfined" not in host["SecurityOpt"]
    assert host["Memory"] == 96 * 2**20 and host["NanoCpus"] == 500_000_000
    assert host["Tmpfs"]["/tmp"] == f"mode=0777,size={16 * 2**20}"
    assert (
        pod["status"]["podIP"]
        == inspect(docker_id)["NetworkSettings"]["Networks"][f"fakecluster-{real_cluster.node.id}-{ns}"]["IPAddress"]
    )
    cluster_id = real_cluster.node.id
    assert labelled("container", cluster_id) and labelled("network", cluster_id)
    # The pod goes: its container goes.
    store = real_cluster.store
    real_cluster.call(lambda: store.delete(store.table.by_kind("Deployment"), ns, "app"))
    real_cluster.wait_for(lambda: not labelled("container", cluster_id), timeout=30)
    real_cluster.stop()
    assert not labelled("network", cluster_id)


def test_services_by_name_readiness_gates_endpoints_and_node_port(real_cluster: FakeCluster) -> None:
    ns = "shop"
    create(real_cluster, "Namespace", "", {"metadata": {"name": ns}})
    create(real_cluster, "Deployment", ns, deployment("api", web()))
    create(
        real_cluster,
        "Service",
        ns,
        {
            "metadata": {"name": "api"},
            "spec": {"selector": {"app": "api"}, "ports": [{"port": 80, "targetPort": "http"}]},
        },
    )
    client = (
        "import urllib.request, time\n"
        "for name in ('api', 'api.shop', 'api.shop.svc.cluster.local'):\n"
        "    while True:\n"
        "        try:\n"
        "            print(name, urllib.request.urlopen(f'http://{name}/', timeout=2).read().decode(), flush=True)\n"
        "            break\n"
        "        except Exception as exc:\n"
        "            time.sleep(0.3)\n"
        "time.sleep(600)\n"
    )
    create(real_cluster, "Deployment", ns, deployment("client", {"command": ["python3", "-c", client]}))
    create(
        real_cluster,
        "Service",
        ns,
        {
            "metadata": {"name": "front"},
            "spec": {"type": "NodePort", "selector": {"app": "api"}, "ports": [{"port": 8080, "targetPort": 8080}]},
        },
    )
    real_cluster.wait_for(lambda: ready(real_cluster, ns, "api"), timeout=60)
    client_pod = real_cluster.wait_for(lambda: pod_of(real_cluster, ns, "client"), timeout=30)
    key = (ns, client_pod["metadata"]["name"], "client")

    def client_log() -> str:
        return "\n".join(real_cluster.api.logs[key].lines) if key in real_cluster.api.logs else ""

    real_cluster.wait_for(lambda: "api.shop.svc.cluster.local hello" in client_log(), timeout=60)
    api_pod = pod_of(real_cluster, ns, "api")
    assert f"api hello from {api_pod['metadata']['name']}" in client_log()
    port = real_cluster.node_port(ns, "front")
    assert port is not None
    answer = real_cluster.wait_for(lambda: _get(f"http://127.0.0.1:{port}/"), timeout=30)
    assert answer == f"hello from {api_pod['metadata']['name']}"


def _get(url: str) -> str | None:
    try:
        return urllib.request.urlopen(url, timeout=3).read().decode()
    except Exception:  # noqa: BLE001
        return None


def test_readiness_failure_keeps_the_pod_unready_and_says_why(real_cluster: FakeCluster) -> None:
    ns = "default"
    spec = web(readinessProbe={"httpGet": {"path": "/broken", "port": 8080}, "periodSeconds": 1, "failureThreshold": 1})
    create(real_cluster, "Deployment", ns, deployment("sad", spec))
    real_cluster.wait_for(lambda: [e for e in real_cluster.objects("Event", ns) if e["reason"] == "Unhealthy"], 60)
    failed = "Readiness probe failed: HTTP probe failed with statuscode: 500"
    real_cluster.wait_for(lambda: [e for e in real_cluster.objects("Event", ns) if e["message"] == failed], 30)
    status = container_status(real_cluster, ns, "sad")
    assert "running" in status["state"] and status["ready"] is False
    pod = pod_of(real_cluster, ns, "sad")
    assert {c["type"]: c["status"] for c in pod["status"]["conditions"]}["Ready"] == "False"


def test_exits_restart_with_back_off_into_crash_loop(real_cluster: FakeCluster) -> None:
    ns = "default"
    create(real_cluster, "Deployment", ns, deployment("crash", {"command": ["sh", "-c", "echo boom; exit 3"]}))

    def looping() -> bool:
        status = container_status(real_cluster, ns, "crash")
        return (
            status.get("restartCount", 0) >= 2
            and status.get("state", {}).get("waiting", {}).get("reason") == "CrashLoopBackOff"
        )

    real_cluster.wait_for(looping, timeout=60)
    status = container_status(real_cluster, ns, "crash")
    assert status["lastState"]["terminated"]["exitCode"] == 3
    assert status["lastState"]["terminated"]["reason"] == "Error"
    assert "restarting failed container=crash" in status["state"]["waiting"]["message"]
    pod = pod_of(real_cluster, ns, "crash")
    log = real_cluster.api.logs[("default", pod["metadata"]["name"], "crash")]
    assert log.previous == ["boom"]
    assert any(e["reason"] == "BackOff" for e in real_cluster.objects("Event", ns))
    # Stopping while a restart may be under way leaves no container and no network behind.
    cluster_id = real_cluster.node.id
    real_cluster.stop()
    assert not labelled("container", cluster_id) and not labelled("network", cluster_id)


def test_failing_liveness_restarts_the_container(real_cluster: FakeCluster) -> None:
    ns = "default"
    spec = web(
        livenessProbe={
            "httpGet": {"path": "/broken", "port": 8080},
            "initialDelaySeconds": 30,
            "periodSeconds": 1,
            "failureThreshold": 2,
        },
        readinessProbe=None,
    )
    spec.pop("readinessProbe")
    create(real_cluster, "Deployment", ns, deployment("hung", spec, terminationGracePeriodSeconds=1))
    real_cluster.wait_for(lambda: container_status(real_cluster, ns, "hung").get("restartCount", 0) >= 1, 60)
    messages = [e["message"] for e in real_cluster.objects("Event", ns)]
    assert "Liveness probe failed: HTTP probe failed with statuscode: 500" in messages
    assert "Container hung failed liveness probe, will be restarted" in messages


def test_over_the_memory_limit_is_oom_killed(real_cluster: FakeCluster) -> None:
    ns = "default"
    create(
        real_cluster,
        "Deployment",
        ns,
        deployment(
            "hog",
            {
                "command": ["python3", "-c", "x = bytearray(256 * 2**20); import time; time.sleep(60)"],
                "resources": {"limits": {"memory": "48Mi"}},
            },
        ),
    )
    real_cluster.wait_for(lambda: container_status(real_cluster, ns, "hog").get("lastState"), timeout=60)
    terminated = container_status(real_cluster, ns, "hog")["lastState"]["terminated"]
    assert terminated["reason"] == "OOMKilled" and terminated["exitCode"] == 137


def test_pure_helpers() -> None:
    assert quantity("512Mi") == 512 * 2**20 and quantity("500m") == 0.5 and quantity("2") == 2
    assert [go_duration(s) for s in (10, 20, 160, 300, 0.5)] == ["10s", "20s", "2m40s", "5m0s", "500ms"]
    text = hosts_file("p-1", "172.30.0.2", "a", [("svc", "a", "172.30.0.1"), ("other", "b", "172.31.0.1")])
    assert "172.30.0.2\tp-1" in text
    assert "172.30.0.1\tsvc svc.a svc.a.svc svc.a.svc.cluster.local" in text
    assert "172.31.0.1\tother.b other.b.svc other.b.svc.cluster.local" in text
