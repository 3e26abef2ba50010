"""`invoke status` says why a pod restarted: how its container last ended and what the probes said."""

from __future__ import annotations

from rich.console import Console

from orchestrator.commands.status import StatusReport, last_exit
from orchestrator.run.console import status_table


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
    console = Console(width=400, record=True, color_system=None)
    console.print(status_table(report.as_dict()))
    lines = [line.rstrip() for line in console.export_text().splitlines()]
    backend = next(line for line in lines if "pod/todo-app-backend-1" in line)
    assert backend.split()[1:5] == ["Current", "Ready", "2", "Ready:"], backend
    assert backend.endswith(
        "(last: backend: Error, exit code 137; Liveness probe failed: HTTP probe failed with statuscode: 404 (6 times))"
    ), backend
    frontend = next(line for line in lines if "pod/todo-app-frontend-1" in line)
    assert frontend.split()[1:4] == ["Current", "Ready", "0"] and "last:" not in frontend
