"""Chart fixtures: the chart rendered once per session with the default values and with overrides."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from orchestrator.chart.tools import SAMPLE_VALUES, ValidateOptions, parse_manifests, render_chart
from orchestrator.settings.profiles import Profile, values_files

# Values that switch on everything optional at once.
OVERRIDES: dict[str, str] = {
    "ingress.tls.enabled": "true",
    "backend.replicas": "3",
    "frontend.replicas": "3",
    "namespace.create": "true",
}


def options(extra: dict[str, str] | None = None, **kwargs: Any) -> ValidateOptions:
    return ValidateOptions(set_values={**SAMPLE_VALUES, **(extra or {})}, **kwargs)


def render(extra: dict[str, str] | None = None, profile: Profile = Profile.DEV) -> list[dict[str, Any]]:
    return parse_manifests(render_chart(options(extra, values_files=values_files(profile))))


def find(docs: list[dict[str, Any]], kind: str, component: str | None = None) -> dict[str, Any]:
    """The one resource of `kind` (and app.kubernetes.io/component) in docs."""
    hits = [
        d
        for d in docs
        if d["kind"] == kind
        and (component is None or d["metadata"]["labels"].get("app.kubernetes.io/component") == component)
    ]
    assert len(hits) == 1, f"expected one {kind} {component or ''}, found {len(hits)}"
    return hits[0]


@pytest.fixture(scope="session")
def default_manifests() -> list[dict[str, Any]]:
    return render()


@pytest.fixture(scope="session")
def override_manifests() -> list[dict[str, Any]]:
    return render(OVERRIDES)


@pytest.fixture
def fresh_defaults(default_manifests: list[dict[str, Any]]) -> Callable[[], list[dict[str, Any]]]:
    return lambda: copy.deepcopy(default_manifests)


@pytest.fixture(scope="session")
def production_manifests() -> list[dict[str, Any]]:
    return render(profile=Profile.PRODUCTION)


@pytest.fixture
def fresh_production(production_manifests: list[dict[str, Any]]) -> Callable[[], list[dict[str, Any]]]:
    return lambda: copy.deepcopy(production_manifests)
