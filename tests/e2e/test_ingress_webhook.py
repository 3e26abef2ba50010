"""The ingress addon's admission webhook, met through `invoke up` as on a real minikube.

Right after `minikube addons enable ingress` the controller is not ready and the API server refuses
every Ingress (`failed calling webhook "validate.nginx.ingress.kubernetes.io" ... connection
refused`, kubernetes/minikube#13799); once it is ready it refuses a second Ingress with the same host
and path in any namespace. Before, the tool took the first for an unreachable cluster (exit 3, "start
minikube") and the second for a generic helm failure, and every release asked for `todo-app.local`.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from fakecluster import FakeCluster
from tests.e2e.harness import FAST, Background, invoke

pytestmark = [pytest.mark.e2e, pytest.mark.docker]
NS = "todo-app"


def _enable_ingress(cluster: FakeCluster) -> None:
    subprocess.run(["minikube", "addons", "enable", "ingress"], env=cluster.env, check=True, capture_output=True)
    cluster.wait_for(lambda: cluster.get("ValidatingWebhookConfiguration", "", "ingress-nginx-admission"))


def test_up_waits_for_the_ingress_controller_then_installs(env_file: Path) -> None:
    # `up` waits for the controller before it builds (tests/e2e/test_minikube_setup.py); here the
    # controller goes unready afterwards (a restart) so the Ingress write meets the refusing webhook.
    with FakeCluster("healthy", timings=FAST, ingress_port="none") as cluster:
        _enable_ingress(cluster)
        up = Background(cluster, "up", env_file=env_file)
        up.wait_for_event("images")  # the cluster phase saw the controller ready
        cluster.set_timings(ingress_ready_after=3600)  # not ready again until the test says so
        retry = up.wait_for_event("helm.retry")
        assert "admission webhook is not ready" in retry["reason"], retry
        cluster.set_timings(ingress_ready_after=0)  # the controller comes up while the tool waits
        run = up.finish()
        assert run.returncode == 0, run.explain()
        assert run.named("health.ok")
        (ingress,) = cluster.objects("Ingress", NS)
        assert ingress["spec"]["rules"][0]["host"] == "todo-app.local"
        history = subprocess.run(
            ["helm", "history", "todo-app", "-n", NS, "-o", "json"],
            env=cluster.env,
            check=True,
            capture_output=True,
            text=True,
        )
        assert [r["status"] for r in json.loads(history.stdout)][-1] == "deployed"


def test_each_release_gets_its_own_host_and_a_foreign_collision_is_refused_with_the_fix(
    cluster: FakeCluster, env_file: Path, tmp_path: Path
) -> None:
    _enable_ingress(cluster)
    cluster.wait_for(
        lambda: (
            subprocess.run(
                [
                    "kubectl",
                    "wait",
                    "-n",
                    "ingress-nginx",
                    "--for=condition=Ready",
                    "pod",
                    "-l",
                    "app.kubernetes.io/component=controller",
                    "--timeout=5s",
                ],
                env=cluster.env,
                capture_output=True,
            ).returncode
            == 0
        ),
        timeout=30,
    )
    # Someone else's Ingress already serves todo-app.local/ from another namespace.
    foreign = tmp_path / "foreign.json"
    foreign.write_text(
        json.dumps(
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "Ingress",
                "metadata": {"name": "web", "namespace": "default"},
                "spec": {
                    "ingressClassName": "nginx",
                    "rules": [
                        {
                            "host": "todo-app.local",
                            "http": {
                                "paths": [
                                    {
                                        "path": "/",
                                        "pathType": "Prefix",
                                        "backend": {"service": {"name": "web", "port": {"number": 80}}},
                                    }
                                ]
                            },
                        }
                    ],
                },
            }
        )
    )
    subprocess.run(["kubectl", "apply", "-f", str(foreign)], env=cluster.env, check=True, capture_output=True)
    refused = invoke(cluster, "up", env_file=env_file)
    assert refused.returncode == 2, refused.explain()
    assert 'host "todo-app.local" and path "/" is already defined in ingress default/web' in refused.output
    assert "unreachable" not in refused.output
    assert "kubectl delete ingress" in refused.output  # the fix

    subprocess.run(["kubectl", "delete", "-f", str(foreign)], env=cluster.env, check=True, capture_output=True)
    assert invoke(cluster, "up", env_file=env_file).returncode == 0
    second = invoke(cluster, "up", "--namespace", "second", env_file=env_file)
    assert second.returncode == 0, second.explain()
    hosts = {i["metadata"]["namespace"]: i["spec"]["rules"][0]["host"] for i in cluster.objects("Ingress")}
    assert hosts == {NS: "todo-app.local", "second": "todo-app.second.local"}
