"""`invoke validate`: render the chart and run every static check on it and on the Dockerfiles.

    render      helm template (pinned helm) with a sample existingSecret and version
    helm-lint   helm lint --strict
    k8s-schema  kubernetes-validate --strict, in process, for every supported Kubernetes version
    policy      orchestrator.chart.policy (the project's own rules)
    checkov     the rendered manifests and docker/*.Dockerfile, one checkov process, skips in .checkov.yaml
    hadolint    docker/*.Dockerfile, DL3057 (HEALTHCHECK) as an error, skips in .hadolint.yaml
    base-images every FROM (ARG defaults applied) names a tagged base image (IMG003)

The checks that run in child processes (helm lint, checkov, hadolint) start together, while the
in-process ones (schemas, policy) run; `run_validation` returns one `CheckResult` per check and
`require_clean` turns a report with problems into an InputError (exit 2).
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from enum import Enum
from pathlib import Path
from typing import Any

import yaml

from orchestrator.chart import policy
from orchestrator.errors import EnvironmentProblem, InputError
from orchestrator.images.context import from_lines
from orchestrator.paths import CHART_DIR as CHART
from orchestrator.paths import CHECKOV_CONFIG, DOCKER_DIR, HADOLINT_CONFIG, TOOLS_BIN
from orchestrator.run.events import Reporter
from orchestrator.settings.profiles import Profile, values_files
from orchestrator.shell import run

SUPPORTED_KUBE_VERSIONS: tuple[str, ...] = ("1.30", "1.31", "1.32", "1.33", "1.34", "1.35")
# A stand-in for what the orchestrator passes at deploy time; names only, never a secret value.
SAMPLE_VALUES: dict[str, str] = {"secrets.existingSecret": "todo-app-secrets", "secrets.version": "validate"}
TOOL_TIMEOUT = 300.0
TOOL_DIRS: tuple[Path, ...] = (TOOLS_BIN, Path(sys.executable).parent)


def tool(name: str) -> str:
    """The pinned tool (.tools/bin) or the one installed with this Python, else `name` from PATH."""
    for directory in TOOL_DIRS:
        candidate = directory / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return name


class Status(Enum):
    OK = "ok"
    PROBLEMS = "problems"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class Problem:
    rule: str
    resource: str
    message: str
    fix: str = ""

    def render(self) -> str:
        text = f"{self.rule} {self.resource}: {self.message}"
        return f"{text} (fix: {self.fix})" if self.fix else text


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: Status
    seconds: float
    summary: str = ""
    problems: tuple[Problem, ...] = ()

    @property
    def failed(self) -> bool:
        return self.status is Status.PROBLEMS

    def lines(self) -> list[str]:
        head = f"{self.name:<20} {self.status.value:<8} {self.seconds:5.1f}s"
        if self.summary:
            head += f"  {self.summary}"
        return [head] + [f"    {p.render()}" for p in self.problems]


@dataclass(frozen=True)
class ValidateOptions:
    chart: Path = CHART
    release: str = "todo-app"
    namespace: str = "todo-app"
    set_values: Mapping[str, str] = field(default_factory=lambda: dict(SAMPLE_VALUES))
    values_files: tuple[Path, ...] = ()
    kube_versions: tuple[str, ...] = SUPPORTED_KUBE_VERSIONS
    dockerfiles: tuple[Path, ...] | None = None  # None: whatever docker/*.Dockerfile exists
    checkov_config: Path = CHECKOV_CONFIG
    hadolint_config: Path = HADOLINT_CONFIG
    helm: str = field(default_factory=lambda: tool("helm"))
    checkov: str = field(default_factory=lambda: tool("checkov"))
    hadolint: str = field(default_factory=lambda: tool("hadolint"))


@dataclass(frozen=True)
class Report:
    results: tuple[CheckResult, ...]
    seconds: float

    @property
    def failed(self) -> list[CheckResult]:
        return [r for r in self.results if r.failed]

    def lines(self) -> list[str]:
        out = [line for r in self.results for line in r.lines()]
        verdict = "problems in " + ", ".join(r.name for r in self.failed) if self.failed else "all checks ok"
        out.append(f"{'validate':<20} {verdict} ({self.seconds:.1f}s)")
        return out


# ----------------------------------------------------------------------------------------------
# Rendering.


def helm_value_args(options: ValidateOptions) -> list[str]:
    args: list[str] = []
    for path in options.values_files:
        args += ["--values", str(path)]
    for key, value in options.set_values.items():
        args += ["--set", f"{key}={value}"]
    return args


def template_argv(options: ValidateOptions) -> list[str]:
    return [
        options.helm,
        "template",
        options.release,
        str(options.chart),
        "--namespace",
        options.namespace,
        *helm_value_args(options),
    ]


def parse_manifests(text: str) -> list[dict[str, Any]]:
    """The resources of a multi-document YAML stream, without empty documents."""
    return [doc for doc in yaml.safe_load_all(text) if isinstance(doc, dict)]


def render_chart(options: ValidateOptions) -> str:
    """`helm template` output; InputError (with helm's message, e.g. a schema violation) on failure."""
    result = run(template_argv(options), check=False, timeout=TOOL_TIMEOUT)
    if result.returncode != 0:
        raise InputError(
            f"helm template {options.chart.name} failed",
            "fix the values named above (values.schema.json lists every allowed key and type)",
            details=_tail(result.stderr, 20),
        )
    return result.stdout


def _tail(text: str, count: int) -> list[str]:
    return [line for line in text.strip().splitlines()[-count:] if line.strip()]


# ----------------------------------------------------------------------------------------------
# Checks. Each returns a CheckResult and never raises for a finding.


def _timed(name: str, body: Callable[[], tuple[Status, str, list[Problem]]]) -> CheckResult:
    start = time.monotonic()
    try:
        status, summary, problems = body()
    except EnvironmentProblem as err:
        status, summary, problems = Status.PROBLEMS, err.message, [Problem("TOOL", name, err.message, err.hint)]
    return CheckResult(name, status, time.monotonic() - start, summary, tuple(problems))


def check_helm_lint(options: ValidateOptions) -> CheckResult:
    def body() -> tuple[Status, str, list[Problem]]:
        argv = [options.helm, "lint", "--strict", str(options.chart), "--namespace", options.namespace]
        result = run(argv + helm_value_args(options), check=False, timeout=TOOL_TIMEOUT)
        if result.returncode == 0:
            return Status.OK, "helm lint --strict", []
        problems = [
            Problem("HELM-LINT", options.chart.name, line.strip(), "fix the chart file named in the message")
            for line in (result.stdout + "\n" + result.stderr).splitlines()
            if re.match(r"\s*(\[(ERROR|WARNING)\]|Error:|- at )", line)
        ] or [Problem("HELM-LINT", options.chart.name, f"exited with {result.returncode}", "run helm lint --strict")]
        return Status.PROBLEMS, "helm lint --strict", problems

    return _timed("helm-lint", body)


def _resource_name(doc: Mapping[str, Any]) -> str:
    return f"{doc.get('kind', '?')}/{(doc.get('metadata') or {}).get('name', '?')}"


def check_kubernetes_schemas(manifests: Sequence[Mapping[str, Any]], versions: Iterable[str]) -> CheckResult:
    """Every manifest against the strict OpenAPI schema of every version (unknown fields fail)."""

    def body() -> tuple[Status, str, list[Problem]]:
        import kubernetes_validate

        wanted = list(versions)
        failures: dict[tuple[str, str], list[str]] = {}
        for version in wanted:
            for doc in manifests:
                try:
                    kubernetes_validate.validate(dict(doc), version, strict=True)
                    continue
                except kubernetes_validate.ValidationError as exc:
                    where = ".".join(str(p) for p in exc.path) or "<root>"
                    message = f"{where}: {exc.message}"
                except kubernetes_validate.SchemaNotFoundError as exc:
                    message = exc.message
                except kubernetes_validate.VersionNotSupportedError as exc:
                    message = exc.message
                failures.setdefault((_resource_name(doc), message), []).append(version)
        problems = [
            Problem(
                "K8S-SCHEMA",
                resource,
                f"{message} (Kubernetes {', '.join(vs)})",
                "fix the field in the chart template (a typo or a field this version lacks)",
            )
            for (resource, message), vs in failures.items()
        ]
        summary = f"{len(manifests)} resources x Kubernetes {wanted[0]}..{wanted[-1]}" if wanted else "no versions"
        return (Status.PROBLEMS if problems else Status.OK), summary, problems

    return _timed("kubernetes-validate", body)


def check_policy(manifests: Sequence[Mapping[str, Any]]) -> CheckResult:
    def body() -> tuple[Status, str, list[Problem]]:
        findings = policy.check(manifests)
        problems = [Problem(f.rule, f.resource, f.message, f.fix) for f in findings]
        summary = f"{len(policy.rules())} rules"
        return (Status.PROBLEMS if problems else Status.OK), summary, problems

    return _timed("policy", body)


def _checkov_reports(stdout: str) -> list[dict[str, Any]]:
    starts = [i for i in (stdout.find("["), stdout.find("{")) if i >= 0]
    if not starts:
        return []
    data = json.loads(stdout[min(starts) :])
    return [r for r in (data if isinstance(data, list) else [data]) if isinstance(r, dict)]


def _checkov_resource(failed: Mapping[str, Any]) -> str:
    """Kubernetes findings name Kind.namespace.name; Dockerfile findings name file:first-last line."""
    file_name = Path(str(failed.get("file_path", ""))).name
    resource = str(failed.get("resource", ""))
    if failed.get("check_type") == "dockerfile" or file_name and file_name in resource:
        lines = failed.get("file_line_range") or []
        return f"{file_name}:{'-'.join(str(n) for n in lines)}" if lines else file_name
    return f"{resource} ({file_name})"


def run_checkov(
    options: ValidateOptions, manifests_file: Path | None, dockerfiles: Sequence[Path]
) -> list[CheckResult]:
    """One checkov process for both frameworks (its start-up dominates); one result per framework."""
    start = time.monotonic()
    targets: list[tuple[str, str, list[Path]]] = []
    if manifests_file is not None:
        targets.append(("checkov-manifests", "kubernetes", [manifests_file]))
    if dockerfiles:
        targets.append(("checkov-dockerfiles", "dockerfile", list(dockerfiles)))
    if not targets:
        return []
    argv = [
        options.checkov,
        "--config-file",
        str(options.checkov_config),
        "--skip-download",
        "--quiet",
        "--compact",
        "--output",
        "json",
        "--framework",
        *[t[1] for t in targets],
    ]
    for _, _, files in targets:
        for path in files:
            argv += ["--file", str(path)]
    try:
        result = run(argv, check=False, timeout=TOOL_TIMEOUT, env={"LOG_LEVEL": "ERROR"})
        reports = {r.get("check_type"): r for r in _checkov_reports(result.stdout)}
        error = None if result.returncode in (0, 1) else _tail(result.stderr, 5)
    except (EnvironmentProblem, ValueError) as exc:
        reports, error = {}, [str(getattr(exc, "message", exc))]
    seconds = time.monotonic() - start
    out: list[CheckResult] = []
    for name, framework, files in targets:
        if error is not None:
            out.append(
                CheckResult(
                    name,
                    Status.PROBLEMS,
                    seconds,
                    "checkov did not run",
                    tuple(Problem("TOOL", "checkov", line, "run checkov by hand") for line in error),
                )
            )
            continue
        report = reports.get(framework, {})
        summary = report.get("summary") or {}
        failed = (report.get("results") or {}).get("failed_checks") or []
        problems = [
            Problem(
                str(f.get("check_id")),
                _checkov_resource(f),
                str(f.get("check_name")),
                str(f.get("guideline") or "fix it, or skip it in .checkov.yaml with the reason"),
            )
            for f in failed
        ]
        if summary.get("parsing_errors"):
            problems.append(
                Problem(
                    "PARSE",
                    framework,
                    f"{summary['parsing_errors']} file(s) could not be parsed",
                    "run checkov on the file by hand",
                )
            )
        text = (
            f"passed {summary.get('passed', 0)}, failed {summary.get('failed', 0)}, skipped {summary.get('skipped', 0)}"
        )
        if not report:
            problems.append(Problem("TOOL", "checkov", f"no {framework} report in its output", "run checkov by hand"))
        out.append(
            CheckResult(
                name,
                Status.PROBLEMS if problems else Status.OK,
                seconds,
                f"{text} on {', '.join(p.name for p in files)}",
                tuple(problems),
            )
        )
    return out


def check_hadolint(options: ValidateOptions, dockerfiles: Sequence[Path]) -> CheckResult:
    def body() -> tuple[Status, str, list[Problem]]:
        if not dockerfiles:
            return Status.SKIPPED, f"no {DOCKER_DIR.name}/*.Dockerfile yet", []
        argv = [
            options.hadolint,
            "--config",
            str(options.hadolint_config),
            "--format",
            "json",
            *[str(p) for p in dockerfiles],
        ]
        result = run(argv, check=False, timeout=TOOL_TIMEOUT)
        try:
            found = json.loads(result.stdout or "[]")
        except json.JSONDecodeError:
            found = None
        if not isinstance(found, list):
            return (
                Status.PROBLEMS,
                "hadolint did not run",
                [
                    Problem("TOOL", "hadolint", line, "run hadolint by hand")
                    for line in _tail(result.stderr or result.stdout, 5)
                ],
            )
        problems = [
            Problem(
                str(f.get("code")),
                f"{Path(str(f.get('file'))).name}:{f.get('line')}",
                f"{f.get('level')}: {f.get('message')}",
                f"https://github.com/hadolint/hadolint/wiki/{f.get('code')}",
            )
            for f in found
            if isinstance(f, dict) and f.get("level") in ("error", "warning")
        ]
        failed = bool(problems) or result.returncode != 0
        summary = f"{len(dockerfiles)} Dockerfile(s), DL3057 is an error"
        return (Status.PROBLEMS if failed else Status.OK), summary, problems

    return _timed("hadolint", body)


def base_image_problems(text: str, filename: str) -> list[Problem]:
    """IMG003: every FROM resolves (ARG defaults included) to a base image with a fixed tag or a digest.

    checkov's CKV_DOCKER_7 cannot resolve `FROM ${ARG}` and is skipped in .checkov.yaml; this is
    the same rule with ARG defaults applied. Earlier build stages and `scratch` need no tag.
    """
    problems: list[Problem] = []
    for line in from_lines(text, {}):
        if not line.external:
            continue
        image = line.image
        tag, digest = policy.image_reference_tag(image)
        if not digest and (not tag or tag.lower() == "latest"):
            problems.append(
                Problem(
                    "IMG003",
                    f"{filename}:{line.number}",
                    f"base image {image or '<empty>'!r} has no fixed tag"
                    if not tag
                    else f"base image {image!r} uses latest",
                    "FROM a tagged base image (or give the ARG a tagged default), e.g. python:3.11-slim",
                )
            )
    return problems


def check_base_images(dockerfiles: Sequence[Path]) -> CheckResult:
    def body() -> tuple[Status, str, list[Problem]]:
        if not dockerfiles:
            return Status.SKIPPED, f"no {DOCKER_DIR.name}/*.Dockerfile yet", []
        problems = [p for path in dockerfiles for p in base_image_problems(path.read_text(encoding="utf-8"), path.name)]
        return (Status.PROBLEMS if problems else Status.OK), "FROM lines resolve to tagged base images", problems

    return _timed("base-images", body)


# ----------------------------------------------------------------------------------------------
# The runner.


def find_dockerfiles(docker_dir: Path = DOCKER_DIR) -> tuple[Path, ...]:
    return tuple(sorted(docker_dir.glob("*.Dockerfile"))) if docker_dir.is_dir() else ()


def run_validation(
    options: ValidateOptions | None = None, on_result: Callable[[CheckResult], None] | None = None
) -> Report:
    """Render the chart and run every check; `on_result` sees each result as it completes."""
    options = options or ValidateOptions()
    started = time.monotonic()
    dockerfiles = find_dockerfiles() if options.dockerfiles is None else options.dockerfiles
    render_start = time.monotonic()
    rendered = render_chart(options)
    manifests = parse_manifests(rendered)
    results: list[CheckResult] = [
        CheckResult(
            "render",
            Status.OK,
            time.monotonic() - render_start,
            f"{len(manifests)} resources from helm template {options.chart.name}",
        )
    ]
    if on_result:
        on_result(results[0])

    def done(result: CheckResult) -> None:
        results.append(result)
        if on_result:
            on_result(result)

    with tempfile.TemporaryDirectory(prefix="todo-validate-") as tmp:
        manifests_file = Path(tmp) / "rendered.yaml"
        manifests_file.write_text(rendered, encoding="utf-8")
        with ThreadPoolExecutor(max_workers=3) as pool:
            checkov_future: Future[list[CheckResult]] = pool.submit(run_checkov, options, manifests_file, dockerfiles)
            lint_future = pool.submit(check_helm_lint, options)
            hadolint_future = pool.submit(check_hadolint, options, dockerfiles)
            done(check_policy(manifests))
            done(check_kubernetes_schemas(manifests, options.kube_versions))
            done(check_base_images(dockerfiles))
            done(lint_future.result())
            done(hadolint_future.result())
            for result in checkov_future.result():
                done(result)
        if not dockerfiles:
            done(CheckResult("checkov-dockerfiles", Status.SKIPPED, 0.0, f"no {DOCKER_DIR.name}/*.Dockerfile yet"))
    order = [
        "render",
        "helm-lint",
        "kubernetes-validate",
        "policy",
        "checkov-manifests",
        "checkov-dockerfiles",
        "hadolint",
        "base-images",
    ]
    results.sort(key=lambda r: order.index(r.name) if r.name in order else len(order))
    return Report(tuple(results), time.monotonic() - started)


def options_with_values(
    assignments: Iterable[str], base: ValidateOptions | None = None, *, profile: str | None = None
) -> ValidateOptions:
    """Options whose chart values are the sample ones plus KEY=VALUE `assignments` (InputError if malformed),
    over the values files of `profile` (orchestrator.settings.profiles)."""
    base = base or ValidateOptions()
    if profile:
        try:
            chosen = Profile(profile.strip().lower())
        except ValueError:
            raise InputError(
                f"unknown profile {profile!r}", f"use one of: {', '.join(p.value for p in Profile)}"
            ) from None
        base = replace(base, values_files=base.values_files + values_files(chosen, base.chart))
    values = dict(base.set_values)
    for item in assignments:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--set {item!r} is not KEY=VALUE", "e.g. --set backend.replicas=3")
        values[key.strip()] = value
    return replace(base, set_values=values)


@dataclass(frozen=True)
class CheckPrinter:
    """Send each CheckResult to a Reporter as a `validate.check` event, and the verdict as
    `validate.finished` (the run's renderer turns them into lines or JSON).

    Pass it as `run_validation(..., on_result=printer)`, then call `printer.finished(report)`.
    """

    reporter: Reporter

    def __call__(self, result: CheckResult) -> None:
        self.reporter.emit(
            "validate.check",
            check=result.name,
            status=result.status.value,
            seconds=round(result.seconds, 2),
            summary=result.summary,
            problems=[asdict(p) for p in result.problems],
        )

    def finished(self, report: Report) -> None:
        self.reporter.emit(
            "validate.finished",
            ok=not report.failed,
            seconds=round(report.seconds, 2),
            failed=[r.name for r in report.failed],
        )


def require_clean(report: Report) -> None:
    """Return when every check is ok or skipped. A check whose tool could not run raises
    EnvironmentProblem (exit 3); any other problem raises InputError (exit 2). Both name the checks."""
    if not report.failed:
        return
    names = ", ".join(r.name for r in report.failed)
    broken_tools = sorted({p.resource for r in report.failed for p in r.problems if p.rule == "TOOL"})
    if broken_tools:
        raise EnvironmentProblem(
            f"validation could not run {', '.join(broken_tools)} (checks: {names})",
            "install the test extras (`.venv/bin/pip install -e '.[test]'`) and the pinned helm (scripts/install-tools)",
        )
    count = sum(len(r.problems) for r in report.failed)
    raise InputError(
        f"validation found {count} problem(s) in {names}",
        "fix each problem listed above (rule id, resource, fix); deliberate scanner skips belong in "
        ".checkov.yaml or .hadolint.yaml with the reason",
    )
