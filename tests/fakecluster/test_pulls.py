"""Images named by a registry on loopback are pulled from it (fakecluster/pulls.py): present once the
registry has the manifest, ErrImagePull then ImagePullBackOff until then."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config

from fakecluster import FakeCluster
from fakecluster.pulls import parse
from fakecluster.registry import BINARY, LocalRegistry

from .conftest import DOCKER


@pytest.fixture
def registry() -> Iterator[LocalRegistry]:
    if not Path(BINARY).exists():
        pytest.fail(f"{BINARY} is missing: `apt-get install docker-registry` (scripts/test installs it)")
    with LocalRegistry() as running:
        yield running


def test_parse_names_only_loopback_registries() -> None:
    ref = parse("127.0.0.1:5000/team/web:1@sha256:ab")
    assert ref is not None and (ref.host, ref.repository, ref.reference) == ("127.0.0.1:5000", "team/web", "sha256:ab")
    assert parse("localhost:5000/web").reference == "latest"  # type: ignore[union-attr]
    assert parse("docker.io/library/web:1") is None and parse("web:1") is None


def _waiting(cluster: FakeCluster, namespace: str, wanted: str) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        for pod in cluster.objects("Pod", namespace):
            for status in pod.get("status", {}).get("containerStatuses") or []:
                if (status.get("state", {}).get("waiting") or {}).get("reason") == wanted:
                    return status
        return None

    return cluster.wait_for(probe, timeout=10)


def test_an_image_is_pulled_once_the_registry_has_it(
    cluster: FakeCluster, namespace: str, local_image: str, registry: LocalRegistry
) -> None:
    image = f"{registry.address}/fc/web:1"
    api = config.new_client_from_config(config_file=str(cluster.kubeconfig))
    client.AppsV1Api(api).create_namespaced_deployment(
        namespace,
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web"},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "web", "image": image, "imagePullPolicy": "IfNotPresent"}]},
                },
            },
        },
    )
    first = _waiting(cluster, namespace, "ErrImagePull")
    assert "manifest unknown" in first["state"]["waiting"]["message"]
    backoff = _waiting(cluster, namespace, "ImagePullBackOff")
    assert backoff["state"]["waiting"]["message"] == f'Back-off pulling image "{image}"'
    failed = [e["message"] for e in cluster.objects("Event", namespace) if e["reason"] == "Failed"]
    assert any(m.startswith(f'Failed to pull image "{image}"') for m in failed), failed

    subprocess.run([DOCKER, "tag", local_image, image], check=True, capture_output=True)
    try:
        pushed = subprocess.run([DOCKER, "push", image], check=True, capture_output=True, text=True).stdout
    finally:
        subprocess.run([DOCKER, "rmi", image], capture_output=True)
    digest = next(word for word in pushed.split() if word.startswith("sha256:"))

    def running() -> dict[str, Any] | None:
        for pod in cluster.objects("Pod", namespace):
            for status in pod.get("status", {}).get("containerStatuses") or []:
                if "running" in status.get("state", {}):
                    return status
        return None

    status = cluster.wait_for(running, timeout=15)
    assert status["imageID"] == f"docker-pullable://{registry.address}/fc/web@{digest}"
