"""helm.py: pure argv builders, fingerprint/skip/stuck decisions, and the calls through a fake helm on PATH."""

from __future__ import annotations

import json
import os
import stat
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from orchestrator.errors import DeployNeedsAction, EnvironmentProblem, InputError
from orchestrator.kube import helm
from orchestrator.kube.helm import Action, HelmTarget, Revision
from orchestrator.run.events import Reporter

TARGET = HelmTarget("todo-app", "todo-app", "/tmp/frozen/kubeconfig", "minikube")
VALUES = {
    "backend": {"image": {"repository": "todo-backend", "tag": "3f2a9c1b"}},
    "secrets": {"existingSecret": "todo-app-secrets-v2", "version": "v2"},
}

# A stand-in for the helm binary: keeps release history in $FAKE_HELM_STATE, records each call
# (argv, and for upgrades the values file's mode and content while helm runs) in $FAKE_HELM_LOG.
FAKE_HELM = textwrap.dedent(
    """\
    #!{python}
    import json, os, stat, sys
    state_path, log_path = os.environ["FAKE_HELM_STATE"], os.environ["FAKE_HELM_LOG"]
    state = json.load(open(state_path))
    argv = sys.argv[1:]
    entry = {{"argv": argv, "kubeconfig_env": os.environ.get("KUBECONFIG")}}
    def flag(name):
        return argv[argv.index(name) + 1] if name in argv else None
    if state.get("fail"):
        sys.stderr.write(state["fail"])
        json.dump(entry, open(log_path, "a")); open(log_path, "a").write("\\n")
        sys.exit(1)
    cmd = argv[0]
    history = state.setdefault("history", [])
    def add(status, description):
        for rev in history:
            if rev["status"] == "deployed":
                rev["status"] = "superseded"
        history.append({{"revision": len(history) + 1, "status": status, "description": description,
                         "chart": "todo-app-0.1.0", "app_version": "1.0.0", "updated": "2026-01-01"}})
    if cmd == "history":
        if not history:
            sys.stderr.write("Error: release: not found\\n"); sys.exit(1)
        print(json.dumps(history))
    elif cmd == "upgrade":
        values = flag("-f")
        entry["values_mode"] = stat.S_IMODE(os.stat(values).st_mode)
        entry["values_text"] = open(values).read()
        add("deployed", flag("--description"))
    elif cmd == "rollback":
        target = argv[2] if len(argv) > 2 and not argv[2].startswith("-") else None
        add("deployed", "Rollback to " + str(target))
    elif cmd == "uninstall":
        if not history:
            sys.stderr.write("Error: uninstall: Release not loaded: todo-app: release: not found\\n"); sys.exit(1)
        history.clear()
    elif cmd == "status":
        print(json.dumps({{"name": "todo-app", "info": {{"status": history[-1]["status"]}}}}))
    json.dump(state, open(state_path, "w"))
    with open(log_path, "a") as log:
        log.write(json.dumps(entry) + "\\n")
    """
)


class FakeHelm:
    def __init__(self, root: Path) -> None:
        self.state_path = root / "state.json"
        self.log_path = root / "calls.jsonl"
        self.set_state({"history": []})
        self.log_path.write_text("")

    def set_state(self, state: dict[str, Any]) -> None:
        self.state_path.write_text(json.dumps(state))

    def state(self) -> dict[str, Any]:
        return json.loads(self.state_path.read_text())

    def calls(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log_path.read_text().splitlines() if line.strip()]

    def commands(self) -> list[str]:
        return [c["argv"][0] for c in self.calls()]


@pytest.fixture
def fake_helm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeHelm:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "helm"
    script.write_text(FAKE_HELM.format(python=sys.executable))
    script.chmod(0o755)
    fake = FakeHelm(tmp_path)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_HELM_STATE", str(fake.state_path))
    monkeypatch.setenv("FAKE_HELM_LOG", str(fake.log_path))
    return fake


@pytest.fixture
def chart(tmp_path: Path) -> Path:
    root = tmp_path / "chart"
    (root / "templates").mkdir(parents=True)
    (root / "Chart.yaml").write_text("apiVersion: v2\nname: todo-app\nversion: 0.1.0\n")
    (root / "values.yaml").write_text("backend: {}\n")
    (root / "templates" / "deployment.yaml").write_text("kind: Deployment\n")
    return root


def rev(n: int, status: str, description: str = "Install complete") -> Revision:
    return Revision(n, status, description)


# --- argv builders -------------------------------------------------------------------------------


def test_upgrade_argv_has_install_namespace_kubeconfig_context_values_and_no_wait_or_set() -> None:
    argv = helm.upgrade_argv(
        "todo-app",
        "charts/todo-app",
        "todo-app",
        "/tmp/v.yaml",
        "/tmp/kc",
        "minikube",
        300,
        "todo-deploy fingerprint=abc",
    )
    assert argv[:5] == ["helm", "upgrade", "--install", "todo-app", "charts/todo-app"]
    for flag, value in [
        ("--namespace", "todo-app"),
        ("--kubeconfig", "/tmp/kc"),
        ("--kube-context", "minikube"),
        ("-f", "/tmp/v.yaml"),
        ("--timeout", "300s"),
        ("--description", "todo-deploy fingerprint=abc"),
    ]:
        assert argv[argv.index(flag) + 1] == value
    assert not any(a.startswith("--wait") or a.startswith("--set") for a in argv)
    assert "--disable-openapi-validation" not in argv


def test_upgrade_argv_openapi_flag_only_when_asked_and_set_refused() -> None:
    argv = helm.upgrade_argv("r", "c", "n", "v", "k", None, 10, "d", disable_openapi_validation=True)
    assert "--disable-openapi-validation" in argv
    assert "--kube-context" not in argv
    with pytest.raises(InputError):
        helm.upgrade_argv("r", "c", "n", "v", "k", None, 10, "d", extra=["--set", "a=b"])
    with pytest.raises(InputError):
        helm.upgrade_argv("r", "c", "n", "v", "k", None, 10, "d", extra=["--wait=watcher"])


def test_other_argv_builders() -> None:
    assert helm.rollback_argv(TARGET, 3)[:4] == ["helm", "rollback", "todo-app", "3"]
    assert helm.rollback_argv(TARGET, None)[3] == "--namespace"
    assert helm.uninstall_argv(TARGET)[:3] == ["helm", "uninstall", "todo-app"]
    history = helm.history_argv(TARGET)
    assert history[:3] == ["helm", "history", "todo-app"] and history[-2:] == ["-o", "json"]
    assert helm.status_argv(TARGET)[-2:] == ["-o", "json"]
    assert helm.get_values_argv(TARGET, 2, all_values=True)[-1] == "--all"
    values = helm.get_values_argv(TARGET, 2)
    assert values[values.index("--revision") + 1] == "2"  # never the last revision: it may have failed
    for argv in (helm.rollback_argv(TARGET, 1), helm.uninstall_argv(TARGET), history):
        assert argv[argv.index("--kubeconfig") + 1] == "/tmp/frozen/kubeconfig"
        assert argv[argv.index("--kube-context") + 1] == "minikube"


# --- fingerprint and decisions -------------------------------------------------------------------


def test_fingerprint_changes_with_chart_files_and_values(chart: Path) -> None:
    first = helm.fingerprint(chart, VALUES)
    assert first == helm.fingerprint(chart, json.loads(json.dumps(VALUES)))
    assert len(first) == 64
    changed_values = {**VALUES, "secrets": {"existingSecret": "todo-app-secrets-v3", "version": "v3"}}
    assert helm.fingerprint(chart, changed_values) != first
    (chart / "templates" / "deployment.yaml").write_text("kind: Deployment\n# changed\n")
    assert helm.fingerprint(chart, VALUES) != first
    (chart / "templates" / "deployment.yaml").rename(chart / "templates" / "deploy.yaml")
    assert helm.fingerprint(chart, VALUES) != first


def test_parse_history_and_fingerprint_field() -> None:
    text = json.dumps(
        [
            {
                "revision": 2,
                "updated": "x",
                "status": "deployed",
                "chart": "todo-app-0.1.0",
                "app_version": "1",
                "description": "todo-deploy fingerprint=abc123",
            },
            {
                "revision": 1,
                "updated": "x",
                "status": "superseded",
                "chart": "todo-app-0.1.0",
                "app_version": "1",
                "description": "Install complete",
            },
        ]
    )
    history = helm.parse_history(text)
    assert [r.revision for r in history] == [1, 2]
    assert history[-1].fingerprint == "abc123" and history[0].fingerprint is None


@pytest.mark.parametrize(
    ("history", "expected"),
    [
        ([], Action.INSTALL),
        ([rev(1, "deployed", "todo-deploy fingerprint=fp")], Action.SKIP),
        ([rev(1, "deployed", "todo-deploy fingerprint=old")], Action.UPGRADE),
        (
            [rev(1, "superseded", "todo-deploy fingerprint=fp"), rev(2, "failed", "todo-deploy fingerprint=fp")],
            Action.UPGRADE,
        ),
        (
            [rev(1, "deployed", "todo-deploy fingerprint=fp"), rev(2, "pending-upgrade", "Preparing upgrade")],
            Action.STUCK,
        ),
        ([rev(1, "pending-install", "Initial install underway")], Action.STUCK),
        ([rev(1, "pending-rollback", "x")], Action.STUCK),
        ([rev(1, "deployed", "Rollback to 1")], Action.UPGRADE),
        (
            [
                rev(1, "superseded", "todo-deploy fingerprint=fp"),
                rev(2, "superseded", "todo-deploy fingerprint=x"),
                rev(3, "deployed", "Rollback to 1"),
            ],
            Action.SKIP,
        ),
        (
            [
                rev(1, "superseded", "todo-deploy fingerprint=fp"),
                rev(2, "superseded", "todo-deploy fingerprint=x"),
                rev(3, "deployed", "Rollback to 2"),
            ],
            Action.UPGRADE,
        ),
    ],
)
def test_decide(history: list[Revision], expected: Action) -> None:
    assert helm.decide(history, "fp") is expected


def test_recovery_plan_rolls_back_to_last_deployed_or_uninstalls_first_install() -> None:
    assert helm.plan_recovery(
        [rev(1, "superseded"), rev(2, "deployed"), rev(3, "pending-upgrade")]
    ) == helm.RecoveryPlan("rollback", 2)
    assert helm.plan_recovery([rev(1, "superseded"), rev(2, "failed"), rev(3, "pending-upgrade")]) == helm.RecoveryPlan(
        "rollback", 1
    )
    assert helm.plan_recovery([rev(1, "pending-install")]) == helm.RecoveryPlan("uninstall")
    assert helm.plan_recovery([rev(1, "deployed")]) == helm.RecoveryPlan("none")


def test_values_file_is_0600_yaml_and_always_removed() -> None:
    with pytest.raises(RuntimeError):
        with helm.values_file(VALUES) as path:
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
            assert "todo-backend" in path.read_text()
            kept = path
            raise RuntimeError("boom")
    assert not kept.exists()


@pytest.mark.parametrize(
    ("stderr", "error"),
    [
        (
            'Error: Kubernetes cluster unreachable: Get "https://127.0.0.1:8443/version": dial tcp: connection refused',
            EnvironmentProblem,
        ),
        ("Error: UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress", DeployNeedsAction),
        ("Error: values don't meet the specifications of the schema(s) in the following chart(s)", InputError),
        ("Error: UPGRADE FAILED: some other failure", DeployNeedsAction),
    ],
)
def test_classify_failure(stderr: str, error: type) -> None:
    from orchestrator.shell import CommandFailed, Result

    failure = CommandFailed(Result(("helm", "upgrade"), 1, "", stderr))
    mapped = helm.classify_failure(failure, "todo-app")
    assert type(mapped) is error
    assert mapped.hint


# --- the calls, through a fake helm on PATH ------------------------------------------------------


def test_install_then_skip_then_upgrade(fake_helm: FakeHelm, chart: Path) -> None:
    reporter = Reporter()
    client = helm.Helm(TARGET, reporter)
    first = client.upgrade(chart, VALUES, timeout_s=120)
    assert first.action is Action.INSTALL and first.revision == 1
    upgrade_call = next(c for c in fake_helm.calls() if c["argv"][0] == "upgrade")
    assert upgrade_call["values_mode"] == 0o600
    assert "todo-app-secrets-v2" in upgrade_call["values_text"]
    assert upgrade_call["kubeconfig_env"] == TARGET.kubeconfig
    assert f"todo-deploy fingerprint={first.fingerprint}" in upgrade_call["argv"]
    assert not Path(upgrade_call["argv"][upgrade_call["argv"].index("-f") + 1]).exists()

    second = client.upgrade(chart, VALUES, timeout_s=120)
    assert second.action is Action.SKIP and second.revision == 1
    assert fake_helm.commands().count("upgrade") == 1
    assert [e["event"] for e in reporter.history] == ["helm.upgraded", "helm.skipped"]

    third = client.upgrade(chart, {**VALUES, "backend": {"image": {"repository": "todo-backend", "tag": "new"}}})
    assert third.action is Action.UPGRADE and third.revision == 2
    assert fake_helm.commands().count("upgrade") == 2


def test_stuck_release_raises_needs_action_and_recover_rolls_back(fake_helm: FakeHelm, chart: Path) -> None:
    fake_helm.set_state(
        {
            "history": [
                {"revision": 1, "status": "superseded", "description": "todo-deploy fingerprint=a"},
                {"revision": 2, "status": "deployed", "description": "todo-deploy fingerprint=b"},
                {"revision": 3, "status": "pending-upgrade", "description": "Preparing upgrade"},
            ]
        }
    )
    client = helm.Helm(TARGET, Reporter())
    with pytest.raises(DeployNeedsAction) as err:
        client.upgrade(chart, VALUES)
    assert err.value.exit_code == 6
    assert "pending-upgrade" in err.value.message and "invoke up --recover" in err.value.hint
    assert "upgrade" not in fake_helm.commands()

    plan = client.recover()
    assert plan == helm.RecoveryPlan("rollback", 2)
    rollback = next(c for c in fake_helm.calls() if c["argv"][0] == "rollback")
    assert rollback["argv"][1:3] == ["todo-app", "2"]
    assert fake_helm.state()["history"][-1]["status"] == "deployed"
    assert client.upgrade(chart, VALUES).action is Action.UPGRADE


def test_recover_uninstalls_a_first_install_that_never_deployed(fake_helm: FakeHelm) -> None:
    fake_helm.set_state({"history": [{"revision": 1, "status": "pending-install", "description": "x"}]})
    reporter = Reporter()
    plan = helm.Helm(TARGET, reporter).recover()
    assert plan.action == "uninstall"
    assert "uninstall" in fake_helm.commands()
    assert fake_helm.state()["history"] == []
    assert reporter.named("helm.uninstalled")


def test_rollback_emits_event_and_history_of_missing_release_is_empty(fake_helm: FakeHelm, chart: Path) -> None:
    reporter = Reporter()
    client = helm.Helm(TARGET, reporter)
    assert client.history() == []
    client.upgrade(chart, VALUES)
    client.upgrade(chart, {**VALUES, "x": 1})
    assert client.rollback(1) == 3
    event = reporter.named("helm.rolled_back")[0]
    assert (event["to_revision"], event["revision"]) == (1, 3)


def test_unreachable_cluster_is_environment_problem(fake_helm: FakeHelm, chart: Path) -> None:
    fake_helm.set_state({"fail": "Error: Kubernetes cluster unreachable: connection refused\n"})
    with pytest.raises(EnvironmentProblem) as err:
        helm.Helm(TARGET, Reporter()).upgrade(chart, VALUES)
    assert err.value.exit_code == 3
