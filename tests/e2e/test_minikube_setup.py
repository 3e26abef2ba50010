"""`invoke up` brings minikube to a deployable state before it deploys, each action announced before
it runs (start, unpause, update-context, enable the ingress addon, then the ingress controller is
waited for); `--no-start` runs none of them and stops with exit 3 and the commands. A run with
nothing to fix runs no minikube command that changes anything. Then the final summary: the URL
that works now and, when the Ingress host does not point at the cluster here, the /etc/hosts line.
Through the real CLI, the fake `minikube` command and the fake cluster."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from fakecluster import FakeCluster
from orchestrator.kube.health import resolve_host
from orchestrator.kube.minikube_setup import install_hint
from tests.e2e.harness import FAST, Background, invoke

pytestmark = [pytest.mark.e2e, pytest.mark.docker]


def _actions(run: object) -> list[str]:
    return [e["command"] for e in run.named("minikube.action")]  # type: ignore[attr-defined]


def _calls(cluster: FakeCluster) -> list[str]:
    return list(cluster.minikube_state.get("calls") or [])


def test_a_stopped_minikube_is_started_then_the_app_deployed_and_a_second_up_changes_nothing(
    env_file: Path,
) -> None:
    with FakeCluster("healthy", timings=FAST, ingress_port="none") as cluster:
        cluster.stop_minikube()
        run = invoke(cluster, "up", env_file=env_file)
        assert run.returncode == 0, run.explain()
        # started first; the ingress addon (off on this cluster) enabled once it runs
        assert _actions(run) == ["minikube start", "minikube addons enable ingress"], run.explain()
        assert _calls(cluster) == ["start", "addons enable ingress"]
        assert cluster.minikube_state["host"] == "Running" and cluster.minikube_state["addons"]["ingress"]
        assert run.named("health.ok") and run.named("up.result")
        names = [e["event"] for e in run.events]
        assert names.index("minikube.action") < names.index("cluster.version")  # before the cluster is read

        again = invoke(cluster, "up", env_file=env_file)
        assert again.returncode == 0, again.explain()
        assert _actions(again) == [] and _calls(cluster) == ["start", "addons enable ingress"], again.explain()
        assert not again.named("helm.upgraded") and not again.named("minikube.ingress_waiting")


def test_a_paused_minikube_is_unpaused(env_file: Path) -> None:
    with FakeCluster("healthy", timings=FAST, ingress_port="none") as cluster:
        cluster.set_minikube(apiserver="Paused", kubelet="Stopped", addons={"ingress": True})
        run = invoke(cluster, "up", env_file=env_file, json_lines=False)
        assert run.returncode == 0, run.explain()
        assert "minikube is paused: running `minikube unpause`" in run.output, run.explain()
        assert _calls(cluster) == ["unpause"]


def test_a_misconfigured_kubeconfig_gets_update_context(env_file: Path) -> None:
    with FakeCluster("healthy", timings=FAST, ingress_port="none") as cluster:
        cluster.set_minikube(kubeconfig="Misconfigured", addons={"ingress": True})
        run = invoke(cluster, "up", env_file=env_file)
        assert run.returncode == 0, run.explain()
        assert _actions(run) == ["minikube update-context"] and _calls(cluster) == ["update-context"]


def test_a_missing_profile_is_created_with_the_ingress_addon(env_file: Path) -> None:
    with FakeCluster("healthy", timings=FAST, ingress_port="none") as cluster:
        cluster.set_minikube(exists=False, host="Nonexistent", kubelet="Nonexistent", apiserver="Nonexistent")
        run = invoke(cluster, "up", env_file=env_file)
        assert run.returncode == 0, run.explain()
        assert _actions(run) == ["minikube start --addons=ingress"], run.explain()
        assert cluster.minikube_state["addons"]["ingress"]


def test_the_ingress_addon_is_enabled_and_its_controller_waited_for(env_file: Path) -> None:
    # the controller is not ready until the test says so: `up` must wait, and say so
    with FakeCluster("healthy", timings=replace(FAST, ingress_ready_after=3600), ingress_port="none") as cluster:
        up = Background(cluster, "up", env_file=env_file)
        up.wait_for_event("minikube.ingress_waiting")
        assert "minikube.ingress_ready" not in up.stdout_so_far() and "image." not in up.stdout_so_far()
        cluster.set_timings(ingress_ready_after=0)
        run = up.finish()
        assert run.returncode == 0, run.explain()
        assert _actions(run) == ["minikube addons enable ingress"], run.explain()
        names = [e["event"] for e in run.events]
        cluster_done = next(
            i for i, e in enumerate(run.events) if e["event"] == "phase.finished" and e["phase"] == "cluster"
        )
        assert names.index("minikube.ingress_ready") < cluster_done  # within the cluster phase, before any build
        assert not run.named("helm.retry")  # the Ingress was never refused by the not-ready webhook


def test_no_start_on_a_stopped_minikube_is_exit_3_with_the_command_and_changes_nothing(env_file: Path) -> None:
    with FakeCluster("healthy", timings=FAST, ingress_port="none") as cluster:
        cluster.stop_minikube()
        run = invoke(cluster, "up", "--no-start", env_file=env_file)
        assert run.returncode == 3, run.explain()
        assert "`minikube start`" in run.finished["hint"], run.explain()
        assert _calls(cluster) == [] and cluster.minikube_state["host"] == "Stopped"
        assert not [r for r in cluster.requests if r.is_write]
        assert not [e for e in run.events if e["event"].startswith(("image.", "helm.", "minikube.action"))]


def test_minikube_missing_from_path_is_exit_3_with_the_install_command(env_file: Path, tmp_path: Path) -> None:
    with FakeCluster("healthy", timings=FAST, ingress_port="none") as cluster:
        tools = tmp_path / "bin"
        tools.mkdir()
        for tool in cluster.bin_dir.iterdir():  # every tool of the fake but minikube
            if tool.name != "minikube":
                (tools / tool.name).symlink_to(tool)
        path = os.pathsep.join(
            [str(tools), *(p for p in cluster.env["PATH"].split(os.pathsep) if p != str(cluster.bin_dir))]
        )
        run = invoke(cluster, "up", env_file=env_file, extra_env={"PATH": path})
        assert run.returncode == 3, run.explain()
        assert "minikube is not installed" in run.finished["error"]
        assert run.finished["hint"] == install_hint() and "minikube-linux-" in run.finished["hint"]
        assert cluster.requests == []


def test_the_summary_gives_the_url_that_works_now_and_the_hosts_line(env_file: Path) -> None:
    with FakeCluster("healthy", timings=FAST, ingress_port="none") as cluster:
        run = invoke(cluster, "up", env_file=env_file)
        assert run.returncode == 0, run.explain()
        (result,) = run.named("up.result")
        (health,) = run.named("health.ok")
        node_port = cluster.node_port("todo-app", "todo-app-frontend")
        # no ingress listens here: the NodePort answered, at minikube's address (the fake's: 127.0.0.1)
        assert health["url"] == f"http://127.0.0.1:{node_port}/health"
        assert result["access"][0] == f"todo-app is up: http://127.0.0.1:{node_port}/"
        if "127.0.0.1" in resolve_host("todo-app.local"):  # this machine maps the host already
            assert result["access"] == [result["access"][0]]
        else:
            assert len(result["access"]) == 2 and "`127.0.0.1 todo-app.local`" in result["access"][1]
            assert "/etc/hosts" in result["access"][1] and "minikube tunnel" in result["access"][1]

        human = invoke(cluster, "up", env_file=env_file, json_lines=False)  # a no-op, as a person reads it
        assert human.returncode == 0, human.explain()
        assert f"  http://127.0.0.1:{node_port}/" in human.stdout, human.explain()
        for line in result["access"][1:]:
            assert f"  {line}" in human.stdout, human.explain()
