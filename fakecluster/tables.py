"""Server-side printing: the `Table` responses `kubectl get` asks for (columns as in Kubernetes 1.35)."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from .store import Obj

Column = tuple[str, str, int, Callable[[Obj], Any]]  # name, type, priority (1 = -o wide), cell


def human_duration(seconds: float) -> str:
    seconds = max(int(seconds), 0)
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 48:
        return f"{hours}h"
    return f"{hours // 24}d"


def _age_of(stamp: str | None) -> str:
    if not stamp:
        return "<unknown>"
    then = datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.UTC)
    return human_duration((datetime.datetime.now(tz=datetime.UTC) - then).total_seconds())


def _age(obj: Obj) -> str:
    return _age_of(obj["metadata"].get("creationTimestamp"))


def _name(obj: Obj) -> str:
    return obj["metadata"]["name"]


def _pod_status(pod: Obj) -> str:
    status = pod.get("status", {})
    if pod["metadata"].get("deletionTimestamp"):
        return "Terminating"
    reason = status.get("reason") or status.get("phase") or "Pending"
    for container in status.get("containerStatuses") or []:
        state = container.get("state", {})
        if state.get("waiting", {}).get("reason"):
            reason = state["waiting"]["reason"]
        elif state.get("terminated", {}).get("reason"):
            reason = state["terminated"]["reason"]
    return reason


def _pod_ready(pod: Obj) -> str:
    statuses = pod.get("status", {}).get("containerStatuses") or []
    total = len(pod.get("spec", {}).get("containers") or [])
    return f"{sum(1 for s in statuses if s.get('ready'))}/{total}"


def _restarts(pod: Obj) -> str:
    statuses = pod.get("status", {}).get("containerStatuses") or []
    count = sum(s.get("restartCount", 0) for s in statuses)
    finished = [s.get("lastState", {}).get("terminated", {}).get("finishedAt") for s in statuses]
    finished = [f for f in finished if f]
    return f"{count} ({_age_of(max(finished))} ago)" if count and finished else str(count)


def _ports(svc: Obj) -> str:
    parts = []
    for port in svc.get("spec", {}).get("ports") or []:
        text = f"{port.get('port')}:{port['nodePort']}" if port.get("nodePort") else str(port.get("port"))
        parts.append(f"{text}/{port.get('protocol', 'TCP')}")
    return ",".join(parts) or "<none>"


def _involved(event: Obj) -> str:
    inv = event.get("involvedObject", {})
    return f"{inv.get('kind', '').lower()}/{inv.get('name', '')}"


COLUMNS: dict[str, list[Column]] = {
    "Pod": [
        ("Name", "string", 0, _name),
        ("Ready", "string", 0, _pod_ready),
        ("Status", "string", 0, _pod_status),
        ("Restarts", "string", 0, _restarts),
        ("Age", "string", 0, _age),
        ("IP", "string", 1, lambda p: p.get("status", {}).get("podIP", "<none>")),
        ("Node", "string", 1, lambda p: p.get("spec", {}).get("nodeName", "<none>")),
    ],
    "Deployment": [
        ("Name", "string", 0, _name),
        (
            "Ready",
            "string",
            0,
            lambda d: f"{d.get('status', {}).get('readyReplicas', 0)}/{d.get('spec', {}).get('replicas', 1)}",
        ),
        ("Up-to-date", "integer", 0, lambda d: d.get("status", {}).get("updatedReplicas", 0)),
        ("Available", "integer", 0, lambda d: d.get("status", {}).get("availableReplicas", 0)),
        ("Age", "string", 0, _age),
        (
            "Images",
            "string",
            1,
            lambda d: ",".join(c.get("image", "") for c in d["spec"]["template"]["spec"].get("containers", [])),
        ),
    ],
    "ReplicaSet": [
        ("Name", "string", 0, _name),
        ("Desired", "integer", 0, lambda r: r.get("spec", {}).get("replicas", 0)),
        ("Current", "integer", 0, lambda r: r.get("status", {}).get("replicas", 0)),
        ("Ready", "integer", 0, lambda r: r.get("status", {}).get("readyReplicas", 0)),
        ("Age", "string", 0, _age),
    ],
    "Service": [
        ("Name", "string", 0, _name),
        ("Type", "string", 0, lambda s: s.get("spec", {}).get("type", "ClusterIP")),
        ("Cluster-IP", "string", 0, lambda s: s.get("spec", {}).get("clusterIP", "<none>")),
        ("External-IP", "string", 0, lambda s: "<none>"),
        ("Port(s)", "string", 0, _ports),
        ("Age", "string", 0, _age),
    ],
    "Namespace": [
        ("Name", "string", 0, _name),
        ("Status", "string", 0, lambda n: n.get("status", {}).get("phase", "Active")),
        ("Age", "string", 0, _age),
    ],
    "Secret": [
        ("Name", "string", 0, _name),
        ("Type", "string", 0, lambda s: s.get("type", "Opaque")),
        ("Data", "integer", 0, lambda s: len(s.get("data") or {})),
        ("Age", "string", 0, _age),
    ],
    "ConfigMap": [
        ("Name", "string", 0, _name),
        ("Data", "integer", 0, lambda c: len(c.get("data") or {})),
        ("Age", "string", 0, _age),
    ],
    "Event": [
        ("Last Seen", "string", 0, lambda e: _age_of(e.get("lastTimestamp"))),
        ("Type", "string", 0, lambda e: e.get("type", "")),
        ("Reason", "string", 0, lambda e: e.get("reason", "")),
        ("Object", "string", 0, _involved),
        ("Message", "string", 0, lambda e: e.get("message", "")),
    ],
    "Node": [
        ("Name", "string", 0, _name),
        ("Status", "string", 0, lambda n: "Ready"),
        ("Roles", "string", 0, lambda n: "control-plane"),
        ("Age", "string", 0, _age),
        ("Version", "string", 0, lambda n: n.get("status", {}).get("nodeInfo", {}).get("kubeletVersion", "")),
    ],
    "Ingress": [
        ("Name", "string", 0, _name),
        ("Class", "string", 0, lambda i: i.get("spec", {}).get("ingressClassName", "<none>")),
        ("Hosts", "string", 0, lambda i: ",".join(r.get("host", "*") for r in i.get("spec", {}).get("rules") or [])),
        ("Address", "string", 0, lambda i: "192.168.49.2"),
        ("Ports", "string", 0, lambda i: "80"),
        ("Age", "string", 0, _age),
    ],
}
DEFAULT_COLUMNS: list[Column] = [("Name", "string", 0, _name), ("Age", "string", 0, _age)]


def wants_table(accept: str) -> bool:
    return "as=Table" in accept


def table(kind: str, items: list[Obj], resource_version: str) -> Obj:
    columns = COLUMNS.get(kind, DEFAULT_COLUMNS)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": [
            {
                "name": name,
                "type": type_,
                "format": "name" if name == "Name" else "",
                "description": name,
                "priority": priority,
            }
            for name, type_, priority, _ in columns
        ],
        "rows": [{"cells": [cell(obj) for _, _, _, cell in columns], "object": obj} for obj in items],
    }
