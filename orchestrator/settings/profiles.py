"""Deployment profiles: the chart's defaults for a laptop, or the values for a real multi-node cluster.

    dev         values.yaml alone: one replica each, minikube, images loaded into the node
    production  values.yaml + values-production.yaml: replicas spread over nodes, disruption budgets,
                autoscalers, TLS on the ingress; images pushed to a registry and deployed by digest

A profile is chosen with `--profile NAME` or TODO_PROFILE; its rules (what it requires of the other
settings) are checked before anything is built.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path

from orchestrator.errors import InputError
from orchestrator.paths import CHART_DIR


class Profile(str, Enum):
    DEV = "dev"
    PRODUCTION = "production"


def parse_profile(text: str | None) -> Profile:
    """The Profile a flag or setting names (None or empty: dev); InputError on an unknown name."""
    if not text:
        return Profile.DEV
    try:
        return Profile(text.strip().lower())
    except ValueError:
        raise InputError(
            f"unknown profile {text!r}",
            f"use one of: {', '.join(p.value for p in Profile)}",
        ) from None


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
            problems.append((
                "the production profile deploys images by digest from a registry, and no --registry was given",
                "add --registry HOST[:PORT]/PATH (a registry every node can pull from)",
            ))
        if not database_url_set:
            problems.append((
                "the production profile needs an external database, and DATABASE_URL is not set",
                "set DATABASE_URL (environment or env file) to your PostgreSQL, e.g. a Neon connection string",
            ))
    return problems
