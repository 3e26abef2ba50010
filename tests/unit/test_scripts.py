"""The shell helpers in scripts/ run under `set -euo pipefail`: a pipeline whose last command stops
reading early (`head`, `grep -q`, `grep -m`, `sed ...q`, `awk ... exit`) makes the writer die of SIGPIPE
at random, and pipefail turns that into a failed script (exit 141) on a fresh machine."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = sorted(p for p in (ROOT / "scripts").iterdir() if p.is_file()) + [ROOT / ".ci" / "run"]

# A pipe stage that may exit before its input ends.
EARLY_EXIT = re.compile(
    r"\|\s*(?:LC_ALL=\S+\s+)?(?:head\b|tail\s+-n\s*\+|grep\s+(?:-\w*\s+)*-\w*[qm]|sed\b[^|]*\bq\b|awk\b[^|]*\bexit\b)"
)


def _code_lines(path: Path) -> list[tuple[int, str]]:
    return [
        (n, line)
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if line.strip() and not line.lstrip().startswith("#")
    ]


def early_exit_pipes(text: str) -> list[str]:
    """The lines of `text` with a pipe into a command that may stop reading early (pure)."""
    found = []
    for line in text.splitlines():
        code = line.split(" #", 1)[0]
        if code.lstrip().startswith("#"):
            continue
        if EARLY_EXIT.search(code.replace("||", "  ")):
            found.append(line.strip())
    return found


@pytest.mark.parametrize(
    "bad",
    [
        '"$bin/kubectl" version --client | head -1',
        "kubectl version | grep -q v1.35",
        "docker images | grep -m1 todo",
        "minikube status | sed -n '1p;q'",
        "helm version | awk '/v4/ { print; exit }'",
    ],
)
def test_the_check_finds_an_early_exit_pipe(bad: str) -> None:
    assert early_exit_pipes(bad) == [bad]


@pytest.mark.parametrize(
    "fine",
    [
        "sha256sum package-lock.json | cut -c1-16",
        "command -v npm >/dev/null || exit 3",
        "tar -C dir -c . | docker import - image",
        "du -m file | cut -f1",
    ],
)
def test_the_check_leaves_full_readers_alone(fine: str) -> None:
    assert early_exit_pipes(fine) == []


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_no_script_pipes_into_an_early_exit(script: Path) -> None:
    assert early_exit_pipes(script.read_text()) == []


@pytest.mark.parametrize(
    "script", [p for p in SCRIPTS if p.read_text().startswith("#!/usr/bin/env bash")], ids=lambda p: p.name
)
def test_bash_scripts_are_strict_and_parse(script: Path) -> None:
    # pipefail everywhere (what the pipe check above is about); -e may be left out on purpose by a
    # script that collects failures (scripts/lint runs every check, then reports).
    assert re.search(r"^set -e?uo pipefail$", script.read_text(), re.M)
    assert subprocess.run(["bash", "-n", str(script)], capture_output=True).returncode == 0


def test_the_first_line_idiom_of_install_tools_prints_only_the_first_line(tmp_path: Path) -> None:
    """install-tools prints kubectl's first version line from the whole output, not through `head`."""
    line = next(line for _, line in _code_lines(ROOT / "scripts" / "install-tools") if "%%" in line)
    script = tmp_path / "t.sh"
    script.write_text(f"set -euo pipefail\nout=\"$(printf 'Client Version: v1\\nKustomize Version: v5\\n')\"\n{line}\n")
    result = subprocess.run(["bash", str(script)], capture_output=True, text=True)
    assert (result.returncode, result.stdout) == (0, "Client Version: v1\n")
