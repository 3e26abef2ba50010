"""values.schema.json rejects unknown and mistyped values with a message that names the value."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from orchestrator.chart.tools import CHART, render_chart
from orchestrator.errors import ExitCode, InputError
from tests.chart.conftest import options

SCHEMA = json.loads((CHART / "values.schema.json").read_text())


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"foo": "bar"}, "additional properties 'foo' not allowed"),
        ({"backend.replicas": "abc"}, "/backend/replicas': got string, want integer"),
        ({"backend.replicas": "0"}, "/backend/replicas': minimum"),
        ({"backend.image.tag": "latest"}, "/backend/image/tag'"),
        ({"frontend.image.tag": "LATEST"}, "/frontend/image/tag'"),
        ({"frontend.image.tag": "bad tag!"}, "/frontend/image/tag'"),
        ({"backend.imagePullPolicy": "Always"}, "additional properties 'imagePullPolicy' not allowed"),
        ({"config.logLevel": "verbose"}, "/config/logLevel'"),
        ({"config.environment": "prod"}, "/config/environment'"),
        ({"backend.service.type": "NodePort"}, "/backend/service/type'"),
        ({"frontend.service.type": "LoadBalancer"}, "/frontend/service/type'"),
        ({"ingress.className": "traefik"}, "/ingress/className'"),
        ({"backend.probes.liveness.failureThreshold": "1"}, "/backend/probes/liveness/failureThreshold'"),
        ({"podSecurity.runAsUser": "0"}, "/podSecurity/runAsUser'"),
        ({"secrets.existingSecret": "Not_A_Name"}, "/secrets/existingSecret'"),
        ({"namespace.create": "maybe"}, "/namespace/create'"),
        ({"backend.resources.limits.gpu": "1"}, "additional properties 'gpu' not allowed"),
    ],
)
def test_schema_rejects(values: dict[str, str], expected: str) -> None:
    with pytest.raises(InputError) as caught:
        render_chart(options(values))
    assert caught.value.exit_code is ExitCode.BAD_INPUT
    assert expected in caught.value.render()


def test_the_secret_name_defaults_to_one_derived_from_the_release() -> None:
    """With only its own defaults the chart renders; the pods then read `<fullname>-secrets`."""
    from orchestrator.chart.tools import ValidateOptions, parse_manifests

    docs = parse_manifests(render_chart(ValidateOptions(set_values={})))
    backend = next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"].endswith("-backend"))
    names = {
        e["valueFrom"]["secretKeyRef"]["name"]
        for e in backend["spec"]["template"]["spec"]["containers"][0]["env"]
        if "valueFrom" in e
    }
    assert names == {"todo-app-secrets"}
    assert not [d for d in docs if d["kind"] == "Secret"]


def _objects(node: object, path: str = "#") -> list[tuple[str, dict]]:
    found: list[tuple[str, dict]] = []
    if isinstance(node, dict):
        if node.get("type") == "object" and "properties" in node:
            found.append((path, node))
        for key, value in node.items():
            found += _objects(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += _objects(value, f"{path}/{i}")
    return found


def test_every_object_in_the_schema_is_closed() -> None:
    objects = _objects(SCHEMA)
    assert len(objects) > 20
    open_ones = [path for path, node in objects if node.get("additionalProperties") is not False]
    assert open_ones == []


# Keys that only group documented children, and mappings documented as one value.
GROUPS = {
    "namespace",
    "secrets",
    "config",
    "podSecurity",
    "backend",
    "frontend",
    "image",
    "service",
    "probes",
    "ingress",
    "tls",
    "networkPolicy",
    "rollout",
    "database",
    "storage",
}
DOCUMENTED_AS_A_WHOLE = {"resources", "liveness", "readiness"}


def test_every_value_is_documented_with_a_comment_starting_with_its_name() -> None:
    lines = (CHART / "values.yaml").read_text().splitlines()
    stack: list[tuple[int, str]] = []
    undocumented: list[str] = []
    checked: list[str] = []
    for i, line in enumerate(lines):
        match = re.match(r"^(\s*)([A-Za-z][A-Za-z0-9]*):", line)
        if not match or line.lstrip().startswith("#"):
            continue
        indent, key = len(match.group(1)), match.group(2)
        while stack and stack[-1][0] >= indent:
            stack.pop()
        dotted = ".".join([k for _, k in stack] + [key])
        stack.append((indent, key))
        parents = dotted.split(".")[:-1]
        if key in GROUPS or any(p in DOCUMENTED_AS_A_WHOLE for p in parents):
            continue
        comments = []
        j = i - 1
        while j >= 0 and lines[j].strip().startswith("#"):
            comments.insert(0, lines[j].strip())
            j -= 1
        if not any(c.startswith(f"# {dotted} ") for c in comments[:1]):
            undocumented.append(dotted)
        checked.append(dotted)
    assert len(checked) > 30, checked
    assert undocumented == []


def test_values_file_holds_no_secret() -> None:
    text = (CHART / "values.yaml").read_text()
    assert re.search(r"^\s*existingSecret: \"\"$", text, re.M)
    for key in ("COHERE_API_KEY:", "DATABASE_URL:", "JWT_SECRET:", "password", "apiKey"):
        assert key not in text
    assert not list(Path(CHART / "templates").rglob("*secret*.yaml"))
