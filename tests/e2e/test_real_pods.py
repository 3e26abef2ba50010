"""What only real pods show: the app's own failures and a chart whose wiring is broken, through the
real CLI against the fake cluster whose node runs the containers (tests/e2e/conftest.py `cluster`).

Each of these passes on a scripted node (pods turn Ready on a timer and traffic goes to a backend
started beside the fake), so each is a claim only the node agent can check.
"""

from __future__ import annotations

import re
import shutil
import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from fakecluster import FakeCluster
from tests.e2e.harness import CANARIES, ROOT, invoke, leaks, write_env

pytestmark = [pytest.mark.e2e, pytest.mark.docker]
NS = "todo-app"
COPY_IGNORE = shutil.ignore_patterns(
    ".git",
    ".venv",
    ".tools",
    "node_modules",
    ".next",
    "__pycache__",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    "bench",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def with_database(tmp_path: Path, url: str) -> Path:
    return write_env(tmp_path / "other-db.env", {**CANARIES, "DATABASE_URL": url})


def test_a_database_that_does_not_answer_keeps_the_backend_unready(
    cluster: FakeCluster, tmp_path: Path, database: str
) -> None:
    host = re.search(r"@([^:/]+):", database).group(1)  # type: ignore[union-attr]
    url = f"postgresql://todo:pw-canary-%24%23-nothing-{free_port()}@{host}:{free_port()}/todo"
    run = invoke(cluster, "up", "--timeout", "25", env_file=with_database(tmp_path, url))
    assert run.returncode == 5, run.explain()
    out = run.output
    assert "Readiness probe failed: HTTP probe failed with statuscode: 503" in out, run.explain()
    assert "database check failed" in out  # the backend container's own log line, quoted
    assert "pw-canary-%24%23-nothing" not in out and not leaks(out)


def test_a_backend_that_refuses_to_start_crash_loops_for_real(cluster: FakeCluster, tmp_path: Path) -> None:
    # The orchestrator accepts any URL with a host; the backend supports sqlite and postgresql only.
    env = with_database(tmp_path, "mysql://todo:pw-canary-mysql-1a2b@db.internal:3306/todo")
    run = invoke(cluster, "up", "--timeout", "120", env_file=env)
    assert run.returncode == 5, run.explain()
    # The container's real exit code (python -m todo_api exits 2 on invalid settings) and its own log line.
    assert "CrashLoopBackOff" in run.output and "last exit code 2" in run.output, run.explain()
    assert "refusing to start: invalid configuration (DATABASE_URL)" in run.output
    assert run.finished["phases"]["rollout"] < 90
    assert "pw-canary-mysql-1a2b" not in run.output


# --- chart edits: a copy of the repository with one change --------------------------------------


def repo_copy(tmp_path: Path, edit: Callable[[Path], None]) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(ROOT, root, ignore=COPY_IGNORE, symlinks=True)
    (root / ".tools").symlink_to(ROOT / ".tools")  # the pinned helm and kubectl
    edit(root / "charts" / "todo-app")
    return root


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def test_a_broken_liveness_path_restarts_the_backend_and_status_says_why(
    cluster: FakeCluster, env_file: Path, tmp_path: Path
) -> None:
    def edit(chart: Path) -> None:
        replace_in(
            chart / "values.yaml",
            "      path: /health\n      initialDelaySeconds: 15",
            "      path: /healthz\n      initialDelaySeconds: 40",
        )  # x0.3: 12 s to start listening

    root = repo_copy(tmp_path, edit)
    invoke(cluster, "up", "--timeout", "60", env_file=env_file, root=root)  # may pass between two restarts

    def restarted() -> bool:
        pods = [
            p
            for p in cluster.objects("Pod", NS)
            if p["metadata"].get("labels", {}).get("app.kubernetes.io/component") == "backend"
        ]
        return any(s.get("restartCount", 0) >= 1 for p in pods for s in p["status"].get("containerStatuses") or [])

    cluster.wait_for(restarted, timeout=90, interval=0.5)
    # The status table's row of the backend pod: name, status, reason, restarts, message (last: why).
    status = invoke(cluster, "status", env_file=env_file, json_lines=False, root=root, extra_env={"COLUMNS": "400"})
    line = next((line for line in status.stdout.splitlines() if "pod/todo-app-backend" in line), "")
    assert re.search(r"\s[1-9]\d*\s", line), status.explain()
    assert re.search(r"backend: (Error|Completed), exit code \d+", line), line
    assert "Liveness probe failed: HTTP probe failed with statuscode: 404" in line, line


WIRING = {
    # The backend Service sends traffic to a port nothing listens on: the frontend cannot reach it.
    "service-target-port": ("backend/service.yaml", "      targetPort: http", "      targetPort: 8080"),
    # The readiness probe asks for a path the backend does not serve: never Ready.
    "readiness-path": ("values.yaml", "      path: /ready\n", "      path: /readyz\n"),
    # The frontend is told a Service name that does not exist.
    "backend-url": ("configmap.yaml", 'printf "http://%s:%d"', 'printf "http://%s-api:%d"'),
}


@pytest.mark.parametrize("mutation", sorted(WIRING))
def test_broken_chart_wiring_fails_up(mutation: str, cluster: FakeCluster, env_file: Path, tmp_path: Path) -> None:
    template, old, new = WIRING[mutation]
    root = repo_copy(
        tmp_path,
        lambda chart: replace_in(
            chart / "templates" / template if template != "values.yaml" else chart / template, old, new
        ),
    )
    run = invoke(cluster, "up", "--timeout", "30", "--health-timeout", "15", env_file=env_file, root=root)
    assert run.returncode in (5, 6), run.explain()
    assert not run.named("health.ok")
    assert not leaks(run.output)
