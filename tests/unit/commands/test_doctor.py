"""doctor.py: every check failing still yields the full list; single checks pass and fail for the right reasons."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from orchestrator.commands import doctor
from orchestrator.commands.doctor import Check, DoctorInputs, run_checks
from orchestrator.errors import EnvironmentProblem
from orchestrator.shell import Result


def broken_docker() -> Any:
    import docker.errors

    raise docker.errors.DockerException("Error while fetching server API version: connection refused")


class Runner:
    """A scripted command runner: argv prefix -> (returncode, stdout)."""

    def __init__(self, answers: dict[tuple[str, ...], tuple[int, str]]) -> None:
        self.answers = answers
        self.calls: list[list[str]] = []

    def __call__(self, argv: Sequence[str], **kwargs: Any) -> Result:
        self.calls.append(list(argv))
        for prefix, (code, out) in self.answers.items():
            if tuple(argv[: len(prefix)]) == prefix:
                return Result(tuple(argv), code, out, "")
        raise EnvironmentProblem(f"`{argv[0]}` is not installed or not on PATH", "install it")


def failing_inputs(tmp_path: Path) -> DoctorInputs:
    return DoctorInputs(
        root=tmp_path,
        env_file=tmp_path / "missing.env",
        environ={"PATH": str(tmp_path / "empty-bin"), "KUBECONFIG": str(tmp_path / "no-kubeconfig")},
        hosts_file=tmp_path / "hosts",
        base_images=["python:3.11-slim"],
        min_free_gb=10**9,
        run=Runner({}),
        docker_client=broken_docker,
    )


def test_every_check_failing_returns_the_full_list(tmp_path: Path) -> None:
    checks = run_checks(failing_inputs(tmp_path))
    assert [c.name for c in checks] == [name for name, _ in doctor.CHECKS]
    assert not any(c.ok for c in checks)
    assert all(c.detail and c.fix for c in checks), checks
    by_name = {c.name: c for c in checks}
    assert by_name["docker"].detail == "the Docker engine does not answer"
    assert by_name["minikube"].detail == "minikube is not installed"
    assert "does not exist" in by_name["env-file"].detail
    assert "need" in by_name["disk"].detail


def test_a_check_that_crashes_becomes_a_failed_check(tmp_path: Path) -> None:
    def explode(_inp: DoctorInputs) -> Check:
        raise ZeroDivisionError("bad")

    def fine(_inp: DoctorInputs) -> Check:
        return Check("fine", True, "ok")

    checks = run_checks(failing_inputs(tmp_path), [("explode", explode), ("fine", fine)])
    assert checks[0] == Check(
        "explode",
        False,
        "check failed: ZeroDivisionError: bad",
        "see the detail; re-run `invoke doctor` after fixing it",
    )
    assert checks[1].ok and not doctor.all_ok(checks)


def test_pure_helpers() -> None:
    assert doctor.parse_version("v4.1.4+g05fa379") == (4, 1, 4)
    assert doctor.parse_version("v1.35") == (1, 35, 0)
    assert doctor.parse_version("nothing") is None
    assert doctor.in_range((4, 1, 4), doctor.HELM_SUPPORTED)
    assert not doctor.in_range((3, 2, 0), doctor.HELM_SUPPORTED)
    hosts = "127.0.0.1 localhost\n# 10.0.0.1 todo-app.local\n192.168.49.2  todo-app.local other # minikube\n"
    assert doctor.hosts_entry(hosts, "todo-app.local") == "192.168.49.2"
    assert doctor.hosts_entry("127.0.0.1 localhost", "todo-app.local") is None
    dockerfile = (
        "FROM python:3.11-slim AS build\nRUN x\nFROM build AS final\nFROM --platform=linux/amd64 node:22-slim\n"
    )
    assert doctor.base_images_from([dockerfile, "FROM scratch\n"]) == ["python:3.11-slim", "node:22-slim"]


def test_tool_versions_through_the_runner(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("helm", "kubectl", "minikube"):
        (bin_dir / tool).write_text("#!/bin/sh\n")
        (bin_dir / tool).chmod(0o755)
    run = Runner(
        {
            ("helm", "version"): (0, "v4.1.4+g05fa379\n"),
            ("kubectl", "version"): (0, json.dumps({"clientVersion": {"gitVersion": "v1.35.2"}})),
        }
    )
    inp = DoctorInputs(root=tmp_path, environ={"PATH": str(bin_dir)}, run=run)
    assert doctor.check_helm(inp) == Check("helm", True, "helm 4.1.4")
    assert doctor.check_kubectl(inp) == Check("kubectl", True, "kubectl 1.35.2")
    run.answers[("helm", "version")] = (0, "v3.2.0+gabc\n")
    old = doctor.check_helm(inp)
    assert not old.ok and "3.2.0 is outside" in old.detail and ">= 3.14.0" in old.fix


def test_minikube_and_ingress_checks(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "minikube").write_text("#!/bin/sh\n")
    (bin_dir / "minikube").chmod(0o755)
    ready_pod = {
        "metadata": {"name": "ingress-nginx-controller-1"},
        "status": {
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": [{"name": "controller", "ready": True, "state": {"running": {}}}],
        },
    }
    run = Runner(
        {
            ("minikube", "-p", "minikube", "status"): (7, json.dumps({"Host": "Stopped"})),
            ("minikube", "-p", "minikube", "addons"): (0, json.dumps({"ingress": {"Status": "enabled"}})),
            ("kubectl", "get", "pods", "-n", "ingress-nginx"): (0, json.dumps({"items": [ready_pod]})),
        }
    )
    inp = DoctorInputs(root=tmp_path, environ={"PATH": str(bin_dir)}, run=run)
    stopped = doctor.check_minikube(inp)
    assert not stopped.ok and stopped.fix == "minikube start" and "host Stopped" in stopped.detail
    run.answers[("minikube", "-p", "minikube", "status")] = (
        2,
        json.dumps({"Host": "Running", "Kubelet": "Stopped", "APIServer": "Paused", "Kubeconfig": "Configured"}),
    )
    assert doctor.check_minikube(inp).fix == "minikube unpause"
    run.answers[("minikube", "-p", "minikube", "status")] = (0, "{}")
    assert doctor.check_minikube(inp).ok
    assert doctor.check_ingress(inp) == Check("ingress", True, "ingress addon enabled, controller ready (1/1)")
    run.answers[("kubectl", "get", "pods", "-n", "ingress-nginx")] = (0, json.dumps({"items": []}))
    assert not doctor.check_ingress(inp).ok
    run.answers[("minikube", "-p", "minikube", "addons")] = (0, json.dumps({"ingress": {"Status": "disabled"}}))
    assert doctor.check_ingress(inp).fix == "minikube addons enable ingress"


def test_hosts_disk_and_context(tmp_path: Path) -> None:
    hosts = tmp_path / "hosts"
    hosts.write_text("192.168.49.2 todo-app.local\n")
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "minikube",
                "clusters": [{"name": "minikube", "cluster": {"server": "https://192.168.49.2:8443"}}],
                "users": [{"name": "minikube", "user": {}}],
                "contexts": [{"name": "minikube", "context": {"cluster": "minikube", "user": "minikube"}}],
            }
        )
    )
    minikube_ip = Runner({("minikube", "-p", "minikube", "ip"): (0, "192.168.49.2\n")})
    inp = DoctorInputs(
        root=tmp_path, hosts_file=hosts, min_free_gb=0.001, environ={"KUBECONFIG": str(kubeconfig)}, run=minikube_ip
    )
    assert doctor.check_hosts(inp) == Check("hosts", True, "todo-app.local -> 192.168.49.2")
    assert doctor.check_disk(inp).ok
    context = doctor.check_context(inp)
    assert context.ok and "minikube -> https://192.168.49.2:8443 (local)" in context.detail
    remote = json.loads(kubeconfig.read_text())
    remote["clusters"][0]["cluster"]["server"] = "https://prod.example.com"
    kubeconfig.write_text(json.dumps(remote))
    refused = run_checks(inp, [("kube-context", doctor.check_context)])[0]
    assert not refused.ok and "refusing to deploy" in refused.detail


def test_env_file_check_uses_settings(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("COHERE_API_KEY=\n")
    env.chmod(0o600)
    bad = run_checks(DoctorInputs(root=tmp_path, env_file=env, environ={}), [("env-file", doctor.check_env_file)])[0]
    assert not bad.ok and "COHERE_API_KEY" in bad.detail + bad.fix


class FakeImages:
    def __init__(self, present: set[str], pullable: set[str]) -> None:
        self.present, self.pullable = present, pullable

    def get(self, name: str) -> object:
        if name not in self.present:
            raise LookupError(name)
        return object()

    def get_registry_data(self, name: str) -> object:
        if name not in self.pullable:
            raise LookupError(name)
        return object()


class FakeDocker:
    def __init__(self, present: set[str], pullable: set[str]) -> None:
        self.images = FakeImages(present, pullable)

    def ping(self) -> bool:
        return True

    def version(self) -> dict[str, str]:
        return {"Version": "20.10.24"}


def test_docker_and_base_images(tmp_path: Path) -> None:
    docker = FakeDocker({"python:3.11-slim"}, {"node:22-slim"})
    inp = DoctorInputs(root=tmp_path, base_images=["python:3.11-slim", "node:22-slim"], docker_client=lambda: docker)
    assert doctor.check_docker(inp) == Check("docker", True, "Docker engine 20.10.24 answers")
    assert doctor.check_base_images(inp) == Check("base-images", True, "1 present, pullable: node:22-slim")
    inp.base_images = ["python:3.11-slim", "ghost:1"]
    missing = doctor.check_base_images(inp)
    assert not missing.ok and "ghost:1" in missing.detail


def test_base_images_resolve_arg_defaults() -> None:
    from orchestrator.commands.doctor import base_images_from

    text = "ARG PYTHON_IMAGE=python:3.11-slim\nFROM ${PYTHON_IMAGE} AS build\nFROM build\nFROM scratch\n"
    assert base_images_from([text, "FROM node:22-slim\n"]) == ["python:3.11-slim", "node:22-slim"]


def test_kubernetes_version_check_against_the_chart_minimum(tmp_path: Path) -> None:
    def inputs(server: str) -> DoctorInputs:
        answer = json.dumps({"clientVersion": {"gitVersion": "v1.35.2"}, "serverVersion": {"gitVersion": server}})
        return DoctorInputs(root=tmp_path, run=Runner({("kubectl", "version", "-o", "json"): (0, answer)}))

    old = doctor.check_kubernetes_version(inputs("v1.28.3"))  # minikube v1.32.0's default
    assert not old.ok and "v1.28.3" in old.detail and "1.30.0" in old.detail
    assert "minikube start --kubernetes-version=v1.30.0" in old.fix
    assert doctor.check_kubernetes_version(inputs("v1.30.0")).ok
    unreadable = doctor.check_kubernetes_version(DoctorInputs(root=tmp_path, run=Runner({("kubectl",): (1, "")})))
    assert not unreadable.ok and "kubectl version" in unreadable.fix
