"""What the fake deliberately does not emulate, answered loudly: a test that needs one of these fails
with a message naming the gap (and fakecluster/README.md, "Not emulated") instead of an odd 404 or a
wrong body.

- ReplicationControllers (core/v1): the real server serves them; the fake answers 404.
- The apiregistration.k8s.io group (APIService objects, aggregated APIs): 404.
- Streaming pod subresources (exec, attach, portforward): SPDY/WebSocket upgrades; 501.
"""

from __future__ import annotations

from .store import ApiError

README = "see fakecluster/README.md, Not emulated"
UNSERVED_CORE = {"replicationcontrollers": "ReplicationControllers"}
UNSERVED_GROUPS = {"apiregistration.k8s.io": "the apiregistration.k8s.io API group (APIServices)"}
STREAMING_SUBRESOURCES = ("exec", "attach", "portforward")


def check_path(group: str, rest: list[str]) -> None:
    """Raise a clear ApiError when the request path names something the fake does not emulate.
    `rest` is the path after the group-version (e.g. ["namespaces", "x", "pods", "p", "exec"])."""
    if group in UNSERVED_GROUPS:
        raise ApiError(
            404,
            "NotFound",
            f"the server could not find the requested resource: the fake cluster "
            f"does not emulate {UNSERVED_GROUPS[group]} ({README})",
        )
    parts = rest[2:] if len(rest) >= 3 and rest[0] == "namespaces" else rest
    if not group and parts and parts[0] in UNSERVED_CORE:
        raise ApiError(
            404,
            "NotFound",
            f"the server could not find the requested resource: the fake cluster "
            f"does not emulate {UNSERVED_CORE[parts[0]]} ({README})",
        )
    if not group and len(parts) == 3 and parts[0] == "pods" and parts[2] in STREAMING_SUBRESOURCES:
        raise ApiError(
            501,
            "NotImplemented",
            f"pods/{parts[2]} is not implemented by the fake cluster: it speaks no SPDY/WebSocket streams ({README})",
        )
