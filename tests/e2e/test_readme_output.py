"""README.md's example output (a first `invoke up`, a no-op, a failed rollout) and its JSON events
table are made by scripts/readme-output from real runs through the fake cluster; `scripts/readme-output
--check` runs them again and fails when README.md's copy is stale (timings, hashes, addresses and sizes
aside). Here: the normaliser that comparison relies on."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.docker]

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "readme-output"


def _normalise():  # the script is a file, not a module: load its pure normaliser
    import importlib.machinery
    import importlib.util

    loader = importlib.machinery.SourceFileLoader("readme_output", str(SCRIPT))
    spec = importlib.util.spec_from_loader("readme_output", loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def test_normalising_keeps_words_and_drops_what_changes_between_runs() -> None:
    module = _normalise()
    one = "✔ images     1.2 s  todo-backend unchanged (a950dce9d8bf), 185.2 MB http://127.0.0.1:30080/health"
    two = "✔ images      12 s  todo-backend unchanged (0c1d2e3f4a5b), 185.9 MB http://127.0.0.1:31999/health"
    assert module.normalise(one) == module.normalise(two)
    assert module.normalise("todo-backend unchanged") != module.normalise("todo-backend built")
