"""Shared test set-up: the project's pinned tools (.tools/bin) come first on PATH; the fake cluster
gets this checkout's backend and tools, and its one `cluster` fixture is registered for every suite."""

from __future__ import annotations

import os
from pathlib import Path

from fakecluster.fixtures import cluster, cluster_options  # noqa: F401  (the shared fixtures)

ROOT = Path(__file__).resolve().parent.parent
TOOLS_BIN = ROOT / ".tools" / "bin"

os.environ["PATH"] = f"{TOOLS_BIN}{os.pathsep}{os.environ.get('PATH', '')}"
# The fake cluster knows no repository: it is told where the backend and the pinned tools are.
os.environ.setdefault("FAKECLUSTER_BACKEND_DIR", str(ROOT / "app" / "backend"))
os.environ.setdefault("FAKECLUSTER_TOOLS_BIN", str(TOOLS_BIN))


# --- the robustness summary ----------------------------------------------------------------------
# Tests marked `proof("<category>")` are counted per category and shown as a table at the end of
# the run (README, "Robustness"). A test may add `record_property("cases", N)` when it checks N
# distinct things (e.g. sinks searched); otherwise it counts as one case.

import pytest  # noqa: E402

PROOF_ORDER = ("bad input", "valid edge cases", "faults", "interrupts", "secret leaks")
_proof: dict[str, dict[str, int]] = {}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "proof(category): counted in the robustness summary table")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """Tag the report with its category: reports travel from pytest-xdist's workers to the main process."""
    outcome = yield
    marker = item.get_closest_marker("proof")
    if marker is not None:
        outcome.get_result().user_properties.append(("proof", marker.args[0]))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    category = dict(report.user_properties).get("proof")
    if category is None:
        return
    if report.when == "call" or (report.when == "setup" and not report.passed):
        row = _proof.setdefault(category, {"cases": 0, "passed": 0})
        row["cases"] += 1
        row["passed"] += 1 if report.passed else 0


def pytest_terminal_summary(terminalreporter, exitstatus, config):  # type: ignore[no-untyped-def]
    if not _proof:
        return
    write = terminalreporter.write_line
    write("")
    write("Robustness summary (each case: exit code, message, end state checked)")
    write(f"{'category':<20}{'cases':>7}{'passed':>8}")
    ordered = sorted(_proof, key=lambda c: (PROOF_ORDER.index(c) if c in PROOF_ORDER else 99, c))
    for category in ordered:
        row = _proof[category]
        write(f"{category:<20}{row['cases']:>7}{row['passed']:>8}")
    total = sum(r["cases"] for r in _proof.values())
    passed = sum(r["passed"] for r in _proof.values())
    write(f"{'total':<20}{total:>7}{passed:>8}")
