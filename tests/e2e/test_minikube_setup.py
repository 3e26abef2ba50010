"""`invoke up` brings minikube to a deployable state before it deploys, each action announced before
it runs (start, unpause, update-context, enable the ingress addon, then the ingress controller is
waited for); `--no-start` runs none of them and stops with exit 3 and the commands. A run with
nothing to fix runs no minikube command that changes anything. Then the final summary: the URL
that works now and, when the Ingress host does not point at the cluster here, the /etc/hosts line.
Through the real CLI, the fake `minikube` command and the fake cluster; one cluster goes through
every state (a fresh fake cluster per state would cost the suite minutes)."""

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


def test_each_minikube_state_gets_its_action_then_up_deploys_and_a_healthy_one_gets_none(env_file: Path) -> None:
    # The controller is not ready until the test says so: the first `up` must wait for it, and say so.
    with FakeCluster("healthy", timings=replace(FAST, ingress_ready_after=3600), ingress_port="none") as cluster:
        # -- stopped, ingress addon off: started, the addon enabled, its controller waited for ----------
        cluster.stop_minikube()
        background = Background(cluster, "up", env_file=env_file)
        background.wait_for_event("minikube.ingress_waiting")
        assert "image." not in background.stdout_so_far()  # nothing is built before the cluster is ready
        cluster.set_timings(ingress_ready_after=0)
        first = background.finish()
        assert first.returncode == 0, first.explain()
        assert _actions(first) == ["minikube start", "minikube addons enable ingress"], first.explain()
        assert _calls(cluster) == ["start", "addons enable ingress"]
        names = [e["event"] for e in first.events]
        cluster_done = next(
            i for i, e in enumerate(first.events) if e["event"] == "phase.finished" and e["phase"] == "cluster"
        )
        assert names.index("minikube.action") < names.index("cluster.version")  # before the API is read
        assert names.index("minikube.ingress_ready") < cluster_done
        assert not first.named("helm.retry")  # the Ingress never met the not-ready webhook
        assert first.named("health.ok") and first.named("helm.upgraded")

        # -- healthy: only `minikube status` and `addons list` are read; nothing runs, nothing deploys ---
        noop = invoke(cluster, "up", env_file=env_file)
        assert noop.returncode == 0, noop.explain()
        assert _actions(noop) == [] and _calls(cluster) == ["start", "addons enable ingress"], noop.explain()
        assert not noop.named("helm.upgraded") and not noop.named("minikube.ingress_waiting")

        # -- paused: unpaused (as a person reads it) ---------------------------------------------------
        cluster.set_minikube(apiserver="Paused", kubelet="Stopped")
        paused = invoke(cluster, "up", env_file=env_file, json_lines=False)
        assert paused.returncode == 0, paused.explain()
        assert "minikube is paused: running `minikube unpause`" in paused.output, paused.explain()
        assert _calls(cluster)[2:] == ["unpause"]

        # -- the kubeconfig points elsewhere: update-context --------------------------------------------
        cluster.set_minikube(kubeconfig="Misconfigured")
        misconfigured = invoke(cluster, "up", env_file=env_file)
        assert misconfigured.returncode == 0, misconfigured.explain()
        assert _actions(misconfigured) == ["minikube update-context"] and _calls(cluster)[3:] == ["update-context"]

        # -- no profile at all: created with the ingress addon ------------------------------------------
        # (the fake keeps its API objects: what the new profile would hold is the deployed app)
        cluster.set_minikube(exists=False, host="Nonexistent", kubelet="Nonexistent", apiserver="Nonexistent")
        created = invoke(cluster, "up", env_file=env_file)
        assert created.returncode == 0, created.explain()
        assert _actions(created) == ["minikube start --addons=ingress"], created.explain()
        assert _calls(cluster)[4:] == ["start"]


def test_no_start_and_a_missing_minikube_are_exit_3_then_the_summary_gives_the_url_that_works_now(
    env_file: Path, tmp_path: Path
) -> None:
    with FakeCluster("healthy", timings=FAST, ingress_port="none") as cluster:
        cluster.stop_minikube()
        run = invoke(cluster, "up", "--no-start", env_file=env_file)
        assert run.returncode == 3, run.explain()
        assert "`minikube start`" in run.finished["hint"], run.explain()
        assert _calls(cluster) == [] and cluster.minikube_state["host"] == "Stopped"
        assert not [r for r in cluster.requests if r.is_write]
        assert not [e for e in run.events if e["event"].startswith(("image.", "helm.", "minikube.action"))]

        # minikube not on PATH (every other tool of the fake is): the install command for this OS
        tools = tmp_path / "bin"
        tools.mkdir()
        for tool in cluster.bin_dir.iterdir():
            if tool.name != "minikube":
                (tools / tool.name).symlink_to(tool)
        path = os.pathsep.join(
            [str(tools), *(p for p in cluster.env["PATH"].split(os.pathsep) if p != str(cluster.bin_dir))]
        )
        cluster.clear_requests()
        missing = invoke(cluster, "up", env_file=env_file, extra_env={"PATH": path})
        assert missing.returncode == 3, missing.explain()
        assert "minikube is not installed" in missing.finished["error"]
        assert missing.finished["hint"] == install_hint() and "minikube-linux-" in missing.finished["hint"]
        assert cluster.requests == []

        # -- then `up` (it starts minikube): the summary's URL that works now, and the /etc/hosts line ----
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
