"""Pure decisions in orchestrator/steps.py."""

from __future__ import annotations

import pytest

from orchestrator.kube.helm import Action
from orchestrator.kube.secret_store import SecretWrite
from orchestrator.steps import ReleasePlan


@pytest.mark.parametrize(
    ("secret_present", "action", "summary"),
    [
        (False, Action.INSTALL, "new Secret, helm install"),
        (True, Action.UPGRADE, "helm upgrade"),
        (False, Action.SKIP, "new Secret, release unchanged"),
        (True, Action.STUCK, "recover the pending release"),
        (True, Action.SKIP, "nothing to change"),
    ],
)
def test_the_plan_line_says_what_the_next_phases_change(secret_present: bool, action: Action, summary: str) -> None:
    plan = ReleasePlan(SecretWrite("todo-app-secrets-0123456789", "0123456789", False), secret_present, (), action)
    assert plan.summary == summary
