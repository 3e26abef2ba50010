"""Deployment profiles: the chart's defaults for a laptop, or the values for a real multi-node cluster.

    dev         values.yaml alone: one replica each, minikube, images loaded into the node
    production  values.yaml + values-production.yaml: replicas spread over nodes, disruption budgets,
                autoscalers, TLS on the ingress; images pushed to a registry and deployed by digest

A profile is chosen with `--profile NAME` or TODO_PROFILE (orchestrator.settings.config); its rules (what it requires of the other
settings) are checked before anything is built.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from pathlib import Path
from typing import Any

import yaml

from orchestrator.paths import CHART_DIR


class Profile(str, Enum):
    DEV = "dev"
    PRODUCTION = "production"


def values_files(profile: Profile, chart_dir: Path = CHART_DIR) -> tuple[Path, ...]:
    """The values files a profile layers over the chart's values.yaml, in order."""
    if profile is Profile.DEV:
        return ()
    return (chart_dir / f"values-{profile.value}.yaml",)


def profile_problems(profile: Profile, *, registry: str | None, database_url_set: bool) -> list[tuple[str, str]]:
    """What a profile requires of the other settings: (problem, fix) pairs; empty when all is met."""
    problems: list[tuple[str, str]] = []
    if profile is Profile.PRODUCTION:
        if not registry:
            problems.append(
                (
                    "the production profile deploys images by digest from a registry, and no --registry was given",
                    "add --registry HOST[:PORT]/PATH (a registry every node can pull from)",
                )
            )
        if not database_url_set:
            problems.append(
                (
                    "the production profile needs an external database, and DATABASE_URL is not set",
                    "set DATABASE_URL (environment or env file) to your PostgreSQL, e.g. a Neon connection string",
                )
            )
    return problems


def profile_values(profile: Profile, chart_dir: Path = CHART_DIR) -> dict[str, Any]:
    """The profile's chart values, its files merged in order (empty for dev)."""
    merged: dict[str, Any] = {}
    for path in values_files(profile, chart_dir):
        merged = merge_values(merged, yaml.safe_load(path.read_text()) or {})
    return merged


def merge_values(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Helm's values coalescing for plain maps: nested maps merge, anything else in `override` wins."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge_values(out[key], value)
        else:
            out[key] = value
    return out
