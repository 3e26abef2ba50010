"""kube/helm.py: the real helm binary against the project's fake cluster."""

from __future__ import annotations

from pathlib import Path

from orchestrator.kube import helm
from orchestrator.kube.helm import Action, HelmTarget
from orchestrator.run.events import Reporter


def test_real_helm_stores_the_fingerprint_skips_and_rolls_back(tmp_path: Path) -> None:
    from kubernetes.client import CoreV1Api

    from fakecluster.cluster import FakeCluster
    from orchestrator.kube import api as kube

    chart_dir = Path(__file__).resolve().parents[3] / "charts" / "todo-app"
    values = {
        "backend": {"image": {"repository": "todo-backend", "tag": "abc123"}},
        "frontend": {"image": {"repository": "todo-frontend", "tag": "abc123"}},
        "secrets": {"existingSecret": "todo-app-secrets-v1", "version": "v1"},
    }
    with FakeCluster(scenario="healthy") as cluster:
        client = kube.api_client(str(cluster.kubeconfig), "minikube")
        CoreV1Api(client).create_namespace({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "todo-app"}})
        target = HelmTarget("todo-app", "todo-app", str(cluster.kubeconfig), "minikube")
        reporter = Reporter()
        real = helm.Helm(target, reporter, env={k: v for k, v in cluster.env.items() if k.startswith("HELM_")})
        first = real.upgrade(chart_dir, values, timeout_s=60, disable_openapi_validation=True)
        assert (first.action, first.revision) == (Action.INSTALL, 1)
        assert real.history()[-1].fingerprint == first.fingerprint
        assert real.upgrade(chart_dir, values, timeout_s=60, disable_openapi_validation=True).action is Action.SKIP
        changed = {**values, "secrets": {"existingSecret": "todo-app-secrets-v2", "version": "v2"}}
        assert real.upgrade(chart_dir, changed, timeout_s=60, disable_openapi_validation=True).revision == 2
        assert real.rollback(1) == 3
        # revision 3 runs revision 1's content: the first values are deployed again, nothing to do
        assert real.upgrade(chart_dir, values, timeout_s=60, disable_openapi_validation=True).action is Action.SKIP
        assert real.get_values(3) == values
    assert [e["event"] for e in reporter.history] == [
        "helm.upgraded",
        "helm.skipped",
        "helm.upgraded",
        "helm.rolled_back",
        "helm.skipped",
    ]
