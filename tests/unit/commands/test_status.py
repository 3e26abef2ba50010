"""`invoke status` says why a pod restarted: how its container last ended and what the probes said."""

from __future__ import annotations

from orchestrator.commands.status import StatusReport, last_exit


def test_last_exit_reads_the_last_termination() -> None:
    pod = {
        "status": {
            "containerStatuses": [
                {
                    "name": "backend",
                    "restartCount": 2,
                    "lastState": {"terminated": {"reason": "Error", "exitCode": 137}},
                }
            ]
        }
    }
    assert last_exit(pod) == "backend: Error, exit code 137"
    assert last_exit({"status": {"containerStatuses": [{"name": "backend", "lastState": {}}]}}) == ""


def test_status_line_shows_restarts_and_why() -> None:
    report = StatusReport("todo-app", "todo-app")
    report.pods.append(
        {
            "name": "todo-app-backend-1",
            "status": "Current",
            "reason": "Ready",
            "message": "Ready: 1/1",
            "restarts": 2,
            "last_exit": "backend: Error, exit code 137",
            "probe_failures": ["Liveness probe failed: HTTP probe failed with statuscode: 404 (6 times)"],
        }
    )
    report.pods.append(
        {"name": "todo-app-frontend-1", "status": "Current", "reason": "Ready", "message": "Ready: 1/1", "restarts": 0}
    )
    lines = report.lines()
    assert (
        "  pod/todo-app-backend-1: Current Ready (Ready: 1/1) restarts 2 (last: backend: Error, exit code 137; "
        "Liveness probe failed: HTTP probe failed with statuscode: 404 (6 times))"
    ) in lines
    assert "  pod/todo-app-frontend-1: Current Ready (Ready: 1/1) restarts 0" in lines
