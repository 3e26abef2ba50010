"""kube/version.py: the server's version against the chart's kubeVersion (pure parts)."""

from __future__ import annotations

from orchestrator.kube.version import chart_minimum, judge, parse_git_version, parse_minimum
from orchestrator.paths import CHART_DIR
from orchestrator.settings.config import Target


def test_parsing() -> None:
    assert parse_git_version("v1.28.3") == (1, 28, 3)
    assert parse_git_version("v1.30.0+k3s1") == (1, 30, 0)
    assert parse_git_version("garbage") is None
    assert parse_minimum(">=1.30.0-0") == (1, 30, 0)
    assert parse_minimum(">= v1.29") == (1, 29, 0)
    assert parse_minimum("^1.30.0") is None  # other forms: left to helm


def test_the_chart_states_the_minimum() -> None:
    assert chart_minimum(CHART_DIR) == (1, 30, 0)


def test_judge() -> None:
    old = judge("v1.28.3", (1, 30, 0))
    assert not old.ok
    err = old.error(Target.MINIKUBE)
    assert err.exit_code == 3 and "minikube start --kubernetes-version=v1.30.0" in err.hint
    assert "kindest/node:v1.30.0" in old.error(Target.KIND).hint
    assert judge("v1.30.0", (1, 30, 0)).ok and judge("v1.35.0+k3s1", (1, 30, 0)).ok
    assert judge("unknown", (1, 30, 0)).ok and judge("v1.20.0", None).ok
