"""The machine's build lock: a second holder waits, an interrupted wait stops, a dead holder frees it."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from orchestrator.images.build_lock import BuildCancelled, building, lock_directory, lock_path

REF = "todo-backend:0123abcd4567"


def test_the_lock_lives_in_the_user_cache_one_file_per_ref(tmp_path: Path) -> None:
    assert lock_directory({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "todo-deploy" / "builds"
    assert lock_path("registry:5000/todo-backend:ab", tmp_path) == tmp_path / "registry_5000_todo-backend_ab.lock"


def test_a_second_holder_waits_once_told_and_the_file_goes_with_the_last_holder(tmp_path: Path) -> None:
    order: list[str] = []
    waits: list[str] = []
    first_in = threading.Event()
    release_first = threading.Event()

    def first() -> None:
        with building(REF, directory=tmp_path):
            order.append("first in")
            first_in.set()
            release_first.wait(5)
            order.append("first out")

    def second() -> None:
        with building(REF, directory=tmp_path, on_wait=lambda: waits.append("told")):
            order.append("second in")

    holder = threading.Thread(target=first)
    holder.start()
    assert first_in.wait(5)
    waiter = threading.Thread(target=second)
    waiter.start()
    time.sleep(0.6)  # three polls
    assert order == ["first in"] and waits == ["told"]
    release_first.set()
    holder.join(5)
    waiter.join(5)
    assert order == ["first in", "first out", "second in"] and waits == ["told"]
    assert list(tmp_path.iterdir()) == []


def test_a_cancelled_wait_raises_and_holds_nothing(tmp_path: Path) -> None:
    cancel = threading.Event()
    with building(REF, directory=tmp_path):
        threading.Timer(0.3, cancel.set).start()
        with pytest.raises(BuildCancelled):
            with building(REF, directory=tmp_path, cancel=cancel):
                pytest.fail("entered while the lock was held")
    with building(REF, directory=tmp_path, on_wait=lambda: pytest.fail("waited for a free lock")):
        pass


def test_a_holder_killed_with_sigkill_frees_the_lock(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from orchestrator.images.build_lock import building\n"
            f"with building({REF!r}, directory=Path({str(tmp_path)!r})):\n"
            "    print('held', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[3],
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        told: list[float] = []
        threading.Timer(0.5, holder.kill).start()
        started = time.monotonic()
        with building(REF, directory=tmp_path, on_wait=lambda: told.append(time.monotonic())):
            waited = time.monotonic() - started
        assert told and 0.4 < waited < 10
    finally:
        holder.kill()
        holder.wait(10)
