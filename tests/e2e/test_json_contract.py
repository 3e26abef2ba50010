"""The `--json` contract of every task, through the real CLI and the fake cluster: every stdout line
is one JSON object documented in orchestrator/run/events.schema.json, and the last one is
`run.finished` with the exit code the process ended with. Flags and errors follow one rule in every
task (a fractional `--budget-mb`, a bad number, a Kubernetes 5xx that outlasts the retries)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from fakecluster import FakeCluster
from tests.e2e.harness import CliRun, invoke

pytestmark = [pytest.mark.e2e, pytest.mark.docker]

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "orchestrator" / "run" / "events.schema.json"


def validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def assert_contract(run: CliRun, schema: Draft202012Validator) -> list[dict[str, Any]]:
    """Every stdout line valid against its event's definition; run.finished last, once, with the exit code."""
    defs = schema.schema["$defs"]
    events = []
    for number, line in enumerate(run.stdout.splitlines(), start=1):
        record = json.loads(line)  # a line that is not JSON fails here
        assert record.get("event") in defs, f"line {number}: undocumented event {record.get('event')!r}"
        errors = [e.message for e in Draft202012Validator(defs[record["event"]]).iter_errors(record)]
        assert not errors, f"line {number} ({record['event']}): {errors}\n{line[:500]}"
        assert not list(schema.iter_errors(record)), f"line {number}: {line[:300]}"
        events.append(record)
    assert events, run.explain()
    finished = [e for e in events if e["event"] == "run.finished"]
    assert len(finished) == 1 and events[-1] is finished[0], run.explain()
    assert finished[0]["exit_code"] == run.returncode, run.explain()
    return events


def test_the_schema_lists_every_definition_once() -> None:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    refs = [entry["$ref"].rsplit("/", 1)[1] for entry in schema["oneOf"]]
    assert sorted(refs) == sorted(schema["$defs"]) and len(set(refs)) == len(refs)
    for name, definition in schema["$defs"].items():
        assert definition["properties"]["event"] == {"const": name} and definition["description"]


def test_every_task_speaks_the_documented_json(cluster: FakeCluster, env_file: Path, tmp_path: Path) -> None:
    schema = validator()
    seen: set[str] = set()

    def check(*args: str, code: int | None = 0, env: Path | None = env_file) -> list[dict[str, Any]]:
        run = invoke(cluster, *args, env_file=env)
        if code is not None:
            assert run.returncode == code, run.explain()
        events = assert_contract(run, schema)
        seen.update(e["event"] for e in events)
        return events

    up = check("up")
    assert [e for e in up if e["event"] == "up.result"][0]["url"]
    again = check("up")
    assert {e["event"] for e in again} >= {"image.skipped", "secret.unchanged", "helm.skipped"}
    report = [e for e in check("status") if e["event"] == "status.report"][0]
    assert report["release_status"] == "deployed" and report["workloads"]
    check("logs", "backend", "--tail", "5")
    check("rotate-secrets", "--generate", "JWT_SECRET")
    check("up", "--timeout", "soon", code=2)  # a bad flag is reported inside the frame
    check("down")
    check("down")
    doctor = check("doctor", code=None)
    assert [e for e in doctor if e["event"] == "doctor.check"]
    check("build")
    over = check("build", "--budget-mb", "250.5", code=4)  # a fraction works as in `up`
    assert "250.5 MB" in over[-1]["error"]
    check("build", "--budget-mb", "many", code=2, env=None)
    check("validate", env=None)
    assert {
        "phase.started",
        "up.result",
        "status.report",
        "logs.line",
        "rotate.result",
        "down.result",
        "doctor.check",
        "image.report",
        "validate.check",
        "run.finished",
    } <= seen


def test_a_kubernetes_5xx_that_outlasts_the_retries_is_exit_3_in_every_task(
    cluster: FakeCluster, env_file: Path
) -> None:
    assert invoke(cluster, "up", env_file=env_file).returncode == 0
    cluster.outage(120)  # 503 for a minute, then refused connections
    schema = validator()
    for args in (("status", "--no-health"), ("logs", "backend"), ("down",)):
        run = invoke(cluster, *args, env_file=env_file)
        assert run.returncode == 3, run.explain()
        assert_contract(run, schema)
        assert "fix:" in run.stderr and "Traceback" not in run.output
