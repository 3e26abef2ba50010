"""The ingress addon's admission webhook (fakecluster/ingress_webhook.py), seen by kubectl as on a real
minikube: refused while the controller is not ready, then host+path collisions across namespaces."""

from __future__ import annotations

import json
from pathlib import Path

from fakecluster import FakeCluster, Timings

from .conftest import run

SLOW_INGRESS = Timings(ready_after=0.2, tick=0.1, ingress_ready_after=3600)


def _ingress(tmp_path: Path, namespace: str, name: str, host: str, path: str = "/") -> Path:
    manifest = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "ingressClassName": "nginx",
            "rules": [
                {
                    "host": host,
                    "http": {
                        "paths": [
                            {
                                "path": path,
                                "pathType": "Prefix",
                                "backend": {"service": {"name": "web", "port": {"number": 80}}},
                            }
                        ]
                    },
                }
            ],
        },
    }
    file = tmp_path / f"{namespace}-{name}.json"
    file.write_text(json.dumps(manifest))
    return file


def test_ingress_writes_fail_until_the_controller_is_ready_then_collisions_are_refused(tmp_path: Path) -> None:
    with FakeCluster(upstream="builtin", timings=SLOW_INGRESS) as cluster:
        env = cluster.env
        # Without the addon there is no webhook: any Ingress is stored.
        run(["kubectl", "create", "namespace", "one"], env)
        run(["kubectl", "create", "namespace", "two"], env)
        run(["kubectl", "apply", "-f", str(_ingress(tmp_path, "one", "before", "before.local"))], env)

        run(["minikube", "addons", "enable", "ingress"], env)
        cluster.wait_for(lambda: cluster.get("ValidatingWebhookConfiguration", "", "ingress-nginx-admission"))
        refused = run(
            ["kubectl", "apply", "-f", str(_ingress(tmp_path, "one", "app", "todo-app.local"))], env, check=False
        )
        assert refused.returncode != 0
        assert (
            'Internal error occurred: failed calling webhook "validate.nginx.ingress.kubernetes.io": failed to '
            'call webhook: Post "https://ingress-nginx-controller-admission.ingress-nginx.svc:443/networking/v1/'
            'ingresses?timeout=10s": dial tcp '
        ) in refused.stderr
        assert "connect: connection refused" in refused.stderr
        assert cluster.get("Ingress", "one", "app") is None

        cluster.set_timings(ingress_ready_after=0)
        cluster.wait_for(
            lambda: (
                run(
                    ["kubectl", "apply", "-f", str(_ingress(tmp_path, "one", "app", "todo-app.local"))],
                    env,
                    check=False,
                ).returncode
                == 0
            )
        )
        # The same host and path from another namespace: denied, naming the Ingress that has it.
        collided = run(
            ["kubectl", "apply", "-f", str(_ingress(tmp_path, "two", "app", "todo-app.local"))], env, check=False
        )
        assert collided.returncode != 0
        assert (
            'admission webhook "validate.nginx.ingress.kubernetes.io" denied the request: host "todo-app.local" '
            'and path "/" is already defined in ingress one/app'
        ) in collided.stderr
        # Another host, or another path on the same host, is fine; so is re-applying the same Ingress.
        run(["kubectl", "apply", "-f", str(_ingress(tmp_path, "two", "app", "app.two.local"))], env)
        run(["kubectl", "apply", "-f", str(_ingress(tmp_path, "two", "api", "todo-app.local", "/api"))], env)
        run(["kubectl", "label", "ingress", "-n", "one", "app", "touched=yes"], env)

        run(["minikube", "addons", "disable", "ingress"], env)
        cluster.wait_for(lambda: cluster.get("ValidatingWebhookConfiguration", "", "ingress-nginx-admission") is None)
