"""Spy wrappers for the tools the orchestrator runs (helm, kubectl, minikube): each call's argv,
environment and `-f/--values` file contents are recorded as one JSON file, then the real tool runs."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

TOOLS = ("helm", "kubectl", "minikube")

_WRAPPER = """#!{python}
import json, os, sys, time, uuid
log_dir = {log_dir!r}
real = {real!r}
argv = sys.argv[1:]
files = {{}}
for i, arg in enumerate(argv):
    if arg in ("-f", "--values") and i + 1 < len(argv):
        try:
            files[argv[i + 1]] = open(argv[i + 1], encoding="utf-8", errors="replace").read()
        except OSError as exc:
            files[argv[i + 1]] = f"<unreadable: {{exc}}>"
record = {{"tool": {tool!r}, "argv": argv, "env": dict(os.environ), "files": files, "at": time.time()}}
with open(os.path.join(log_dir, f"{{time.time():.6f}}-{{uuid.uuid4().hex[:6]}}.json"), "w") as out:
    json.dump(record, out)
os.execv(real, [real, *argv])
"""


def install(bin_dir: Path, log_dir: Path, path: str) -> str:
    """Write wrappers for the tools found on `path` into bin_dir; return the PATH with bin_dir first."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    log_dir.mkdir(parents=True, exist_ok=True)
    for tool in TOOLS:
        real = shutil.which(tool, path=path)
        if real is None:
            continue
        script = bin_dir / tool
        script.write_text(_WRAPPER.format(python=sys.executable, log_dir=str(log_dir), real=real, tool=tool))
        script.chmod(0o755)
    return f"{bin_dir}{os.pathsep}{path}"


def calls(log_dir: Path, tool: str | None = None) -> list[dict[str, Any]]:
    out = []
    for path in sorted(log_dir.glob("*.json")):
        record = json.loads(path.read_text())
        if tool is None or record["tool"] == tool:
            out.append(record)
    return out
