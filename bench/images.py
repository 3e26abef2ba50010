"""Image build benchmark: parallel vs sequential cold builds, no-change and one-file rebuilds, sizes.

    .venv/bin/python bench/images.py [--json PATH]

Cold builds are honest: the project's tags are removed first and every cold build runs without the
engine's layer cache (`nocache`), so pip and npm download and install everything again; only the
base images stay (they are pulled or seeded once per machine). With `--rounds N` the parallel and
sequential runs alternate which goes first and the medians are compared; the load average before
each run is printed, because other work on the machine slows whichever run it overlaps.

The one-file case builds a copy of app/backend in a temporary folder (the real sources are not
touched): first unchanged (from cache), then with one source file edited, the way a developer's
edit-and-deploy loop rebuilds. Sizes are the engine's uncompressed sizes. Not part of the test
suite: it takes several minutes and rebuilds the project's images from nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from orchestrator.images.budget import MB  # noqa: E402
from orchestrator.images.build import BuiltImage, ImageSpec, build_images, connect, default_specs  # noqa: E402
from orchestrator.run.events import Reporter  # noqa: E402

TARGETS = {
    "parallel / sequential": 0.75,
    "no-change rebuild (s)": 1.0,
    "one file / backend cold": 0.2,
    "backend above base (MB)": 100,
    "frontend above base (MB)": 80,
    "total of both (MB)": 600,
}


def _load() -> str:
    return f"{os.getloadavg()[0]:.1f}"


def untag(client, images: list[BuiltImage]) -> None:
    import docker

    for image in images:
        try:
            client.api.remove_image(image.ref, force=True, noprune=True)
        except docker.errors.ImageNotFound:
            pass


def timed_build(specs: list[ImageSpec], client, *, no_cache: bool = False) -> tuple[float, list[BuiltImage], Reporter]:
    reporter = Reporter()
    started = time.monotonic()
    images = build_images(specs, reporter, client, no_cache=no_cache)
    return time.monotonic() - started, images, reporter


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--rounds", type=int, default=1, help="cold parallel+sequential rounds (median)")
    args = parser.parse_args()
    client = connect()
    # The project's Dockerfiles and contexts under names of the benchmark's own, so a build of the
    # project's images running at the same time (tests, `invoke up`) neither shares nor steals a tag.
    specs = [replace(spec, name=f"bench-{spec.name}") for spec in default_specs(ROOT)]
    backend_spec, frontend_spec = specs
    rows: list[tuple[str, str, float, float | None]] = []

    # Whatever is tagged now loses its tag, so every cold build really builds (and without the
    # layer cache: the layers stay on disk for the cached runs below but cold runs ignore them).
    _, current, _ = timed_build(specs, client)
    untag(client, current)

    def cold_parallel() -> float:
        print(f"cold build, both in parallel (no layer cache), load {_load()} ...", flush=True)
        seconds, images, _ = timed_build(specs, client, no_cache=True)
        untag(client, images)
        print(f"  {seconds:.1f}s", flush=True)
        return seconds

    def cold_sequential() -> tuple[float, float, list[BuiltImage]]:
        print(f"cold build, one after the other (no layer cache), load {_load()} ...", flush=True)
        backend_s, [backend], _ = timed_build([backend_spec], client, no_cache=True)
        frontend_s, [frontend], _ = timed_build([frontend_spec], client, no_cache=True)
        print(f"  backend {backend_s:.1f}s + frontend {frontend_s:.1f}s = {backend_s + frontend_s:.1f}s", flush=True)
        return backend_s, frontend_s, [backend, frontend]

    parallels: list[float] = []
    sequentials: list[tuple[float, float]] = []
    for round_ in range(args.rounds):
        for run in ("parallel", "sequential") if round_ % 2 == 0 else ("sequential", "parallel"):
            if run == "parallel":
                parallels.append(cold_parallel())
            else:
                backend_s, frontend_s, built = cold_sequential()
                untag(client, built)
                sequentials.append((backend_s, frontend_s))
    # Tagged again from the layers the last cold builds left: the state `invoke build` leaves.
    _, (backend_image, frontend_image), _ = timed_build(specs, client)
    parallel = statistics.median(parallels)
    backend_cold = statistics.median(b for b, _ in sequentials)
    sequential = statistics.median(b + f for b, f in sequentials)

    print("no-change rebuild ...", flush=True)
    unchanged, again, reporter = timed_build(specs, client)
    rebuilt = len(reporter.named("image.building"))

    print("one backend source file changed ...", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-backend-") as tmp:
        context = Path(tmp) / "backend"
        shutil.copytree(backend_spec.context, context, symlinks=True)
        copy_spec = replace(backend_spec, context=context)
        _, [copy_image], _ = timed_build([copy_spec], client)  # same content as the real one: cached
        source = next(p for p in sorted((context / "todo_api").rglob("*.py")) if p.name == "main.py")
        source.write_text(source.read_text() + "\n# benchmark edit\n")
        one_file, [edited], edit_reporter = timed_build([copy_spec], client)
        extra = [copy_image] if copy_image.ref != backend_image.ref else []
        untag(client, extra + [edited])
    untag(client, [backend_image, frontend_image, *again])
    assert edited.built and len(edit_reporter.named("image.built")) == 1

    rounds = f" (median of {args.rounds})" if args.rounds > 1 else ""
    rows.append((f"cold parallel (s){rounds}", f"{parallel:.1f}", parallel, None))
    rows.append((f"cold sequential (s){rounds}", f"{sequential:.1f}", sequential, None))
    rows.append(
        (
            "parallel / sequential",
            f"{parallel / sequential:.2f}",
            parallel / sequential,
            TARGETS["parallel / sequential"],
        )
    )
    rows.append(
        ("no-change rebuild (s)", f"{unchanged:.2f} ({rebuilt} builds)", unchanged, TARGETS["no-change rebuild (s)"])
    )
    rows.append(("backend cold (s)", f"{backend_cold:.1f}", backend_cold, None))
    rows.append(("one file changed (s)", f"{one_file:.1f}", one_file, None))
    rows.append(
        (
            "one file / backend cold",
            f"{one_file / backend_cold:.2f}",
            one_file / backend_cold,
            TARGETS["one file / backend cold"],
        )
    )
    for label, image in (("backend", backend_image), ("frontend", frontend_image)):
        above = (image.above_base or 0) / MB
        rows.append((f"{label} image (MB)", f"{image.size / MB:.1f}", image.size / MB, None))
        rows.append((f"{label} above base (MB)", f"{above:.1f}", above, TARGETS[f"{label} above base (MB)"]))
    total = (backend_image.size + frontend_image.size) / MB
    rows.append(("total of both (MB)", f"{total:.1f}", total, TARGETS["total of both (MB)"]))

    ok = rebuilt == 0
    print()
    print(f"{'measure':<36} {'value':>20} {'target':>9}  verdict")
    print("-" * 76)
    for name, shown, value, target in rows:
        verdict = ""
        if target is not None:
            met = value <= target
            ok = ok and met
            verdict = "ok" if met else "MISSED"
        print(f"{name:<36} {shown:>20} {('<= ' + str(target)) if target is not None else '':>9}  {verdict}")
    print("sizes are uncompressed (docker image inspect); 1 MB = 1,000,000 bytes")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({name: value for name, _, value, _ in rows}, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
