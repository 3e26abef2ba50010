"""The chart renders what the design asks for, and every check passes on defaults and overrides."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from orchestrator.chart.tools import Status, check_kubernetes_schemas, run_validation
from orchestrator.settings.profiles import Profile, values_files
from tests.chart.conftest import OVERRIDES, find, options, render

Docs = list[dict[str, Any]]


@pytest.mark.parametrize("extra", [{}, OVERRIDES], ids=["defaults", "tls-replicas3-namespace"])
def test_every_chart_check_passes(extra: dict[str, str]) -> None:
    report = run_validation(options(extra, dockerfiles=()))
    by_name = {r.name: r for r in report.results}
    for name in ("render", "helm-lint", "kubernetes-validate", "policy", "checkov-manifests"):
        assert by_name[name].status is Status.OK, "\n".join(by_name[name].lines())
    assert "1.30..1.35" in by_name["kubernetes-validate"].summary
    assert "failed 0" in by_name["checkov-manifests"].summary
    assert not report.failed


def test_every_chart_check_passes_on_the_production_profile() -> None:
    report = run_validation(options(dockerfiles=(), values_files=values_files(Profile.PRODUCTION)))
    by_name = {r.name: r for r in report.results}
    for name in ("render", "helm-lint", "kubernetes-validate", "policy", "checkov-manifests"):
        assert by_name[name].status is Status.OK, "\n".join(by_name[name].lines())
    assert "1.30..1.35" in by_name["kubernetes-validate"].summary
    assert not report.failed


def test_production_profile_renders_availability_objects(production_manifests: Docs) -> None:
    for component in ("backend", "frontend"):
        deployment = find(production_manifests, "Deployment", component)
        name = deployment["metadata"]["name"]
        assert "replicas" not in deployment["spec"], "the autoscaler owns the count: helm must not reset it"
        hpa = find(production_manifests, "HorizontalPodAutoscaler", component)
        assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
        assert hpa["spec"]["minReplicas"] >= 2
        pdb = find(production_manifests, "PodDisruptionBudget", component)
        assert pdb["spec"]["minAvailable"] == 1
        assert pdb["spec"]["selector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"]
        spread = deployment["spec"]["template"]["spec"]["topologySpreadConstraints"]
        assert [(c["topologyKey"], c["whenUnsatisfiable"]) for c in spread] == [
            ("kubernetes.io/hostname", "DoNotSchedule"),
            ("topology.kubernetes.io/zone", "ScheduleAnyway"),
        ]
        assert all(c["labelSelector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"] for c in spread)
    tls = find(production_manifests, "Ingress")["spec"]["tls"]
    assert tls == [{"hosts": ["todo-app.local"], "secretName": "todo-app-tls"}]


def test_certificate_issuer_and_digest_references() -> None:
    digest = "sha256:" + "ab" * 32
    docs = render(
        {
            "ingress.tls.clusterIssuer": "letsencrypt-prod",
            "backend.image.tag": "abc123",
            "backend.image.digest": digest,
        },
        profile=Profile.PRODUCTION,
    )
    ingress = find(docs, "Ingress")
    assert ingress["metadata"]["annotations"]["cert-manager.io/cluster-issuer"] == "letsencrypt-prod"
    image = find(docs, "Deployment", "backend")["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == f"todo-backend:abc123@{digest}"
    assert "annotations" not in find(render(), "Ingress")["metadata"], "no issuer annotation by default"


def test_the_chart_as_shipped_renders_and_lints_with_its_own_defaults() -> None:
    """`helm template` and `helm lint --strict` of the chart alone (no --set): what a user of the chart
    does first. The secret name then defaults to one derived from the release."""
    from orchestrator.chart.tools import ValidateOptions, check_helm_lint, parse_manifests, render_chart

    bare = ValidateOptions(set_values={})
    lint = check_helm_lint(bare)
    assert lint.status is Status.OK, "\n".join(lint.lines())
    assert parse_manifests(render_chart(bare))


def test_overrides_take_effect(override_manifests: Docs) -> None:
    assert find(override_manifests, "Deployment", "backend")["spec"]["replicas"] == 3
    assert find(override_manifests, "Deployment", "frontend")["spec"]["replicas"] == 3
    namespace = find(override_manifests, "Namespace")
    assert namespace["metadata"]["name"] == "todo-app"
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert find(override_manifests, "Ingress")["spec"]["tls"] == [
        {"hosts": ["todo-app.local"], "secretName": "todo-app-tls"}
    ]


def test_defaults_render_the_designed_resources(default_manifests: Docs) -> None:
    kinds = sorted((d["kind"], d["metadata"]["name"]) for d in default_manifests)
    assert kinds == [
        ("ConfigMap", "todo-app-config"),
        ("Deployment", "todo-app-backend"),
        ("Deployment", "todo-app-frontend"),
        ("Ingress", "todo-app"),
        ("NetworkPolicy", "todo-app-backend"),
        ("NetworkPolicy", "todo-app-database"),
        ("NetworkPolicy", "todo-app-frontend"),
        ("Service", "todo-app-backend"),
        ("Service", "todo-app-database"),
        ("Service", "todo-app-frontend"),
        ("StatefulSet", "todo-app-database"),
    ]
    assert all(d["metadata"]["namespace"] == "todo-app" for d in default_manifests)


def test_services_and_ingress(default_manifests: Docs) -> None:
    backend = find(default_manifests, "Service", "backend")["spec"]
    frontend = find(default_manifests, "Service", "frontend")["spec"]
    assert (backend["type"], backend["ports"][0]["port"]) == ("ClusterIP", 8000)
    assert (frontend["type"], frontend["ports"][0]["port"]) == ("NodePort", 3000)
    assert set(backend["selector"]) == {
        "app.kubernetes.io/name",
        "app.kubernetes.io/instance",
        "app.kubernetes.io/component",
    }
    spec = find(default_manifests, "Ingress")["spec"]
    assert spec["ingressClassName"] == "nginx"
    assert "tls" not in spec
    [rule] = spec["rules"]
    assert rule["host"] == "todo-app.local"
    [path] = rule["http"]["paths"]
    assert path["path"] == "/"
    assert path["backend"]["service"]["name"] == "todo-app-frontend"


def test_configmap_holds_only_settings(default_manifests: Docs) -> None:
    data = find(default_manifests, "ConfigMap")["data"]
    assert data == {
        "LOG_LEVEL": "INFO",
        "ENVIRONMENT": "development",
        "FEATURE_FLAGS": "",
        "BACKEND_URL": "http://todo-app-backend:8000",
    }


def test_backend_takes_secrets_by_reference_and_frontend_none(default_manifests: Docs) -> None:
    assert not [d for d in default_manifests if d["kind"] == "Secret"]
    backend = find(default_manifests, "Deployment", "backend")["spec"]["template"]["spec"]["containers"][0]
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in backend["env"] if "valueFrom" in e}
    assert refs == {
        k: {"name": "todo-app-secrets", "key": k, **({"optional": True} if k == "COHERE_API_KEY" else {})}
        for k in ("COHERE_API_KEY", "DATABASE_URL", "JWT_SECRET")
    }
    frontend = find(default_manifests, "Deployment", "frontend")["spec"]["template"]["spec"]["containers"][0]
    assert "secret" not in str(frontend).lower()


@pytest.mark.parametrize(
    ("component", "liveness", "readiness", "port"),
    [("backend", "/health", "/ready", 8000), ("frontend", "/api/health", "/health", 3000)],
)
def test_probes_ports_and_security(
    default_manifests: Docs, component: str, liveness: str, readiness: str, port: int
) -> None:
    dep = find(default_manifests, "Deployment", component)
    pod = dep["spec"]["template"]["spec"]
    [c] = pod["containers"]
    assert c["livenessProbe"]["httpGet"]["path"] == liveness
    assert c["readinessProbe"]["httpGet"]["path"] == readiness
    assert c["ports"] == [{"name": "http", "containerPort": port, "protocol": "TCP"}]
    assert c["image"] == f"todo-{component}:0.1.0"
    assert c["imagePullPolicy"] == "IfNotPresent"
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": 10001,
        "runAsGroup": 10001,
        "fsGroup": 10001,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    sc = c["securityContext"]
    assert sc["allowPrivilegeEscalation"] is False and sc["readOnlyRootFilesystem"] is True
    assert sc["capabilities"] == {"drop": ["ALL"]}
    mounts = {m["mountPath"] for m in c["volumeMounts"]}
    assert "/tmp" in mounts
    if component == "frontend":
        assert "/app/.next/cache" in mounts
    assert all("emptyDir" in v for v in pod["volumes"])
    spec = dep["spec"]
    assert spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert (spec["revisionHistoryLimit"], spec["progressDeadlineSeconds"]) == (10, 120)


def _annotations(docs: Docs, component: str) -> dict[str, str]:
    return find(docs, "Deployment", component)["spec"]["template"]["metadata"]["annotations"]


def test_secret_version_rolls_backend_pods() -> None:
    first = _annotations(render({"secrets.version": "v1"}), "backend")
    second = _annotations(render({"secrets.version": "v2"}), "backend")
    assert (first["todo-app/secrets-version"], second["todo-app/secrets-version"]) == ("v1", "v2")


def test_config_checksum_follows_the_configmap(default_manifests: Docs) -> None:
    changed = render({"config.logLevel": "DEBUG"})
    before, after = _annotations(default_manifests, "frontend"), _annotations(changed, "frontend")
    assert before["checksum/config"] != after["checksum/config"]
    assert len(after["checksum/config"]) == len(hashlib.sha256().hexdigest())
    assert find(changed, "ConfigMap")["data"]["LOG_LEVEL"] == "DEBUG"


def test_image_tags_follow_values() -> None:
    docs = render({"backend.image.tag": "abc123", "frontend.image.repository": "todo-web"})
    assert (
        find(docs, "Deployment", "backend")["spec"]["template"]["spec"]["containers"][0]["image"]
        == "todo-backend:abc123"
    )
    assert (
        find(docs, "Deployment", "frontend")["spec"]["template"]["spec"]["containers"][0]["image"] == "todo-web:0.1.0"
    )


def test_orchestrator_values_shape_renders() -> None:
    # What the orchestrator passes: a registry-qualified repository, content tags, a versioned Secret
    # name and free-text feature flags.
    docs = render(
        {
            "backend.image.repository": "localhost:5000/todo-backend",
            "backend.image.tag": "3f2a9c1b7d",
            "secrets.existingSecret": "todo-app-secrets-0a1b2c3d4e",
            "secrets.version": "0a1b2c3d4e",
            "config.featureFlags": "chat reminders",
            "config.environment": "production",
            "config.logLevel": "WARNING",
        }
    )
    backend = find(docs, "Deployment", "backend")["spec"]["template"]["spec"]["containers"][0]
    assert backend["image"] == "localhost:5000/todo-backend:3f2a9c1b7d"
    assert {e["valueFrom"]["secretKeyRef"]["name"] for e in backend["env"] if "valueFrom" in e} == {
        "todo-app-secrets-0a1b2c3d4e"
    }
    assert find(docs, "ConfigMap")["data"]["FEATURE_FLAGS"] == "chat reminders"


def test_all_digit_tag_and_version_from_set_are_accepted() -> None:
    # helm --set turns an all-digit value into a number; the schema accepts it and the chart quotes it.
    docs = render({"backend.image.tag": "1234567", "secrets.version": "20260101"})
    backend = find(docs, "Deployment", "backend")["spec"]["template"]
    assert backend["spec"]["containers"][0]["image"] == "todo-backend:1234567"
    assert backend["metadata"]["annotations"]["todo-app/secrets-version"] == "20260101"


def test_kubernetes_validate_catches_a_misspelt_field(default_manifests: Docs) -> None:
    import copy

    docs = copy.deepcopy(default_manifests)
    probe = find(docs, "Deployment", "backend")["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]
    probe["initialDelaySecond"] = probe.pop("initialDelaySeconds")
    result = check_kubernetes_schemas(docs, ("1.30", "1.35"))
    assert result.status is Status.PROBLEMS
    [problem] = result.problems
    assert problem.resource == "Deployment/todo-app-backend"
    assert "initialDelaySecond" in problem.message and "1.30, 1.35" in problem.message


def test_notes_explain_how_to_reach_the_app() -> None:
    from orchestrator.chart.tools import CHART, helm_value_args, tool
    from orchestrator.shell import run

    opts = options()
    notes = run(
        [
            tool("helm"),
            "install",
            "todo-app",
            str(CHART),
            "--dry-run=client",
            "--namespace",
            "todo-app",
            *helm_value_args(opts),
        ]
    ).stdout
    for needle in (
        "http://todo-app.local",
        "minikube addons enable ingress",
        "minikube ip",
        "minikube tunnel",
        "127.0.0.1 todo-app.local",
        "NodePort",
        "minikube service todo-app-frontend",
    ):
        assert needle in notes, needle
