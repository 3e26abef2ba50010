"""Where the project's files are: the one home for every path the orchestrator reads.

The orchestrator runs from a checkout (`pip install -e .`), so its files are found from this module.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHART_NAME = "todo-app"
CHART_DIR = ROOT / "charts" / CHART_NAME
DOCKER_DIR = ROOT / "docker"
CHECKOV_CONFIG = ROOT / ".checkov.yaml"
HADOLINT_CONFIG = ROOT / ".hadolint.yaml"
TOOLS_BIN = ROOT / ".tools" / "bin"
