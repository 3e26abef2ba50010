"""The Deployment controller's rolling update, step by step, as the real one does it (pure).

Each sync of a RollingUpdate Deployment does one of two things (kubernetes/kubernetes
pkg/controller/deployment/rolling.go, rolloutRolling): scale the new ReplicaSet up if the surge
allows it (reconcileNewReplicaSet with NewRSNewReplicas from pkg/controller/deployment/util/
deployment_util.go: never more than replicas + maxSurge pods in all ReplicaSets), otherwise scale
old ReplicaSets down as far as availability allows (reconcileOldReplicaSets: first the old
ReplicaSets' unavailable pods, cleanupUnhealthyReplicas, then available ones while more than
replicas - maxUnavailable are available, scaleDownOldReplicaSetsForRollingUpdate; oldest first).
maxSurge rounds up, maxUnavailable down, and when both resolve to 0 maxUnavailable is 1
(deployment_util.go, ResolveFenceposts; MaxUnavailable caps it at replicas).

So with the chart's maxUnavailable 0 and maxSurge 1 and 2 replicas, an update goes new +1, old -1
(once the new pod is available), new +1, old -1: two available pods the whole time, three at most.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Counts:
    """A ReplicaSet as the controller sees it: spec.replicas and status.availableReplicas."""

    replicas: int
    available: int


def resolve(value: Any, total: int, round_up: bool) -> int:
    """An int-or-percent field against `total` (k8s.io/apimachinery util/intstr GetScaledValueFromIntOrPercent)."""
    if isinstance(value, str) and value.endswith("%"):
        raw = total * int(value[:-1]) / 100
        return math.ceil(raw) if round_up else math.floor(raw)
    return int(value or 0)


def fenceposts(strategy: dict[str, Any], desired: int) -> tuple[int, int]:
    """(maxSurge, maxUnavailable) of a RollingUpdate strategy; both default to 25% (apps/v1 defaults,
    pkg/apis/apps/v1/defaults.go SetDefaults_Deployment), and never both 0."""
    rolling = strategy.get("rollingUpdate") or {}
    surge = resolve(rolling.get("maxSurge", "25%"), desired, round_up=True)
    unavailable = resolve(rolling.get("maxUnavailable", "25%"), desired, round_up=False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, min(unavailable, desired)


def new_replicas(desired: int, surge: int, new: Counts, all_replicas: int) -> int:
    """The new ReplicaSet's size after a scale-up step (NewRSNewReplicas): at most desired, and
    all ReplicaSets together at most desired + surge."""
    room = desired + surge - all_replicas
    if room <= 0:
        return new.replicas
    return new.replicas + min(room, desired - new.replicas)


def step(desired: int, surge: int, unavailable: int, new: Counts, old: list[Counts]) -> tuple[int, list[int]]:
    """One sync: the replicas the new ReplicaSet and each old one (oldest first) should have now."""
    sizes = [rs.replicas for rs in old]
    if new.replicas > desired:
        return desired, sizes
    if new.replicas < desired:
        grown = new_replicas(desired, surge, new, new.replicas + sum(sizes))
        if grown != new.replicas:
            return grown, sizes
    if not sum(sizes):
        return new.replicas, sizes
    min_available = desired - unavailable
    budget = new.replicas + sum(sizes) - min_available - (new.replicas - new.available)
    if budget <= 0:
        return new.replicas, sizes
    # The old ReplicaSets' unavailable pods go first: removing them costs no availability.
    cleaned = 0
    for i, rs in enumerate(old):
        if cleaned >= budget:
            break
        cut = min(budget - cleaned, sizes[i] - rs.available)
        if sizes[i] and cut > 0:
            sizes[i] -= cut
            cleaned += cut
    # Then, in the same sync, available ones while more than min_available stay available.
    excess = new.available + sum(rs.available for rs in old) - min_available
    for i in range(len(sizes)):
        if excess <= 0:
            break
        cut = min(sizes[i], excess)
        sizes[i] -= cut
        excess -= cut
    return new.replicas, sizes
