"""Pure translations of a Pod's spec into what the container runtime needs: the environment, the
security settings, the resource limits and the volumes. No I/O here: the node agent (kubelet.py)
does the Docker calls with what these functions return.

Sources (kubernetes/kubernetes): pkg/kubelet/kubelet_pods.go (makeEnvironmentVariables: envFrom
first, then env, `$(VAR)` expansion through third_party/forked/golang/expansion), pkg/kubelet/
kuberuntime/kuberuntime_container.go and security_context.go (user, groups, read-only root,
capabilities, no_new_privs, seccomp), pkg/volume/emptydir (0777 directories), pkg/volume/secret
and pkg/volume/configmap (one file per key, defaultMode 0644), staging/src/k8s.io/apimachinery/
pkg/api/resource (quantities).
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from typing import Any

Obj = dict[str, Any]
ENV_NAME = re.compile(r"[-._a-zA-Z][-._a-zA-Z0-9]*\Z")
_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"n": 1e-9, "u": 1e-6, "m": 1e-3, "": 1, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18}
_QUANTITY = re.compile(r"([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)([a-zA-Z]*)\Z")
_VAR_REF = re.compile(r"\$\$|\$\(([-._a-zA-Z][-._a-zA-Z0-9]*)\)")


def quantity(value: str | int | float) -> float:
    """'512Mi' -> 536870912, '500m' -> 0.5, '2' -> 2 (apimachinery resource.Quantity)."""
    if isinstance(value, (int, float)):
        return float(value)
    match = _QUANTITY.match(value.strip())
    if not match:
        raise ValueError(f"invalid quantity {value!r}")
    number, suffix = float(match.group(1)), match.group(2)
    if suffix in _BINARY:
        return number * _BINARY[suffix]
    if suffix in _DECIMAL:
        return number * _DECIMAL[suffix]
    raise ValueError(f"invalid quantity suffix in {value!r}")


def expand(text: str, env: dict[str, str]) -> str:
    """`$(VAR)` -> its value when VAR is defined (else left as is); `$$` -> `$` (expansion.Expand)."""

    def sub(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1)
        return env[name] if name in env else match.group(0)

    return _VAR_REF.sub(sub, text)


def _decoded(obj: Obj) -> dict[str, str]:
    values = (
        {k: base64.b64decode(v).decode("utf-8", "replace") for k, v in (obj.get("data") or {}).items()}
        if obj.get("kind") == "Secret"
        else dict(obj.get("data") or {})
    )
    for key, raw in (obj.get("binaryData") or {}).items():
        values[key] = base64.b64decode(raw).decode("utf-8", "replace")
    return values


def file_contents(obj: Obj) -> dict[str, bytes]:
    """A Secret's or ConfigMap's keys as the bytes their volume files hold."""
    if obj.get("kind") == "Secret":
        out = {k: base64.b64decode(v) for k, v in (obj.get("data") or {}).items()}
    else:
        out = {k: str(v).encode() for k, v in (obj.get("data") or {}).items()}
    out.update({k: base64.b64decode(v) for k, v in (obj.get("binaryData") or {}).items()})
    return out


def environment(container: Obj, lookup: Any) -> dict[str, str]:
    """The container's environment. `lookup(kind, name)` returns the stored Secret/ConfigMap or None.
    Missing required keys are the controller's CreateContainerConfigError and never reach here;
    optional ones are skipped, as the kubelet does."""
    env: dict[str, str] = {}
    for source in container.get("envFrom") or []:
        for ref_key, kind in (("configMapRef", "ConfigMap"), ("secretRef", "Secret")):
            ref = source.get(ref_key)
            if not ref:
                continue
            obj = lookup(kind, ref.get("name", ""))
            for key, value in _decoded(obj or {"kind": kind}).items():
                name = f"{source.get('prefix', '')}{key}"
                if ENV_NAME.match(name):  # invalid names are skipped (an InvalidEnvironmentVariableNames event)
                    env[name] = value
    for item in container.get("env") or []:
        name = item.get("name", "")
        if "value" in item or "valueFrom" not in item:
            env[name] = expand(str(item.get("value", "")), env)
            continue
        value_from = item["valueFrom"]
        for ref_key, kind in (("secretKeyRef", "Secret"), ("configMapKeyRef", "ConfigMap")):
            ref = value_from.get(ref_key)
            if ref:
                values = _decoded(lookup(kind, ref.get("name", "")) or {"kind": kind})
                if ref.get("key") in values:
                    env[name] = values[ref["key"]]
        if "fieldRef" in value_from:
            env[name] = ""  # filled by the agent (pod name, namespace, IP) when it knows them
    return env


def command_line(container: Obj, env: dict[str, str]) -> tuple[list[str] | None, list[str] | None]:
    """(entrypoint, cmd): `command` replaces the image ENTRYPOINT (and drops its CMD), `args` the CMD."""
    command = [expand(c, env) for c in container["command"]] if container.get("command") else None
    args = [expand(a, env) for a in container["args"]] if container.get("args") else None
    return command, args


@dataclass
class Security:
    user: str | None = None  # "uid" or "uid:gid"
    group_add: list[str] = field(default_factory=list)
    read_only: bool = False
    cap_drop: list[str] = field(default_factory=list)
    cap_add: list[str] = field(default_factory=list)
    security_opt: list[str] = field(default_factory=list)
    privileged: bool = False
    run_as_non_root: bool = False


def security(pod_spec: Obj, container: Obj) -> Security:
    """The pod's securityContext, overridden field by field by the container's."""
    pod_ctx = pod_spec.get("securityContext") or {}
    ctx = container.get("securityContext") or {}

    def pick(key: str) -> Any:
        return ctx.get(key, pod_ctx.get(key))

    out = Security()
    uid, gid = pick("runAsUser"), pick("runAsGroup")
    if uid is not None:
        out.user = f"{uid}:{gid}" if gid is not None else str(uid)
    groups = [pod_ctx["fsGroup"]] if pod_ctx.get("fsGroup") is not None else []
    groups += list(pod_ctx.get("supplementalGroups") or [])
    out.group_add = [str(g) for g in groups]
    out.read_only = bool(ctx.get("readOnlyRootFilesystem"))
    caps = ctx.get("capabilities") or {}
    out.cap_drop = [str(c) for c in caps.get("drop") or []]
    out.cap_add = [str(c) for c in caps.get("add") or []]
    out.privileged = bool(ctx.get("privileged"))
    if ctx.get("allowPrivilegeEscalation") is False:
        out.security_opt.append("no-new-privileges:true")
    seccomp = (pick("seccompProfile") or {}).get("type", "")
    # No profile is Unconfined: the kubelet's --seccomp-default is off unless configured
    # (pkg/kubelet/kuberuntime/security_context_others.go, helpers.go getSeccompProfile).
    if seccomp in ("", "Unconfined"):
        out.security_opt.append("seccomp=unconfined")
    out.run_as_non_root = bool(pick("runAsNonRoot"))
    return out


@dataclass
class Limits:
    memory: int | None = None  # bytes
    nano_cpus: int | None = None


def limits(container: Obj) -> Limits:
    raw = (container.get("resources") or {}).get("limits") or {}
    out = Limits()
    if "memory" in raw:
        out.memory = int(quantity(raw["memory"]))
    if "cpu" in raw:
        out.nano_cpus = int(quantity(raw["cpu"]) * 1e9)
    return out


def container_port(container: Obj, target: Any) -> int | None:
    """A Service's targetPort (a number or a port name) against the container's declared ports."""
    if isinstance(target, int) or (isinstance(target, str) and target.isdigit()):
        return int(target)
    for port in container.get("ports") or []:
        if port.get("name") == target:
            return int(port["containerPort"])
    return None


def probe_port(container: Obj, port: Any) -> int | None:
    return container_port(container, port)


def hosts_file(pod_name: str, pod_ip: str, namespace: str, services: list[tuple[str, str, str]]) -> str:
    """/etc/hosts for a pod: its own name, then each Service (name, namespace, address) by the names
    cluster DNS answers for it (`svc` only within the pod's namespace). The kubelet writes the first part
    (pkg/kubelet/kubelet_pods.go managedHostsFileContent); CoreDNS answers the rest."""
    lines = ["# Kubernetes-managed hosts file.", "127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback"]
    if pod_ip:
        lines.append(f"{pod_ip}\t{pod_name}")
    for name, svc_namespace, address in services:
        names = [f"{name}.{svc_namespace}", f"{name}.{svc_namespace}.svc", f"{name}.{svc_namespace}.svc.cluster.local"]
        if svc_namespace == namespace:
            names.insert(0, name)
        lines.append(f"{address}\t{' '.join(names)}")
    return "\n".join(lines) + "\n"


def go_duration(seconds: float) -> str:
    """Go's time.Duration.String() for the back-off message: 10s, 2m40s, 5m0s, 500ms."""
    if seconds < 1:
        return f"{round(seconds * 1000)}ms"
    minutes, rest = divmod(seconds, 60)
    text = f"{rest:g}s"
    return f"{int(minutes)}m{text}" if minutes else text
