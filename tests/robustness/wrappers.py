"""Tool wrappers that misbehave on one subcommand: a `helm upgrade` that takes its time, a
`minikube image load` that is slow, a `helm upgrade` that fails like a real one. Every other call
runs the real tool untouched. The wrapper writes a marker file (its pid) when the matched call
starts, so a test acts at a known moment. The words matched may appear anywhere in
the argv (`minikube -p NAME image load REF`), and can kill the very process doing the work."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

_WRAPPER = """#!{python}
import os, sys, time
argv = sys.argv[1:]
match = {match!r}
if any(argv[i:i + len(match)] == match for i in range(len(argv))):
    marker = {marker!r}
    with open(marker + ".tmp", "w") as out:
        out.write(str(os.getpid()))
    os.replace(marker + ".tmp", marker)
    time.sleep({sleep!r})
    if {exit_code!r} is not None:
        sys.stderr.write({stderr!r})
        sys.exit({exit_code!r})
os.execv({real!r}, [{real!r}, *argv])
"""


@dataclass(frozen=True)
class Wrapper:
    """One installed wrapper: `path` is the PATH to run the CLI with; `marker` appears on a matched call."""

    path: str
    marker: Path

    def started(self) -> bool:
        return self.marker.exists()

    def wait_started(self, caller: subprocess.Popen[str] | None = None, timeout: float = 600) -> int:
        """Wait for the matched call to start; return the pid of the process doing it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.marker.exists():
                return int(self.marker.read_text())
            if caller is not None and caller.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"the wrapped call ({self.marker.name}) never started")


def install(
    bin_dir: Path,
    tool: str,
    path: str,
    match: tuple[str, ...],
    *,
    sleep: float = 0.0,
    exit_code: int | None = None,
    stderr: str = "",
) -> Wrapper:
    """Put a `tool` wrapper in bin_dir, in front of the real tool found on `path`."""
    real = shutil.which(tool, path=path)
    assert real is not None, f"{tool} is not on {path}"
    bin_dir.mkdir(parents=True, exist_ok=True)
    marker = bin_dir / f"{tool}-{'-'.join(match)}.started"
    script = bin_dir / tool
    script.write_text(
        _WRAPPER.format(
            python=sys.executable,
            match=list(match),
            marker=str(marker),
            sleep=sleep,
            exit_code=exit_code,
            stderr=stderr,
            real=real,
        )
    )
    script.chmod(0o755)
    return Wrapper(f"{bin_dir}{os.pathsep}{path}", marker)


def process_gone(pid: int, timeout: float) -> bool:
    """Wait until a process (not necessarily our child) has ended."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not Path(f"/proc/{pid}").exists():
            return True
        try:
            state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
        except OSError:
            return True
        if state == "Z":
            return True
        time.sleep(0.1)
    return False
