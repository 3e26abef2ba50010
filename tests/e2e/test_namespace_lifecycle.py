"""Namespace lifecycle as a real API server enforces it (NamespaceLifecycle admission, asynchronous
deletion), through the real CLI against the fake cluster."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from fakecluster import FakeCluster
from tests.e2e.harness import Background, app_secrets, helm_release_records, invoke

pytestmark = [pytest.mark.e2e, pytest.mark.docker]


def kubectl(cluster: FakeCluster, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["kubectl", *args], input=stdin, env=cluster.env, capture_output=True, text=True, timeout=60, check=True
    )


def test_down_in_the_default_namespace_keeps_it_and_succeeds(cluster: FakeCluster, env_file: Path) -> None:
    # Deleting `default` is a 403 on a real cluster: `down` must not try, and must not blame credentials.
    up = invoke(cluster, "up", "--namespace", "default", env_file=env_file)
    assert up.returncode == 0, up.explain()
    assert app_secrets(cluster, "default")
    down = invoke(cluster, "down", "--namespace", "default", env_file=env_file)
    assert down.returncode == 0, down.explain()
    assert down.named("namespace.kept") and not down.named("namespace.deleted")
    assert not app_secrets(cluster, "default") and not helm_release_records(cluster, "default")
    assert not cluster.objects("Deployment", "default")
    assert cluster.get("Namespace", "", "default") is not None
    assert not [r for r in cluster.requests if r.method == "DELETE" and r.path.endswith("/namespaces/default")]


def test_up_waits_for_a_terminating_namespace_then_recreates_it(cluster: FakeCluster, env_file: Path) -> None:
    # An interrupted `down` (or someone's `kubectl delete ns`) leaves the namespace Terminating; creating
    # anything in it is a 403 until it is gone. Here a finalizer holds it until the test removes it.
    held = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "todo-app", "finalizers": ["example.com/hold"]},
    }
    kubectl(cluster, "apply", "-f", "-", stdin=yaml.safe_dump(held))
    kubectl(cluster, "delete", "namespace", "todo-app", "--wait=false")
    run = Background(cluster, "up", env_file=env_file)
    waiting = run.wait_for_event("namespace.waiting")
    assert waiting["namespace"] == "todo-app"
    kubectl(cluster, "patch", "namespace", "todo-app", "--type=merge", "-p", '{"metadata":{"finalizers":null}}')
    done = run.finish()
    assert done.returncode == 0, done.explain()
    assert done.named("namespace.created")
    namespace = cluster.get("Namespace", "", "todo-app")
    assert namespace is not None and namespace["status"]["phase"] == "Active"
