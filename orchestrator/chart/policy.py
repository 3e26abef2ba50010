"""The project's own policy over rendered Kubernetes manifests (the output of `helm template`).

Pure functions: `check(manifests)` takes a list of resource dicts and returns a list of `Finding`s,
one per broken rule and resource; an empty list means the manifests follow every rule. Each rule has
a stable id (DEP, HC, SVC, SEC, ING, NS, IMG, PSS, CFG, LBL) that tests, docs and suppressions can
name, a one-line title and the fix to apply. The rules come from the deployment spec
(docs: deployment entities) and from the Pod Security Standards "restricted" profile.

Rules never raise on malformed input: a missing or mistyped field is a finding, not a crash.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from orchestrator.settings.keys import SECRET_KEYS

Resource = Mapping[str, Any]


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    fix: str


@dataclass(frozen=True)
class Finding:
    rule: str
    kind: str
    name: str
    message: str
    fix: str

    @property
    def resource(self) -> str:
        return f"{self.kind}/{self.name}"

    def render(self) -> str:
        return f"{self.rule} {self.resource}: {self.message} (fix: {self.fix})"


# The closed sets the design fixes.
SERVICE_TYPE_BY_COMPONENT: dict[str, str] = {"backend": "ClusterIP", "frontend": "NodePort"}
SECRET_CONSUMERS: frozenset[str] = frozenset({"backend"})
INGRESS_CLASS = "nginx"
PULL_POLICY = "IfNotPresent"
REVISION_HISTORY_LIMIT = 10
MIN_FAILURE_THRESHOLD = 3
STABLE_SELECTOR_KEYS: frozenset[str] = frozenset(
    {"app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/component"}
)
REQUIRED_LABELS: tuple[str, ...] = ("app.kubernetes.io/name", "app.kubernetes.io/instance")
CONFIG_CHECKSUM_ANNOTATION = "checksum/config"
SECRET_VERSION_ANNOTATION = "todo-app/secrets-version"
# Pod Security Standards "restricted": the only volume types allowed.
RESTRICTED_VOLUME_TYPES: frozenset[str] = frozenset(
    {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"}
)
ALLOWED_ADDED_CAPABILITIES: frozenset[str] = frozenset({"NET_BIND_SERVICE"})
WORKLOAD_KINDS: frozenset[str] = frozenset({"Deployment", "StatefulSet", "DaemonSet"})

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
SECRET_NAME = re.compile(r"(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIAL|DATABASE_URL|_DSN$)", re.I)
SECRET_VALUE_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("a URL with a password", re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@", re.I)),
    ("a private key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")),
    ("a JSON Web Token", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.")),
    ("a cloud access key", re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("an API key", re.compile(r"\b(sk|pk|rk)[-_](live|test)?[-_]?[A-Za-z0-9]{20,}\b")),
)


# ----------------------------------------------------------------------------------------------
# Safe access to untrusted, possibly malformed manifests.


def _get(obj: Any, *path: str | int) -> Any:
    for step in path:
        if isinstance(step, int):
            if not isinstance(obj, list) or step >= len(obj):
                return None
            obj = obj[step]
        else:
            if not isinstance(obj, Mapping):
                return None
            obj = obj.get(step)
    return obj


def _map(obj: Any) -> Mapping[str, Any]:
    return obj if isinstance(obj, Mapping) else {}


def _list(obj: Any) -> list[Any]:
    return obj if isinstance(obj, list) else []


def _kind(res: Resource) -> str:
    kind = res.get("kind")
    return kind if isinstance(kind, str) else "<no kind>"


def _name(res: Resource) -> str:
    name = _get(res, "metadata", "name")
    return name if isinstance(name, str) else "<no name>"


def _of_kind(manifests: Sequence[Resource], *kinds: str) -> list[Resource]:
    return [r for r in manifests if isinstance(r, Mapping) and r.get("kind") in kinds]


def _workloads(manifests: Sequence[Resource]) -> list[Resource]:
    return [r for r in manifests if isinstance(r, Mapping) and r.get("kind") in WORKLOAD_KINDS]


def _pod_spec(workload: Resource) -> Mapping[str, Any]:
    return _map(_get(workload, "spec", "template", "spec"))


def _pod_labels(workload: Resource) -> Mapping[str, Any]:
    return _map(_get(workload, "spec", "template", "metadata", "labels"))


def _pod_annotations(workload: Resource) -> Mapping[str, Any]:
    return _map(_get(workload, "spec", "template", "metadata", "annotations"))


def _containers(workload: Resource, *, init: bool = True) -> list[Mapping[str, Any]]:
    spec = _pod_spec(workload)
    found = [c for c in _list(spec.get("containers")) if isinstance(c, Mapping)]
    if init:
        found += [c for c in _list(spec.get("initContainers")) if isinstance(c, Mapping)]
    return found


def _cname(container: Mapping[str, Any]) -> str:
    name = container.get("name")
    return name if isinstance(name, str) else "<unnamed>"


def _component(res: Resource) -> str | None:
    comp = _get(res, "metadata", "labels", "app.kubernetes.io/component")
    return comp if isinstance(comp, str) else None


def _effective(workload: Resource, container: Mapping[str, Any], field: str) -> Any:
    """A securityContext field as Kubernetes applies it: the container's value wins over the pod's."""
    value = _get(container, "securityContext", field)
    if value is None:
        value = _get(_pod_spec(workload), "securityContext", field)
    return value


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _selected_workloads(service: Resource, manifests: Sequence[Resource]) -> list[Resource]:
    selector = _map(_get(service, "spec", "selector"))
    if not selector:
        return []
    return [w for w in _workloads(manifests) if all(_pod_labels(w).get(k) == v for k, v in selector.items())]


# ----------------------------------------------------------------------------------------------
# The rule registry.

Problem = tuple[Resource, str]
Check = Callable[[Sequence[Resource]], Iterator[Problem]]


@dataclass(frozen=True)
class _Registered:
    rule: Rule
    check: Check


_REGISTRY: list[_Registered] = []


def _rule(rule_id: str, title: str, fix: str) -> Callable[[Check], Check]:
    def register(fn: Check) -> Check:
        if any(r.rule.id == rule_id for r in _REGISTRY):
            raise ValueError(f"duplicate policy rule id {rule_id}")
        _REGISTRY.append(_Registered(Rule(rule_id, title, fix), fn))
        return fn

    return register


def rules() -> list[Rule]:
    """Every rule, in the order checks run."""
    return [r.rule for r in _REGISTRY]


def check(manifests: Sequence[Resource]) -> list[Finding]:
    """Run every rule over the rendered manifests; return the findings (empty when all rules hold)."""
    docs = [m for m in manifests if isinstance(m, Mapping)]
    findings: list[Finding] = []
    for registered in _REGISTRY:
        rule = registered.rule
        for resource, message in registered.check(docs):
            findings.append(Finding(rule.id, _kind(resource), _name(resource), message, rule.fix))
    return findings


# ----------------------------------------------------------------------------------------------
# Deployments.


@_rule("DEP001", "replicas >= 1", "set <component>.replicas to 1 or more")
def _replicas(docs: Sequence[Resource]) -> Iterator[Problem]:
    for w in _of_kind(docs, "Deployment", "StatefulSet"):
        replicas = _get(w, "spec", "replicas")
        if replicas is None:
            continue  # Kubernetes defaults to 1
        if not _is_int(replicas) or replicas < 1:
            yield w, f"replicas is {replicas!r}, must be an integer >= 1"


@_rule("DEP002", "requests and limits for cpu and memory", "set resources.requests and resources.limits (cpu, memory)")
def _resources(docs: Sequence[Resource]) -> Iterator[Problem]:
    for w in _workloads(docs):
        for c in _containers(w):
            missing = [
                f"{part}.{res}"
                for part in ("requests", "limits")
                for res in ("cpu", "memory")
                if _get(c, "resources", part, res) in (None, "", 0)
            ]
            if missing:
                yield w, f"container {_cname(c)} has no resources.{', resources.'.join(missing)}"


@_rule("DEP003", "readiness and liveness probes", "add livenessProbe and readinessProbe to the container")
def _probes(docs: Sequence[Resource]) -> Iterator[Problem]:
    for w in _workloads(docs):
        for c in _containers(w, init=False):
            missing = [p for p in ("livenessProbe", "readinessProbe") if not isinstance(c.get(p), Mapping)]
            if missing:
                yield w, f"container {_cname(c)} has no {' and no '.join(missing)}"


@_rule("DEP004", "non-root: runAsNonRoot true", "set securityContext.runAsNonRoot: true (pod or container)")
def _non_root(docs: Sequence[Resource]) -> Iterator[Problem]:
    for w in _workloads(docs):
        for c in _containers(w):
            if _effective(w, c, "runAsNonRoot") is not True:
                yield w, f"container {_cname(c)} may run as root (runAsNonRoot is not true)"


@_rule(
    "DEP005", "RollingUpdate with maxUnavailable 0", "set strategy.type RollingUpdate, rollingUpdate.maxUnavailable: 0"
)
def _rolling_update(docs: Sequence[Resource]) -> Iterator[Problem]:
    for w in _of_kind(docs, "Deployment"):
        strategy = _map(_get(w, "spec", "strategy"))
        if strategy.get("type") != "RollingUpdate":
            yield w, f"strategy.type is {strategy.get('type')!r}, not RollingUpdate"
            continue
        max_unavailable = _get(strategy, "rollingUpdate", "maxUnavailable")
        if max_unavailable not in (0, "0", "0%"):
            yield w, f"rollingUpdate.maxUnavailable is {max_unavailable!r} (default 25%), must be 0"


@_rule(
    "DEP006",
    f"revisionHistoryLimit {REVISION_HISTORY_LIMIT}",
    f"set spec.revisionHistoryLimit: {REVISION_HISTORY_LIMIT}",
)
def _history(docs: Sequence[Resource]) -> Iterator[Problem]:
    for w in _of_kind(docs, "Deployment"):
        limit = _get(w, "spec", "revisionHistoryLimit")
        if limit != REVISION_HISTORY_LIMIT or not _is_int(limit):
            yield w, f"revisionHistoryLimit is {limit!r}, must be {REVISION_HISTORY_LIMIT}"


@_rule("DEP007", "progressDeadlineSeconds set", "set spec.progressDeadlineSeconds (e.g. 120)")
def _deadline(docs: Sequence[Resource]) -> Iterator[Problem]:
    for w in _of_kind(docs, "Deployment"):
        deadline = _get(w, "spec", "progressDeadlineSeconds")
        if not _is_int(deadline) or deadline < 1:
            yield w, f"progressDeadlineSeconds is {deadline!r}, must be a positive integer"


@_rule(
    "DEP008",
    "selector uses only stable labels and matches the pod template",
    "select on app.kubernetes.io/name, instance and component only, all present on the pod template",
)
def _selector(docs: Sequence[Resource]) -> Iterator[Problem]:
    for w in _workloads(docs):
        match = _map(_get(w, "spec", "selector", "matchLabels"))
        if not match:
            yield w, "spec.selector.matchLabels is empty"
            continue
        unstable = sorted(set(match) - STABLE_SELECTOR_KEYS)
        if unstable:
            yield w, f"selector uses labels that change between releases: {', '.join(unstable)}"
        labels = _pod_labels(w)
        mismatched = sorted(k for k, v in match.items() if labels.get(k) != v)
        if mismatched:
            yield w, f"selector does not match the pod template labels: {', '.join(mismatched)}"


@_rule("DEP009", "no service account token in pods", "set automountServiceAccountToken: false in the pod spec")
def _token(docs: Sequence[Resource]) -> Iterator[Problem]:
    for w in _workloads(docs):
        if _pod_spec(w).get("automountServiceAccountToken") is not False:
            yield w, "automountServiceAccountToken is not false (the app never calls the Kubernetes API)"


# ----------------------------------------------------------------------------------------------
# Health checks.


def _probe_pairs(docs: Sequence[Resource]) -> Iterator[tuple[Resource, Mapping[str, Any], str, Mapping[str, Any]]]:
    for w in _workloads(docs):
        for c in _containers(w, init=False):
            for kind in ("livenessProbe", "readinessProbe", "startupProbe"):
                probe = c.get(kind)
                if isinstance(probe, Mapping):
                    yield w, c, kind, probe


@_rule(
    "HC001",
    "liveness initialDelaySeconds > readiness initialDelaySeconds",
    "raise livenessProbe.initialDelaySeconds above readinessProbe.initialDelaySeconds",
)
def _probe_delays(docs: Sequence[Resource]) -> Iterator[Problem]:
    for w in _workloads(docs):
        for c in _containers(w, init=False):
            live, ready = c.get("livenessProbe"), c.get("readinessProbe")
            if not isinstance(live, Mapping) or not isinstance(ready, Mapping):
                continue  # DEP003 reports it
            ld, rd = live.get("initialDelaySeconds", 0), ready.get("initialDelaySeconds", 0)
            if not (_is_int(ld) and _is_int(rd) and ld > rd):
                yield w, f"container {_cname(c)}: liveness initialDelaySeconds {ld!r} is not > readiness {rd!r}"


@_rule(
    "HC002", f"failureThreshold >= {MIN_FAILURE_THRESHOLD}", f"set failureThreshold to {MIN_FAILURE_THRESHOLD} or more"
)
def _failure_threshold(docs: Sequence[Resource]) -> Iterator[Problem]:
    for w, c, kind, probe in _probe_pairs(docs):
        threshold = probe.get("failureThreshold", 3)  # Kubernetes default is 3
        if not _is_int(threshold) or threshold < MIN_FAILURE_THRESHOLD:
            yield (
                w,
                f"container {_cname(c)} {kind}.failureThreshold is {threshold!r}, must be >= {MIN_FAILURE_THRESHOLD}",
            )


@_rule("HC003", "timeoutSeconds < periodSeconds", "make timeoutSeconds smaller than periodSeconds")
def _timeout_period(docs: Sequence[Resource]) -> Iterator[Problem]:
    for w, c, kind, probe in _probe_pairs(docs):
        timeout, period = probe.get("timeoutSeconds", 1), probe.get("periodSeconds", 10)
        if not (_is_int(timeout) and _is_int(period) and timeout < period):
            yield w, f"container {_cname(c)} {kind}: timeoutSeconds {timeout!r} is not < periodSeconds {period!r}"


@_rule("HC004", "probes hit a declared container port", "point the probe at a containerPort name or number")
def _probe_port(docs: Sequence[Resource]) -> Iterator[Problem]:
    for w, c, kind, probe in _probe_pairs(docs):
        handler = probe.get("httpGet") or probe.get("tcpSocket") or probe.get("grpc")
        if isinstance(probe.get("exec"), Mapping):
            continue
        if not isinstance(handler, Mapping):
            yield w, f"container {_cname(c)} {kind} has no httpGet, tcpSocket, grpc or exec handler"
            continue
        port = handler.get("port")
        ports = [p for p in _list(c.get("ports")) if isinstance(p, Mapping)]
        if port is None or not any(port in (p.get("name"), p.get("containerPort")) for p in ports):
            yield w, f"container {_cname(c)} {kind} port {port!r} is not one of its ports"


def _handler(probe: Mapping[str, Any]) -> tuple[str, Any] | None:
    """What a probe checks, comparable: (kind, path/port or command)."""
    for kind in ("httpGet", "tcpSocket", "grpc", "exec"):
        handler = probe.get(kind)
        if isinstance(handler, Mapping):
            if kind == "httpGet":
                return kind, (handler.get("path", "/"), handler.get("port"))
            if kind == "exec":
                return kind, tuple(str(a) for a in _list(handler.get("command")))
            return kind, (handler.get("port"), handler.get("service"))
    return None


@_rule(
    "HC005",
    "liveness and readiness probes check different things",
    "point livenessProbe at a check of the process alone and readinessProbe at one of what it needs to serve",
)
def _distinct_probes(docs: Sequence[Resource]) -> Iterator[Problem]:
    # The spec gives them different jobs: liveness decides a restart (the process answers), readiness
    # decides traffic (it can serve). One check for both restarts pods for a dependency's outage.
    for w in _workloads(docs):
        for c in _containers(w, init=False):
            live, ready = c.get("livenessProbe"), c.get("readinessProbe")
            if not isinstance(live, Mapping) or not isinstance(ready, Mapping):
                continue  # DEP003 reports it
            handler = _handler(live)
            if handler is not None and handler == _handler(ready):
                yield w, f"container {_cname(c)}: liveness and readiness probes are the same {handler[0]} check"


# ----------------------------------------------------------------------------------------------
# Services.


@_rule(
    "SVC001",
    "Service selector matches a Deployment's pod labels",
    "make spec.selector a subset of the pod template labels",
)
def _service_selector(docs: Sequence[Resource]) -> Iterator[Problem]:
    for svc in _of_kind(docs, "Service"):
        selector = _map(_get(svc, "spec", "selector"))
        if not selector:
            yield svc, "spec.selector is empty: the Service routes to no pod of this release"
        elif not _selected_workloads(svc, docs):
            pairs = ", ".join(f"{k}={v}" for k, v in sorted(selector.items()))
            yield svc, f"no Deployment's pods carry the selector labels {pairs}"


@_rule(
    "SVC002",
    "Service targetPort matches a container port",
    "set targetPort to a containerPort name or number of the selected pods",
)
def _service_ports(docs: Sequence[Resource]) -> Iterator[Problem]:
    for svc in _of_kind(docs, "Service"):
        workloads = _selected_workloads(svc, docs)
        if not workloads:
            continue  # SVC001 reports it
        ports = [p for p in _list(_get(svc, "spec", "ports")) if isinstance(p, Mapping)]
        if not ports:
            yield svc, "spec.ports is empty"
        container_ports = [
            p
            for w in workloads
            for c in _containers(w, init=False)
            for p in _list(c.get("ports"))
            if isinstance(p, Mapping)
        ]
        for port in ports:
            target = port.get("targetPort", port.get("port"))
            if target is None or not any(target in (p.get("name"), p.get("containerPort")) for p in container_ports):
                yield svc, f"targetPort {target!r} is not a port of the selected containers"


@_rule(
    "SVC003",
    "Service type fits the component (backend ClusterIP, frontend NodePort)",
    "set <component>.service.type to the design's type",
)
def _service_type(docs: Sequence[Resource]) -> Iterator[Problem]:
    for svc in _of_kind(docs, "Service"):
        svc_type = _get(svc, "spec", "type") or "ClusterIP"
        expected = SERVICE_TYPE_BY_COMPONENT.get(_component(svc) or "")
        if expected is None:
            if svc_type == "LoadBalancer":
                yield svc, "type LoadBalancer is not used on a local cluster"
        elif svc_type != expected:
            yield svc, f"type is {svc_type}, the {_component(svc)} Service must be {expected}"


# ----------------------------------------------------------------------------------------------
# Secrets and configuration.


def _secret_looking(key: str, value: Any) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    if SECRET_NAME.search(key):
        return f"{key} is a secret name with a literal value"
    for what, pattern in SECRET_VALUE_PATTERNS:
        if pattern.search(value):
            return f"{key} holds {what}"
    return None


@_rule(
    "SEC001",
    "no secret-looking values in ConfigMaps or env literals",
    "move the value into the existing Secret and reference it",
)
def _no_literal_secrets(docs: Sequence[Resource]) -> Iterator[Problem]:
    for cm in _of_kind(docs, "ConfigMap"):
        for key, value in _map(cm.get("data")).items():
            reason = _secret_looking(str(key), value)
            if reason:
                yield cm, reason  # never the value itself
        for key in _map(cm.get("binaryData")):
            if SECRET_NAME.search(str(key)):
                yield cm, f"binaryData {key} is a secret name"
    for w in _workloads(docs):
        for c in _containers(w):
            for env in _list(c.get("env")):
                if isinstance(env, Mapping) and "value" in env:
                    reason = _secret_looking(str(env.get("name")), env.get("value"))
                    if reason:
                        yield w, f"container {_cname(c)} env {reason}"


@_rule(
    "SEC002",
    "no Secret object rendered by the chart",
    "remove the Secret template; reference secrets.existingSecret instead",
)
def _no_secret_objects(docs: Sequence[Resource]) -> Iterator[Problem]:
    for secret in _of_kind(docs, "Secret"):
        yield secret, "the chart renders a Secret: secret values would end up in values and the release"


def _secret_refs(container: Mapping[str, Any]) -> tuple[set[str], set[str]]:
    """(keys taken by secretKeyRef, names of Secrets taken whole by envFrom)."""
    keys: set[str] = set()
    whole: set[str] = set()
    for env in _list(container.get("env")):
        ref = _get(env, "valueFrom", "secretKeyRef")
        if isinstance(ref, Mapping) and ref.get("name") and ref.get("key") == _get(env, "name"):
            keys.add(str(ref.get("key")))
    for source in _list(container.get("envFrom")):
        name = _get(source, "secretRef", "name")
        if name:
            whole.add(str(name))
    return keys, whole


@_rule(
    "SEC003",
    "the backend takes COHERE_API_KEY, DATABASE_URL and JWT_SECRET from the Secret by reference",
    "add env entries with valueFrom.secretKeyRef (or envFrom.secretRef) naming secrets.existingSecret",
)
def _secret_by_reference(docs: Sequence[Resource]) -> Iterator[Problem]:
    for w in _workloads(docs):
        if _component(w) not in SECRET_CONSUMERS:
            continue
        taken: set[str] = set()
        whole = False
        for c in _containers(w, init=False):
            keys, secrets = _secret_refs(c)
            taken |= keys
            whole = whole or bool(secrets)
        missing = [k for k in SECRET_KEYS if k not in taken]
        if missing and not whole:
            yield w, f"does not take {', '.join(missing)} from a Secret by reference"


@_rule(
    "SEC004",
    "pods that use the Secret carry its version annotation",
    f"render secrets.version into the pod annotation {SECRET_VERSION_ANNOTATION}",
)
def _secret_version(docs: Sequence[Resource]) -> Iterator[Problem]:
    for w in _workloads(docs):
        uses_secret = any(any(_secret_refs(c)) for c in _containers(w))
        if uses_secret and SECRET_VERSION_ANNOTATION not in _pod_annotations(w):
            yield (
                w,
                f"uses a Secret but has no {SECRET_VERSION_ANNOTATION} pod annotation: a rotation would not roll it",
            )


@_rule(
    "CFG001",
    "pods that use the ConfigMap carry its checksum annotation",
    f"add the pod annotation {CONFIG_CHECKSUM_ANNOTATION} (sha256 of the ConfigMap template)",
)
def _config_checksum(docs: Sequence[Resource]) -> Iterator[Problem]:
    for w in _workloads(docs):
        if not _config_maps_used(w):
            continue
        annotation = _pod_annotations(w).get(CONFIG_CHECKSUM_ANNOTATION)
        if not (isinstance(annotation, str) and re.fullmatch(r"[0-9a-f]{64}", annotation)):
            yield w, f"uses a ConfigMap but has no sha256 {CONFIG_CHECKSUM_ANNOTATION} pod annotation"


def _config_maps_used(workload: Resource) -> list[tuple[str, Any]]:
    """(container name, ConfigMap name) for every envFrom.configMapRef and env configMapKeyRef."""
    used: list[tuple[str, Any]] = []
    for c in _containers(workload):
        used += [
            (_cname(c), _get(s, "configMapRef", "name")) for s in _list(c.get("envFrom")) if _get(s, "configMapRef")
        ]
        used += [
            (_cname(c), _get(e, "valueFrom", "configMapKeyRef", "name"))
            for e in _list(c.get("env"))
            if _get(e, "valueFrom", "configMapKeyRef")
        ]
    return used


@_rule("CFG002", "referenced ConfigMaps are rendered", "render the ConfigMap or fix the configMapRef name")
def _config_exists(docs: Sequence[Resource]) -> Iterator[Problem]:
    rendered = {_name(cm) for cm in _of_kind(docs, "ConfigMap")}
    for w in _workloads(docs):
        for container, name in _config_maps_used(w):
            if name not in rendered:
                yield w, f"container {container} references ConfigMap {name!r}, which the chart does not render"


# ----------------------------------------------------------------------------------------------
# Ingress.


@_rule("ING001", f"ingressClassName {INGRESS_CLASS}", f"set spec.ingressClassName: {INGRESS_CLASS}")
def _ingress_class(docs: Sequence[Resource]) -> Iterator[Problem]:
    for ing in _of_kind(docs, "Ingress"):
        cls = _get(ing, "spec", "ingressClassName")
        if cls != INGRESS_CLASS:
            yield ing, f"ingressClassName is {cls!r}, the minikube ingress addon serves {INGRESS_CLASS!r}"


def _ingress_backends(ing: Resource) -> Iterator[Mapping[str, Any]]:
    default = _get(ing, "spec", "defaultBackend", "service")
    if isinstance(default, Mapping):
        yield default
    for rule in _list(_get(ing, "spec", "rules")):
        for path in _list(_get(rule, "http", "paths")):
            yield _map(_get(path, "backend", "service"))


@_rule(
    "ING002", "Ingress backend Service exists with that port", "point the Ingress at a rendered Service name and port"
)
def _ingress_backend(docs: Sequence[Resource]) -> Iterator[Problem]:
    services = {_name(s): s for s in _of_kind(docs, "Service")}
    for ing in _of_kind(docs, "Ingress"):
        backends = list(_ingress_backends(ing))
        if not backends:
            yield ing, "routes nothing: no rules with paths and no defaultBackend"
        for backend in backends:
            name = backend.get("name")
            svc = services.get(name) if isinstance(name, str) else None
            if svc is None:
                yield ing, f"backend Service {name!r} is not rendered by the chart"
                continue
            port = _map(backend.get("port"))
            wanted = port.get("name", port.get("number"))
            svc_ports = [p for p in _list(_get(svc, "spec", "ports")) if isinstance(p, Mapping)]
            if wanted is None or not any(wanted in (p.get("name"), p.get("port")) for p in svc_ports):
                yield ing, f"backend Service {name} has no port {wanted!r}"


@_rule("ING003", "every Ingress rule names a host", "set ingress.host (e.g. todo-app.local)")
def _ingress_host(docs: Sequence[Resource]) -> Iterator[Problem]:
    for ing in _of_kind(docs, "Ingress"):
        for rule in _list(_get(ing, "spec", "rules")):
            host = _get(rule, "host")
            if not isinstance(host, str) or not host or host.startswith("*"):
                yield ing, f"rule host is {host!r}: the Ingress would catch every host"


@_rule(
    "ING004",
    "TLS entries name a Secret and cover the rule hosts",
    "set ingress.tls.secretName and list the Ingress host",
)
def _ingress_tls(docs: Sequence[Resource]) -> Iterator[Problem]:
    for ing in _of_kind(docs, "Ingress"):
        tls = _list(_get(ing, "spec", "tls"))
        if not tls:
            continue
        covered = {h for entry in tls for h in _list(_get(entry, "hosts"))}
        for entry in tls:
            if not _get(entry, "secretName"):
                yield ing, "a tls entry names no secretName"
        hosts = [_get(rule, "host") for rule in _list(_get(ing, "spec", "rules"))]
        uncovered = sorted(str(h) for h in hosts if h and h not in covered)
        if uncovered:
            yield ing, f"TLS does not cover host(s) {', '.join(uncovered)}"


# ----------------------------------------------------------------------------------------------
# Namespaces.


def _dns_label_problem(name: Any) -> str | None:
    if not isinstance(name, str) or not name:
        return f"{name!r} is not a name"
    if len(name) > 63 or not DNS_LABEL.match(name):
        return f"{name!r} is not a DNS-1123 label (lower case letters, digits, '-', at most 63)"
    return None


@_rule("NS001", "DNS-compatible namespace names", "use a lower-case DNS label, e.g. todo-app")
def _namespace_names(docs: Sequence[Resource]) -> Iterator[Problem]:
    for res in docs:
        if res.get("kind") == "Namespace":
            problem = _dns_label_problem(_get(res, "metadata", "name"))
        elif _get(res, "metadata", "namespace") is not None:
            problem = _dns_label_problem(_get(res, "metadata", "namespace"))
        else:
            continue
        if problem:
            yield res, f"namespace {problem}"


@_rule("NS002", "one namespace for the whole release", "render every resource into the release namespace")
def _one_namespace(docs: Sequence[Resource]) -> Iterator[Problem]:
    placed = [(r, _get(r, "metadata", "namespace")) for r in docs if r.get("kind") != "Namespace"]
    counts = Counter(str(ns) for _, ns in placed if ns is not None)
    if not counts:
        return
    main = counts.most_common(1)[0][0]
    for res, ns in placed:
        if ns is not None and str(ns) != main:
            yield res, f"is in namespace {ns!r} while the release is in {main!r}"
    for ns_obj in _of_kind(docs, "Namespace"):
        name = _get(ns_obj, "metadata", "name")
        if name != main:
            yield ns_obj, f"creates namespace {name!r} but the resources live in {main!r}"


# ----------------------------------------------------------------------------------------------
# Images.


def image_reference_tag(image: str) -> tuple[str | None, bool]:
    """(tag, has_digest) of an image reference: "reg:5000/a/b:1.2@sha256:..." -> ("1.2", True)."""
    ref, _, digest = image.partition("@")
    last = ref.rsplit("/", 1)[-1]
    tag = last.split(":", 1)[1] if ":" in last else None
    return tag, bool(digest)


@_rule("IMG001", "image has a fixed tag, never latest", "set <component>.image.tag to a content-derived tag")
def _image_tags(docs: Sequence[Resource]) -> Iterator[Problem]:
    for w in _workloads(docs):
        for c in _containers(w):
            image = c.get("image")
            if not isinstance(image, str) or not image:
                yield w, f"container {_cname(c)} has no image"
                continue
            tag, digest = image_reference_tag(image)
            if tag is None and not digest:
                yield w, f"container {_cname(c)} image {image} has no tag (means latest)"
            elif tag is not None and tag.lower() == "latest":
                yield w, f"container {_cname(c)} image {image} uses the latest tag"


@_rule(
    "IMG002",
    f"imagePullPolicy {PULL_POLICY}",
    f"set imagePullPolicy: {PULL_POLICY} (images are loaded into the cluster, not pulled)",
)
def _pull_policy(docs: Sequence[Resource]) -> Iterator[Problem]:
    for w in _workloads(docs):
        for c in _containers(w):
            policy = c.get("imagePullPolicy")
            if policy != PULL_POLICY:
                yield w, f"container {_cname(c)} imagePullPolicy is {policy!r}"


# ----------------------------------------------------------------------------------------------
# Pod Security Standards, "restricted" profile.


@_rule(
    "PSS001", "allowPrivilegeEscalation false", "set securityContext.allowPrivilegeEscalation: false on every container"
)
def _no_escalation(docs: Sequence[Resource]) -> Iterator[Problem]:
    for w in _workloads(docs):
        for c in _containers(w):
            if _get(c, "securityContext", "allowPrivilegeEscalation") is not False:
                yield w, f"container {_cname(c)} does not set allowPrivilegeEscalation: false"


@_rule("PSS002", "capabilities drop ALL, add at most NET_BIND_SERVICE", "set securityContext.capabilities.drop: [ALL]")
def _capabilities(docs: Sequence[Resource]) -> Iterator[Problem]:
    for w in _workloads(docs):
        for c in _containers(w):
            caps = _map(_get(c, "securityContext", "capabilities"))
            if "ALL" not in _list(caps.get("drop")):
                yield w, f"container {_cname(c)} does not drop ALL capabilities"
            added = sorted(set(map(str, _list(caps.get("add")))) - ALLOWED_ADDED_CAPABILITIES)
            if added:
                yield w, f"container {_cname(c)} adds capabilities {', '.join(added)}"


@_rule("PSS003", "seccompProfile RuntimeDefault", "set securityContext.seccompProfile.type: RuntimeDefault")
def _seccomp(docs: Sequence[Resource]) -> Iterator[Problem]:
    for w in _workloads(docs):
        for c in _containers(w):
            profile = _get(_effective(w, c, "seccompProfile"), "type")
            if profile not in ("RuntimeDefault", "Localhost"):
                yield w, f"container {_cname(c)} seccompProfile is {profile!r}"


@_rule(
    "PSS004",
    "readOnlyRootFilesystem true",
    "set securityContext.readOnlyRootFilesystem: true and mount emptyDirs where the app writes",
)
def _read_only_root(docs: Sequence[Resource]) -> Iterator[Problem]:
    for w in _workloads(docs):
        for c in _containers(w):
            if _get(c, "securityContext", "readOnlyRootFilesystem") is not True:
                yield w, f"container {_cname(c)} has a writable root filesystem"


@_rule(
    "PSS005", "numeric, non-zero runAsUser, runAsGroup and fsGroup", "set runAsUser, runAsGroup and fsGroup to 10001"
)
def _numeric_ids(docs: Sequence[Resource]) -> Iterator[Problem]:
    for w in _workloads(docs):
        for c in _containers(w):
            for field in ("runAsUser", "runAsGroup"):
                value = _effective(w, c, field)
                if not _is_int(value) or value <= 0:
                    yield w, f"container {_cname(c)} {field} is {value!r}, must be a non-zero number"
        fs_group = _get(_pod_spec(w), "securityContext", "fsGroup")
        if not _is_int(fs_group) or fs_group <= 0:
            yield w, f"pod fsGroup is {fs_group!r}, must be a non-zero number"


@_rule(
    "PSS006",
    "no privileged containers, host namespaces or host ports",
    "remove privileged, hostNetwork, hostPID, hostIPC and hostPort",
)
def _host_access(docs: Sequence[Resource]) -> Iterator[Problem]:
    for w in _workloads(docs):
        spec = _pod_spec(w)
        for field in ("hostNetwork", "hostPID", "hostIPC"):
            if spec.get(field) is True:
                yield w, f"pod sets {field}: true"
        for c in _containers(w):
            if _get(c, "securityContext", "privileged") is True:
                yield w, f"container {_cname(c)} is privileged"
            for port in _list(c.get("ports")):
                if _get(port, "hostPort"):
                    yield w, f"container {_cname(c)} binds hostPort {_get(port, 'hostPort')}"


@_rule("PSS007", "only restricted volume types", "use emptyDir, configMap, secret, projected or a PVC instead")
def _volume_types(docs: Sequence[Resource]) -> Iterator[Problem]:
    for w in _workloads(docs):
        for vol in _list(_pod_spec(w).get("volumes")):
            kinds = set(_map(vol)) - {"name"}
            bad = sorted(kinds - RESTRICTED_VOLUME_TYPES)
            if bad:
                yield w, f"volume {_get(vol, 'name')!r} is of type {', '.join(bad)}"


@_rule("PSS008", "a read-only root has a writable /tmp", "mount an emptyDir volume at /tmp")
def _writable_tmp(docs: Sequence[Resource]) -> Iterator[Problem]:
    for w in _workloads(docs):
        empty_dirs = {
            _get(v, "name") for v in _list(_pod_spec(w).get("volumes")) if isinstance(_get(v, "emptyDir"), Mapping)
        }
        for c in _containers(w, init=False):
            if _get(c, "securityContext", "readOnlyRootFilesystem") is not True:
                continue
            tmp = [m for m in _list(c.get("volumeMounts")) if _get(m, "mountPath") == "/tmp"]
            if not tmp or _get(tmp[0], "name") not in empty_dirs or _get(tmp[0], "readOnly") is True:
                yield w, f"container {_cname(c)} has a read-only root but no writable emptyDir at /tmp"


# ----------------------------------------------------------------------------------------------
# Labels.


@_rule(
    "LBL001",
    "app.kubernetes.io/name and instance labels on every resource",
    "include the todo-app.labels helper in metadata.labels",
)
def _labels(docs: Sequence[Resource]) -> Iterator[Problem]:
    for res in docs:
        labels = _map(_get(res, "metadata", "labels"))
        missing = [k for k in REQUIRED_LABELS if not labels.get(k)]
        if missing:
            yield res, f"has no {', '.join(missing)} label"


# ----------------------------------------------------------------------------------------------
# Availability on a multi-node cluster (the production profile): disruption budgets, autoscalers,
# spreading. Each rule holds vacuously when the chart renders none of these objects.

SPREAD_KEYS: frozenset[str] = frozenset({"kubernetes.io/hostname", "topology.kubernetes.io/zone"})
SPREAD_WHEN: frozenset[str] = frozenset({"DoNotSchedule", "ScheduleAnyway"})


def _selects(selector: Mapping[str, Any], labels: Mapping[str, Any]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def _hpa_for(workload: Resource, docs: Sequence[Resource]) -> Resource | None:
    for hpa in _of_kind(docs, "HorizontalPodAutoscaler"):
        ref = _map(_get(hpa, "spec", "scaleTargetRef"))
        if ref.get("kind") == workload.get("kind") and ref.get("name") == _name(workload):
            return hpa
    return None


def _default_replicas(workload: Resource, docs: Sequence[Resource]) -> int:
    """The pods a workload runs when nothing scales it: the autoscaler's floor, else spec.replicas (default 1)."""
    hpa = _hpa_for(workload, docs)
    value = _get(hpa, "spec", "minReplicas") if hpa is not None else _get(workload, "spec", "replicas")
    if value is None:
        return 1
    return value if _is_int(value) else 0


def _absolute(value: Any, total: int) -> int | None:
    """A PDB count (int or 'N%') as a number of pods; the real controller rounds percentages up."""
    if _is_int(value):
        return int(value)
    if isinstance(value, str) and value.endswith("%") and value[:-1].isdigit():
        return -(-int(value[:-1]) * total // 100)
    return None


@_rule(
    "PDB001",
    "a PodDisruptionBudget selects exactly one workload's pods",
    "use the component's selector labels (todo-app.selectorLabels) in spec.selector.matchLabels",
)
def _pdb_selector(docs: Sequence[Resource]) -> Iterator[Problem]:
    for pdb in _of_kind(docs, "PodDisruptionBudget"):
        selector = _map(_get(pdb, "spec", "selector", "matchLabels"))
        selected = [w for w in _workloads(docs) if _selects(selector, _pod_labels(w))]
        if len(selected) != 1:
            names = ", ".join(_name(w) for w in selected) or "none"
            yield pdb, f"selects the pods of {len(selected)} workloads ({names}), must select exactly one"


@_rule(
    "PDB002",
    "a PodDisruptionBudget allows at least one disruption with the default replicas",
    "keep minAvailable below the replicas (or the autoscaler's minReplicas), e.g. replicas 2, minAvailable 1",
)
def _pdb_allows_disruption(docs: Sequence[Resource]) -> Iterator[Problem]:
    for pdb in _of_kind(docs, "PodDisruptionBudget"):
        selector = _map(_get(pdb, "spec", "selector", "matchLabels"))
        for w in (w for w in _workloads(docs) if _selects(selector, _pod_labels(w))):
            replicas = _default_replicas(w, docs)
            spec = _map(_get(pdb, "spec"))
            if "maxUnavailable" in spec:
                allowed = _absolute(spec["maxUnavailable"], replicas)
            else:
                min_available = _absolute(spec.get("minAvailable"), replicas)
                allowed = None if min_available is None else replicas - min_available
            if allowed is None or allowed < 1:
                yield (
                    pdb,
                    (
                        f"with {replicas} pod(s) of {_name(w)} it allows {allowed if allowed is not None else 'no'} "
                        "disruption: a node drain would block"
                    ),
                )


@_rule(
    "HPA001",
    "an autoscaler targets a Deployment the chart renders",
    "set scaleTargetRef to apiVersion apps/v1, kind Deployment and the component's Deployment name",
)
def _hpa_target(docs: Sequence[Resource]) -> Iterator[Problem]:
    names = {_name(d) for d in _of_kind(docs, "Deployment")}
    for hpa in _of_kind(docs, "HorizontalPodAutoscaler"):
        ref = _map(_get(hpa, "spec", "scaleTargetRef"))
        if ref.get("apiVersion") != "apps/v1" or ref.get("kind") != "Deployment" or ref.get("name") not in names:
            yield (
                hpa,
                f"scaleTargetRef {ref.get('apiVersion')}/{ref.get('kind')}/{ref.get('name')} is no Deployment of this chart",
            )
        low, high = _get(hpa, "spec", "minReplicas"), _get(hpa, "spec", "maxReplicas")
        if not (_is_int(low) and _is_int(high) and 1 <= low <= high):
            yield hpa, f"minReplicas {low!r} and maxReplicas {high!r} must be integers with 1 <= min <= max"


@_rule(
    "HPA002",
    "a CPU autoscaler's target has CPU requests to work from",
    "give every container of the target resources.requests.cpu and the autoscaler a cpu Resource metric",
)
def _hpa_cpu(docs: Sequence[Resource]) -> Iterator[Problem]:
    for hpa in _of_kind(docs, "HorizontalPodAutoscaler"):
        metrics = _list(_get(hpa, "spec", "metrics"))
        if not any(_get(m, "type") == "Resource" and _get(m, "resource", "name") == "cpu" for m in metrics):
            yield hpa, "has no cpu Resource metric"
            continue
        ref_name = _get(hpa, "spec", "scaleTargetRef", "name")
        for w in (d for d in _of_kind(docs, "Deployment") if _name(d) == ref_name):
            for c in _containers(w, init=False):
                if _get(c, "resources", "requests", "cpu") in (None, "", 0):
                    yield hpa, f"container {_cname(c)} of {ref_name} has no CPU request: utilisation is undefined"


@_rule(
    "HPA003",
    "a Deployment scaled by an autoscaler leaves replicas to it",
    "leave spec.replicas out while <component>.autoscaling.enabled (the todo-app.replicas helper does)",
)
def _hpa_owns_replicas(docs: Sequence[Resource]) -> Iterator[Problem]:
    for w in _of_kind(docs, "Deployment"):
        if _hpa_for(w, docs) is not None and _get(w, "spec", "replicas") is not None:
            yield w, "sets spec.replicas while an autoscaler scales it: every upgrade would reset the count"


@_rule(
    "SPR001",
    "spread constraints select the workload's own pods on node or zone keys",
    "use the component's selector labels in labelSelector and topologyKey kubernetes.io/hostname or topology.kubernetes.io/zone",
)
def _spread(docs: Sequence[Resource]) -> Iterator[Problem]:
    for w in _workloads(docs):
        for i, tsc in enumerate(_list(_pod_spec(w).get("topologySpreadConstraints"))):
            selector = _map(_get(tsc, "labelSelector", "matchLabels"))
            if not _selects(selector, _pod_labels(w)):
                yield w, f"topologySpreadConstraints[{i}].labelSelector does not select the workload's own pods"
            if _get(tsc, "topologyKey") not in SPREAD_KEYS:
                yield (
                    w,
                    f"topologySpreadConstraints[{i}].topologyKey {_get(tsc, 'topologyKey')!r} is not a node or zone key",
                )
            if _get(tsc, "whenUnsatisfiable") not in SPREAD_WHEN:
                yield (
                    w,
                    f"topologySpreadConstraints[{i}].whenUnsatisfiable {_get(tsc, 'whenUnsatisfiable')!r} is not valid",
                )
            skew = _get(tsc, "maxSkew")
            if not _is_int(skew) or skew < 1:
                yield w, f"topologySpreadConstraints[{i}].maxSkew {skew!r} must be an integer >= 1"
