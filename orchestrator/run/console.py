"""The human rendering of the event stream, with rich.

On a terminal (stderr is a TTY): a live area at the bottom with the running phase (spinner and
elapsed time), one line per image being built with its current step (`[7/12] RUN npm ci`) and
elapsed time, one line per image being loaded into the cluster (or pushed) with its elapsed time
(`minikube image load` reports no byte progress), and during the rollout a table of the Deployments
and pods (status, reason, restarts) that updates in place. Lines that stay are printed above it:
one per phase, with what it did ("todo-backend unchanged (a950dce9d8bf), todo-frontend built in
71 s (240.8 MB)"), held back until something changes, so a run that changes nothing prints its
short summary only.

Not a terminal (CI logs, pipes): the same lines, plain, no ANSI codes and no spinners. rich
honours NO_COLOR (no colours; the layout stays).

Progress goes to stderr; results (the final summary, `status`'s table, `doctor`'s checklist,
`validate`'s checks, log lines) go to stdout. A failure prints its message, details and fix
exactly as `OrchestratorError.render()` words them, and nothing else about the error.

The renderer keeps its own small model of the run (`RunView`), fed by events; the texts are pure
functions of that model and of single events, so tests drive it with a recording Console.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

Event = Mapping[str, Any]

# Commands whose output is their result (a table, a checklist, log lines): no phase lines.
QUIET_COMMANDS = frozenset({"status", "logs", "doctor", "validate"})
# Events that mean "this phase changed something in the cluster or in the image store".
CHANGES = frozenset(
    {
        "image.built",
        "image.loaded",
        "secret.written",
        "namespace.created",
        "helm.upgraded",
        "helm.rolled_back",
        "helm.uninstalled",
        "secret.deleted",
        "namespace.deleted",
        "minikube.action",
    }
)
MB = 1_000_000


# --- pure texts ----------------------------------------------------------------------------------


def megabytes(size: int | float | None) -> str:
    return "?" if size is None else f"{size / MB:.1f} MB"


def seconds_text(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{int(seconds // 60)} min {int(seconds % 60):02d} s"


def tag_of(ref: str) -> str:
    return ref.rpartition(":")[2] if ":" in ref.rpartition("/")[2] else ref


def name_tag(ref: str) -> str:
    """`registry:5000/todo-backend:abc` -> `todo-backend:abc`."""
    return ref.rpartition("/")[2]


def image_line(event: Event) -> str:
    """One image's outcome: `todo-backend unchanged (a950dce9d8bf)` or `... built in 71 s (240.8 MB)`."""
    if event["event"] == "image.skipped":
        return f"{event['image']} unchanged ({tag_of(event['ref'])})"
    return f"{event['image']} built in {seconds_text(event.get('seconds'))} ({megabytes(event.get('size'))})"


def policy_lines(image: str, results: Sequence[Event]) -> list[str]:
    """One line for an image whose rules all pass; every failure with its rule and detail otherwise."""
    failed = [r for r in results if r["status"] == "FAIL"]
    skipped = [r for r in results if r["status"] == "SKIPPED"]
    if not failed:
        note = f"; skipped: {', '.join(r['rule'] for r in skipped)}" if skipped else ""
        return [f"{image}: image policy passed ({len(results) - len(skipped)} rules{note})"]
    return [f"{image}: image policy FAILED {r['rule']}: {r.get('detail', '')}".rstrip(": ") for r in failed]


def step_text(step: str, instruction: str, width: int = 60) -> str:
    text = " ".join(instruction.split())
    if len(text) > width:
        text = text[: width - 1] + "…"
    return f"[{step}] {text}"


def loading_text(image: str, target: str) -> str:
    """What a load is doing: `loading todo-frontend:4c81 into minikube`, `pushing ... to reg:5000/team`."""
    if target == "registry":
        return f"pushing {name_tag(image)} to {image.rpartition('/')[0]}"
    return f"loading {name_tag(image)} into {target}"


def health_text(event: Event) -> str:
    return f"{event['url']} answered {event.get('status', '')} in {seconds_text(event.get('seconds'))}".replace(
        "  ", " "
    )


def phases_text(phases: Mapping[str, float]) -> str:
    shown = [f"{name} {seconds_text(sec)}" for name, sec in phases.items()]
    total = sum(phases.values())
    return " · ".join([*shown, f"total {seconds_text(total)}"])


# --- the model -----------------------------------------------------------------------------------


@dataclass
class Building:
    image: str
    started: float
    step: str = ""


@dataclass
class Loading:
    image: str  # the reference being loaded (or pushed)
    target: str
    started: float


@dataclass
class RunView:
    """What the run did so far, from its events."""

    command: str
    phase: str | None = None
    phase_started: float = 0.0
    phase_changes: int = 0
    changes: int = 0
    building: dict[str, Building] = field(default_factory=dict)
    loading: dict[str, Loading] = field(default_factory=dict)  # image ref -> the load running now
    images: dict[str, Event] = field(default_factory=dict)  # image -> image.built / image.skipped
    policy: dict[str, list[Event]] = field(default_factory=dict)
    budget: Event | None = None
    loaded: list[Event] = field(default_factory=list)
    load_skipped: list[Event] = field(default_factory=list)
    secret: Event | None = None
    release: Event | None = None  # helm.upgraded / helm.skipped
    rolled_back: Event | None = None
    rollout: dict[str, Event] = field(default_factory=dict)  # resource -> last rollout.status
    health: Event | None = None
    result: Event | None = None  # up.result, down.result, rotate.result

    def image_outcomes(self) -> list[Event]:
        """One image.built / image.skipped per image, by name: parallel builds finish in any order,
        the lines that stay do not follow it."""
        return [self.images[name] for name in sorted(self.images)]

    def changed(self) -> list[str]:
        """What this run changed, in order: built, loaded, secret, release, rollback."""
        out = [f"built {e['image']}" for e in self.image_outcomes() if e["event"] == "image.built"]
        out += [f"loaded {name_tag(e['image']).partition(':')[0]}" for e in self.loaded]
        if self.secret and self.secret["event"] == "secret.written":
            out.append("new Secret")
        if self.release and self.release["event"] == "helm.upgraded":
            out.append(f"rolled out revision {self.release['revision']}")
        if self.rolled_back:
            out.append("rolled back")
        return out


def phase_summary(view: RunView, phase: str, note: str) -> str:
    """The text after a finished phase's name: what it did, from the events (the note otherwise)."""
    if phase == "images" and view.images:
        return ", ".join(image_line(e) for e in view.image_outcomes())
    if phase == "load" and (view.loaded or view.load_skipped):
        parts = [f"{name_tag(e['image'])} loaded into {e.get('target', 'the cluster')}" for e in view.loaded]
        if view.load_skipped:
            where = view.load_skipped[0].get("target", "the cluster")
            parts.append(f"{len(view.load_skipped)} already in {where}")
        return ", ".join(parts)
    if phase == "secret" and view.secret:
        state = "written" if view.secret["event"] == "secret.written" else "unchanged"
        return f"{view.secret['name']} {state}"
    if phase == "release" and view.release:
        if view.release["event"] == "helm.skipped":
            return f"revision {view.release['revision']} unchanged"
        return f"revision {view.release['revision']} ({view.release.get('action', 'upgrade')})"
    if phase == "health" and view.health:
        return health_text(view.health)
    return note


def rollout_table(rows: Mapping[str, Event]) -> Table:
    table = Table(box=None, pad_edge=False, show_header=True, header_style="bold")
    for column in ("resource", "status", "reason", "restarts", "message"):
        table.add_column(column, overflow="fold")
    for resource, e in rows.items():
        status = str(e.get("status", ""))
        style = {"Current": "green", "Failed": "red"}.get(status, "yellow")
        restarts = e.get("restarts")
        table.add_row(
            resource,
            Text(status, style=style),
            str(e.get("reason", "")),
            "" if restarts is None else str(restarts),
            str(e.get("message", ""))[:80],
        )
    return table


def status_table(report: Event) -> RenderableType:
    head = Text.assemble(
        (f"{report['release']}", "bold"),
        f" in {report['namespace']}: {report['release_status']}",
        f" (revision {report['revision']})" if report.get("revision") else "",
    )
    rows: list[RenderableType] = [head]
    if report.get("secret"):
        rows.append(Text(f"secret {report['secret']} (version {report.get('secret_version')})"))
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("workload", "status", "reason", "restarts", "image / message"):
        table.add_column(column, overflow="fold")
    for w in report.get("workloads") or []:
        table.add_row(
            f"deployment/{w['name']}",
            _status_cell(w["status"]),
            w.get("reason", ""),
            "",
            name_tag(str(w.get("image", ""))),
        )
    for p in report.get("pods") or []:
        why = "; ".join(filter(None, [p.get("last_exit", ""), *(p.get("probe_failures") or [])]))
        table.add_row(
            f"  pod/{p['name']}",
            _status_cell(p["status"]),
            p.get("reason", ""),
            str(p.get("restarts", 0)),
            str(p.get("message", ""))[:80] + (f" (last: {why})" if why else ""),
        )
    if table.row_count:
        rows.append(table)
    else:
        rows.append(Text("no workloads"))
    health = report.get("health") or {}
    if health:
        rows.append(
            Text(
                f"health: ok {health.get('url', '')}".rstrip()
                if health.get("ok")
                else f"health: not answering ({health.get('error', '')})"
            )
        )
    return Group(*rows)


def _status_cell(status: str) -> Text:
    return Text(status, style={"Current": "green", "Failed": "red"}.get(status, "yellow"))


def doctor_lines(event: Event) -> Text:
    mark, style = ("✔", "green") if event["ok"] else ("✘", "red")
    text = Text.assemble((mark, style), " ", (f"{event['check']:<13}", "bold"), event.get("detail", ""))
    if not event["ok"] and event.get("fix"):
        text.append(f"\n  fix: {event['fix']}", style="yellow")
    return text


def validate_lines(event: Event) -> Text:
    ok = event["status"] != "problems"
    mark, style = ("✔", "green") if event["status"] == "ok" else ("–", "dim") if ok else ("✘", "red")
    text = Text.assemble(
        (mark, style),
        " ",
        (f"{event['check']:<20}", "bold"),
        f"{seconds_text(event.get('seconds'))}  {event.get('summary', '')}".rstrip(),
    )
    for p in event.get("problems") or []:
        line = f"{p['rule']} {p['resource']}: {p['message']}"
        text.append(f"\n  {line}" + (f"\n    fix: {p['fix']}" if p.get("fix") else ""))
    return text


def up_summary(view: RunView, finished: Event) -> list[Text]:
    """The lines after a successful `up`: the URL, then images, release, Secret, changes and times
    (a no-op: three lines)."""
    result = view.result or {}
    phases = finished.get("phases") or {}
    if result.get("dry_run"):
        return [Text("dry run: nothing was changed")]
    url = result.get("url") or (view.health or {}).get("url", "")
    # The URL that works now, then (when the Ingress host does not point at the cluster here) how to fix that.
    access = list(result.get("access") or [url])
    now = access[0].removeprefix("todo-app is up: ")  # the line as orchestrator.kube.health.access_lines words it
    advice = [Text(f"  {line}", style="yellow") for line in access[1:]]
    changed = view.changed()
    name = result.get("release", "the app")
    if not changed:
        images = ", ".join(name_tag(ref) for ref in (result.get("images") or {}).values())
        return [
            Text.assemble(
                ("✔ ", "green"), (f"{name} is up, nothing changed", "bold"), f" ({seconds_text(sum(phases.values()))})"
            ),
            Text(f"  {now}"),
            *advice,
            Text(f"  {images}; revision {result.get('revision')}; Secret {result.get('secret')}"),
        ]

    def row(label: str, text: str) -> Text:
        return Text.assemble(("  " + f"{label:<9}", "bold"), text)

    width = max((len(name_tag(e["ref"])) for e in view.image_outcomes()), default=0)
    lines = [Text.assemble(("✔ ", "green"), (f"{name} is up: ", "bold"), now), *advice]
    for number, e in enumerate(view.image_outcomes()):
        state = "unchanged" if e["event"] == "image.skipped" else f"built in {seconds_text(e.get('seconds'))}"
        lines.append(
            row(
                "images" if number == 0 else "",
                f"{name_tag(e['ref']):<{width}}  {megabytes(e.get('size')):>9}  {state}",
            )
        )
    release = view.release or {}
    action = "unchanged" if release.get("event") == "helm.skipped" else release.get("action", "")
    lines.append(row("release", f"{name} revision {result.get('revision')}" + (f" ({action})" if action else "")))
    secret_state = "written" if (view.secret or {}).get("event") == "secret.written" else "unchanged"
    lines.append(row("secret", f"{result.get('secret')} ({secret_state})"))
    lines.append(row("changed", " · ".join(changed)))
    lines.append(row("time", phases_text(phases)))
    return lines


# --- the renderer --------------------------------------------------------------------------------


class ConsoleRenderer:
    """A Reporter sink. `out` gets results, `err` progress and errors (the same Console in tests)."""

    def __init__(
        self,
        command: str,
        out: Console,
        err: Console | None = None,
        *,
        live: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.command = command
        self.out = out
        self.err = err or out
        self.view = RunView(command)
        self.clock = clock
        self.lock = threading.RLock()
        self.interactive = self.err.is_terminal and not self.err.is_dumb_terminal if live is None else live
        self.live: Live | None = None
        self.pending: list[RenderableType] = []
        self.spinner = Spinner("dots")

    @classmethod
    def for_streams(cls, command: str) -> ConsoleRenderer:
        return cls(
            command,
            Console(file=sys.stdout, highlight=False, soft_wrap=True),
            Console(file=sys.stderr, highlight=False, soft_wrap=True),
        )

    # -- the live area -----------------------------------------------------------------------------

    def __rich__(self) -> RenderableType:
        with self.lock:
            parts: list[RenderableType] = []
            now = self.clock()
            # One line per running build (parallel builds: one each) and per running load, each
            # kept to one terminal row: a wrapped line would break the live area's redraw.
            for b in sorted(self.view.building.values(), key=lambda b: b.image):
                parts.append(self._live_line(b.image, b.step or "starting", now - b.started))
            for load in self.view.loading.values():
                name = name_tag(load.image).partition(":")[0]
                parts.append(self._live_line(name, loading_text(load.image, load.target), now - load.started))
            if self.view.phase == "rollout" and self.view.rollout:
                parts.append(rollout_table(self.view.rollout))
            if self.view.phase:
                label = Text.assemble((self.view.phase, "bold"), f"  {seconds_text(now - self.view.phase_started)}")
                self.spinner.update(text=label)
                parts.insert(0, self.spinner)
            return Group(*parts)

    def _live_line(self, name: str, doing: str, elapsed: float) -> Text:
        line = Text.assemble("  ", (f"{name:<14}", "cyan"), f" {doing}", (f"  {seconds_text(elapsed)}", "dim"))
        line.truncate(max(self.err.width - 1, 20), overflow="ellipsis")
        return line

    def _start_live(self) -> None:
        if self.interactive and self.live is None:
            self.live = Live(
                self,
                console=self.err,
                refresh_per_second=8,
                transient=True,
                redirect_stdout=False,
                redirect_stderr=True,
            )  # other stderr lines go above it
            self.live.start()

    def close(self) -> None:
        with self.lock:
            if self.live is not None:
                self.live.stop()
                self.live = None

    # -- printing ------------------------------------------------------------------------------------

    def _progress(self, *renderables: RenderableType) -> None:
        console = self.live.console if self.live is not None else self.err
        for renderable in renderables:
            console.print(renderable, highlight=False, soft_wrap=isinstance(renderable, Text))

    def _result(self, *renderables: RenderableType) -> None:
        live = self.live is not None and (self.out is self.err or self.out.is_terminal)
        console = self.live.console if live and self.live is not None else self.out  # above the live area
        for renderable in renderables:
            console.print(renderable, highlight=False, soft_wrap=isinstance(renderable, Text))

    @property
    def quiet(self) -> bool:
        return self.command in QUIET_COMMANDS

    # -- events ----------------------------------------------------------------------------------------

    def __call__(self, event: dict[str, Any]) -> None:
        with self.lock:
            handler = getattr(self, "on_" + event["event"].replace(".", "_"), None)
            if event["event"] in CHANGES:
                self.view.phase_changes += 1
                self.view.changes += 1
            if handler is not None:
                handler(event)
            if self.live is not None:
                self.live.refresh()  # a new step or status shows at once, not at the next tick

    def on_phase_started(self, e: Event) -> None:
        self.view.phase, self.view.phase_started, self.view.phase_changes = e["phase"], self.clock(), 0
        self._start_live()

    def on_phase_finished(self, e: Event) -> None:
        phase = e["phase"]
        self.view.phase = None
        if self.quiet:
            return
        summary = phase_summary(self.view, phase, e.get("summary", ""))
        lines = [
            Text.assemble(
                ("✔ ", "green"), (f"{phase:<8}", "bold"), (f" {seconds_text(e.get('seconds')):>7}  ", "dim"), summary
            )
        ]
        if phase == "images":
            lines += self._policy_lines()
        self.pending += lines
        if self.command == "build" or self.view.changes > 0:
            self._flush()

    def _policy_lines(self) -> list[Text]:
        return [
            Text("  " + line, style="red" if "FAILED" in line else "")
            for image, results in sorted(self.view.policy.items())
            for line in policy_lines(image, results)
        ]

    def _flush(self) -> None:
        """Print the phase lines held back: a run that changes nothing shows only its summary, one
        that changes something (or fails) shows every phase, in order."""
        lines, self.pending = self.pending, []
        self._progress(*lines)

    def on_phase_failed(self, e: Event) -> None:
        phase = e["phase"]
        self.view.phase = None
        self.view.building.clear()
        self.view.loading.clear()
        self._flush()
        if phase == "rollout" and self.view.rollout and self.interactive:
            self._progress(rollout_table(self.view.rollout))  # the live table was transient
        if phase == "images":
            self._progress(*self._policy_lines())
        if not self.quiet:
            self._progress(
                Text.assemble(("✘ ", "red"), (f"{phase:<8}", "bold"), (f" {seconds_text(e.get('seconds')):>7}", "dim"))
            )

    def on_input_warning(self, e: Event) -> None:
        self._progress(Text(f"⚠ {e['message']}", style="yellow"))

    def on_log(self, e: Event) -> None:
        if self.view.phase == "images":  # the size lines: the image.report line says it
            return
        self._progress(Text(f"  {e['message']}"))

    def on_image_building(self, e: Event) -> None:
        self.view.building[e["image"]] = Building(e["image"], self.clock())
        self._flush()  # a build changes something: the phase lines held back go out first, in order
        if not self.interactive and not self.quiet:
            self._progress(Text(f"  building {e['image']} …"))

    def on_image_step(self, e: Event) -> None:
        building = self.view.building.get(e["image"])
        if building is not None:
            building.step = step_text(str(e.get("step", "")), str(e.get("instruction", "")))

    def on_image_built(self, e: Event) -> None:
        self.view.building.pop(e["image"], None)
        self.view.images[e["image"]] = e

    def on_image_waiting(self, e: Event) -> None:
        self.view.building[e["image"]] = Building(e["image"], self.clock(), "waiting for another run's build")
        self._flush()
        if not self.interactive and not self.quiet:
            self._progress(Text(f"  {e['image']}: {e['reason']}; waiting …"))

    def on_image_skipped(self, e: Event) -> None:
        self.view.building.pop(e["image"], None)  # after a wait for another run's build
        self.view.images[e["image"]] = e

    def on_image_policy(self, e: Event) -> None:
        self.view.policy.setdefault(e["image"], []).append(e)

    def on_image_budget(self, e: Event) -> None:
        self.view.budget = e

    def on_image_loading(self, e: Event) -> None:
        self.view.loading[e["image"]] = Loading(e["image"], str(e.get("target", "the cluster")), self.clock())
        self._flush()  # as for a build
        if not self.interactive and not self.quiet:
            self._progress(Text(f"  {loading_text(e['image'], str(e.get('target', 'the cluster')))} …"))

    def on_image_loaded(self, e: Event) -> None:
        self.view.loading.pop(e["image"], None)
        self.view.loaded.append(e)

    def on_image_load_skipped(self, e: Event) -> None:
        self.view.loading.pop(e["image"], None)
        self.view.load_skipped.append(e)

    def on_secret_written(self, e: Event) -> None:
        self.view.secret = e

    def on_secret_unchanged(self, e: Event) -> None:
        self.view.secret = e

    def on_helm_upgraded(self, e: Event) -> None:
        self.view.release = e

    def on_helm_skipped(self, e: Event) -> None:
        self.view.release = e

    def on_helm_rolled_back(self, e: Event) -> None:
        self.view.rolled_back = e
        self._flush()
        target = "uninstalled (first install)" if e.get("uninstalled") else f"revision {e.get('to_revision')}"
        self._progress(Text(f"↩ rolled back: {target}", style="yellow"))

    def on_helm_retry(self, e: Event) -> None:
        self._progress(
            Text(f"  helm {e['command']}: {e['reason']}; retry {e['attempt']} in {e['wait_s']} s", style="yellow")
        )

    def on_rollout_status(self, e: Event) -> None:
        self.view.rollout[e["resource"]] = e  # the live table; a failure's message lists what is not ready

    def on_health_ok(self, e: Event) -> None:
        self.view.health = e

    def on_secret_deleted(self, e: Event) -> None:
        if self.command == "down":
            return
        self._progress(Text(f"  removed old Secret {e['name']}", style="dim"))

    def on_namespace_created(self, e: Event) -> None:
        pass

    def on_lock_waiting(self, e: Event) -> None:
        self._progress(Text(f"  {e['message']} (deploy lock {e['namespace']}/{e['lease']})", style="yellow"))

    def on_lock_free(self, e: Event) -> None:
        how = "expired: its holder stopped renewing it" if e.get("expired") else "released"
        self._progress(Text(f"  the deploy lock is free ({how}) after {seconds_text(e['waited'])}", style="dim"))

    def on_lock_acquired(self, e: Event) -> None:
        if e.get("took_over_from"):
            self._progress(Text(f"  took over the deploy lock left expired by {e['took_over_from']}", style="dim"))

    def on_lock_released(self, e: Event) -> None:
        pass

    def on_lock_lost(self, e: Event) -> None:
        self._progress(Text(f"  the deploy lock {e['namespace']}/{e['lease']} was taken by another run", style="red"))

    def on_namespace_kept(self, e: Event) -> None:
        self._progress(Text(f"  kept namespace {e['namespace']}" + (f": {e['reason']}" if e.get("reason") else "")))

    def on_namespace_waiting(self, e: Event) -> None:
        self._progress(Text(f"  waiting for namespace {e['namespace']} to finish terminating", style="dim"))

    def on_plan_image(self, e: Event) -> None:
        self._result(Text(f"image    {e['image']}: {e['action']} ({name_tag(e['ref'])})"))

    def on_plan_load(self, e: Event) -> None:
        self._result(Text(f"load     {name_tag(e['image'])}: {e['action']}"))

    def on_plan_secret(self, e: Event) -> None:
        self._result(Text(f"secret   {e['name']}: {e['action']}"))

    def on_plan_release(self, e: Event) -> None:
        self._result(Text(f"release  {e['release']}: {e['action']}"))

    def on_validate_check(self, e: Event) -> None:
        self._result(validate_lines(e))

    def on_doctor_check(self, e: Event) -> None:
        self._result(doctor_lines(e))

    def on_status_report(self, e: Event) -> None:
        self._result(status_table(e))

    def on_logs_line(self, e: Event) -> None:
        self._result(Text(f"{e['pod']}: {e['line']}" if e.get("pod") else str(e["line"])))

    def on_up_result(self, e: Event) -> None:
        self.view.result = e

    def on_down_result(self, e: Event) -> None:
        removed = e.get("removed") or []
        self._result(Text("nothing to remove" if not removed else "removed: " + ", ".join(removed)))
        if e.get("kept"):
            self._result(
                Text(
                    "kept (the database's data): "
                    + ", ".join(e["kept"])
                    + "\n`invoke down --delete-data` removes them too"
                )
            )

    def on_default_used(self, e: Event) -> None:
        self._progress(Text(f"  {e['message']}", style="cyan"))

    def on_minikube_action(self, e: Event) -> None:
        self._flush()  # the phases before it first, so the lines stay in order
        self._progress(Text(f"  {e['message']}"))

    def on_minikube_ingress_waiting(self, e: Event) -> None:
        self._progress(Text(f"  {e['message']}", style="dim"))

    def on_minikube_ingress_ready(self, e: Event) -> None:
        self._progress(Text("  the ingress controller is ready", style="dim"))

    def on_volume_deleted(self, e: Event) -> None:
        self._progress(Text(f"  deleted volume claim {e['name']}", style="dim"))

    def on_image_pulled(self, e: Event) -> None:
        self._progress(Text(f"  pulled {e['image']}", style="dim"))

    def on_rotate_result(self, e: Event) -> None:
        text = f"rotated: {e['previous']} -> {e['secret']}" if e.get("rotated") else "nothing to rotate"
        self._result(Text(text))

    def on_run_finished(self, e: Event) -> None:
        self.close()
        if e.get("exit_code") != 0 or self.view.changes:
            self._flush()
        if e.get("exit_code") == 0:
            if self.command == "up":
                self._result(*up_summary(self.view, e))
            elif self.command == "build":
                self._result(Text(f"images ready ({seconds_text(sum((e.get('phases') or {}).values()))})"))
            return
        lines = [e.get("error", "failed"), *(f"  {d}" for d in e.get("details") or [])]
        text = Text("\n".join(lines), style="bold red")
        if e.get("hint"):
            text.append(f"\nfix: {e['hint']}", style="yellow")
        self.err.print(text, highlight=False, soft_wrap=True)
