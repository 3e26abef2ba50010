"""targets.py: pure parsers, and MinikubeTarget/LocalCliTarget (kind, k3d) through fake executables on PATH."""

from __future__ import annotations

import json
import os
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from orchestrator.errors import DeployNeedsAction, EnvironmentProblem, ImageError
from orchestrator.kube.targets import (
    KIND,
    LocalCliTarget,
    MinikubeCondition,
    MinikubeTarget,
    RegistryTarget,
    classify_status,
    normalize_ref,
    parse_docker_env,
    parse_image_list,
    parse_status,
    registry_ref,
)
from orchestrator.run.events import Reporter

# A stand-in for minikube: state in $FAKE_MINIKUBE_STATE, every call appended to $FAKE_MINIKUBE_LOG.
FAKE_MINIKUBE = textwrap.dedent(
    """\
    #!{python}
    import json, os, sys
    path = os.environ["FAKE_MINIKUBE_STATE"]
    state = json.load(open(path))
    with open(os.environ["FAKE_MINIKUBE_LOG"], "a") as log:
        log.write(json.dumps({{"argv": sys.argv[1:], "kubeconfig": os.environ.get("KUBECONFIG")}}) + "\\n")
    args = sys.argv[1:]
    if args[:1] == ["-p"]:
        args = args[2:]
    code = state.get("status_exit", 0)
    if args[0] == "status":
        if code == 85:
            print('Profile "minikube" not found. Run "minikube profile list" to view all profiles.', file=sys.stderr)
            sys.exit(85)
        up = "Stopped" if code else "Running"
        print(json.dumps({{"Name": "minikube", "Host": up, "Kubelet": up, "APIServer": up, "Kubeconfig": "Configured"}}))
        sys.exit(code)
    if args[:2] == ["image", "ls"]:
        print("\\n".join(state["images"]))
    elif args[:2] == ["image", "load"]:
        if state.get("load_fails"):
            print("X Exiting due to GUEST_IMAGE_LOAD: failed to load", file=sys.stderr)
            sys.exit(80)
        name = state.get("archives", {{}}).get(args[2], args[2])  # an archive: the tag it holds
        if not state.get("silent"):  # minikube has been seen to keep the old image and exit 0
            state["images"].append("docker.io/library/" + name if "/" not in name else name)
    elif args[0] == "ip":
        print("192.168.49.2")
    elif args[0] == "docker-env":
        print('export DOCKER_TLS_VERIFY="1"\\nexport DOCKER_HOST="tcp://192.168.49.2:2376"\\n'
              'export DOCKER_CERT_PATH="/home/u/.minikube/certs"\\nexport MINIKUBE_ACTIVE_DOCKERD="minikube"\\n\\n'
              '# To point your shell to minikube\\'s docker-daemon, run:\\n# eval $(minikube -p minikube docker-env)')
    elif args[:2] == ["addons", "list"]:
        print(json.dumps({{"ingress": {{"Profile": "minikube", "Status": state.get("ingress", "disabled")}},
                          "dashboard": {{"Profile": "minikube", "Status": "disabled"}}}}))
    json.dump(state, open(path, "w"))
    """
)

FAKE_KIND = textwrap.dedent(
    """\
    #!{python}
    import json, os, sys
    with open(os.environ["FAKE_MINIKUBE_LOG"], "a") as log:
        log.write(json.dumps({{"argv": ["kind"] + sys.argv[1:]}}) + "\\n")
    if sys.argv[1:3] == ["get", "clusters"]:
        print("kind")
    elif "missing:tag" in sys.argv:
        print("ERROR: image: missing:tag not present locally", file=sys.stderr)
        sys.exit(1)
    """
)


class FakeMinikube:
    def __init__(self, root: Path) -> None:
        self.state_path = root / "minikube.json"
        self.log_path = root / "calls.jsonl"
        self.log_path.write_text("")
        self.set(images=["registry.k8s.io/pause:3.10", "docker.io/library/todo-backend:oldtag"])

    def set(self, **fields: Any) -> None:
        state = json.loads(self.state_path.read_text()) if self.state_path.exists() else {}
        state.update(fields)
        self.state_path.write_text(json.dumps(state))

    def calls(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log_path.read_text().splitlines()]

    def argvs(self) -> list[list[str]]:
        return [c["argv"] for c in self.calls()]


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeMinikube:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in (("minikube", FAKE_MINIKUBE), ("kind", FAKE_KIND)):
        script = bin_dir / name
        script.write_text(body.format(python=sys.executable))
        script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_MINIKUBE_STATE", str(tmp_path / "minikube.json"))
    monkeypatch.setenv("FAKE_MINIKUBE_LOG", str(tmp_path / "calls.jsonl"))
    monkeypatch.setenv("MINIKUBE_HOME", str(tmp_path / "minikube-home"))  # no profile config unless a test writes one
    return FakeMinikube(tmp_path)


# --- pure ----------------------------------------------------------------------------------------


def test_normalize_ref() -> None:
    assert normalize_ref("todo-backend:abc") == "docker.io/library/todo-backend:abc"
    assert normalize_ref("todo-backend") == "docker.io/library/todo-backend:latest"
    assert normalize_ref("me/app:1") == "docker.io/me/app:1"
    assert normalize_ref("localhost:5000/app:1") == "localhost:5000/app:1"
    assert normalize_ref("registry.k8s.io/pause:3.10") == "registry.k8s.io/pause:3.10"


def test_parse_image_list_and_status_bits() -> None:
    assert parse_image_list("docker.io/library/a:1\n\nregistry.k8s.io/pause:3.10\n") == {
        "docker.io/library/a:1",
        "registry.k8s.io/pause:3.10",
    }
    assert parse_status(0, '{"Host":"Running"}').running
    stopped = parse_status(7, '{"Host":"Stopped"}')
    assert not stopped.running and stopped.problems() == [
        "host not running",
        "apiserver or kubelet not running",
        "kubeconfig not configured",
    ]
    assert parse_status(6, "").problems() == ["apiserver or kubelet not running", "kubeconfig not configured"]
    assert parse_status(85, "").profile_missing


@pytest.mark.parametrize(
    ("code", "fields", "condition", "fix"),
    [
        # the exit bits and JSON of kubernetes/minikube cmd/minikube/cmd/status.go
        (
            0,
            {"Host": "Running", "Kubelet": "Running", "APIServer": "Running", "Kubeconfig": "Configured"},
            MinikubeCondition.RUNNING,
            "",
        ),
        (85, {}, MinikubeCondition.NO_PROFILE, "minikube start"),
        (
            7,
            {"Host": "Stopped", "Kubelet": "Stopped", "APIServer": "Stopped", "Kubeconfig": "Stopped"},
            MinikubeCondition.HOST_STOPPED,
            "minikube start",
        ),
        (
            2,
            {"Host": "Running", "Kubelet": "Stopped", "APIServer": "Paused", "Kubeconfig": "Configured"},
            MinikubeCondition.PAUSED,
            "minikube unpause",
        ),
        (
            2,
            {"Host": "Running", "Kubelet": "Running", "APIServer": "Stopped", "Kubeconfig": "Configured"},
            MinikubeCondition.CLUSTER_STOPPED,
            "minikube start",
        ),
        (
            4,
            {"Host": "Running", "Kubelet": "Running", "APIServer": "Running", "Kubeconfig": "Misconfigured"},
            MinikubeCondition.KUBECONFIG,
            "minikube update-context",
        ),
        (
            6,
            {"Host": "Running", "Kubelet": "Stopped", "APIServer": "Paused", "Kubeconfig": "Misconfigured"},
            MinikubeCondition.PAUSED,
            "minikube unpause",
        ),
    ],
)
def test_classify_minikube_status(code: int, fields: dict[str, str], condition: MinikubeCondition, fix: str) -> None:
    verdict = classify_status(code, fields)
    assert (verdict.condition, verdict.fix) == (condition, fix)
    assert verdict.ok is (condition is MinikubeCondition.RUNNING)
    assert classify_status(code, fields, "dev").fix == (f"{fix} -p dev" if fix else "")


def test_parse_docker_env_and_registry_ref() -> None:
    env = parse_docker_env('export DOCKER_HOST="tcp://192.168.49.2:2376"\nexport DOCKER_TLS_VERIFY="1"\n# comment\n')
    assert env == {"DOCKER_HOST": "tcp://192.168.49.2:2376", "DOCKER_TLS_VERIFY": "1"}
    assert registry_ref("localhost:5000/", "todo-backend:abc") == "localhost:5000/todo-backend:abc"
    assert registry_ref("reg.example:5000", "docker.io/library/todo-frontend:9") == "reg.example:5000/todo-frontend:9"


# --- minikube through the fake -------------------------------------------------------------------


def test_load_then_verify(fake: FakeMinikube) -> None:
    reporter = Reporter()
    target = MinikubeTarget(kubeconfig="/tmp/frozen/kubeconfig")
    assert target.load("todo-backend:newtag", reporter) == "todo-backend:newtag"
    argvs = fake.argvs()
    assert ["-p", "minikube", "image", "load", "todo-backend:newtag"] in argvs
    assert argvs[-1][2:4] == ["image", "ls"]  # verified after loading
    assert all(c["kubeconfig"] == "/tmp/frozen/kubeconfig" for c in fake.calls())
    assert [e["event"] for e in reporter.history] == ["image.loading", "image.loaded"]  # a live line, then done
    assert reporter.history[0]["image"] == "todo-backend:newtag" and reporter.history[0]["target"] == "minikube"


def test_an_archive_is_loaded_by_its_absolute_path_then_the_tag_verified(
    fake: FakeMinikube, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """minikube reads an argument starting with "/" as a file (no export); a relative path is made
    absolute, since a bare `name.tar` could be read as an image name."""
    monkeypatch.chdir(tmp_path)
    archive = tmp_path / "todo-backend_newtag.tar"
    fake.set(archives={str(archive): "todo-backend:newtag"})
    reporter = Reporter()
    assert MinikubeTarget().load("todo-backend:newtag", reporter, Path("todo-backend_newtag.tar")) == (
        "todo-backend:newtag"
    )
    assert ["-p", "minikube", "image", "load", str(archive)] in fake.argvs()
    assert fake.argvs()[-1][2:4] == ["image", "ls"]
    assert [e["event"] for e in reporter.history] == ["image.loading", "image.loaded"]


def test_kind_loads_an_archive_with_image_archive(fake: FakeMinikube, tmp_path: Path) -> None:
    archive = tmp_path / "todo-backend_abc.tar"
    LocalCliTarget(KIND, "kind").load("todo-backend:abc", Reporter(), archive)
    assert ["kind", "load", "image-archive", str(archive), "--name", "kind"] in fake.argvs()


def test_present_tag_is_skipped(fake: FakeMinikube) -> None:
    reporter = Reporter()
    MinikubeTarget().load("todo-backend:oldtag", reporter)
    assert not [a for a in fake.argvs() if a[2:4] == ["image", "load"]]
    assert reporter.history[0]["event"] == "image.load_skipped"


def test_silently_kept_old_image_is_caught(fake: FakeMinikube) -> None:
    fake.set(silent=True)
    with pytest.raises(DeployNeedsAction) as err:
        MinikubeTarget().load("todo-backend:newtag", Reporter())
    assert "did not keep todo-backend:newtag" in err.value.message
    assert "minikube image" in err.value.hint


def test_failed_load_is_image_error(fake: FakeMinikube) -> None:
    fake.set(load_fails=True)
    with pytest.raises(ImageError) as err:
        MinikubeTarget().load("todo-backend:newtag", Reporter())
    assert err.value.exit_code == 4 and "GUEST_IMAGE_LOAD" in " ".join(err.value.details)


@pytest.mark.parametrize("code", [7, 3, 4])
def test_stopped_minikube_is_environment_problem(fake: FakeMinikube, code: int) -> None:
    fake.set(status_exit=code)
    with pytest.raises(EnvironmentProblem) as err:
        MinikubeTarget().ensure_ready()
    assert err.value.message.startswith("minikube is stopped") and "minikube start" in err.value.hint
    assert err.value.exit_code == 3


def test_missing_profile_and_running(fake: FakeMinikube) -> None:
    MinikubeTarget().ensure_ready()
    fake.set(status_exit=85)
    with pytest.raises(EnvironmentProblem, match="profile minikube does not exist"):
        MinikubeTarget().ensure_ready()


def test_ip_comes_from_the_profile_config_without_running_minikube(fake: FakeMinikube, tmp_path: Path) -> None:
    config = tmp_path / "minikube-home" / ".minikube" / "profiles" / "minikube" / "config.json"
    config.parent.mkdir(parents=True)
    nodes = [{"Name": "m02", "IP": "192.168.49.3"}, {"Name": "", "IP": "192.168.49.2", "ControlPlane": True}]
    config.write_text(json.dumps({"Name": "minikube", "Nodes": nodes}))
    assert MinikubeTarget().ip() == "192.168.49.2"  # the primary node (Name ""), as `minikube ip` prints
    assert fake.argvs() == []
    config.write_text(json.dumps({"Name": "minikube", "Nodes": [{"Name": "", "IP": ""}]}))
    assert MinikubeTarget().ip() == "192.168.49.2"
    assert fake.argvs() == [["-p", "minikube", "ip"]]  # no address in the config: minikube is asked


def test_ip_docker_env_and_addons(fake: FakeMinikube) -> None:
    target = MinikubeTarget()
    assert target.ip() == "192.168.49.2"
    env = target.docker_env()
    assert env["DOCKER_HOST"] == "tcp://192.168.49.2:2376" and env["DOCKER_CERT_PATH"].endswith("certs")
    assert target.addons()["ingress"] == "disabled"
    fake.set(ingress="enabled")
    assert target.addons()["ingress"] == "enabled"


# --- kind and registry ---------------------------------------------------------------------------


def test_kind_load_and_failure(fake: FakeMinikube) -> None:
    reporter = Reporter()
    target = LocalCliTarget(KIND, "kind")
    target.ensure_ready()
    assert target.load("todo-backend:abc", reporter) == "todo-backend:abc"
    assert ["kind", "load", "docker-image", "todo-backend:abc", "--name", "kind"] in fake.argvs()
    with pytest.raises(ImageError):
        target.load("missing:tag", reporter)
    with pytest.raises(EnvironmentProblem):
        LocalCliTarget(KIND, "other").ensure_ready()


class FakeImage:
    def __init__(self, log: list[Any]) -> None:
        self.log = log

    def tag(self, repository: str, tag: str) -> bool:
        self.log.append(("tag", repository, tag))
        return True


class FakeImages:
    def __init__(self, push_chunks: list[dict[str, Any]]) -> None:
        self.log: list[Any] = []
        self.push_chunks = push_chunks

    def get(self, ref: str) -> FakeImage:
        self.log.append(("get", ref))
        return FakeImage(self.log)

    def push(self, repository: str, tag: str, stream: bool, decode: bool) -> Any:
        self.log.append(("push", repository, tag))
        return iter(self.push_chunks)

    def get_registry_data(self, ref: str) -> Any:
        raise LookupError(f"{ref}: manifest unknown")  # what the engine answers for a tag the registry lacks


class FakeDocker:
    def __init__(self, chunks: list[dict[str, Any]]) -> None:
        self.images = FakeImages(chunks)

    def ping(self) -> bool:
        return True


def test_registry_push_rewrites_ref_and_reports_errors() -> None:
    digest = "sha256:" + "1" * 64
    ok = FakeDocker(
        [
            {"status": "Pushed"},
            {"status": f"abc: digest: {digest} size: 5"},
            {"progressDetail": {}, "aux": {"Tag": "abc", "Digest": digest, "Size": 5}},
        ]
    )
    reporter = Reporter()
    target = RegistryTarget("localhost:5000", lambda: ok)
    target.ensure_ready()
    assert target.load("todo-backend:abc", reporter) == f"localhost:5000/todo-backend:abc@{digest}"
    assert ok.images.log == [
        ("get", "todo-backend:abc"),
        ("tag", "localhost:5000/todo-backend", "abc"),
        ("push", "localhost:5000/todo-backend", "abc"),
    ]
    assert reporter.history[0]["image"] == "localhost:5000/todo-backend:abc"
    assert [e["event"] for e in reporter.history] == ["image.loading", "image.loaded"]
    assert reporter.history[0]["source"] == "todo-backend:abc" and reporter.history[0]["target"] == "registry"
    bad = FakeDocker([{"errorDetail": {"message": "denied"}, "error": "denied: requested access is denied"}])
    with pytest.raises(ImageError) as err:
        RegistryTarget("localhost:5000", lambda: bad).load("todo-backend:abc", Reporter())
    assert "denied" in " ".join(err.value.details)


def test_one_listing_serves_every_load_of_a_run(fake: FakeMinikube) -> None:
    fake.set(images=["docker.io/library/todo-backend:a", "docker.io/library/todo-frontend:b"])
    reporter = Reporter()
    target = MinikubeTarget()
    target.load("todo-backend:a", reporter)
    target.load("todo-frontend:b", reporter)
    assert [a[2:4] for a in fake.argvs()] == [["image", "ls"]]
    assert [e["event"] for e in reporter.history] == ["image.load_skipped", "image.load_skipped"]  # nothing loading


def test_a_load_lists_again_before_the_next_skip(fake: FakeMinikube) -> None:
    target = MinikubeTarget()
    target.load("todo-backend:new", Reporter())  # ls, load, ls (verify)
    target.load("todo-backend:new", Reporter())  # the verifying listing holds it: skipped, no call
    assert [a[2:4] for a in fake.argvs()] == [["image", "ls"], ["image", "load"], ["image", "ls"]]


def test_k3d_import_and_missing_cluster() -> None:
    from orchestrator.kube.targets import K3D
    from orchestrator.shell import CommandFailed, Result

    calls: list[list[str]] = []

    def run(argv, env=None, timeout=None, check=True):  # type: ignore[no-untyped-def]
        calls.append(list(argv))
        if argv[1:3] == ["cluster", "list"]:
            return Result(tuple(argv), 0, "dev   1/1   0/0   true\n", "")
        if "broken:tag" in argv:
            raise CommandFailed(Result(tuple(argv), 1, "", "image not found"))
        return Result(tuple(argv), 0, "", "")

    reporter = Reporter()
    target = LocalCliTarget(K3D, "dev", run=run)
    target.ensure_ready()
    assert target.load("todo-backend:abc", reporter) == "todo-backend:abc"
    assert ["k3d", "image", "import", "todo-backend:abc", "--cluster", "dev"] in calls
    assert reporter.named("image.loaded")[0]["target"] == "k3d"
    assert [(e["image"], e["target"]) for e in reporter.named("image.loading")] == [("todo-backend:abc", "k3d")]
    with pytest.raises(ImageError):
        target.load("broken:tag", reporter)
    with pytest.raises(EnvironmentProblem, match="k3d cluster other does not exist") as err:
        LocalCliTarget(K3D, "other", run=run).ensure_ready()
    assert "k3d cluster create other" in err.value.hint


def test_check_node_engine_refuses_what_is_not_a_docker_engine() -> None:
    from orchestrator.errors import EnvironmentProblem
    from orchestrator.kube.targets import check_node_engine

    check_node_engine({"DOCKER_HOST": "tcp://127.0.0.1:32770", "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": "/c"})
    check_node_engine({"DOCKER_HOST": "unix:///var/run/docker.sock"})
    for env, words in (
        ({"DOCKER_HOST": "ssh://docker@127.0.0.1:32772"}, "runs containerd"),
        ({"DOCKER_HOST": "tcp://127.0.0.1:2376", "DOCKER_TLS_VERIFY": "1"}, "DOCKER_CERT_PATH"),
        ({"DOCKER_HOST": "fd://"}, "cannot use"),
    ):
        with pytest.raises(EnvironmentProblem) as caught:
            check_node_engine(env)
        assert words in caught.value.message


def test_the_node_status_answers_before_image_ls(fake: FakeMinikube) -> None:
    """An image the kubelet lists in the Node's status needs no `minikube image ls` (seconds on a
    real minikube); one it does not list still goes through `image ls` and `image load`."""
    asked: list[str] = []

    def node_images() -> set[str]:
        asked.append("nodes")
        return {"todo-backend:a", "registry.k8s.io/pause:3.10"}

    reporter = Reporter()
    target = MinikubeTarget(node_images=node_images)
    target.load("docker.io/library/todo-backend:a", reporter)
    assert fake.argvs() == [] and reporter.history[-1]["source"] == "node status"
    target.load("todo-frontend:new", reporter)
    assert [a[2:4] for a in fake.argvs()] == [["image", "ls"], ["image", "load"], ["image", "ls"]]
    assert asked == ["nodes"]  # one API read per run


def test_no_answer_from_the_api_falls_back_to_image_ls(fake: FakeMinikube) -> None:
    from orchestrator.errors import EnvironmentProblem

    def unreachable() -> set[str]:
        raise EnvironmentProblem("the Kubernetes API did not answer", "check the cluster")

    MinikubeTarget(node_images=unreachable).load("todo-backend:oldtag", Reporter())
    assert [a[2:4] for a in fake.argvs()] == [["image", "ls"]]
