"""Where the project's files are: the one home for every path the orchestrator reads.

The orchestrator runs from a checkout (`pip install -e .`), so its files are found from this module.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHART_NAME = "todo-app"
CHART_DIR = ROOT / "charts" / CHART_NAME
DOCKER_DIR = ROOT / "docker"
CHECKOV_CONFIG = ROOT / ".checkov.yaml"
HADOLINT_CONFIG = ROOT / ".hadolint.yaml"
TOOLS_BIN = ROOT / ".tools" / "bin"


def cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The user's cache for this tool: `$XDG_CACHE_HOME/todo-deploy` (default ~/.cache/todo-deploy)."""
    env = os.environ if environ is None else environ
    base = Path(env["XDG_CACHE_HOME"]) if env.get("XDG_CACHE_HOME") else Path.home() / ".cache"
    return base / "todo-deploy"


def ref_file_name(ref: str, suffix: str) -> str:
    """`todo-backend:0123abcd4567`, `.tar` -> `todo-backend_0123abcd4567.tar`: one file name per image
    reference (content tags make it one per content)."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", ref) + suffix
