"""The defaults of the command-line options: the one home of each number (it imports nothing).

tasks.py shows them in `--help` and falls back to them; the orchestrator's option dataclasses and
helm calls default to them; README.md documents them.
"""

from __future__ import annotations

ROLLOUT_TIMEOUT_S = 300.0  # `--timeout`: how long helm and the rollout wait
HEALTH_TIMEOUT_S = 120.0  # `--health-timeout`: how long /health is polled after the rollout
IMAGE_BUDGET_MB = 600  # `--budget-mb`: both images together, uncompressed, decimal MB
