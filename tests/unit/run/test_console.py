"""What a user sees: the human renderer driven by event sequences, on a fake terminal (rich's
`Console(force_terminal=True, record=True)`) and on a pipe (plain lines, no ANSI codes)."""

from __future__ import annotations

import io
import itertools
import re
import threading
import time
from collections.abc import Iterable
from typing import Any

import pytest
from rich.console import Console

from orchestrator.errors import DeployRolledBack, ExitCode, Interrupted, OrchestratorError, exit_code_of
from orchestrator.run.console import ConsoleRenderer, image_line, policy_lines, step_text
from orchestrator.run.events import Reporter
from orchestrator.run.frame import describe_failure, run_task

BACKEND = "todo-backend:a950dce9d8bf"
FRONTEND = "todo-frontend:0c1d2e3f4a5b"
RULES = ("healthcheck", "non-root-user", "no-secret-env", "no-secret-files", "canary-scan")


def terminal() -> Console:
    return Console(force_terminal=True, record=True, width=110, file=io.StringIO(), color_system="truecolor")


def pipe() -> tuple[Console, io.StringIO]:
    stream = io.StringIO()
    return Console(file=stream, width=110), stream


def feed(renderer: ConsoleRenderer, events: Iterable[tuple[str, dict[str, Any]]]) -> None:
    ts = itertools.count(1_700_000_000)
    for name, fields in events:
        renderer({"event": name, "ts": next(ts), **fields})
    renderer.close()


def phase(name: str, seconds: float, *inner: tuple[str, dict[str, Any]], summary: str = "") -> list:
    return [
        ("phase.started", {"phase": name}),
        *inner,
        ("phase.finished", {"phase": name, "seconds": seconds, "summary": summary}),
    ]


def policy(image: str, ref: str, failing: str | None = None) -> list:
    return [
        (
            "image.policy",
            {
                "image": image,
                "ref": ref,
                "rule": rule,
                "status": "FAIL" if rule == failing else "PASS",
                "detail": "JWT_SECRET's value found in /app/settings.txt" if rule == failing else "ok",
            },
        )
        for rule in RULES
    ]


def up_events(cold: bool) -> list:
    frontend = (
        (
            "image.built",
            {"image": "todo-frontend", "ref": FRONTEND, "size": 240_800_000, "above_base": 1, "seconds": 71.2},
        )
        if cold
        else (
            "image.skipped",
            {"image": "todo-frontend", "ref": FRONTEND, "reason": "tag exists (same content)", "size": 240_800_000},
        )
    )
    release = (
        ("helm.upgraded", {"release": "todo-app", "action": "install", "revision": 1, "fingerprint": "f"})
        if cold
        else ("helm.skipped", {"release": "todo-app", "revision": 1, "fingerprint": "f"})
    )
    secret = "secret.written" if cold else "secret.unchanged"
    load = (
        ("image.loaded", {"image": FRONTEND, "target": "minikube"})
        if cold
        else ("image.load_skipped", {"image": FRONTEND, "target": "minikube"})
    )
    return [
        *phase("input", 0.01, summary="release todo-app in namespace todo-app"),
        *phase("cluster", 0.2, summary="context minikube"),
        *phase(
            "images",
            71.5,
            (
                "image.skipped",
                {"image": "todo-backend", "ref": BACKEND, "reason": "tag exists (same content)", "size": 180_100_000},
            ),
            *(
                [
                    ("image.building", {"image": "todo-frontend", "ref": FRONTEND, "base": "node:22-slim"}),
                    ("image.step", {"image": "todo-frontend", "step": "7/12", "instruction": "RUN npm ci"}),
                ]
                if cold
                else []
            ),
            frontend,
            ("log", {"message": "total: 420.9 MB of 600.0 MB budget (uncompressed sizes)"}),
            *policy("todo-backend", BACKEND),
            *policy("todo-frontend", FRONTEND),
        ),
        *phase("load", 3.1, ("image.load_skipped", {"image": BACKEND, "target": "minikube"}), load),
        *phase(
            "secret", 0.1, (secret, {"name": "todo-app-secrets-1a2b3c", "version": "1a2b3c", "namespace": "todo-app"})
        ),
        *phase("release", 2.0, release),
        *phase(
            "rollout",
            8.3,
            *(
                [
                    (
                        "rollout.status",
                        {
                            "resource": "deployment/todo-app-backend",
                            "status": "InProgress",
                            "reason": "ReplicaSetUpdated",
                            "message": "1 of 1 updated",
                        },
                    )
                ]
                if cold
                else []
            ),
            (
                "rollout.status",
                {"resource": "deployment/todo-app-backend", "status": "Current", "reason": "", "message": "ready"},
            ),
        ),
        *phase(
            "health", 0.4, ("health.ok", {"url": "http://192.168.49.2:30080/health", "status": 200, "seconds": 0.4})
        ),
        (
            "up.result",
            {
                "release": "todo-app",
                "namespace": "todo-app",
                "dry_run": False,
                "url": "http://192.168.49.2:30080",
                "images": {"todo-backend": BACKEND, "todo-frontend": FRONTEND},
                "secret": "todo-app-secrets-1a2b3c",
                "revision": 1,
            },
        ),
        (
            "run.finished",
            {
                "command": "up",
                "exit_code": 0,
                "phases": {
                    "input": 0.01,
                    "cluster": 0.2,
                    "images": 71.5,
                    "load": 3.1,
                    "secret": 0.1,
                    "release": 2.0,
                    "rollout": 8.3,
                    "health": 0.4,
                },
            },
        ),
    ]


def test_a_cold_up_says_what_each_phase_did_and_ends_with_a_summary() -> None:
    console = terminal()
    feed(ConsoleRenderer("up", console, live=False), up_events(cold=True))
    text = console.export_text(clear=False)
    assert "todo-backend unchanged (a950dce9d8bf), todo-frontend built in 71 s (240.8 MB)" in text
    assert "todo-backend: image policy passed (5 rules)" in text
    assert "todo-app is up: http://192.168.49.2:30080" in text
    for words in (
        "240.8 MB  built in 71 s",
        "todo-app revision 1 (install)",
        "todo-app-secrets-1a2b3c (written)",
        "built todo-frontend",
        "loaded todo-frontend",
        "rolled out revision 1",
        "images 72 s",
    ):
        assert words in text, words
    assert "=" not in text.replace("==", ""), "no key=value dumps"
    assert "\x1b[" in console.export_text(styles=True), "a terminal gets colours"


def test_a_no_op_says_so_in_a_few_lines() -> None:
    console = terminal()
    feed(ConsoleRenderer("up", console, live=False), up_events(cold=False))
    lines = [line for line in console.export_text().splitlines() if line.strip()]
    assert lines[0].startswith("✔ todo-app is up, nothing changed")
    assert "http://192.168.49.2:30080" in lines[1]
    assert len(lines) <= 4, lines


def test_builds_that_finish_in_either_order_print_the_same_lines() -> None:
    def built(image: str, ref: str, seconds: float) -> tuple[str, dict[str, Any]]:
        return ("image.built", {"image": image, "ref": ref, "size": 200_000_000, "above_base": 1, "seconds": seconds})

    texts = []
    for order in ((BACKEND, FRONTEND), (FRONTEND, BACKEND)):
        events = {BACKEND: built("todo-backend", BACKEND, 40.0), FRONTEND: built("todo-frontend", FRONTEND, 71.0)}
        policies = {BACKEND: policy("todo-backend", BACKEND), FRONTEND: policy("todo-frontend", FRONTEND)}
        console = terminal()
        feed(
            ConsoleRenderer("build", console, live=False),
            [
                *phase("images", 71.5, *(events[ref] for ref in order), *(p for ref in order for p in policies[ref])),
                ("run.finished", {"command": "build", "exit_code": 0, "phases": {"images": 71.5}}),
            ],
        )
        texts.append(console.export_text())
    assert texts[0] == texts[1]
    assert "todo-backend built in 40 s (200.0 MB), todo-frontend built in 71 s (200.0 MB)" in texts[0]
    assert texts[0].index("todo-backend: image policy") < texts[0].index("todo-frontend: image policy")


def test_not_a_terminal_gets_plain_lines_without_ansi_codes(monkeypatch: pytest.MonkeyPatch) -> None:
    console, stream = pipe()
    renderer = ConsoleRenderer("up", console)
    assert renderer.interactive is False
    feed(renderer, up_events(cold=True))
    out = stream.getvalue()
    assert "\x1b" not in out
    assert "building todo-frontend" in out and "todo-app is up: http://192.168.49.2:30080" in out


def test_no_color_keeps_the_layout_without_colours(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    stream = io.StringIO()
    console = Console(force_terminal=True, width=110, file=stream)
    feed(ConsoleRenderer("up", console, live=False), up_events(cold=True))
    written = stream.getvalue()
    assert "todo-app is up" in written and "\x1b[32m" not in written and "\x1b[31m" not in written


def test_the_live_area_shows_each_build_step_and_the_phase_clock() -> None:
    now = [100.0]
    console = terminal()
    renderer = ConsoleRenderer("up", console, live=False, clock=lambda: now[0])
    renderer({"event": "phase.started", "ts": 1, "phase": "images"})
    renderer({"event": "image.building", "ts": 1, "image": "todo-backend", "ref": BACKEND, "base": None})
    renderer({"event": "image.building", "ts": 1, "image": "todo-frontend", "ref": FRONTEND, "base": None})
    renderer({"event": "image.step", "ts": 1, "image": "todo-frontend", "step": "7/12", "instruction": "RUN npm ci"})
    renderer({"event": "image.step", "ts": 1, "image": "todo-backend", "step": "3/9", "instruction": "COPY . ."})
    now[0] = 134.0
    console.print(renderer)
    text = console.export_text()
    assert "images  34 s" in text
    assert "todo-frontend  [7/12] RUN npm ci  34 s" in text and "todo-backend   [3/9] COPY . .  34 s" in text
    renderer({"event": "phase.finished", "ts": 2, "phase": "images", "seconds": 34.0, "summary": ""})
    renderer({"event": "phase.started", "ts": 2, "phase": "rollout"})
    renderer(
        {
            "event": "rollout.status",
            "ts": 3,
            "resource": "pod/todo-app-backend-7d9",
            "status": "Failed",
            "reason": "CrashLoopBackOff",
            "message": "container backend keeps crashing",
            "restarts": 4,
        }
    )
    console.print(renderer)
    row = [line for line in console.export_text().splitlines() if "pod/todo-app-backend-7d9" in line][-1]
    assert "Failed" in row and "CrashLoopBackOff" in row and " 4 " in row


def test_a_wait_for_another_runs_build_shows_until_its_image_is_taken() -> None:
    now = [100.0]
    console = terminal()
    renderer = ConsoleRenderer("up", console, live=False, clock=lambda: now[0])
    renderer({"event": "phase.started", "ts": 1, "phase": "images"})
    reason = "another run on this machine is building it"
    renderer({"event": "image.waiting", "ts": 1, "image": "todo-backend", "ref": BACKEND, "reason": reason})
    now[0] = 112.0
    console.print(renderer)
    assert re.search(r"todo-backend +waiting for another run's build +12 s", console.export_text())
    skipped = {"image": "todo-backend", "ref": BACKEND, "reason": "built by another run meanwhile", "size": 1}
    renderer({"event": "image.skipped", "ts": 2, **skipped})
    console.print(renderer)
    assert "waiting for another run's build" not in console.export_text()

    plain, stream = pipe()
    feed(
        ConsoleRenderer("up", plain),
        phase(
            "images",
            12.0,
            ("image.waiting", {"image": "todo-backend", "ref": BACKEND, "reason": reason}),
            ("image.skipped", skipped),
        ),
    )
    assert f"  todo-backend: {reason}; waiting …" in stream.getvalue().splitlines()


def test_on_a_terminal_the_live_area_runs_and_is_gone_at_the_end() -> None:
    import re

    stream = io.StringIO()
    renderer = ConsoleRenderer("up", Console(force_terminal=True, file=stream, width=100))
    assert renderer.interactive
    feed(renderer, up_events(cold=True))
    assert renderer.live is None
    written = stream.getvalue()
    assert "\x1b[?25l" in written and "\x1b[?25h" in written  # the cursor hidden for the live area, then back
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", written)
    assert "todo-frontend  [7/12] RUN npm ci" in plain  # the build's live line was drawn
    assert plain.rstrip().endswith("total 86 s")


ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# rich's live area redraws by going back to its first row: a carriage return, then erase-line and
# cursor-up once per row above, then erase-line (rich/live_render.py, position_cursor).
REDRAW = re.compile(r"\r(?:\x1b\[2K\x1b\[1A)*\x1b\[2K")


def frames(written: str) -> list[list[str]]:
    """Each drawing of the live area as the terminal shows it: its rows, plain."""
    return [ANSI.sub("", chunk).splitlines() for chunk in REDRAW.split(written) if chunk.strip()]


def test_parallel_builds_show_one_live_row_each_while_both_stream_steps() -> None:
    """Two build threads stream image.step events at once: every drawing of the live area after both
    started has one row per image with its own latest step, never one image's step in the other's row."""
    stream = io.StringIO()
    renderer = ConsoleRenderer("up", Console(force_terminal=True, file=stream, width=100))
    renderer({"event": "phase.started", "ts": 1, "phase": "images"})
    renderer({"event": "image.building", "ts": 1, "image": "todo-backend", "ref": BACKEND, "base": None})
    renderer({"event": "image.building", "ts": 1, "image": "todo-frontend", "ref": FRONTEND, "base": None})
    steps = {"todo-backend": ("9", "COPY . ."), "todo-frontend": ("12", "RUN npm ci")}

    def build(image: str) -> None:
        total, instruction = steps[image]
        for number in range(1, int(total) + 1):
            renderer(
                {
                    "event": "image.step",
                    "ts": 2,
                    "image": image,
                    "step": f"{number}/{total}",
                    "instruction": instruction,
                }
            )
            time.sleep(0.002)

    threads = [threading.Thread(target=build, args=(image,)) for image in steps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert renderer.live is not None
    renderer.live.refresh()
    drawn = frames(stream.getvalue())
    renderer.close()
    both = [f for f in drawn if len(f) == 3]
    assert both, drawn[-3:]
    for frame in both:
        assert frame[0].lstrip("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏ ").startswith("images")
        assert frame[1].startswith("  todo-backend  ") and ("/9] COPY . ." in frame[1] or "starting" in frame[1])
        assert frame[2].startswith("  todo-frontend ") and ("/12] RUN npm ci" in frame[2] or "starting" in frame[2])
    assert "[9/9] COPY . ." in both[-1][1] and "[12/12] RUN npm ci" in both[-1][2]


def test_a_load_shows_which_image_goes_where_and_for_how_long() -> None:
    now = [10.0]
    console = terminal()
    renderer = ConsoleRenderer("up", console, live=False, clock=lambda: now[0])
    renderer({"event": "phase.started", "ts": 1, "phase": "load"})
    renderer({"event": "image.load_skipped", "ts": 1, "image": BACKEND, "target": "minikube"})
    renderer({"event": "image.loading", "ts": 1, "image": FRONTEND, "target": "minikube"})
    now[0] = 22.0
    console.print(renderer)
    rows = console.export_text().splitlines()
    assert rows[-1] == "  todo-frontend  loading todo-frontend:0c1d2e3f4a5b into minikube  12 s"
    assert rows[-2].endswith("load  12 s")
    renderer({"event": "image.loaded", "ts": 2, "image": FRONTEND, "target": "minikube"})
    console.print(renderer)
    assert "loading" not in console.export_text(), "the row goes when the load is done"
    pushed = "127.0.0.1:5000/team/todo-frontend:0c1d2e3f4a5b"
    renderer({"event": "image.loading", "ts": 3, "image": pushed, "source": FRONTEND, "target": "registry"})
    now[0] = 25.0
    console.print(renderer)
    assert console.export_text().splitlines()[-1] == (
        "  todo-frontend  pushing todo-frontend:0c1d2e3f4a5b to 127.0.0.1:5000/team  3.0 s"
    )


def test_on_a_pipe_a_build_or_load_line_follows_the_phase_lines_before_it() -> None:
    console, stream = pipe()
    events = up_events(cold=True)
    at = events.index(("image.loaded", {"image": FRONTEND, "target": "minikube"}))
    events.insert(at, ("image.loading", {"image": FRONTEND, "target": "minikube"}))
    feed(ConsoleRenderer("up", console), events)
    lines = stream.getvalue().splitlines()
    order = [
        next(i for i, line in enumerate(lines) if line.startswith(prefix))
        for prefix in (
            "✔ input",
            "✔ cluster",
            "  building todo-frontend …",
            "✔ images",
            "  loading todo-frontend:0c1d2e3f4a5b into minikube …",
            "✔ load",
        )
    ]
    assert order == sorted(order), lines


def test_a_failed_rollout_shows_the_table_then_message_details_and_fix_exactly() -> None:
    console = terminal()
    error = DeployRolledBack(
        "the rollout of todo-app failed: todo-app-backend CrashLoopBackOff",
        "fix the crash (logs above), then run `invoke up` again",
        details=["pod/todo-app-backend-7d9: container backend keeps crashing (4 restarts)"],
    )
    failure = describe_failure(error, exit_code_of(error))
    events = [
        *up_events(cold=True)[:-12],
        ("phase.started", {"phase": "rollout"}),
        (
            "rollout.status",
            {
                "resource": "pod/todo-app-backend-7d9",
                "status": "Failed",
                "reason": "CrashLoopBackOff",
                "message": "keeps crashing",
                "restarts": 4,
            },
        ),
        ("helm.rolled_back", {"release": "todo-app", "to_revision": None, "uninstalled": True}),
        ("phase.failed", {"phase": "rollout", "seconds": 30.0}),
        (
            "run.finished",
            {
                "command": "up",
                "exit_code": 5,
                "phases": {},
                "error": failure.message,
                "hint": failure.hint,
                "details": list(failure.details),
            },
        ),
    ]
    feed(ConsoleRenderer("up", console, live=False), events)
    text = console.export_text()
    assert "CrashLoopBackOff" in text and "✘ rollout" in text and "rolled back" in text
    assert text.rstrip().endswith(error.render())


def test_status_is_a_table() -> None:
    console = terminal()
    report = {
        "release": "todo-app",
        "namespace": "todo-app",
        "revision": 3,
        "release_status": "deployed",
        "secret": "todo-app-secrets-1a2b3c",
        "secret_version": "1a2b3c",
        "workloads": [
            {
                "name": "todo-app-backend",
                "status": "Current",
                "reason": "",
                "message": "ready",
                "image": "todo-backend:a950dce9d8bf",
            }
        ],
        "pods": [
            {"name": "todo-app-backend-7d9", "status": "Current", "reason": "", "message": "ready", "restarts": 2}
        ],
        "health": {"ok": True, "url": "http://192.168.49.2:30080/health"},
    }
    feed(
        ConsoleRenderer("status", console, live=False),
        [
            *phase("input", 0.01),
            ("status.report", report),
            ("run.finished", {"command": "status", "exit_code": 0, "phases": {"input": 0.01}}),
        ],
    )
    lines = console.export_text().splitlines()
    assert lines[0] == "todo-app in todo-app: deployed (revision 3)"
    header = next(line for line in lines if "workload" in line)
    assert header.split() == ["workload", "status", "reason", "restarts", "image", "/", "message"]
    pod = next(line for line in lines if "pod/todo-app-backend-7d9" in line)
    assert pod.split()[1:3] == ["Current", "2"]
    assert "input" not in "\n".join(lines), "read-only commands print no phase lines"


def test_doctor_is_a_checklist_with_the_fix_under_each_failed_check() -> None:
    console = terminal()
    feed(
        ConsoleRenderer("doctor", console, live=False),
        [
            ("phase.started", {"phase": "checks"}),
            ("doctor.check", {"check": "docker", "ok": True, "detail": "Docker engine 20.10 answers", "fix": ""}),
            (
                "doctor.check",
                {
                    "check": "minikube",
                    "ok": False,
                    "detail": "minikube is not installed",
                    "fix": "install minikube: https://minikube.sigs.k8s.io",
                },
            ),
            ("phase.finished", {"phase": "checks", "seconds": 1.0, "summary": "1 of 2 ok"}),
            (
                "run.finished",
                {
                    "command": "doctor",
                    "exit_code": 3,
                    "phases": {"checks": 1.0},
                    "error": "some checks failed",
                    "hint": "run the fix shown next to each failed check",
                    "details": [],
                },
            ),
        ],
    )
    lines = console.export_text().splitlines()
    assert lines[0].startswith("✔ docker") and lines[1].startswith("✘ minikube")
    assert lines[2] == "  fix: install minikube: https://minikube.sigs.k8s.io"
    assert lines[-2:] == ["some checks failed", "fix: run the fix shown next to each failed check"]


def test_pure_texts() -> None:
    assert image_line({"event": "image.skipped", "image": "b", "ref": "reg:5000/b:abc"}) == "b unchanged (abc)"
    assert step_text("7/12", "RUN   npm ci") == "[7/12] RUN npm ci"
    assert policy_lines("b", [{"rule": "x", "status": "FAIL", "detail": "why"}]) == ["b: image policy FAILED x: why"]


# --- the frame -------------------------------------------------------------------------------------


def test_one_mapping_from_errors_to_exit_codes() -> None:
    assert exit_code_of(None) is ExitCode.OK
    assert exit_code_of(DeployRolledBack("x")) is ExitCode.ROLLED_BACK
    assert exit_code_of(Interrupted()) is ExitCode.INTERRUPTED
    assert exit_code_of(KeyboardInterrupt()) is ExitCode.INTERRUPTED
    assert exit_code_of(ValueError("secret?")) is ExitCode.UNEXPECTED


def test_an_interruption_is_not_an_ordinary_failure() -> None:
    """`except OrchestratorError:` / `except Exception:` in a tolerant step must not swallow Ctrl-C."""
    assert not isinstance(Interrupted(), Exception)
    with pytest.raises(Interrupted):
        try:
            raise Interrupted()
        except (OrchestratorError, Exception):  # noqa: BLE001 - what the tolerant steps write
            pytest.fail("an interruption was caught as a failure")


@pytest.mark.parametrize(
    ("raised", "code"),
    [(None, 0), (DeployRolledBack("rolled", "again"), 5), (Interrupted(), 130), (ValueError("v"), 1)],
)
def test_the_frame_ends_every_run_with_one_run_finished(raised: BaseException | None, code: int) -> None:
    seen: list[dict[str, Any]] = []

    def body(run: Any) -> None:
        with run.clock.phase("work"):
            run.reporter.emit("log", message="working")
            if raised is not None:
                raise raised

    assert run_task("up", True, body, sink=seen.append, environ={}) == code
    assert [e["event"] for e in seen][-1] == "run.finished" and len(
        [e for e in seen if e["event"] == "run.finished"]
    ) == 1
    finished = seen[-1]
    assert finished["exit_code"] == code and "work" in finished["phases"]
    if code == 1:
        assert finished["error"].startswith("unexpected error: ValueError at ") and "v" not in finished["error"][-3:]


def test_a_failure_after_ctrl_c_is_reported_as_the_interruption() -> None:
    seen: list[dict[str, Any]] = []

    def body(run: Any) -> None:
        run.guard.requested = True  # Ctrl-C reached a child first: its step fails in its own words
        raise OrchestratorError("the app did not answer /health", "check the app")

    assert run_task("up", True, body, sink=seen.append, environ={}) == 130
    assert seen[-1]["error"] == "interrupted"


def test_reporter_close_ends_a_live_display() -> None:
    closed: list[bool] = []

    class Sink:
        def __call__(self, event: dict[str, Any]) -> None:
            pass

        def close(self) -> None:
            closed.append(True)

    Reporter(sinks=[Sink()]).close()
    assert closed == [True]
