"""Cluster guard: which contexts and servers are allowed, and the frozen one-context kubeconfig."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest
import yaml

from orchestrator.errors import EnvironmentProblem, ExitCode
from orchestrator.kube.guard import (
    decide,
    freeze_context,
    is_local_server,
    kubeconfig_paths,
    load_kubeconfig,
)
from orchestrator.settings.config import Target

TOKEN = "CANARY-kube-token-61d0"


def _kubeconfig(
    current: str | None, clusters: dict[str, str], key_dir: str = "/keys", **extra_users: Any
) -> dict[str, Any]:
    """One context per cluster, named like the cluster, each with its own user."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": current,
        "clusters": [
            {"name": n, "cluster": {"server": s, "certificate-authority": f"certs/{n}-ca.crt"}}
            for n, s in clusters.items()
        ],
        "contexts": [{"name": n, "context": {"cluster": n, "user": n, "namespace": "default"}} for n in clusters],
        "users": [
            {
                "name": n,
                "user": extra_users.get(
                    n, {"client-certificate": f"certs/{n}.crt", "client-key": f"{key_dir}/{n}.key"}
                ),
            }
            for n in clusters
        ],
    }


CLUSTERS = {
    "minikube": "https://192.168.49.2:8443",
    "kind-dev": "https://127.0.0.1:41234",
    "k3d-dev": "https://0.0.0.0:6550",
    "prod": "https://prod.k8s.example.com:6443",
    "minikube-lan": "https://10.1.2.3:8443",
}


@pytest.fixture
def kubeconfig(tmp_path: Path) -> Path:
    path = tmp_path / "kube" / "config"
    path.parent.mkdir()
    document = _kubeconfig("minikube", CLUSTERS, key_dir=str(tmp_path / "keys"), prod={"token": TOKEN})
    # A context named like minikube whose server is remote.
    document["contexts"].append({"name": "fake-minikube", "context": {"cluster": "minikube-lan", "user": "minikube"}})
    path.write_text(yaml.safe_dump(document))
    return path


def _minikube_says(address: str | None):  # type: ignore[no-untyped-def]
    return lambda profile: address if profile == "minikube" else None


def _decide(
    path: Path,
    requested: str | None,
    target: Target = Target.MINIKUBE,
    allow_remote: bool = False,  # type: ignore[no-untyped-def]
    minikube_ip: str | None = "192.168.49.2",
):
    return decide(load_kubeconfig([path]), requested, target, allow_remote, minikube_ip=_minikube_says(minikube_ip))


@pytest.mark.parametrize("address", ["192.168.58.2", "192.168.67.2", "192.168.39.45", "192.168.105.3"])
def test_minikube_is_local_at_exactly_the_address_minikube_reports(tmp_path: Path, address: str) -> None:
    # docker driver: 49, 58, 67... in steps of 9; kvm2 from .39; qemu socket_vmnet 192.168.105.x
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump(_kubeconfig("minikube", {"minikube": f"https://{address}:8443"}, key_dir="k")))
    assert _decide(path, None, minikube_ip=address).remote is False
    with pytest.raises(EnvironmentProblem) as caught:  # any other address is remote, even the usual one
        _decide(path, None, minikube_ip="192.168.49.2")
    assert "minikube reports 192.168.49.2 for profile minikube" in caught.value.message
    with pytest.raises(EnvironmentProblem) as caught:
        _decide(path, None, minikube_ip=None)
    assert "minikube does not report an address" in caught.value.message


def test_minikube_ip_asks_minikube_then_the_profile_config(tmp_path: Path) -> None:
    import json

    from orchestrator.kube.targets import minikube_ip
    from orchestrator.shell import Result

    def answers(code: int, out: str):  # type: ignore[no-untyped-def]
        return lambda argv, **kw: Result(tuple(argv), code, out, "")

    environ = {"MINIKUBE_HOME": str(tmp_path)}
    assert minikube_ip("minikube", run=answers(0, "192.168.58.2\n"), environ=environ) == "192.168.58.2"
    assert minikube_ip("minikube", run=answers(83, ""), environ=environ) is None
    profile = tmp_path / ".minikube" / "profiles" / "minikube"
    profile.mkdir(parents=True)
    (profile / "config.json").write_text(json.dumps({"Nodes": [{"Name": "", "IP": "192.168.67.2"}]}))
    assert minikube_ip("minikube", run=answers(83, ""), environ=environ) == "192.168.67.2"  # stopped


@pytest.mark.parametrize(
    ("requested", "target", "allow_remote", "server"),
    [
        (None, Target.MINIKUBE, False, "https://192.168.49.2:8443"),
        ("minikube", Target.MINIKUBE, False, "https://192.168.49.2:8443"),
        ("kind-dev", Target.KIND, False, "https://127.0.0.1:41234"),
        ("k3d-dev", Target.K3D, False, "https://0.0.0.0:6550"),
        ("kind-dev", Target.REGISTRY, False, "https://127.0.0.1:41234"),
    ],
)
def test_allowed_local_contexts(kubeconfig: Path, requested, target, allow_remote, server) -> None:  # type: ignore[no-untyped-def]
    decision = _decide(kubeconfig, requested, target, allow_remote)
    assert decision.server == server and decision.remote is False
    assert decision.context == (requested or "minikube")


@pytest.mark.parametrize(
    ("requested", "target", "allow_remote", "expected"),
    [
        ("kind-dev", Target.MINIKUBE, False, "not a local minikube context"),
        ("minikube", Target.KIND, False, "not a local kind context"),
        ("prod", Target.MINIKUBE, False, "not a local minikube context"),
        ("fake-minikube", Target.MINIKUBE, False, "not a local minikube context"),
        ("nope", Target.MINIKUBE, True, "not in the kubeconfig"),
    ],
)
def test_refused_contexts(kubeconfig: Path, requested, target, allow_remote, expected) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(EnvironmentProblem) as caught:
        _decide(kubeconfig, requested, target, allow_remote)
    assert caught.value.exit_code == ExitCode.ENVIRONMENT == 3
    assert expected in caught.value.message
    assert "kubectl config use-context minikube" in caught.value.hint or "create the" in caught.value.hint
    assert TOKEN not in caught.value.render()


def test_remote_needs_explicit_context_and_allow_remote(tmp_path: Path, kubeconfig: Path) -> None:
    document = yaml.safe_load(kubeconfig.read_text())
    document["current-context"] = "prod"
    kubeconfig.write_text(yaml.safe_dump(document))
    with pytest.raises(EnvironmentProblem) as caught:
        _decide(kubeconfig, None, allow_remote=True)  # current context, not typed: refused
    assert "--context prod --allow-remote" in caught.value.hint
    with pytest.raises(EnvironmentProblem):
        _decide(kubeconfig, "prod", allow_remote=False)
    decision = _decide(kubeconfig, "prod", allow_remote=True)
    assert decision.remote is True and decision.server.startswith("https://prod.")


def test_local_name_with_remote_server_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump(_kubeconfig("minikube", {"minikube": "https://10.20.30.40:8443"})))
    with pytest.raises(EnvironmentProblem) as caught:
        _decide(path, None)
    assert "not a local address" in caught.value.message
    assert _decide(path, "minikube", allow_remote=True).remote is True


@pytest.mark.parametrize(
    ("server", "local"),
    [
        ("https://127.0.0.1:6443", True),
        ("https://127.5.6.7:6443", True),
        ("https://[::1]:6443", True),
        ("https://localhost:6443", True),
        ("https://api.localhost:6443", True),
        ("https://LOCALHOST.:6443", True),
        ("https://0.0.0.0:6550", True),
        ("https://host.docker.internal:6443", True),
        ("https://kubernetes.docker.internal:6443", True),
        ("https://192.168.49.2:8443", False),  # only with minikube's own word: see decide
        ("https://192.168.39.10:8443", False),
        ("https://[::ffff:127.0.0.1]:6443", True),
        ("https://192.168.50.2:8443", False),
        ("https://10.0.0.5:6443", False),
        ("https://172.17.0.2:6443", False),
        ("https://8.8.8.8:443", False),
        ("https://localhost.evil.com:6443", False),
        ("https://127.0.0.1.nip.io:6443", False),
        ("https://cluster.internal:6443", False),
        ("not a url", False),
        ("", False),
        ("https://[bad:6443", False),
    ],
)
def test_is_local_server(server: str, local: bool) -> None:
    assert is_local_server(server) is local


def test_no_current_context_and_no_kubeconfig(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump(_kubeconfig(None, {"minikube": "https://127.0.0.1:1"})))
    with pytest.raises(EnvironmentProblem) as caught:
        _decide(path, None)
    assert "no current context" in caught.value.message and "minikube start" in caught.value.hint
    with pytest.raises(EnvironmentProblem) as caught:
        load_kubeconfig([tmp_path / "missing"])
    assert caught.value.hint == "minikube start"
    broken = tmp_path / "broken"
    broken.write_text("clusters: [\n")
    with pytest.raises(EnvironmentProblem) as caught:
        load_kubeconfig([broken])
    assert "cannot be read or parsed" in caught.value.message


def test_kubeconfig_paths_and_merge_first_wins(tmp_path: Path) -> None:
    first = tmp_path / "a"
    second = tmp_path / "b"
    first.write_text(yaml.safe_dump(_kubeconfig(None, {"minikube": "https://127.0.0.1:1111"})))
    second.write_text(
        yaml.safe_dump(_kubeconfig("minikube", {"minikube": "https://8.8.8.8:1", "kind-x": "https://127.0.0.1:2"}))
    )
    paths = kubeconfig_paths(
        {"KUBECONFIG": f"{first}{os.pathsep}{os.pathsep}{tmp_path / 'missing'}{os.pathsep}{second}"}
    )
    assert paths == [first, tmp_path / "missing", second]
    merged = load_kubeconfig(paths)
    assert merged.current_context == "minikube"  # from the second file, the first sets none
    assert merged.clusters["minikube"].body["server"] == "https://127.0.0.1:1111"
    assert set(merged.contexts) == {"minikube", "kind-x"}
    assert kubeconfig_paths({}, home=tmp_path) == [tmp_path / ".kube" / "config"]


def test_frozen_kubeconfig_is_private_minimal_and_absolute(kubeconfig: Path) -> None:
    environ = {"KUBECONFIG": str(kubeconfig)}
    with freeze_context(Target.KIND, requested="kind-dev", environ=environ) as frozen:
        path = frozen.kubeconfig_path
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        assert frozen.env() == {"KUBECONFIG": str(path)}
        assert (frozen.name, frozen.server, frozen.remote) == ("kind-dev", "https://127.0.0.1:41234", False)
        document = yaml.safe_load(path.read_text())
        assert document["current-context"] == "kind-dev"
        assert [c["name"] for c in document["contexts"]] == ["kind-dev"]
        assert [c["name"] for c in document["clusters"]] == ["kind-dev"]
        assert [u["name"] for u in document["users"]] == ["kind-dev"]
        certs = kubeconfig.parent / "certs"
        assert document["clusters"][0]["cluster"]["certificate-authority"] == str(certs / "kind-dev-ca.crt")
        assert document["users"][0]["user"]["client-certificate"] == str(certs / "kind-dev.crt")
        assert document["users"][0]["user"]["client-key"] == str(kubeconfig.parent.parent / "keys" / "kind-dev.key")
        assert TOKEN not in path.read_text()  # other users' credentials are not copied
        # Switching the user's context afterwards does not change the frozen file.
        original = path.read_text()
        kubeconfig.write_text(yaml.safe_dump(_kubeconfig("prod", {"prod": "https://prod.example.com"})))
        assert path.read_text() == original
    assert not path.exists() and not path.parent.exists()


def test_frozen_file_drives_the_real_client(kubeconfig: Path) -> None:
    with freeze_context(
        "minikube", environ={"KUBECONFIG": str(kubeconfig)}, minikube_ip=_minikube_says("192.168.49.2")
    ) as frozen:
        with pytest.raises(EnvironmentProblem) as caught:
            frozen.api_client()  # the relative certificate paths resolve next to the ORIGINAL file
        assert "file is missing" in caught.value.message
        certs = kubeconfig.parent / "certs"
        certs.mkdir()
        for name in ("minikube-ca.crt", "minikube.crt"):
            (certs / name).write_text("x")
        (kubeconfig.parent.parent / "keys").mkdir()
        (kubeconfig.parent.parent / "keys" / "minikube.key").write_text("x")
        api_client = frozen.api_client()
        assert api_client.configuration.host == "https://192.168.49.2:8443"
        assert api_client.configuration.ssl_ca_cert == str(certs / "minikube-ca.crt")


def test_refusal_writes_nothing(kubeconfig: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path / "t"))
    (tmp_path / "t").mkdir()
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    with pytest.raises(EnvironmentProblem):
        freeze_context(Target.MINIKUBE, requested="prod", environ={"KUBECONFIG": str(kubeconfig)})
    assert list((tmp_path / "t").iterdir()) == []
