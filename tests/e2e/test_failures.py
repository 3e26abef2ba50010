"""Each way a deploy can fail, through the real CLI against the fake cluster: the exit code, the
message, the state left behind, and that it did not wait for the deadline to say so."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
import yaml

from tests.e2e.harness import (
    Background,
    CANARIES,
    FAST,
    app_secrets,
    decoded,
    helm_release_records,
    invoke,
    leaks,
    write_env,
)
from fakecluster import FakeCluster

pytestmark = [pytest.mark.e2e, pytest.mark.docker, pytest.mark.proof("faults")]
NS = "todo-app"


def helm_calls(run) -> int:  # type: ignore[no-untyped-def]
    return len([e for e in run.events if e["event"].startswith("helm.")])


@pytest.mark.parametrize(
    ("scenario", "reason", "words"),
    [
        ("crash-loop", "CrashLoopBackOff", ["could not connect to the database"]),
        ("unschedulable", "Unschedulable", ["Insufficient cpu", "cpu"]),
    ],
)
def test_first_install_that_cannot_heal_is_uninstalled(scenario: str, reason: str, words: list[str],
                                                         env_file: Path) -> None:
    with FakeCluster(scenario, timings=FAST, ingress_port="none") as cluster:
        run = invoke(cluster, "up", "--timeout", "120", env_file=env_file, json_lines=True)
        assert run.returncode == 5, run.explain()
        assert reason in run.output
        for word in words:
            assert word in run.output, run.explain()
        assert run.named("helm.rolled_back"), run.explain()
        assert run.finished["phases"]["rollout"] < 60  # failed fast, long before the 120 s deadline
        assert not cluster.objects("Deployment", NS)  # the first install was removed
        assert not leaks(run.output)


def test_no_rollback_keeps_the_failed_release(env_file: Path) -> None:
    with FakeCluster("crash-loop", timings=FAST, ingress_port="none") as cluster:
        run = invoke(cluster, "up", "--no-rollback", env_file=env_file)
        assert run.returncode == 6, run.explain()
        assert not run.named("helm.rolled_back")
        assert cluster.objects("Deployment", NS)


def test_failed_upgrade_rolls_back_to_the_last_good_revision(cluster: FakeCluster, env_file: Path,
                                                             tmp_path: Path) -> None:
    assert invoke(cluster, "up", env_file=env_file).returncode == 0
    good_images = {d["metadata"]["name"]: d["spec"]["template"] for d in cluster.objects("Deployment", NS)}
    cluster.set_scenario("crash-loop")
    changed = write_env(tmp_path / "changed.env", {**CANARIES, "COHERE_API_KEY": "co-canary-second-31b7 ß"})
    run = invoke(cluster, "up", env_file=changed)
    assert run.returncode == 5, run.explain()
    rolled = run.named("helm.rolled_back")
    assert rolled and rolled[0]["to_revision"] == 1
    backend = next(d for d in cluster.objects("Deployment", NS) if d["metadata"]["name"].endswith("-backend"))
    assert backend["spec"]["template"] == good_images[backend["metadata"]["name"]]


def test_rotation_whose_pods_never_get_ready_is_rolled_back(cluster: FakeCluster, env_file: Path,
                                                            tmp_path: Path) -> None:
    assert invoke(cluster, "up", env_file=env_file).returncode == 0
    (old,) = app_secrets(cluster, NS)
    old_bytes = dict(old["data"])
    cluster.set_scenario("crash-loop")
    rotated = write_env(tmp_path / "rotated.env", {**CANARIES, "JWT_SECRET": "jwt-canary-rotated-" + "x1y2" * 10})
    run = invoke(cluster, "rotate-secrets", env_file=rotated)
    assert run.returncode == 5, run.explain()
    again = next(s for s in app_secrets(cluster, NS) if s["metadata"]["name"] == old["metadata"]["name"])
    assert again["data"] == old_bytes  # the old Secret was never touched
    backend = next(d for d in cluster.objects("Deployment", NS) if d["metadata"]["name"].endswith("-backend"))
    assert old["metadata"]["name"] in str(backend["spec"]["template"])  # pointing at it again


def test_generated_jwt_secret_is_saved_only_after_success(cluster: FakeCluster, env_file: Path) -> None:
    assert invoke(cluster, "up", env_file=env_file).returncode == 0
    before = env_file.read_text()
    run = invoke(cluster, "rotate-secrets", "--generate", "JWT_SECRET", env_file=env_file)
    assert run.returncode == 0, run.explain()
    after = env_file.read_text()
    assert after != before and "JWT_SECRET=" in after
    new_secret = run.named("secret.written")[0]["name"]
    stored = decoded(next(s for s in app_secrets(cluster, NS) if s["metadata"]["name"] == new_secret))
    assert stored["JWT_SECRET"] in after and stored["JWT_SECRET"] != CANARIES["JWT_SECRET"]
    assert stored["JWT_SECRET"] not in run.output
    # The next up deploys the saved value: nothing to change.
    noop = invoke(cluster, "up", env_file=env_file)
    assert noop.returncode == 0 and noop.named("secret.unchanged") and noop.named("helm.skipped"), noop.explain()


def test_image_the_node_silently_drops_is_caught_at_load(env_file: Path) -> None:
    with FakeCluster("image-not-loaded", timings=FAST, ingress_port="none") as cluster:
        run = invoke(cluster, "up", env_file=env_file)
        assert run.returncode == 6, run.explain()
        assert "did not keep" in run.output and "minikube image" in run.output
        assert helm_calls(run) == 0 and not cluster.objects("Deployment", NS)


def test_secret_missing_a_key_is_caught_before_helm(cluster: FakeCluster, env_file: Path) -> None:
    from orchestrator.kube.secret_store import secret_name, secret_version

    name = secret_name("todo-app", secret_version(CANARIES))
    partial = {k: base64.b64encode(v.encode()).decode() for k, v in CANARIES.items() if k != "JWT_SECRET"}
    manifest = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": NS},
                "type": "Opaque", "data": partial}
    import subprocess

    subprocess.run(["kubectl", "create", "namespace", NS], env=cluster.env, check=True, capture_output=True)
    subprocess.run(["kubectl", "apply", "-f", "-"], input=yaml.safe_dump(manifest), text=True, env=cluster.env,
                   check=True, capture_output=True)
    run = invoke(cluster, "up", env_file=env_file)
    assert run.returncode == 6, run.explain()
    assert "JWT_SECRET" in run.output and f"delete secret {name}" in run.output
    assert helm_calls(run) == 0 and not helm_release_records(cluster, NS)


def test_slow_rollout_is_waited_for(env_file: Path) -> None:
    with FakeCluster("slow", timings=FAST, ingress_port="none") as cluster:
        run = invoke(cluster, "up", env_file=env_file)
        assert run.returncode == 0, run.explain()
        statuses = [e["status"] for e in run.named("rollout.status")]
        assert "InProgress" in statuses and statuses[-1] == "Current", statuses
        assert statuses.index("InProgress") < len(statuses) - 1, "it saw the rollout in progress, then waited"


def test_api_errors_and_outage_are_retried(env_file: Path) -> None:
    # slow: the pods get ready 4 s after they start, so the outage lands while the rollout is watched
    with FakeCluster("slow", timings=FAST, ingress_port="none") as cluster:
        background = Background(cluster, "up", env_file=env_file)
        background.wait_for_event("helm.upgraded")
        # 500s for 1.5 s, then 503s and refused connections: 3 s in all
        cluster.outage(3.0, error_seconds=1.5)
        run = background.finish()
        assert run.returncode == 0, run.explain()
        assert any(r.status >= 500 for r in cluster.requests)  # the API really failed requests
        assert run.named("health.ok")
        result = run.named("rollout.result")[0]
        assert result["ok"] and result["retries"] + (result["mode"] == "poll") >= 1, result


def test_stopped_minikube_is_an_environment_problem(env_file: Path) -> None:
    with FakeCluster("healthy", timings=FAST, ingress_port="none") as cluster:
        cluster.stop_minikube()
        run = invoke(cluster, "up", env_file=env_file)
        assert run.returncode == 3, run.explain()
        assert "minikube start" in run.output
        assert not [r for r in cluster.requests if r.is_write]


def test_wrong_context_sends_no_request(env_file: Path, tmp_path: Path) -> None:
    with FakeCluster("healthy", timings=FAST, ingress_port="none") as cluster:
        config = yaml.safe_load(Path(cluster.env["KUBECONFIG"]).read_text())
        config["contexts"][0]["name"] = "prod-eu"
        config["current-context"] = "prod-eu"
        other = tmp_path / "kubeconfig"
        other.write_text(yaml.safe_dump(config))
        cluster.clear_requests()
        run = invoke(cluster, "up", env_file=env_file, extra_env={"KUBECONFIG": str(other)})
        assert run.returncode == 3, run.explain()
        assert "prod-eu" in run.output and "use-context" in run.output
        assert cluster.requests == []
