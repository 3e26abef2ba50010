"""Running the real CLI (`invoke ...`) against the fake cluster, and reading what it did."""

from __future__ import annotations

import base64
import gzip
import json
import os
import secrets
import shutil
import subprocess
import tempfile
import time
import urllib.parse
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fakecluster import FakeCluster, Timings

ROOT = Path(__file__).resolve().parents[2]
INVOKE = ROOT / ".venv" / "bin" / "invoke"
DOCKER = "/usr/bin/docker"
# Real pods: probe initial delays at 0.3 of the chart's, periods as in the chart (a 3 s liveness period
# killed a backend busy hashing passwords under its 500m CPU limit on a loaded machine), the restart
# back-off at 0.1 (1 s, 2 s, 4 s ...).
FAST = Timings(
    ready_after=0.3,
    slow_ready_after=4.0,
    crash_interval=0.5,
    flaky_delay=0.2,
    flaky_error_seconds=1.5,
    outage_seconds=3.0,
    tick=0.1,
    probe_scale=0.3,
    backoff_scale=0.1,
)

# Canary secret values, new for every test session (so a search of the git tree means something):
# shell and YAML metacharacters, a space, non-ASCII, and (JWT) a newline.
_RUN = secrets.token_hex(4)
CANARIES = {
    "COHERE_API_KEY": f"co-canary $#'\"=\\ key-ü-{_RUN}",
    # Replaced by `database_url(...)` while the e2e database runs (real pods connect to it).
    "DATABASE_URL": f"postgresql://todo:pw-canary-%24%23-{_RUN}@db.canary-host.internal:5432/todo?sslmode=require",
    "JWT_SECRET": f"jwt-canary $#'\"=\\ ñ-0123456789abcdef-{_RUN}\nsecond-line-{_RUN}",
}


DATABASE_PASSWORD = f"pw-canary-$#-{_RUN}"  # what the URL's %24%23 decodes to


def database_url(host: str, port: int) -> str:
    return f"postgresql://todo:{urllib.parse.quote(DATABASE_PASSWORD, safe='')}@{host}:{port}/todo"


def env_file_text(values: Mapping[str, str]) -> str:
    """Double-quoted lines: backslash, quote and newline escaped as the env-file format says."""
    lines = []
    for key, value in values.items():
        encoded = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        lines.append(f'{key}="{encoded}"')
    return "\n".join(lines) + "\n"


def write_env(path: Path, values: Mapping[str, str] | None = None) -> Path:
    path.write_text(env_file_text(values or CANARIES), encoding="utf-8")
    path.chmod(0o600)
    return path


def forms(value: str) -> set[str]:
    """The ways a value can leak: raw, base64, URL-encoded, JSON-escaped."""
    raw = value.encode()
    return {
        value,
        base64.b64encode(raw).decode(),
        urllib.parse.quote(value, safe=""),
        urllib.parse.quote_plus(value),
        json.dumps(value)[1:-1],
    }


def leaks(text: str, values: Iterable[str] = CANARIES.values()) -> list[str]:
    """Which canary forms occur in `text` (empty list: none)."""
    found = []
    for value in values:
        for form in forms(value):
            if form and form in text:
                found.append(form[:12] + "...")
    return found


@dataclass
class CliRun:
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str

    @property
    def events(self) -> list[dict[str, Any]]:
        out = []
        for line in self.stdout.splitlines():
            line = line.strip()
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError:
                    pass
        return out

    def named(self, name: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("event") == name]

    @property
    def finished(self) -> dict[str, Any]:
        done = self.named("run.finished")
        assert done, f"no run.finished event\nstdout:\n{self.stdout[-3000:]}\nstderr:\n{self.stderr[-3000:]}"
        return done[-1]

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def explain(self) -> str:
        return f"{' '.join(self.argv)} -> {self.returncode}\nstdout:\n{self.stdout[-4000:]}\nstderr:\n{self.stderr[-4000:]}"


def _argv_env(
    cluster: FakeCluster,
    args: tuple[str, ...],
    env_file: Path | None,
    json_lines: bool,
    extra_env: Mapping[str, str] | None,
) -> tuple[list[str], dict[str, str]]:
    argv = [str(INVOKE), *args]
    if json_lines:
        argv.append("--json")
    if env_file is not None:
        argv += ["--env-file", str(env_file)]
    env = {**cluster.env, **(extra_env or {})}
    for key in CANARIES:  # the env file is the only source of secrets in these tests
        env.pop(key, None)
    return argv, env


def invoke(
    cluster: FakeCluster,
    *args: str,
    env_file: Path | None = None,
    json_lines: bool = True,
    timeout: float = 900,
    extra_env: Mapping[str, str] | None = None,
    root: Path = ROOT,
    cwd: Path | None = None,
) -> CliRun:
    """`invoke ARGS` in `root` (a copy of the repository when a test edits the chart), or from `cwd`
    (e.g. a directory without a `.env`) with `root` as invoke's search root."""
    argv, env = _argv_env(cluster, args, env_file, json_lines, extra_env)
    if cwd is not None:
        argv[1:1] = ["--search-root", str(root)]
    proc = subprocess.run(
        argv, cwd=cwd or root, env=env, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
    )
    return CliRun(argv, proc.returncode, proc.stdout, proc.stderr)


class Background:
    """The CLI running in the background, so a test can act on the cluster or the process meanwhile."""

    def __init__(
        self,
        cluster: FakeCluster,
        *args: str,
        env_file: Path | None = None,
        json_lines: bool = True,
        extra_env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        root: Path = ROOT,
    ) -> None:
        self.argv, env = _argv_env(cluster, args, env_file, json_lines, extra_env)
        if cwd is not None:
            self.argv[1:1] = ["--search-root", str(root)]
        self.out = tempfile.TemporaryFile("w+")
        self.err = tempfile.TemporaryFile("w+")
        # Its own process group, as a shell gives a foreground job: a test can signal the whole
        # group (what a terminal's Ctrl-C does) without signalling pytest.
        self.proc = subprocess.Popen(
            self.argv,
            cwd=cwd or root,
            env=env,
            stdout=self.out,
            stderr=self.err,
            stdin=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )

    def stdout_so_far(self) -> str:
        self.out.flush()
        self.out.seek(0)
        return self.out.read()

    def wait_for_event(self, name: str, timeout: float = 600) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.stdout_so_far().splitlines():
                if line.startswith("{") and f'"{name}"' in line:
                    event = json.loads(line)
                    if event.get("event") == name or event.get("phase") == name:
                        return event
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"no {name} event\n{self.finish().explain()}")

    def finish(self, timeout: float = 900) -> CliRun:
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.err.seek(0)
        return CliRun(self.argv, self.proc.returncode, self.stdout_so_far(), self.err.read())


CHECKOUT_PARTS = ("app", "charts", "docker", "orchestrator", "tasks.py", "pyproject.toml")
CHECKOUT_IGNORE = shutil.ignore_patterns("node_modules", ".next", "__pycache__", ".pytest_cache", "*.egg-info")


def checkout_copy(into: Path) -> Path:
    """A private copy of the project (what `invoke up` reads), so a test can edit the app's sources.

    `invoke` run with `cwd=` the copy loads its tasks.py, hence its orchestrator, chart and app.
    """
    repo = into / "checkout"
    repo.mkdir()
    for part in CHECKOUT_PARTS:
        source = ROOT / part
        if source.is_dir():
            shutil.copytree(source, repo / part, ignore=CHECKOUT_IGNORE, symlinks=True)
        else:
            shutil.copy2(source, repo / part)
    tools = ROOT / ".tools"
    if tools.is_dir():
        (repo / ".tools").symlink_to(tools)
    return repo


def edit_backend(checkout: Path, note: str) -> None:
    """A change to a backend source file (a comment): the backend image's content, hence its tag, changes."""
    main = checkout / "app" / "backend" / "todo_api" / "main.py"
    main.write_text(main.read_text(encoding="utf-8") + f"\n# {note}\n", encoding="utf-8")


def backend_ref(root: Path) -> str:
    """The backend's content-tagged ref in the project at `root`, as `invoke up` computes it."""
    from orchestrator.images.build import connect, default_specs, plan

    spec = next(s for s in default_specs(root) if s.name == "todo-backend")
    return plan(spec, connect()).ref


@contextmanager
def unbuilt_backend(into: Path) -> Iterator[tuple[Path, str]]:
    """A private copy of the project whose backend has a tag no image has yet (one comment added),
    so `invoke up` there must build it, from the layer cache. The shared images are left alone:
    tests in other processes deploy them meanwhile. Afterwards the copy's tag goes (its own, so no
    other test uses it; left in place if a container still does)."""
    checkout = checkout_copy(into)
    edit_backend(checkout, f"unbuilt {uuid.uuid4().hex}")
    ref = backend_ref(checkout)
    try:
        yield checkout, ref
    finally:
        subprocess.run([DOCKER, "rmi", ref], capture_output=True, check=False, timeout=300)


def kubectl(cluster: FakeCluster, *args: str, manifest: Mapping[str, Any] | None = None) -> str:
    """`kubectl ARGS` against the cluster (`-f -` reads `manifest`); its stdout. A failure fails the test."""
    done = subprocess.run(
        ["kubectl", *args],
        input=None if manifest is None else json.dumps(manifest),
        text=True,
        env=cluster.env,
        check=True,
        capture_output=True,
    )
    return done.stdout


def helm_release_records(cluster: FakeCluster, namespace: str) -> list[str]:
    """The decoded helm release records (JSON text) stored as Secrets `sh.helm.release.v1.*`."""
    out = []
    for secret in cluster.objects("Secret", namespace):
        if secret.get("type") != "helm.sh/release.v1":
            continue
        blob = base64.b64decode(base64.b64decode(secret["data"]["release"]))
        if blob[:2] == b"\x1f\x8b":
            blob = gzip.decompress(blob)
        out.append(blob.decode("utf-8", "replace"))
    return out


def app_secrets(cluster: FakeCluster, namespace: str, release: str = "todo-app") -> list[dict[str, Any]]:
    prefix = f"{release}-secrets-"
    return [s for s in cluster.objects("Secret", namespace) if s["metadata"]["name"].startswith(prefix)]


def decoded(secret: Mapping[str, Any]) -> dict[str, str]:
    return {k: base64.b64decode(v).decode("utf-8") for k, v in (secret.get("data") or {}).items()}


def pod_uids(cluster: FakeCluster, namespace: str) -> set[str]:
    return {p["metadata"]["uid"] for p in cluster.objects("Pod", namespace)}


def deployment_images(cluster: FakeCluster, namespace: str) -> dict[str, list[str]]:
    return {
        d["metadata"]["name"]: [c["image"] for c in d["spec"]["template"]["spec"]["containers"]]
        for d in cluster.objects("Deployment", namespace)
    }


def docker_available() -> bool:
    return subprocess.run(["/usr/bin/docker", "info"], capture_output=True, timeout=30).returncode == 0


def environ_without_secrets() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in CANARIES}


# --- real pods --------------------------------------------------------------------------------------


def running_container(cluster: FakeCluster, namespace: str, component: str) -> dict[str, Any]:
    """`docker inspect` of the container the node agent runs for the component's (only) pod."""
    pods = [
        p
        for p in cluster.objects("Pod", namespace)
        if p["metadata"].get("labels", {}).get("app.kubernetes.io/component") == component
    ]
    assert len(pods) == 1, [p["metadata"]["name"] for p in pods]
    status = pods[0]["status"]["containerStatuses"][0]
    docker_id = status["containerID"].removeprefix("docker://")
    out = subprocess.run(["/usr/bin/docker", "inspect", docker_id], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)[0]


def http(
    method: str, url: str, body: Mapping[str, Any] | None = None, token: str | None = None, timeout: float = 15
) -> tuple[int, Any]:
    """One JSON request; (status, decoded body)."""
    import urllib.error
    import urllib.request

    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
            status = response.status
    except urllib.error.HTTPError as err:
        raw, status = err.read(), err.code
    try:
        return status, json.loads(raw or b"null")
    except ValueError:
        return status, raw.decode("utf-8", "replace")
