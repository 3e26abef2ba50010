"""`invoke build` (and the image phase of `up`): build, size budget, image policy, one report.

    build_and_check(specs, reporter, secret_values, budget=Budget(), require_scan=False, client=None,
                    archive_dir=None) -> BuildReport

Steps: build both images (orchestrator.images.build), measure them against the budget, run the policy on
each (orchestrator.images.policy; events image.policy; an image already checked with the same secret
values reuses its results, orchestrator.images.policy_cache), then emit one report with the image
refs, sizes, budget and policy results (`image.report`). It raises afterwards, so a JSON reader always gets the
whole report: ImageError when the budget or a policy rule failed. An image that fails the policy
loses its tag (its layers stay cached), so it can neither be deployed nor skipped next time.

With `archive_dir`, the `docker save` archive the policy reads is also written there, one file per
image the rules exported (`BuildReport.archives`): a target that loads image archives copies that
file into the cluster instead of exporting the image a second time. An image whose kept results were
reused has no archive.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrator.errors import ImageError
from orchestrator.images.budget import Budget, BudgetReport
from orchestrator.images.build import BuiltImage, ImageSpec, budget_error, build_images, connect, measure_budget
from orchestrator.images.policy import PolicyResult, enforce_policy, failures
from orchestrator.images.policy_cache import PolicyCache, policy_results
from orchestrator.paths import ref_file_name
from orchestrator.run.events import Reporter

if TYPE_CHECKING:
    from docker import DockerClient

from orchestrator.settings.keys import SECRET_KEYS


@dataclass(frozen=True)
class BuildReport:
    images: tuple[BuiltImage, ...]
    budget: BudgetReport
    policy: Mapping[str, tuple[PolicyResult, ...]]
    require_scan: bool
    archives: Mapping[str, Path] = field(default_factory=dict)  # image name -> its `docker save` archive

    def as_dict(self) -> dict[str, Any]:
        return {
            "images": [i.as_dict() for i in self.images],
            "budget": {
                "total": self.budget.total,
                "budget": self.budget.budget.total,
                "per_image": dict(self.budget.budget.per_image),
                "over": list(self.budget.over),
                "ok": self.budget.ok,
                "unit": "bytes, uncompressed",
            },
            "policy": {name: [r.as_dict() for r in results] for name, results in self.policy.items()},
        }

    @property
    def ok(self) -> bool:
        return self.budget.ok and not any(failures(r, self.require_scan) for r in self.policy.values())


def secret_values_from(env_file: Path | None, environ: Mapping[str, str]) -> dict[str, str]:
    """The secret values to look for in the images: the env file, overridden by the environment.

    A lenient read for `invoke build` (the canary scan needs the values, nothing else is checked);
    `up` passes the validated Settings' values instead.
    """
    from orchestrator.settings.envfile import parse_env_file

    values: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        entries = parse_env_file(env_file)
        values.update({k: entries[k].value for k in SECRET_KEYS if k in entries})
    values.update({k: environ[k] for k in SECRET_KEYS if environ.get(k)})
    return {k: v for k, v in values.items() if v}


class ArchiveFile:
    """A copy of an image's export on its way to the cluster. A failed write (a full disk) stops the
    copy and drops the file: the image is then loaded by name, which costs one more export."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.written = 0
        self.failed = False
        self._file = path.open("wb")

    def write(self, data: bytes) -> int:
        if not self.failed:
            try:
                self._file.write(data)
                self.written += len(data)
            except OSError:
                self.failed = True
        return len(data)

    def close(self) -> Path | None:
        """The archive, or None (nothing exported, or a write failed) with the file removed."""
        try:
            self._file.close()
        except OSError:
            self.failed = True
        if self.failed or not self.written:
            self.path.unlink(missing_ok=True)
            return None
        return self.path


def archive_name(ref: str) -> str:
    """`todo-backend:0123abcd4567` -> `todo-backend_0123abcd4567.tar`: unique per content tag (a node
    may keep a loaded archive under its file name, so two images must never share one)."""
    return ref_file_name(ref, ".tar")


def _is_not_found(exc: BaseException) -> bool:
    import docker

    return isinstance(exc, docker.errors.NotFound)


def _untag(client: DockerClient, ref: str) -> None:
    import docker

    try:
        client.api.remove_image(ref, noprune=True)
    except docker.errors.APIError:
        pass


def build_and_check(
    specs: Sequence[ImageSpec],
    reporter: Reporter,
    secret_values: Mapping[str, str],
    budget: Budget | None = None,
    *,
    require_scan: bool = False,
    client: DockerClient | None = None,
    archive_dir: Path | None = None,
) -> BuildReport:
    """The report goes out as one `image.report` event (before any error is raised); the caller's
    phase and run frame time it and finish the run."""
    budget = budget or Budget()
    client = client or connect()
    images = build_images(specs, reporter, client)

    try:
        budget_report, sizes = measure_budget(images, budget, reporter, client)
        policy: dict[str, tuple[PolicyResult, ...]] = {}
        archives: dict[str, Path] = {}
        cache = PolicyCache.load()
        for image in images:
            if archive_dir is None:
                policy[image.name] = policy_results(image, secret_values, client, cache)
                continue
            keep = ArchiveFile(archive_dir / archive_name(image.ref))
            try:
                policy[image.name] = policy_results(image, secret_values, client, cache, keep)
            finally:
                kept = keep.close()
            if kept is not None:
                archives[image.name] = kept
    except Exception as exc:
        if _is_not_found(exc):
            raise ImageError(
                "an image disappeared while it was being checked (removed by another process?)",
                "run the command again: the image is rebuilt from the layer cache",
            ) from None
        raise
    for image in images:
        results = policy[image.name]
        for result in results:
            reporter.emit(
                "image.policy",
                image=image.name,
                ref=image.ref,
                rule=result.rule.value,
                status=result.status.value,
                detail=result.detail,
            )
    report = BuildReport(tuple(images), budget_report, policy, require_scan, archives)

    failed_images = [i for i in images if failures(policy[i.name], require_scan)]
    for image in failed_images:
        _untag(client, image.ref)
        archive = archives.pop(image.name, None)
        if archive is not None:  # it may hold what the policy found: it goes now, not with its directory
            archive.unlink(missing_ok=True)
    reporter.emit("image.report", ok=report.ok, **report.as_dict())
    if failed_images:
        image = failed_images[0]
        try:
            enforce_policy(image.ref, policy[image.name], require_scan)
        except ImageError as err:
            for other in failed_images[1:]:
                err.details.append(f"also failing: {other.ref}")
            err.details.append("the failing image tags were removed")
            raise
    if not budget_report.ok:
        raise budget_error(budget_report, sizes)
    return report
