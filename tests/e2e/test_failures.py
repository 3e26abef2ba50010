"""Each way a deploy can fail, through the real CLI against the fake cluster: the exit code, the
message, the state left behind, and that it did not wait for the deadline to say so."""

from __future__ import annotations

import base64
import dataclasses
from pathlib import Path

import pytest
import yaml

from fakecluster import FakeCluster
from tests.e2e.harness import (
    CANARIES,
    FAST,
    Background,
    app_secrets,
    checkout_copy,
    decoded,
    deployment_images,
    edit_backend,
    helm_release_records,
    invoke,
    kubectl,
    leaks,
    write_env,
)

pytestmark = [pytest.mark.e2e, pytest.mark.docker, pytest.mark.proof("faults")]
NS = "todo-app"


def helm_calls(run) -> int:  # type: ignore[no-untyped-def]
    return len([e for e in run.events if e["event"].startswith("helm.")])


@pytest.mark.parametrize(
    ("scenario", "reason", "words"),
    [
        ("crash-loop", "CrashLoopBackOff", ["could not connect to the database", "still crashing after"]),
        ("unschedulable", "Unschedulable", ["Insufficient cpu", "cpu", "still unschedulable after 20 s"]),
    ],
)
def test_first_install_that_cannot_heal_is_uninstalled(
    scenario: str, reason: str, words: list[str], env_file: Path
) -> None:
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


@pytest.mark.parametrize("scenario", ["crash-once", "node-not-ready"])
def test_first_sight_is_not_final(scenario: str, env_file: Path) -> None:
    # crash-once: CrashLoopBackOff after the first crash, then the restart works (a dependency came up);
    # node-not-ready: Unschedulable for a few seconds while the node becomes ready.
    # crash-once: the first run crashes after 6 s and the restart 6 s later works, so the wait sees it
    timings = dataclasses.replace(FAST, crash_interval=6.0)
    with FakeCluster(scenario, timings=timings, ingress_port="none") as cluster:
        run = invoke(cluster, "up", env_file=env_file)
        assert run.returncode == 0, run.explain()
        seen = {e["reason"] for e in run.named("rollout.status")}
        assert ("CrashLoopBackOff" if scenario == "crash-once" else "Unschedulable") in seen, seen
        assert not run.named("helm.rolled_back")


def test_no_rollback_keeps_the_failed_release(env_file: Path) -> None:
    with FakeCluster("crash-loop", timings=FAST, ingress_port="none") as cluster:
        run = invoke(cluster, "up", "--no-rollback", env_file=env_file)
        assert run.returncode == 6, run.explain()
        assert not run.named("helm.rolled_back")
        assert cluster.objects("Deployment", NS)


def test_break_fix_redeploy_rolls_the_fix(env_file: Path, tmp_path: Path) -> None:
    # The commonest loop: a change that crashes is deployed with --no-rollback, the developer fixes the
    # code and runs `invoke up` again. Until the fix is available, the crashing pod of the previous
    # ReplicaSet keeps running (and crashing) under the Deployment's labels: it must not fail the fix.
    checkout = checkout_copy(tmp_path)
    # the fix starts slowly (15 s to Ready), so the old crashing pod is still there while `up` waits
    with FakeCluster(
        "healthy", timings=dataclasses.replace(FAST, slow_ready_after=15.0), ingress_port="none"
    ) as cluster:
        assert invoke(cluster, "up", env_file=env_file, root=checkout).returncode == 0
        cluster.set_scenario("crash-loop")
        edit_backend(checkout, "a change that crashes at start")
        broken = invoke(cluster, "up", "--no-rollback", env_file=env_file, root=checkout)
        assert broken.returncode == 6, broken.explain()
        assert "CrashLoopBackOff" in broken.output

        cluster.set_scenario("slow")
        edit_backend(checkout, "the fix")
        fixed = invoke(cluster, "up", env_file=env_file, root=checkout)
        assert fixed.returncode == 0, fixed.explain()
        assert not fixed.named("helm.rolled_back")

        def backend_ref(run) -> str:  # type: ignore[no-untyped-def]
            return next(
                e["ref"]
                for e in run.events
                if e["event"] in ("image.built", "image.skipped") and e["image"] == "todo-backend"
            )

        assert backend_ref(fixed) != backend_ref(broken)  # the fix is a new image...
        assert backend_ref(fixed) in {img for imgs in deployment_images(cluster, NS).values() for img in imgs}
        replaced = [e for e in fixed.named("rollout.status") if e["reason"] == "OldRevision"]
        assert replaced and all(e["message"] == "old revision, being replaced" for e in replaced), fixed.explain()


def test_failed_upgrade_rolls_back_to_the_last_good_revision(
    cluster: FakeCluster, env_file: Path, tmp_path: Path
) -> None:
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


def test_rotation_whose_pods_never_get_ready_is_rolled_back(
    cluster: FakeCluster, env_file: Path, tmp_path: Path
) -> None:
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


def test_a_failed_last_revision_is_not_what_is_deployed(cluster: FakeCluster, env_file: Path, tmp_path: Path) -> None:
    # `helm get values` without --revision returns the last revision's values even when it failed
    # (helm/helm pkg/action/action.go, releaseContent): status and rotate-secrets must read the
    # values of the last deployed revision.
    import subprocess

    assert invoke(cluster, "up", env_file=env_file).returncode == 0
    (deployed,) = app_secrets(cluster, NS)
    cluster.set_scenario("crash-loop")
    failed = subprocess.run(
        [
            "helm",
            "upgrade",
            "todo-app",
            "charts/todo-app",
            "-n",
            NS,
            "--reuse-values",
            "--set",
            "secrets.existingSecret=todo-app-secrets-never-written",
            "--wait",
            "--timeout",
            "3s",
        ],
        env=cluster.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert failed.returncode != 0, failed.stdout + failed.stderr
    history = subprocess.run(
        ["helm", "history", "todo-app", "-n", NS, "-o", "json"],
        env=cluster.env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert '"failed"' in history
    cluster.set_scenario("healthy")

    status = invoke(cluster, "status", env_file=env_file)
    report = status.named("status.report")[0]
    assert report["release_status"] == "failed"
    assert report["secret"] == deployed["metadata"]["name"], status.explain()

    rotated = write_env(tmp_path / "rotated.env", {**CANARIES, "COHERE_API_KEY": "co-canary-rotated-5e1f"})
    rotate = invoke(cluster, "rotate-secrets", "--only", "COHERE_API_KEY", env_file=rotated)
    assert rotate.returncode == 0, rotate.explain()
    new = next(
        s for s in app_secrets(cluster, NS) if s["metadata"]["name"] == rotate.named("secret.written")[0]["name"]
    )
    assert decoded(new) == {**CANARIES, "COHERE_API_KEY": "co-canary-rotated-5e1f"}


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
    manifest = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": NS},
        "type": "Opaque",
        "data": partial,
    }

    kubectl(cluster, "create", "namespace", NS)
    kubectl(cluster, "apply", "-f", "-", manifest=manifest)
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


def test_stopped_minikube_with_no_start_is_an_environment_problem(env_file: Path) -> None:
    # without --no-start `up` starts it (tests/e2e/test_minikube_setup.py)
    with FakeCluster("healthy", timings=FAST, ingress_port="none") as cluster:
        cluster.stop_minikube()
        run = invoke(cluster, "up", "--no-start", env_file=env_file)
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
