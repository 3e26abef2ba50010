"""The `invoke validate` runner: scanners on Dockerfiles, skip files, failures as InputError (exit 2)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from orchestrator.chart.tools import (
    CHECKOV_CONFIG,
    HADOLINT_CONFIG,
    CheckResult,
    Problem,
    Report,
    Status,
    ValidateOptions,
    check_hadolint,
    options_with_values,
    require_clean,
    run_checkov,
)
from orchestrator.errors import ExitCode, InputError
from orchestrator.paths import ROOT

GOOD_DOCKERFILE = """\
FROM python:3.11-slim
WORKDIR /app
COPY app.py /app/app.py
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s CMD ["python3", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health')"]
CMD ["python3", "/app/app.py"]
"""
NO_HEALTHCHECK = "\n".join(line for line in GOOD_DOCKERFILE.splitlines() if not line.startswith("HEALTHCHECK")) + "\n"


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_hadolint_passes_a_good_dockerfile(tmp_path: Path) -> None:
    result = check_hadolint(ValidateOptions(), [_write(tmp_path, "backend.Dockerfile", GOOD_DOCKERFILE)])
    assert result.status is Status.OK, result.lines()


def test_hadolint_treats_a_missing_healthcheck_as_an_error(tmp_path: Path) -> None:
    result = check_hadolint(ValidateOptions(), [_write(tmp_path, "backend.Dockerfile", NO_HEALTHCHECK)])
    assert result.status is Status.PROBLEMS
    assert [(p.rule, p.message.split(":")[0]) for p in result.problems] == [("DL3057", "error")]


def test_hadolint_without_dockerfiles_is_skipped_not_passed() -> None:
    assert check_hadolint(ValidateOptions(), []).status is Status.SKIPPED


def test_checkov_scans_manifests_and_dockerfiles_in_one_run(tmp_path: Path, default_manifests: list[dict]) -> None:
    manifests = _write(tmp_path, "rendered.yaml", yaml.safe_dump_all(default_manifests))
    good = _write(tmp_path, "backend.Dockerfile", GOOD_DOCKERFILE)
    bad = _write(tmp_path, "frontend.Dockerfile", NO_HEALTHCHECK.replace("USER 10001:10001\n", ""))
    results = {r.name: r for r in run_checkov(ValidateOptions(), manifests, [good, bad])}
    assert results["checkov-manifests"].status is Status.OK, results["checkov-manifests"].lines()
    docker = results["checkov-dockerfiles"]
    assert docker.status is Status.PROBLEMS
    assert {p.rule for p in docker.problems} == {"CKV_DOCKER_2", "CKV_DOCKER_3"}
    assert all("frontend.Dockerfile" in p.resource for p in docker.problems)


def test_checkov_reports_a_broken_manifest(tmp_path: Path, default_manifests: list[dict]) -> None:
    import copy

    docs = copy.deepcopy(default_manifests)
    for doc in docs:
        if doc["kind"] == "Deployment":
            doc["spec"]["template"]["spec"]["containers"][0]["securityContext"]["privileged"] = True
    manifests = _write(tmp_path, "rendered.yaml", yaml.safe_dump_all(docs))
    [result] = run_checkov(ValidateOptions(), manifests, [])
    assert result.status is Status.PROBLEMS
    assert "CKV_K8S_16" in {p.rule for p in result.problems}


@pytest.mark.parametrize(
    ("dockerfile", "expected"),
    [
        ("FROM python:3.11-slim\n", []),
        ("ARG BASE=python:3.11-slim\nFROM ${BASE} AS deps\nFROM deps\nFROM scratch\n", []),
        ("FROM registry.local:5000/node@sha256:" + "a" * 64 + "\n", []),
        ("FROM python\n", [("IMG003", "x.Dockerfile:1")]),
        ("FROM python:latest AS base\n", [("IMG003", "x.Dockerfile:1")]),
        ("ARG BASE=node\n\nFROM $BASE\n", [("IMG003", "x.Dockerfile:3")]),
        ("ARG BASE\nFROM ${BASE:-node:22-slim}\nFROM ${BASE}\n", [("IMG003", "x.Dockerfile:3")]),
        ("FROM python:3.11-slim\nARG BASE=node\nFROM ${BASE}\n", [("IMG003", "x.Dockerfile:3")]),
    ],
)
def test_base_images_resolve_arg_defaults(dockerfile: str, expected: list[tuple[str, str]]) -> None:
    from orchestrator.chart.tools import base_image_problems

    assert [(p.rule, p.resource) for p in base_image_problems(dockerfile, "x.Dockerfile")] == expected


def test_the_project_dockerfiles_pass_the_base_image_rule() -> None:
    from orchestrator.chart.tools import check_base_images, find_dockerfiles

    dockerfiles = find_dockerfiles()
    result = check_base_images(dockerfiles)
    assert result.status is (Status.OK if dockerfiles else Status.SKIPPED), result.lines()


def _skips_with_reasons(path: Path, key: str) -> list[tuple[str, str]]:
    lines = path.read_text().splitlines()
    out = []
    inside = False
    for i, line in enumerate(lines):
        if line.startswith(f"{key}:"):
            inside = True
            continue
        if inside and line.strip().startswith("- "):
            reason = lines[i - 1].strip() if i else ""
            out.append((line.strip()[2:].split()[0], reason))
        elif inside and line and not line.startswith(" "):
            inside = False
    return out


def test_every_checkov_skip_has_its_reason_above_it() -> None:
    skips = _skips_with_reasons(CHECKOV_CONFIG, "skip-check")
    assert {s for s, _ in skips} == set(yaml.safe_load(CHECKOV_CONFIG.read_text())["skip-check"])
    for check_id, reason in skips:
        assert reason.startswith("#") and len(reason) > 30, f"{check_id} has no reason"


def test_hadolint_config_makes_healthcheck_an_error() -> None:
    config = yaml.safe_load(HADOLINT_CONFIG.read_text())
    assert "DL3057" in config["override"]["error"]
    for rule in config.get("ignored") or []:
        reasons = [r for r in _skips_with_reasons(HADOLINT_CONFIG, "ignored") if r[0] == rule]
        assert reasons and reasons[0][1].startswith("#"), f"{rule} has no reason"


def test_require_clean_raises_input_error_naming_failed_checks() -> None:
    ok = CheckResult("policy", Status.OK, 0.1)
    bad = CheckResult("hadolint", Status.PROBLEMS, 0.1, "", (Problem("DL3057", "x.Dockerfile:1", "error: missing"),))
    require_clean(Report((ok, CheckResult("hadolint", Status.SKIPPED, 0.0)), 0.2))
    with pytest.raises(InputError) as caught:
        require_clean(Report((ok, bad), 0.2))
    assert caught.value.exit_code is ExitCode.BAD_INPUT
    assert "hadolint" in caught.value.message and "policy" not in caught.value.message
    assert "    DL3057 x.Dockerfile:1: error: missing" in Report((ok, bad), 0.2).lines()


def test_a_missing_tool_is_an_environment_problem(tmp_path: Path) -> None:
    from orchestrator.errors import EnvironmentProblem

    opts = ValidateOptions(hadolint=str(tmp_path / "no-such-hadolint"))
    result = check_hadolint(opts, [_write(tmp_path, "backend.Dockerfile", GOOD_DOCKERFILE)])
    assert result.status is Status.PROBLEMS and result.problems[0].rule == "TOOL"
    with pytest.raises(EnvironmentProblem) as caught:
        require_clean(Report((result,), 0.1))
    assert caught.value.exit_code is ExitCode.ENVIRONMENT


def test_set_values_are_parsed_strictly() -> None:
    opts = options_with_values(["backend.replicas=3", "config.featureFlags=a,b"])
    assert opts.set_values["backend.replicas"] == "3"
    assert opts.set_values["secrets.existingSecret"] == "todo-app-secrets"
    with pytest.raises(InputError):
        options_with_values(["backend.replicas"])


def _invoke(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PATH"] = f"{ROOT / '.tools' / 'bin'}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    return subprocess.run(
        [str(Path(sys.executable).parent / "invoke"), "validate", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_invoke_validate_exits_2_on_a_bad_value() -> None:
    proc = _invoke("--set", "backend.replicas=abc")
    assert proc.returncode == int(ExitCode.BAD_INPUT)
    assert "/backend/replicas" in proc.stderr and "want integer" in proc.stderr


def test_invoke_validate_prints_one_line_per_check() -> None:
    proc = _invoke("--json")
    import json

    events = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    checks = {e["check"]: e for e in events if e["event"] == "validate.check"}
    assert {
        "render",
        "helm-lint",
        "kubernetes-validate",
        "policy",
        "checkov-manifests",
        "checkov-dockerfiles",
        "hadolint",
        "base-images",
    } <= set(checks)
    for name in ("render", "helm-lint", "kubernetes-validate", "policy", "checkov-manifests"):
        assert checks[name]["status"] == "ok", checks[name]
    [finished] = [e for e in events if e["event"] == "validate.finished"]
    failed = [name for name, e in checks.items() if e["status"] == "problems"]
    assert finished["failed"] == failed
    assert proc.returncode == (0 if not failed else int(ExitCode.BAD_INPUT)), proc.stderr
