"""Mutation tests for orchestrator.chart.policy: each mutant breaks one rule in the rendered default chart.

Every mutant deep-copies the default render, changes one thing, and must be reported under the rule
it breaks, and under no other rule than the ones listed as its known companions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from orchestrator.chart import policy
from tests.chart.conftest import find

Docs = list[dict[str, Any]]


def dep(docs: Docs, component: str) -> dict[str, Any]:
    return find(docs, "Deployment", component)


def pod(docs: Docs, component: str) -> dict[str, Any]:
    return dep(docs, component)["spec"]["template"]["spec"]


def ctr(docs: Docs, component: str) -> dict[str, Any]:
    return pod(docs, component)["containers"][0]


def svc(docs: Docs, component: str) -> dict[str, Any]:
    return find(docs, "Service", component)


def hpa(docs: Docs, component: str) -> dict[str, Any]:
    return find(docs, "HorizontalPodAutoscaler", component)


def pdb(docs: Docs, component: str) -> dict[str, Any]:
    return find(docs, "PodDisruptionBudget", component)


def ingress(docs: Docs) -> dict[str, Any]:
    return find(docs, "Ingress")


def configmap(docs: Docs) -> dict[str, Any]:
    return find(docs, "ConfigMap")


def env(docs: Docs, component: str) -> list[dict[str, Any]]:
    return ctr(docs, component).setdefault("env", [])


@dataclass(frozen=True)
class Mutant:
    name: str
    rule: str
    mutate: Callable[[Docs], None]
    also: frozenset[str] = field(default_factory=frozenset)
    profile: str = "default"  # which render it mutates: the chart's defaults or the production profile


def _set(getter: Callable[[Docs], dict[str, Any]], key: str, value: Any) -> Callable[[Docs], None]:
    def mutate(docs: Docs) -> None:
        getter(docs)[key] = value

    return mutate


def _pop(getter: Callable[[Docs], dict[str, Any]], key: str) -> Callable[[Docs], None]:
    def mutate(docs: Docs) -> None:
        del getter(docs)[key]

    return mutate


def _with_namespace_object(name: str) -> Callable[[Docs], None]:
    def mutate(docs: Docs) -> None:
        labels = dict(configmap(docs)["metadata"]["labels"])
        docs.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}})

    return mutate


def _mutate_all_namespaces(value: str) -> Callable[[Docs], None]:
    def mutate(docs: Docs) -> None:
        for d in docs:
            d["metadata"]["namespace"] = value

    return mutate


MUTANTS: list[Mutant] = [
    Mutant("backend replicas 0", "DEP001", _set(lambda d: dep(d, "backend")["spec"], "replicas", 0)),
    Mutant("frontend replicas a string", "DEP001", _set(lambda d: dep(d, "frontend")["spec"], "replicas", "two")),
    Mutant("backend without limits", "DEP002", _pop(lambda d: ctr(d, "backend")["resources"], "limits")),
    Mutant(
        "frontend without memory request",
        "DEP002",
        _pop(lambda d: ctr(d, "frontend")["resources"]["requests"], "memory"),
    ),
    Mutant("backend without readiness probe", "DEP003", _pop(lambda d: ctr(d, "backend"), "readinessProbe")),
    Mutant("frontend without liveness probe", "DEP003", _pop(lambda d: ctr(d, "frontend"), "livenessProbe")),
    Mutant(
        "runAsNonRoot false on the container",
        "DEP004",
        _set(lambda d: ctr(d, "backend")["securityContext"], "runAsNonRoot", False),
    ),
    Mutant(
        "runAsNonRoot missing everywhere",
        "DEP004",
        lambda d: (
            pod(d, "frontend")["securityContext"].pop("runAsNonRoot"),
            ctr(d, "frontend")["securityContext"].pop("runAsNonRoot"),
        ),
    ),
    Mutant("Recreate strategy", "DEP005", _set(lambda d: dep(d, "backend")["spec"], "strategy", {"type": "Recreate"})),
    Mutant(
        "maxUnavailable 1",
        "DEP005",
        _set(lambda d: dep(d, "frontend")["spec"]["strategy"]["rollingUpdate"], "maxUnavailable", 1),
    ),
    Mutant("revisionHistoryLimit 3", "DEP006", _set(lambda d: dep(d, "backend")["spec"], "revisionHistoryLimit", 3)),
    Mutant(
        "no progressDeadlineSeconds", "DEP007", _pop(lambda d: dep(d, "frontend")["spec"], "progressDeadlineSeconds")
    ),
    Mutant(
        "version label in the selector",
        "DEP008",
        lambda d: dep(d, "backend")["spec"]["selector"]["matchLabels"].__setitem__(
            "app.kubernetes.io/version", "0.1.0"
        ),
    ),
    Mutant(
        "service account token mounted",
        "DEP009",
        _set(lambda d: pod(d, "frontend"), "automountServiceAccountToken", True),
    ),
    Mutant(
        "liveness delay equals readiness delay",
        "HC001",
        _set(lambda d: ctr(d, "backend")["livenessProbe"], "initialDelaySeconds", 5),
    ),
    Mutant(
        "liveness delay below readiness delay",
        "HC001",
        _set(lambda d: ctr(d, "frontend")["readinessProbe"], "initialDelaySeconds", 60),
    ),
    Mutant("failureThreshold 1", "HC002", _set(lambda d: ctr(d, "backend")["readinessProbe"], "failureThreshold", 1)),
    Mutant("timeout equals period", "HC003", _set(lambda d: ctr(d, "frontend")["livenessProbe"], "timeoutSeconds", 10)),
    Mutant(
        "probe on an undeclared port",
        "HC004",
        lambda d: ctr(d, "backend")["livenessProbe"]["httpGet"].__setitem__("port", 9999),
    ),
    Mutant("probe without a port", "HC004", lambda d: ctr(d, "frontend")["readinessProbe"]["httpGet"].pop("port")),
    Mutant(
        "frontend readiness is its liveness check",
        "HC005",
        lambda d: ctr(d, "frontend")["readinessProbe"].__setitem__(
            "httpGet", dict(ctr(d, "frontend")["livenessProbe"]["httpGet"])
        ),
    ),
    Mutant(
        "backend liveness is its readiness check",
        "HC005",
        lambda d: ctr(d, "backend")["livenessProbe"].__setitem__(
            "httpGet", dict(ctr(d, "backend")["readinessProbe"]["httpGet"])
        ),
    ),
    Mutant(
        "service selects no pods",
        "SVC001",
        lambda d: svc(d, "backend")["spec"]["selector"].__setitem__("app.kubernetes.io/component", "api"),
    ),
    Mutant("service with an empty selector", "SVC001", _set(lambda d: svc(d, "frontend")["spec"], "selector", {})),
    Mutant(
        "targetPort names no container port",
        "SVC002",
        lambda d: svc(d, "backend")["spec"]["ports"][0].__setitem__("targetPort", 8080),
    ),
    Mutant("backend NodePort", "SVC003", _set(lambda d: svc(d, "backend")["spec"], "type", "NodePort")),
    Mutant("frontend ClusterIP", "SVC003", _set(lambda d: svc(d, "frontend")["spec"], "type", "ClusterIP")),
    Mutant(
        "API key in the ConfigMap",
        "SEC001",
        lambda d: configmap(d)["data"].__setitem__("COHERE_API_KEY", "canary-not-a-real-key"),
    ),
    Mutant(
        "database password in a ConfigMap URL",
        "SEC001",
        lambda d: configmap(d)["data"].__setitem__("DB", "postgresql://app:canary-pw@db:5432/app"),
    ),
    Mutant(
        "JWT secret as an env literal",
        "SEC001",
        lambda d: env(d, "frontend").append({"name": "JWT_SECRET", "value": "canary-jwt"}),
    ),
    Mutant(
        "a Secret object rendered",
        "SEC002",
        lambda d: d.append(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": dict(configmap(d)["metadata"], name="todo-app-secrets"),
                "type": "Opaque",
                "stringData": {"JWT_SECRET": "canary"},
            }
        ),
    ),
    Mutant(
        "backend loses its DATABASE_URL reference",
        "SEC003",
        lambda d: ctr(d, "backend").__setitem__("env", [e for e in env(d, "backend") if e["name"] != "DATABASE_URL"]),
    ),
    Mutant(
        "secret version annotation missing",
        "SEC004",
        lambda d: dep(d, "backend")["spec"]["template"]["metadata"]["annotations"].pop("todo-app/secrets-version"),
    ),
    Mutant(
        "config checksum annotation missing",
        "CFG001",
        lambda d: dep(d, "frontend")["spec"]["template"]["metadata"]["annotations"].pop("checksum/config"),
    ),
    Mutant(
        "envFrom names a ConfigMap not rendered",
        "CFG002",
        lambda d: ctr(d, "backend")["envFrom"][0]["configMapRef"].__setitem__("name", "elsewhere"),
    ),
    Mutant(
        "valueFrom names a ConfigMap not rendered",
        "CFG002",
        lambda d: env(d, "frontend").append(
            {"name": "X", "valueFrom": {"configMapKeyRef": {"name": "elsewhere", "key": "X"}}}
        ),
    ),
    Mutant("ingress class traefik", "ING001", _set(lambda d: ingress(d)["spec"], "ingressClassName", "traefik")),
    Mutant("ingress class missing", "ING001", _pop(lambda d: ingress(d)["spec"], "ingressClassName")),
    Mutant(
        "ingress to a missing Service",
        "ING002",
        lambda d: ingress(d)["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"].__setitem__(
            "name", "todo-app-web"
        ),
    ),
    Mutant(
        "ingress to a missing port",
        "ING002",
        lambda d: ingress(d)["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"].__setitem__(
            "port", {"number": 80}
        ),
    ),
    Mutant(
        "ingress backend without a port",
        "ING002",
        lambda d: ingress(d)["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"].pop("port"),
    ),
    Mutant("ingress rule without host", "ING003", lambda d: ingress(d)["spec"]["rules"][0].pop("host")),
    Mutant(
        "TLS entry without secretName",
        "ING004",
        lambda d: ingress(d)["spec"].__setitem__("tls", [{"hosts": ["todo-app.local"]}]),
    ),
    Mutant(
        "TLS for another host",
        "ING004",
        lambda d: ingress(d)["spec"].__setitem__("tls", [{"hosts": ["other.local"], "secretName": "todo-app-tls"}]),
    ),
    Mutant("namespace with capitals", "NS001", _mutate_all_namespaces("Todo_App")),
    Mutant(
        "Namespace object with an invalid name", "NS001", _with_namespace_object("todo.app"), also=frozenset({"NS002"})
    ),
    Mutant(
        "one resource in another namespace",
        "NS002",
        lambda d: configmap(d)["metadata"].__setitem__("namespace", "other"),
    ),
    Mutant("image without a tag", "IMG001", _set(lambda d: ctr(d, "backend"), "image", "todo-backend")),
    Mutant(
        "image tag latest",
        "IMG001",
        _set(lambda d: ctr(d, "frontend"), "image", "registry.local:5000/todo-frontend:latest"),
    ),
    Mutant("pull policy Always", "IMG002", _set(lambda d: ctr(d, "backend"), "imagePullPolicy", "Always")),
    Mutant("pull policy missing", "IMG002", _pop(lambda d: ctr(d, "frontend"), "imagePullPolicy")),
    Mutant(
        "privilege escalation allowed",
        "PSS001",
        _set(lambda d: ctr(d, "backend")["securityContext"], "allowPrivilegeEscalation", True),
    ),
    Mutant("capabilities not dropped", "PSS002", _pop(lambda d: ctr(d, "frontend")["securityContext"], "capabilities")),
    Mutant(
        "NET_ADMIN added",
        "PSS002",
        lambda d: ctr(d, "backend")["securityContext"]["capabilities"].__setitem__("add", ["NET_ADMIN"]),
    ),
    Mutant(
        "seccomp Unconfined",
        "PSS003",
        lambda d: (
            pod(d, "backend")["securityContext"].pop("seccompProfile"),
            ctr(d, "backend")["securityContext"].__setitem__("seccompProfile", {"type": "Unconfined"}),
        ),
    ),
    Mutant(
        "writable root filesystem",
        "PSS004",
        _set(lambda d: ctr(d, "frontend")["securityContext"], "readOnlyRootFilesystem", False),
    ),
    Mutant("runAsUser 0", "PSS005", _set(lambda d: ctr(d, "backend")["securityContext"], "runAsUser", 0)),
    Mutant(
        "runAsGroup a name",
        "PSS005",
        lambda d: (
            pod(d, "frontend")["securityContext"].__setitem__("runAsGroup", "app"),
            ctr(d, "frontend")["securityContext"].pop("runAsGroup"),
        ),
    ),
    Mutant("fsGroup 0", "PSS005", _set(lambda d: pod(d, "backend")["securityContext"], "fsGroup", 0)),
    Mutant("privileged container", "PSS006", _set(lambda d: ctr(d, "frontend")["securityContext"], "privileged", True)),
    Mutant("host network", "PSS006", _set(lambda d: pod(d, "backend"), "hostNetwork", True)),
    Mutant(
        "hostPath volume",
        "PSS007",
        lambda d: pod(d, "backend")["volumes"].append({"name": "host", "hostPath": {"path": "/var"}}),
    ),
    Mutant(
        "no /tmp mount",
        "PSS008",
        lambda d: ctr(d, "backend").__setitem__(
            "volumeMounts", [m for m in ctr(d, "backend")["volumeMounts"] if m["mountPath"] != "/tmp"]
        ),
    ),
    Mutant(
        "resource without the name label",
        "LBL001",
        lambda d: configmap(d)["metadata"]["labels"].pop("app.kubernetes.io/name"),
    ),
    # The production profile's availability objects.
    Mutant(
        "PDB selects the frontend's pods too",
        "PDB001",
        lambda d: pdb(d, "backend")["spec"]["selector"]["matchLabels"].pop("app.kubernetes.io/component"),
        profile="production",
    ),
    Mutant(
        "PDB selects no pods",
        "PDB001",
        lambda d: pdb(d, "frontend")["spec"]["selector"]["matchLabels"].__setitem__(
            "app.kubernetes.io/component", "web"
        ),
        profile="production",
    ),
    Mutant(
        "PDB minAvailable equals the replicas",
        "PDB002",
        _set(lambda d: pdb(d, "backend")["spec"], "minAvailable", 2),
        profile="production",
    ),
    Mutant(
        "PDB minAvailable 100%",
        "PDB002",
        _set(lambda d: pdb(d, "frontend")["spec"], "minAvailable", "100%"),
        profile="production",
    ),
    Mutant(
        "PDB maxUnavailable 0",
        "PDB002",
        lambda d: (
            pdb(d, "backend")["spec"].pop("minAvailable"),
            pdb(d, "backend")["spec"].__setitem__("maxUnavailable", 0),
        ),
        profile="production",
    ),
    Mutant(
        "HPA targets a missing Deployment",
        "HPA001",
        lambda d: hpa(d, "backend")["spec"]["scaleTargetRef"].__setitem__("name", "todo-app-api"),
        profile="production",
        also=frozenset({"PDB002"}),
    ),  # unscaled, the Deployment runs its default single pod
    Mutant(
        "HPA targets a StatefulSet",
        "HPA001",
        lambda d: hpa(d, "frontend")["spec"]["scaleTargetRef"].__setitem__("kind", "StatefulSet"),
        profile="production",
        also=frozenset({"PDB002"}),
    ),
    Mutant(
        "HPA min above max",
        "HPA001",
        _set(lambda d: hpa(d, "backend")["spec"], "minReplicas", 9),
        profile="production",
        also=frozenset({"PDB002"}),
    ),
    Mutant(
        "HPA target without a CPU request",
        "HPA002",
        _pop(lambda d: ctr(d, "backend")["resources"]["requests"], "cpu"),
        profile="production",
        also=frozenset({"DEP002"}),
    ),
    Mutant(
        "HPA on memory only",
        "HPA002",
        lambda d: hpa(d, "frontend")["spec"]["metrics"][0]["resource"].__setitem__("name", "memory"),
        profile="production",
    ),
    Mutant(
        "replicas set under an HPA",
        "HPA003",
        _set(lambda d: dep(d, "frontend")["spec"], "replicas", 2),
        profile="production",
    ),
    Mutant(
        "spread selects another component",
        "SPR001",
        lambda d: pod(d, "backend")["topologySpreadConstraints"][0]["labelSelector"]["matchLabels"].__setitem__(
            "app.kubernetes.io/component", "frontend"
        ),
        profile="production",
    ),
    Mutant(
        "spread on a made-up key",
        "SPR001",
        lambda d: pod(d, "frontend")["topologySpreadConstraints"][1].__setitem__("topologyKey", "rack"),
        profile="production",
    ),
    Mutant(
        "spread maxSkew 0",
        "SPR001",
        lambda d: pod(d, "frontend")["topologySpreadConstraints"][0].__setitem__("maxSkew", 0),
        profile="production",
    ),
]


def rule_ids(findings: list[policy.Finding]) -> set[str]:
    return {f.rule for f in findings}


def test_default_render_has_no_findings(default_manifests: Docs) -> None:
    findings = policy.check(default_manifests)
    assert findings == [], "\n".join(f.render() for f in findings)


def test_override_render_has_no_findings(override_manifests: Docs) -> None:
    findings = policy.check(override_manifests)
    assert findings == [], "\n".join(f.render() for f in findings)


def test_production_render_has_no_findings(production_manifests: Docs) -> None:
    findings = policy.check(production_manifests)
    assert findings == [], "\n".join(f.render() for f in findings)


def test_enough_rules_and_unique_ids() -> None:
    ids = [r.id for r in policy.rules()]
    assert len(ids) >= 25
    assert len(ids) == len(set(ids))
    assert all(r.title and r.fix for r in policy.rules())


def test_every_rule_has_a_mutant() -> None:
    assert {r.id for r in policy.rules()} <= {m.rule for m in MUTANTS}
    assert len(MUTANTS) >= 20


@pytest.mark.parametrize("mutant", MUTANTS, ids=[f"{m.rule}-{m.name.replace(' ', '-')}" for m in MUTANTS])
def test_mutant_is_caught(
    mutant: Mutant, fresh_defaults: Callable[[], Docs], fresh_production: Callable[[], Docs]
) -> None:
    docs = fresh_production() if mutant.profile == "production" else fresh_defaults()
    mutant.mutate(docs)
    findings = policy.check(docs)
    ids = rule_ids(findings)
    assert mutant.rule in ids, f"{mutant.name} not reported; got {sorted(ids)}"
    assert ids <= {mutant.rule} | mutant.also, f"{mutant.name} also reported {sorted(ids - {mutant.rule})}"
    for finding in findings:
        assert finding.kind and finding.name and finding.message and finding.fix
        assert "canary" not in finding.render(), "a finding must never echo a secret value"


def test_findings_name_the_resource(fresh_defaults: Callable[[], Docs]) -> None:
    docs = fresh_defaults()
    ctr(docs, "frontend")["imagePullPolicy"] = "Always"
    [finding] = policy.check(docs)
    assert (finding.rule, finding.kind, finding.name) == ("IMG002", "Deployment", "todo-app-frontend")
    assert "IfNotPresent" in finding.fix
    assert finding.render().startswith("IMG002 Deployment/todo-app-frontend: ")


@pytest.mark.parametrize(
    "garbage",
    [
        [{}],
        [{"kind": "Deployment"}],
        [{"kind": "Deployment", "metadata": None, "spec": {"template": {"spec": {"containers": [None, "x", {}]}}}}],
        [{"kind": "Service", "spec": {"selector": ["not", "a", "map"], "ports": "x"}}],
        [{"kind": "Ingress", "spec": {"rules": [{"http": {"paths": [{"backend": None}]}}]}}],
        [{"kind": "ConfigMap", "data": {"K": 1, "PASSWORD": None}}, "not a dict", None],
    ],
)
def test_malformed_manifests_do_not_crash(garbage: Docs) -> None:
    findings = policy.check(garbage)
    assert all(isinstance(f, policy.Finding) for f in findings)


def test_malformed_deployment_is_reported_not_ignored() -> None:
    ids = rule_ids(
        policy.check(
            [
                {
                    "kind": "Deployment",
                    "metadata": {"name": "x"},
                    "spec": {"template": {"spec": {"containers": [{"name": "c"}]}}},
                }
            ]
        )
    )
    assert {"DEP002", "DEP003", "DEP004", "IMG001", "IMG002", "PSS001", "PSS004"} <= ids
