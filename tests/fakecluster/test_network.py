"""NodePort and ingress reachability: real HTTP to a real upstream, only once a Ready pod backs the Service."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import httpx
import pytest

from fakecluster import FakeCluster
from fakecluster.network import Upstream, free_port
from tests.conftest import ROOT

from .conftest import FAST, run
from .test_helm_kubectl import helm_install

BACKEND_DIR = ROOT / "app" / "backend"


INGRESS = """
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: tiny
spec:
  ingressClassName: nginx
  rules:
    - host: todo-app.local
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service:
                name: tiny-web
                port:
                  number: 80
"""


def get(url: str, host: str | None = None) -> httpx.Response:
    return httpx.get(url, headers={"Host": host} if host else {}, timeout=10)


def reachable(url: str, host: str | None = None) -> bool:
    try:
        return get(url, host).status_code == 200
    except httpx.TransportError:
        return False


def install_tiny(cluster: FakeCluster, namespace: str, image: str, load: bool = True) -> None:
    if load:
        run(["minikube", "image", "load", image], cluster.env)
    run(
        ["kubectl", "-n", namespace, "create", "secret", "generic", "tiny-secrets", "--from-literal=API_KEY=x"],
        cluster.env,
    )
    helm_install(cluster, namespace)


def test_node_port_forwards_only_when_a_ready_pod_backs_the_service(
    cluster: FakeCluster, namespace: str, local_image: str
) -> None:
    install_tiny(cluster, namespace, local_image, load=False)
    port = cluster.node_port(namespace, "tiny-web")
    assert port is not None and 30000 <= port <= 32767
    cluster.wait_for(lambda: port in cluster.network.node_ports, timeout=3)
    with pytest.raises(httpx.TransportError):
        get(f"http://127.0.0.1:{port}/health")  # image not loaded: no ready endpoint
    run(["minikube", "image", "load", local_image], cluster.env)
    cluster.wait_for(lambda: reachable(f"http://127.0.0.1:{port}/health"), timeout=5)
    assert get(f"http://127.0.0.1:{port}/health").json() == {"status": "ok"}
    assert (
        run(["minikube", "service", "tiny-web", "-n", namespace, "--url"], cluster.env).stdout.strip()
        == f"http://127.0.0.1:{port}"
    )


def test_ingress_routes_by_host_when_the_addon_is_enabled(local_image: str) -> None:
    with FakeCluster("healthy", upstream="builtin", ingress_port=free_port(), timings=FAST) as cluster:
        run(["kubectl", "create", "namespace", "web"], cluster.env)
        install_tiny(cluster, "web", local_image)
        manifest = cluster.state_dir / "ingress.yaml"
        manifest.write_text(INGRESS)
        run(["kubectl", "-n", "web", "apply", "-f", str(manifest)], cluster.env)
        url = f"http://127.0.0.1:{cluster.ingress_port}/health"
        with pytest.raises(httpx.TransportError):
            get(url, "todo-app.local")  # no ingress controller until the addon is enabled
        run(["minikube", "addons", "enable", "ingress"], cluster.env)
        cluster.wait_for(lambda: reachable(url, "todo-app.local"), timeout=5)
        assert get(url, "other.local").status_code == 404


def test_default_upstream_is_the_real_backend(local_image: str) -> None:
    with FakeCluster("healthy", timings=FAST) as cluster:
        if cluster.network.upstream.spec != "backend":
            pytest.fail("tests/conftest.py gives the backend dir, so the real backend must be the default upstream")
        run(["kubectl", "create", "namespace", "web"], cluster.env)
        install_tiny(cluster, "web", local_image)
        port = cluster.node_port("web", "tiny-web")
        cluster.wait_for(lambda: reachable(f"http://127.0.0.1:{port}/health"), timeout=40, interval=0.5)
        response = get(f"http://127.0.0.1:{port}/health")
        assert response.json() == {"status": "ok"} and "uvicorn" in response.headers.get("server", "")


def test_a_service_can_have_its_own_upstream(local_image: str) -> None:
    with FakeCluster("healthy", upstream="builtin", timings=FAST) as other:  # any real HTTP server will do
        other_url = f"{other.url}"
        with FakeCluster(
            "healthy", upstream="builtin", timings=FAST, service_upstreams={"web/tiny-web": other_url}
        ) as cluster:
            run(["kubectl", "create", "namespace", "web"], cluster.env)
            install_tiny(cluster, "web", local_image)
            port = cluster.node_port("web", "tiny-web")
            cluster.wait_for(lambda: reachable(f"http://127.0.0.1:{port}/version"), timeout=5)
            assert get(f"http://127.0.0.1:{port}/version").json()["gitVersion"] == "v1.35.0"


def test_paths_come_from_the_caller_or_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("FAKECLUSTER_BACKEND_DIR", raising=False)
    monkeypatch.delenv("FAKECLUSTER_TOOLS_BIN", raising=False)
    bare = FakeCluster(state_dir=tmp_path / "bare")
    assert bare.backend_dir is None and bare.tools_bin is None
    assert Upstream(None, bare.backend_dir).spec == "builtin"
    with pytest.raises(ValueError, match="backend_dir"):
        Upstream("backend", tmp_path)  # no todo_api/main.py there
    monkeypatch.setenv("FAKECLUSTER_TOOLS_BIN", str(tmp_path / "tools"))
    told = FakeCluster(state_dir=tmp_path / "told", backend_dir=BACKEND_DIR)
    assert told.backend_dir == BACKEND_DIR and told.tools_bin == tmp_path / "tools"
    assert told.env["PATH"].split(os.pathsep)[:2] == [str(told.bin_dir), str(tmp_path / "tools")]
    assert Upstream(None, told.backend_dir).spec == "backend"


def _forward(cluster: FakeCluster, *args: str) -> tuple[subprocess.Popen[str], list[str]]:
    proc = subprocess.Popen(
        ["kubectl", "port-forward", *args], env=cluster.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines: list[str] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line.rstrip("\n"))
        if line.startswith("Forwarding from 127.0.0.1:") or line.startswith("error"):
            break
    return proc, lines


def test_kubectl_port_forward_is_emulated_and_every_other_command_is_the_real_kubectl(
    cluster: FakeCluster, namespace: str, local_image: str
) -> None:
    assert "Client Version: v1.35" in run(["kubectl", "version", "--client"], cluster.env).stdout
    install_tiny(cluster, namespace, local_image, load=False)
    # The pod exists but is not running (its image is not on the node): kubectl's refusal, exit 1.
    cluster.wait_for(lambda: cluster.objects("Pod", namespace), timeout=5)
    refused = run(["kubectl", "port-forward", "svc/tiny-web", "0:80", "-n", namespace], cluster.env, check=False)
    assert refused.returncode == 1
    assert "error: unable to forward port because pod is not running. Current status=Pending" in refused.stderr

    run(["minikube", "image", "load", local_image], cluster.env)
    cluster.wait_for(
        lambda: all(p.get("status", {}).get("phase") == "Running" for p in cluster.objects("Pod", namespace)), timeout=5
    )
    proc, lines = _forward(cluster, "svc/tiny-web", "0:80", "--namespace", namespace, "--address", "127.0.0.1")
    try:
        match = re.fullmatch(r"Forwarding from 127\.0\.0\.1:(\d+) -> 8000", lines[-1])  # the Service's targetPort
        assert match, lines
        assert get(f"http://127.0.0.1:{match.group(1)}/health").json() == {"status": "ok"}
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    assert f"Handling connection for {match.group(1)}" in out
    missing = run(["kubectl", "port-forward", "svc/nope", "0:80", "-n", namespace], cluster.env, check=False)
    assert missing.returncode == 1 and 'services "nope" not found' in missing.stderr
