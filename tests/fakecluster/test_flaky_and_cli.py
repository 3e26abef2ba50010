"""The api-flaky scenario (500s, then 503s, then refused connections, then recovery) and the CLI."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx

from fakecluster import FakeCluster

from .conftest import FAST

ROOT = Path(__file__).resolve().parents[2]


def test_api_flaky_fails_in_phases_then_recovers() -> None:
    with FakeCluster("api-flaky", upstream="builtin", timings=FAST) as cluster:
        outcomes: list[str] = []
        deadline = time.monotonic() + FAST.flaky_delay + FAST.flaky_error_seconds + FAST.outage_seconds + 1.5
        while time.monotonic() < deadline:
            try:
                code = httpx.get(f"{cluster.url}/api/v1/namespaces", timeout=1).status_code
                outcomes.append(str(code))
            except httpx.TransportError:
                outcomes.append("refused")
            time.sleep(0.05)
        assert outcomes[0] == "200"
        assert "500" in outcomes and "503" in outcomes and "refused" in outcomes
        # In that order, and healthy again at the end.
        assert outcomes.index("500") < outcomes.index("503") < outcomes.index("refused")
        assert outcomes[-1] == "200"
        errors = [r for r in cluster.requests if r.status == 500]
        assert errors and all(r.path == "/api/v1/namespaces" for r in errors)


def test_an_outage_cuts_open_watches(cluster: FakeCluster) -> None:
    url = f"{cluster.url}/api/v1/namespaces?watch=1&timeoutSeconds=30"
    started = time.monotonic()
    with httpx.stream("GET", url, timeout=10) as response:
        cluster.outage(1.0)
        try:
            for _ in response.iter_lines():
                pass
        except httpx.TransportError:
            pass
    assert time.monotonic() - started < 5


def test_outage_on_demand_from_a_healthy_cluster(cluster: FakeCluster) -> None:
    cluster.outage(2.0)  # 1 s of 503s, then 1 s of refused connections
    assert httpx.get(f"{cluster.url}/version", timeout=1).status_code == 503
    cluster.wait_for(lambda: not _port_open(cluster), timeout=3, interval=0.05)
    cluster.wait_for(
        lambda: _port_open(cluster) and httpx.get(f"{cluster.url}/version", timeout=1).status_code == 200, timeout=3
    )


def _port_open(cluster: FakeCluster) -> bool:
    try:
        httpx.get(f"{cluster.url}/healthz", timeout=1)
        return True
    except httpx.TransportError:
        return False


def test_cli_runs_the_command_against_the_cluster_and_passes_its_exit_code(tmp_path: Path) -> None:
    script = (
        "kubectl create namespace cli-test >/dev/null && minikube status >/dev/null && "
        "kubectl get namespace cli-test -o jsonpath={.status.phase} && exit 3"
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "fakecluster",
            "--scenario",
            "healthy",
            "--state-dir",
            str(tmp_path),
            "--ingress-port",
            "none",
            "--upstream",
            "builtin",
            "--",
            "sh",
            "-c",
            script,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 3, proc.stderr
    assert proc.stdout == "Active"
    kubeconfig = (tmp_path / "kubeconfig").read_text()
    assert "current-context: minikube" in kubeconfig and "server: http://127.0.0.1:" in kubeconfig


def test_every_scenario_name_still_works_from_the_cli(tmp_path: Path) -> None:
    from fakecluster import Scenario

    runs = [(scenario, "real") for scenario in Scenario] + [(Scenario.CRASH_LOOP, "scripted")]
    for scenario, pods in runs:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "fakecluster",
                "--scenario",
                scenario.value,
                "--pods",
                pods,
                "--state-dir",
                str(tmp_path / f"{scenario.value}-{pods}"),
                "--ingress-port",
                "none",
                "--upstream",
                "builtin",
                "--",
                "sh",
                "-c",
                "cat $FAKE_MINIKUBE_STATE >/dev/null",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 0, (scenario, pods, proc.stderr)
        assert (tmp_path / f"{scenario.value}-{pods}" / "scenario").read_text() == scenario.value


def test_the_cli_runs_pods_as_containers_by_default(tmp_path: Path) -> None:
    manifest = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: hello}\nspec:\n  selector: {matchLabels: "
        "{app: hello}}\n  template:\n    metadata: {labels: {app: hello}}\n    spec:\n      containers:\n"
        "      - name: hello\n        image: python:3.11-slim\n        imagePullPolicy: Never\n"
        "        command: [sh, -c, 'echo hello from $(hostname); sleep 600']\n"
    )
    script = (
        "minikube image load python:3.11-slim && kubectl apply -f - >/dev/null && "
        "kubectl wait --for=condition=Ready pod -l app=hello --timeout=90s >/dev/null && sleep 1 && "
        "kubectl logs deploy/hello"
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "fakecluster",
            "--state-dir",
            str(tmp_path),
            "--ingress-port",
            "none",
            "--",
            "sh",
            "-c",
            script,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        input=manifest,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("hello from hello-"), proc.stdout  # the container's hostname: the pod name
