"""Run the invoke CLI with an audit hook that records every module load and the thread it ran on.

    IMPORT_AUDIT_OUT=loads.json python tests/robustness/import_audit.py up --json ...

CPython raises the `import` audit event only when a module is really loaded (not for one already in
sys.modules), so the record is exactly the set of loads. The JSON written at exit lists the loads
made on any thread but the main one: two threads loading modules at the same time is what made
`invoke up` fail at random (`ImportError` in requests/auth.py), and a run whose loads all happen on
one thread cannot do that.
"""

from __future__ import annotations

import atexit
import json
import os
import sys
import threading

_OFF_MAIN: list[dict[str, str]] = []
_COUNT = [0]


def _hook(event: str, args: tuple) -> None:
    if event != "import":
        return
    _COUNT[0] += 1
    thread = threading.current_thread()
    if thread is not threading.main_thread():
        _OFF_MAIN.append({"module": str(args[0]), "thread": thread.name})


def _write() -> None:
    with open(os.environ["IMPORT_AUDIT_OUT"], "w", encoding="utf-8") as out:
        json.dump({"loads": _COUNT[0], "off_main_thread": _OFF_MAIN}, out)


if __name__ == "__main__":
    sys.addaudithook(_hook)
    atexit.register(_write)
    from invoke.main import program

    program.run(["invoke", *sys.argv[1:]])
