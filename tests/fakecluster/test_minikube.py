"""The fake `minikube` command: output formats and exit codes of the real one."""

from __future__ import annotations

import json
from pathlib import Path

from fakecluster import FakeCluster

from .conftest import run


def test_status_running_text_and_json(cluster: FakeCluster) -> None:
    text = run(["minikube", "status"], cluster.env)
    assert text.returncode == 0
    assert "host: Running\nkubelet: Running\napiserver: Running\nkubeconfig: Configured" in text.stdout
    status = json.loads(run(["minikube", "status", "-o", "json"], cluster.env).stdout)
    assert status == {
        "Name": "minikube",
        "Host": "Running",
        "Kubelet": "Running",
        "APIServer": "Running",
        "Kubeconfig": "Configured",
        "Worker": False,
    }


def test_stopped_machine_exits_non_zero_and_the_api_is_unreachable(cluster: FakeCluster) -> None:
    cluster.stop_minikube()
    proc = run(["minikube", "status", "-o", "json"], cluster.env, check=False)
    assert proc.returncode == 7
    assert json.loads(proc.stdout)["Host"] == "Stopped"
    assert run(["minikube", "ip"], cluster.env, check=False).returncode != 0
    assert run(["kubectl", "get", "ns", "--request-timeout=2s"], cluster.env, check=False).returncode != 0
    run(["minikube", "start"], cluster.env)
    run(["kubectl", "get", "ns"], cluster.env)


def test_missing_profile(cluster: FakeCluster) -> None:
    cluster.set_minikube(exists=False)
    proc = run(["minikube", "status"], cluster.env, check=False)
    assert proc.returncode == 85 and 'Profile "minikube" not found' in proc.stderr


def test_ip_docker_env_and_update_context(cluster: FakeCluster) -> None:
    assert run(["minikube", "ip"], cluster.env).stdout.strip() == "127.0.0.1"
    assert str(cluster.port) in run(["minikube", "-p", "minikube", "update-context"], cluster.env).stdout
    profiles = json.loads(run(["minikube", "profile", "list", "-o", "json"], cluster.env).stdout)
    assert [p["Name"] for p in profiles["valid"]] == ["minikube"]


def test_image_load_records_only_real_local_images(cluster: FakeCluster, local_image: str) -> None:
    """A missing image is only a warning: `image load` exits 0 whatever it failed to load."""
    missing = run(["minikube", "image", "load", "no-such-image:1"], cluster.env, check=False)
    assert missing.returncode == 0
    assert "The image 'no-such-image:1' was not found; unable to add it to cache." in missing.stderr
    run(["minikube", "image", "load", local_image], cluster.env)
    listed = run(["minikube", "image", "ls"], cluster.env).stdout.splitlines()
    assert f"docker.io/library/{local_image}" in listed
    assert "docker.io/library/no-such-image:1" not in listed
    assert cluster.minikube_state["images"][f"docker.io/library/{local_image}"].startswith("sha256:")
    as_json = json.loads(run(["minikube", "image", "ls", "--format", "json"], cluster.env).stdout)
    assert [f"docker.io/library/{local_image}"] in [i["repoTags"] for i in as_json]


def test_addons(cluster: FakeCluster) -> None:
    before = json.loads(run(["minikube", "addons", "list", "-o", "json"], cluster.env).stdout)
    assert before["ingress"]["Status"] == "disabled"
    assert "The 'ingress' addon is enabled" in run(["minikube", "addons", "enable", "ingress"], cluster.env).stdout
    after = json.loads(run(["minikube", "addons", "list", "-o", "json"], cluster.env).stdout)
    assert after["ingress"]["Status"] == "enabled"
    # The addon's controller runs in the cluster, healthy whatever the scenario.
    cluster.set_scenario("crash-loop")
    cluster.wait_for(
        lambda: (
            (cluster.get("Deployment", "ingress-nginx", "ingress-nginx-controller") or {})
            .get("status", {})
            .get("availableReplicas")
            == 1
        ),
        timeout=5,
    )
    assert cluster.get("IngressClass", "", "nginx")["spec"]["controller"] == "k8s.io/ingress-nginx"
    run(["minikube", "addons", "disable", "ingress"], cluster.env)
    cluster.wait_for(lambda: not cluster.objects("Deployment", "ingress-nginx"), timeout=3)


def test_start_creates_a_missing_profile_with_the_addons_asked_for(cluster: FakeCluster) -> None:
    cluster.set_minikube(exists=False, host="Stopped", kubelet="Stopped", apiserver="Stopped")
    run(["minikube", "start", "--addons=ingress"], cluster.env)
    state = cluster.minikube_state
    assert state["exists"] and state["host"] == "Running" and state["addons"].get("ingress") is True
    run(["kubectl", "get", "ns"], cluster.env)


def test_pause_and_unpause(cluster: FakeCluster) -> None:
    run(["minikube", "pause"], cluster.env)
    status = json.loads(run(["minikube", "status", "-o", "json"], cluster.env, check=False).stdout)
    assert (status["Host"], status["APIServer"], status["Kubelet"]) == ("Running", "Paused", "Stopped")
    assert run(["kubectl", "get", "ns", "--request-timeout=2s"], cluster.env, check=False).returncode != 0
    run(["minikube", "unpause"], cluster.env)
    status = json.loads(run(["minikube", "status", "-o", "json"], cluster.env).stdout)
    assert status["APIServer"] == "Running"
    run(["kubectl", "get", "ns"], cluster.env)


def test_update_context_repairs_a_misconfigured_kubeconfig(cluster: FakeCluster) -> None:
    cluster.set_minikube(kubeconfig="Misconfigured")
    assert (
        json.loads(run(["minikube", "status", "-o", "json"], cluster.env, check=False).stdout)["Kubeconfig"]
        == "Misconfigured"
    )
    run(["minikube", "update-context"], cluster.env)
    assert cluster.minikube_state["kubeconfig"] == "Configured"


def test_docker_env_is_tcp_with_tls_for_docker_and_ssh_for_containerd(cluster: FakeCluster) -> None:
    """As kubernetes/minikube cmd/minikube/cmd/docker-env.go prints them; the TLS endpoint is a real
    engine behind mutual TLS: a client with minikube's certificates gets in, one without does not."""
    import ssl
    import urllib.request

    env = dict(
        line.removeprefix("export ").replace('"', "").split("=", 1)
        for line in run(["minikube", "docker-env"], cluster.env).stdout.splitlines()
        if line.startswith("export")
    )
    assert env["DOCKER_TLS_VERIFY"] == "1" and env["MINIKUBE_ACTIVE_DOCKERD"] == "minikube"
    assert env["DOCKER_HOST"].startswith("tcp://127.0.0.1:")
    certs = Path(env["DOCKER_CERT_PATH"])
    assert {p.name for p in certs.iterdir()} >= {"ca.pem", "cert.pem", "key.pem"}
    url = env["DOCKER_HOST"].replace("tcp://", "https://") + "/_ping"
    trusted = ssl.create_default_context(cafile=str(certs / "ca.pem"))
    anonymous = urllib.request.build_opener(urllib.request.HTTPSHandler(context=trusted))
    try:
        anonymous.open(url, timeout=10)
        raise AssertionError("the engine answered a client without a certificate")
    except OSError:
        pass
    trusted.load_cert_chain(str(certs / "cert.pem"), str(certs / "key.pem"))
    with urllib.request.build_opener(urllib.request.HTTPSHandler(context=trusted)).open(url, timeout=10) as answer:
        assert answer.read() == b"OK"

    cluster.set_minikube(container_runtime="containerd")
    proc = run(["minikube", "docker-env"], cluster.env)
    assert 'export DOCKER_HOST="ssh://docker@127.0.0.1:' in proc.stdout and "DOCKER_TLS_VERIFY" not in proc.stdout
    assert "containerd runtime is a highly experimental feature" in proc.stderr


def test_image_commands_take_the_configured_real_minikube_time(cluster: FakeCluster, local_image: str) -> None:
    import time

    assert (cluster.minikube_state["latency_image_ls"], cluster.minikube_state["latency_image_load"]) == (0, 0)
    cluster.set_minikube(latency_image_ls=1.2, latency_image_load=1.5)
    started = time.monotonic()
    run(["minikube", "image", "ls"], cluster.env)
    listed = time.monotonic() - started
    run(["minikube", "image", "load", local_image], cluster.env)
    loaded = time.monotonic() - started - listed
    assert listed >= 1.2 and loaded >= 1.5
    assert json.loads(run(["minikube", "status", "-o", "json"], cluster.env).stdout)["Host"] == "Running"


def test_image_load_by_name_exports_the_image_and_an_archive_is_loaded_as_it_is(
    cluster: FakeCluster, local_image: str, tmp_path: Path
) -> None:
    """By name, minikube exports the whole image from the engine (daemon.Image) before loading it; a
    path is a file it copies in and loads, with no export, and the load retags (`docker load`)."""
    import subprocess

    calls = tmp_path / "docker-calls"
    shim = tmp_path / "docker"
    shim.write_text(f'#!/bin/sh\necho "$*" >> {calls}\nexec /usr/bin/docker "$@"\n')
    shim.chmod(0o755)
    env = {**cluster.env, "FAKE_MINIKUBE_DOCKER": str(shim)}
    ref = f"docker.io/library/{local_image}"
    image_id = subprocess.run(
        ["/usr/bin/docker", "image", "inspect", "--format", "{{.Id}}", local_image],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()

    run(["minikube", "image", "load", local_image], env)
    assert f"save {local_image}" in calls.read_text().splitlines()

    archive = tmp_path / "web.tar"
    subprocess.run(["/usr/bin/docker", "save", "-o", str(archive), local_image], check=True)
    cluster.load_image(local_image, "sha256:" + "0" * 64)  # the node holds an older image under the tag
    calls.write_text("")
    run(["minikube", "image", "load", str(archive)], env)
    assert not [line for line in calls.read_text().splitlines() if line.startswith("save")]
    assert cluster.minikube_state["images"][ref] == image_id

    broken = tmp_path / "broken.tar"
    broken.write_bytes(b"not a tar")
    before = cluster.minikube_state["images"]
    failed = run(["minikube", "image", "load", str(broken)], env, check=False)
    assert failed.returncode == 0 and cluster.minikube_state["images"] == before  # exit 0, nothing loaded


def test_the_profile_config_holds_the_address_minikube_ip_prints(cluster: FakeCluster) -> None:
    config = Path(cluster.env["MINIKUBE_HOME"]) / "profiles" / "minikube" / "config.json"
    [node] = json.loads(config.read_text())["Nodes"]
    assert (node["Name"], node["IP"], node["ControlPlane"]) == ("", "127.0.0.1", True)
    cluster.set_minikube(ip="127.0.9.9")
    assert json.loads(config.read_text())["Nodes"][0]["IP"] == "127.0.9.9"
    assert run(["minikube", "ip"], cluster.env).stdout.strip() == "127.0.9.9"
    cluster.stop_minikube()  # a stopped cluster keeps its profile, and the address in it
    assert json.loads(config.read_text())["Nodes"][0]["IP"] == "127.0.9.9"
    cluster.set_minikube(exists=False)
    assert not config.exists()
