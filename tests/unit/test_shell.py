"""orchestrator/shell.py: `alongside` runs two waits side by side while the caller works."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from orchestrator.shell import alongside


def sleeper(seconds: float) -> str:
    subprocess.run([sys.executable, "-c", f"import time; time.sleep({seconds})"], check=True)
    return f"slept {seconds}"


def test_the_two_waits_and_the_work_overlap() -> None:
    worked: list[float] = []
    started = time.monotonic()
    first, second = alongside(
        lambda: sleeper(0.6), lambda: sleeper(0.6), meanwhile=lambda: worked.append(time.monotonic() - started)
    )
    elapsed = time.monotonic() - started
    assert (first, second) == ("slept 0.6", "slept 0.6")
    assert worked and worked[0] < 0.3  # the caller's work did not wait for the children
    assert elapsed < 1.1  # side by side, not one after the other (1.2 s and more)


def test_the_first_error_is_raised_the_second_is_handed_back() -> None:
    def fails() -> str:
        raise ValueError("first failed")

    with pytest.raises(ValueError, match="first failed"):
        alongside(fails, lambda: "ok", meanwhile=lambda: None)
    first, second = alongside(lambda: "ok", fails, meanwhile=lambda: None)
    assert first == "ok" and isinstance(second, ValueError)


def test_an_error_in_the_work_still_waits_for_both() -> None:
    done: list[str] = []

    def slow() -> str:
        time.sleep(0.2)
        done.append("slow")
        return "slow"

    def boom() -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        alongside(slow, slow, meanwhile=boom)
    assert done == ["slow", "slow"]  # no thread left running behind the caller's error
