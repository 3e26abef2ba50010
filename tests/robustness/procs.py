"""Sample the command lines and environments of a process's descendants while it runs (/proc)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""


def _parents() -> dict[int, int]:
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        stat = _read(entry / "stat").decode(errors="replace")
        if ")" in stat:
            fields = stat.rsplit(")", 1)[1].split()
            if len(fields) > 1:
                out[int(entry.name)] = int(fields[1])
    return out


@dataclass
class Sampler:
    root: int
    interval: float = 0.02
    cmdlines: dict[int, str] = field(default_factory=dict)
    environs: dict[int, str] = field(default_factory=dict)
    samples: int = 0

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> Sampler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _descendants(self) -> list[int]:
        parents = _parents()
        found, frontier = [], [self.root]
        while frontier:
            pid = frontier.pop()
            children = [p for p, pp in parents.items() if pp == pid]
            found += children
            frontier += children
        return found

    def _loop(self) -> None:
        while not self._stop.is_set():
            for pid in self._descendants():
                proc = Path("/proc") / str(pid)
                cmd = _read(proc / "cmdline").replace(b"\0", b" ").decode("utf-8", "replace")
                env = _read(proc / "environ").replace(b"\0", b"\n").decode("utf-8", "replace")
                if cmd:
                    self.cmdlines[pid] = cmd
                if env:
                    self.environs[pid] = env
            self.samples += 1
            self._stop.wait(self.interval)
