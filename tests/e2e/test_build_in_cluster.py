"""`invoke up --build-in-cluster` against the two shapes real `minikube docker-env` prints
(kubernetes/minikube cmd/minikube/cmd/docker-env.go): tcp:// with mutual TLS for the Docker runtime,
ssh:// (nerdctld, experimental) for containerd. Before, the fake gave a unix socket, so the TLS branch
never ran, and the ssh:// shape ended in an unexpected error."""

from __future__ import annotations

from pathlib import Path

import pytest

from fakecluster import FakeCluster
from tests.e2e.harness import invoke

pytestmark = [pytest.mark.e2e, pytest.mark.docker]


def test_build_in_cluster_talks_tls_to_the_node_engine(cluster: FakeCluster, env_file: Path) -> None:
    run = invoke(cluster, "up", "--build-in-cluster", env_file=env_file)
    assert run.returncode == 0, run.explain()
    assert cluster.docker_tls_connections > 0  # the images were checked and built through tcp:// + TLS
    assert len(run.named("image.load_skipped")) == 2 and run.named("health.ok")


def test_build_in_cluster_says_when_the_runtime_is_not_docker(cluster: FakeCluster, env_file: Path) -> None:
    cluster.set_minikube(container_runtime="containerd")
    run = invoke(cluster, "up", "--build-in-cluster", env_file=env_file)
    assert run.returncode == 3, run.explain()
    assert "runs containerd" in run.output and "minikube start --container-runtime=docker" in run.output
    assert not run.named("image.built") and not run.named("helm.upgraded")
