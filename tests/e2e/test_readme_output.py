"""README.md's example output (a first `invoke up`, a no-op, a failed rollout) and its JSON events
table are made by scripts/readme-output from real runs through the fake cluster (scripted node, the
images built once by `invoke build`); `scripts/readme-output --check` runs them again and fails when
README.md's copy is stale (timings, hashes, addresses, pod names and sizes aside)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.docker]

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "readme-output"
README = ROOT / "README.md"


def _script() -> ModuleType:  # the script is a file, not a module: load its pure functions
    import importlib.machinery
    import importlib.util

    loader = importlib.machinery.SourceFileLoader("readme_output", str(SCRIPT))
    spec = importlib.util.spec_from_loader("readme_output", loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def test_the_readme_examples_are_what_the_tool_prints_now() -> None:
    before = README.read_text(encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=900,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stdout[-6000:]
    assert README.read_text(encoding="utf-8") == before, "--check changes nothing"


def test_normalising_keeps_words_and_drops_what_changes_between_runs() -> None:
    module = _script()
    one = "✔ images     1.2 s  todo-backend unchanged (a950dce9d8bf), 185.2 MB http://127.0.0.1:30080/health"
    two = "✔ images      12 s  todo-backend unchanged (0c1d2e3f4a5b), 185.9 MB http://127.0.0.1:31999/health"
    assert module.normalise(one) == module.normalise(two)
    assert module.normalise("todo-backend unchanged") != module.normalise("todo-backend built")
    pod_one = "pod/todo-app-backend-dfzpdzb2jq-ddkpp: Failed (2 restarts, last exit code 1)"
    pod_two = "pod/todo-app-backend-j6vj8zrzbc-t7zrw: Failed (3 restarts, last exit code 1)"
    assert module.normalise(pod_one) == module.normalise(pod_two)
    assert module.normalise(pod_one) != module.normalise(pod_one.replace("exit code 1", "exit code 2"))


def test_a_changed_word_in_any_block_is_stale_and_a_new_run_of_the_same_output_is_not() -> None:
    module = _script()
    current = module.blocks_in(README.read_text(encoding="utf-8"))
    assert sorted(current) == sorted(module.BLOCKS)
    rerun = {
        name: text.replace("0.0 s", "0.4 s").replace("127.0.0.1:3", "127.0.0.1:4") for name, text in current.items()
    }
    assert module.stale(current, rerun) == []
    for name, old, new in (
        ("cold-up", "loaded into minikube", "loaded into kind"),
        ("no-op", "nothing changed", "nothing to do"),
        ("failed-rollout", "cannot become ready", "is not ready"),
        ("events", "`lock.lost`", "`lock.gone`"),
    ):
        assert old in current[name], (name, old)
        assert module.stale(current, {**current, name: current[name].replace(old, new)}) == [name]
