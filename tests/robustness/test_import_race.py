"""No module is ever loaded off the main thread during `invoke up`, so no two threads can race on an
import (the old background import of the `kubernetes` client, while the main thread imported docker,
failed about once in 40 no-op runs with `ImportError ... requests/auth.py`).

A soak cannot prove a rare race gone; this records every module load (CPython's `import` audit
event fires only for real loads) with its thread, through the real CLI against the fake cluster, for
a first install (which builds nothing here but holds the deploy lock and renews it from a thread),
a no-op and a change that deploys.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.harness import CANARIES, ROOT, CliRun, write_env
from fakecluster import FakeCluster

pytestmark = [pytest.mark.e2e, pytest.mark.docker, pytest.mark.usefixtures("images_built")]
AUDIT = Path(__file__).with_name("import_audit.py")


def audited_up(cluster: FakeCluster, env_file: Path, out: Path) -> tuple[CliRun, dict]:
    argv = [sys.executable, str(AUDIT), "up", "--json", "--env-file", str(env_file)]
    env = {**cluster.env, "IMPORT_AUDIT_OUT": str(out)}
    for key in CANARIES:
        env.pop(key, None)
    proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900,
                          stdin=subprocess.DEVNULL)
    return CliRun(argv, proc.returncode, proc.stdout, proc.stderr), json.loads(out.read_text())


def test_every_module_load_of_up_happens_on_the_main_thread(cluster: FakeCluster, env_file: Path,
                                                            tmp_path: Path) -> None:
    runs = {}
    runs["install"] = audited_up(cluster, env_file, tmp_path / "install.json")
    runs["no-op"] = audited_up(cluster, env_file, tmp_path / "noop.json")
    changed = write_env(tmp_path / "changed.env", {**CANARIES, "COHERE_API_KEY": CANARIES["COHERE_API_KEY"] + "-2"})
    runs["change"] = audited_up(cluster, changed, tmp_path / "change.json")

    for name, (run, audit) in runs.items():
        assert run.returncode == 0, f"{name}: {run.explain()}"
        assert audit["loads"] > 500, f"{name}: the hook saw the run's imports"  # kubernetes alone is hundreds
        off = audit["off_main_thread"]
        assert off == [], f"{name}: {len(off)} modules loaded off the main thread, e.g. {off[:8]}"
    assert runs["install"][0].named("lock.acquired") and runs["change"][0].named("lock.acquired")
    noop = runs["no-op"][0]
    assert noop.named("helm.skipped") and not noop.named("lock.acquired")
    # The node's status answered for both images: no `minikube image ls` (seconds on a real one).
    assert [e["source"] for e in noop.named("image.load_skipped")] == ["node status", "node status"]
