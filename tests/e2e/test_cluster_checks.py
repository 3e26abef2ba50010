"""What the cluster itself says before anything is built: its Kubernetes version, through the real
CLI against the fake cluster."""

from __future__ import annotations

from pathlib import Path

import pytest

from fakecluster import FakeCluster
from tests.e2e.harness import FAST, invoke

pytestmark = [pytest.mark.e2e, pytest.mark.docker]


def test_kubernetes_older_than_the_chart_fails_before_the_build(env_file: Path) -> None:
    # minikube v1.32.0 starts Kubernetes v1.28.3 by default; the chart needs >=1.30.0-0
    with FakeCluster("healthy", timings=FAST, ingress_port="none", kubernetes_version="v1.28.3") as cluster:
        run = invoke(cluster, "up", env_file=env_file)
        assert run.returncode == 3, run.explain()
        assert "Kubernetes v1.28.3" in run.output and "minikube start --kubernetes-version=v1.30.0" in run.output
        assert not [e for e in run.events if e["event"].startswith(("image.", "helm."))]
        assert not [r for r in cluster.requests if r.is_write]
        doctor = invoke(cluster, "doctor", json_lines=False)
        assert "kubernetes" in doctor.output and "v1.28.3" in doctor.output, doctor.explain()


@pytest.mark.parametrize(
    ("state", "fix"),
    [
        ({"apiserver": "Paused", "kubelet": "Stopped"}, "minikube unpause"),  # `minikube pause`: exit bit 2
        ({"kubeconfig": "Misconfigured"}, "minikube update-context"),  # exit bit 4
    ],
)
def test_minikube_status_gets_its_own_fix_with_no_start(state: dict[str, str], fix: str, env_file: Path) -> None:
    with FakeCluster("healthy", timings=FAST, ingress_port="none") as cluster:
        cluster.set_minikube(**state)
        cluster.clear_requests()
        run = invoke(cluster, "up", "--no-start", env_file=env_file)
        assert run.returncode == 3, run.explain()
        assert fix in run.output and "minikube start" not in run.output, run.explain()
        assert not run.named("minikube.action") and cluster.minikube_state.get("calls", []) == []
        assert not [r for r in cluster.requests if r.is_write]


def test_a_second_minikube_network_is_local_because_minikube_says_so(tmp_path: Path) -> None:
    # The docker driver gave this cluster 192.168.58.0/24 (the second free /24 from .49 in steps of 9):
    # the guard asks `minikube ip` and accepts exactly that address, nothing else.
    import yaml

    with FakeCluster("healthy", timings=FAST, ingress_port="none") as cluster:
        config = yaml.safe_load(Path(cluster.env["KUBECONFIG"]).read_text())
        config["clusters"][0]["cluster"]["server"] = "https://192.168.58.2:8443"
        moved = tmp_path / "kubeconfig"
        moved.write_text(yaml.safe_dump(config))
        cluster.set_minikube(ip="192.168.58.2")
        doctor = invoke(cluster, "doctor", json_lines=False, extra_env={"KUBECONFIG": str(moved)})
        assert "minikube -> https://192.168.58.2:8443 (local)" in doctor.output, doctor.explain()
        cluster.set_minikube(ip="192.168.67.2")  # minikube says another address: this server is not it
        refused = invoke(cluster, "doctor", json_lines=False, extra_env={"KUBECONFIG": str(moved)})
        assert "refusing to deploy" in refused.output and "minikube reports 192.168.67.2" in refused.output
