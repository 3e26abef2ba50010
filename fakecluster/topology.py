"""Several nodes and where the scheduler puts a pod on them.

Node names follow a multi-node minikube: the first node is the profile's name, the others
`<profile>-m02`, `-m03`... (kubernetes/minikube pkg/minikube/config/profile.go, MachineName; and
pkg/minikube/node/node.go, which numbers added nodes from 2 with two digits).

Placement follows kube-scheduler's PodTopologySpread plugin (kubernetes/kubernetes
pkg/scheduler/framework/plugins/podtopologyspread/filtering.go and scoring.go):
- a node without a constraint's topologyKey label is filtered out for a DoNotSchedule constraint
  ("node(s) didn't match pod topology spread constraints (missing required label)");
- for a DoNotSchedule constraint the skew of placing the pod in a domain is
  matching pods in that domain + (1 if the pod matches its own selector) - the fewest matching pods in
  any eligible domain; a node whose skew would exceed maxSkew is filtered out
  ("node(s) didn't match pod topology spread constraints");
- ScheduleAnyway constraints only score: fewer matching pods in the node's domain scores higher.
Matching pods are the pods of the same namespace that the constraint's labelSelector selects and that
are assigned to a node and not terminating. Ties (the real scheduler picks one of the best at random)
go to the node with fewer pods, then to the first in name order, so tests are repeatable.
When no node fits, the FailedScheduling message has the real shape (pkg/scheduler/framework/types.go,
FitError.Error): "0/N nodes are available: <count> <reason>. preemption: ...".
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from .labelselectors import selector_matches
from .store import Obj

HOSTNAME_KEY = "kubernetes.io/hostname"
ZONE_KEY = "topology.kubernetes.io/zone"
MISSING_LABEL = "node(s) didn't match pod topology spread constraints (missing required label)"
SKEW = "node(s) didn't match pod topology spread constraints"


@dataclass(frozen=True)
class NodeSpec:
    name: str
    zone: str = ""

    @property
    def labels(self) -> dict[str, str]:
        return {HOSTNAME_KEY: self.name, **({ZONE_KEY: self.zone} if self.zone else {})}


def node_names(count: int, profile: str = "minikube") -> list[str]:
    """`minikube`, `minikube-m02`, `minikube-m03`, ... as `minikube start --nodes N` names them."""
    return [profile if i == 1 else f"{profile}-m{i:02d}" for i in range(1, max(count, 1) + 1)]


def node_specs(count: int, zones: list[str] | None = None) -> list[NodeSpec]:
    """`count` nodes; with zones, node i is in zones[i % len(zones)]."""
    zones = [z for z in zones or [] if z]
    return [NodeSpec(name, zones[i % len(zones)] if zones else "") for i, name in enumerate(node_names(count))]


@dataclass(frozen=True)
class Placement:
    node: str | None
    message: str = ""  # why no node fits (FailedScheduling / PodScheduled=False)


def _matching(constraint: Obj, pods: list[Obj], namespace: str) -> list[Obj]:
    selector = constraint.get("labelSelector")
    if not selector:
        return []
    return [
        p
        for p in pods
        if p["metadata"].get("namespace") == namespace
        and not p["metadata"].get("deletionTimestamp")
        and (p.get("spec") or {}).get("nodeName")
        and selector_matches(selector, p["metadata"].get("labels") or {})
    ]


def choose_node(pod: Obj, nodes: list[Obj], pods: list[Obj]) -> Placement:
    """The node the scheduler binds `pod` to, given the Node objects and every pod in the store."""
    namespace = pod["metadata"].get("namespace", "")
    own_labels = pod["metadata"].get("labels") or {}
    constraints = (pod.get("spec") or {}).get("topologySpreadConstraints") or []
    node_labels = {n["metadata"]["name"]: n["metadata"].get("labels") or {} for n in nodes}
    failures: Counter[str] = Counter()
    candidates = sorted(node_labels)
    score: dict[str, list[int]] = {name: [] for name in candidates}
    for constraint in constraints:
        key = constraint.get("topologyKey", "")
        hard = constraint.get("whenUnsatisfiable", "DoNotSchedule") == "DoNotSchedule"
        matching = _matching(constraint, pods, namespace)
        eligible = [name for name in node_labels if key in node_labels[name]]
        counts: Counter[str] = Counter({node_labels[name][key]: 0 for name in eligible})
        for p in matching:
            domain = node_labels.get(p["spec"]["nodeName"], {}).get(key)
            if domain is not None:
                counts[domain] += 1
        fewest = min(counts.values(), default=0)
        self_match = 1 if selector_matches(constraint.get("labelSelector") or {}, own_labels) else 0
        kept = []
        for name in candidates:
            domain = node_labels[name].get(key)
            if domain is None:
                if hard:
                    failures[MISSING_LABEL] += 1
                    continue
                score[name].append(0)
                kept.append(name)
                continue
            if hard and counts[domain] + self_match - fewest > int(constraint.get("maxSkew", 1)):
                failures[SKEW] += 1
                continue
            score[name].append(counts[domain])
            kept.append(name)
        candidates = kept
    if not candidates:
        total = len(nodes)
        reasons = ", ".join(f"{n} {reason}" for reason, n in sorted(failures.items()))
        preemption = (
            f"{total} No preemption victims found for incoming pod"
            if SKEW in failures
            else f"{total} Preemption is not helpful for scheduling"
        )
        return Placement(
            None, f"0/{total} nodes are available: {reasons}. preemption: 0/{total} nodes are available: {preemption}."
        )
    per_node = Counter(
        p["spec"]["nodeName"]
        for p in pods
        if (p.get("spec") or {}).get("nodeName") and not p["metadata"].get("deletionTimestamp")
    )
    return Placement(min(candidates, key=lambda n: (sum(score[n]), per_node[n], n)))
