"""A new image is exported from the engine once per run: the image policy reads that export and keeps
it as a file, and `minikube image load` gets the file instead of the image's name (by name, minikube
exports the whole image again: fakecluster/README.md). The file goes when the run ends."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from fakecluster import FakeCluster
from tests.e2e.harness import DOCKER, deployment_images, invoke, unbuilt_backend

pytestmark = [pytest.mark.e2e, pytest.mark.docker]
NS = "todo-app"


def _engine_calls(tmp_path: Path) -> tuple[Path, Path]:
    """A `docker` in front of the engine for the fake minikube, recording its arguments."""
    calls = tmp_path / "engine-calls"
    calls.write_text("")
    shim = tmp_path / "docker"
    shim.write_text(f'#!/bin/sh\necho "$*" >> {calls}\nexec {DOCKER} "$@"\n')
    shim.chmod(0o755)
    return shim, calls


def test_a_new_image_is_loaded_from_the_archive_its_policy_check_wrote(
    cluster: FakeCluster, env_file: Path, tmp_path: Path
) -> None:
    shim, calls = _engine_calls(tmp_path)
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    with unbuilt_backend(tmp_path) as (checkout, ref):
        run = invoke(
            cluster,
            "up",
            env_file=env_file,
            root=checkout,
            extra_env={"FAKE_MINIKUBE_DOCKER": str(shim), "TMPDIR": str(temporary)},
        )
        assert run.returncode == 0, run.explain()
        image_id = subprocess.run(
            [DOCKER, "image", "inspect", "--format", "{{.Id}}", ref], capture_output=True, text=True, check=True
        ).stdout.strip()

    assert ref in [e["image"] for e in run.named("image.loaded")]
    saved = [line for line in calls.read_text().splitlines() if line.startswith("save")]
    assert f"save {ref}" not in saved  # minikube got the archive: no second export of the new image
    assert cluster.minikube_state["images"][f"docker.io/library/{ref}"] == image_id
    assert deployment_images(cluster, NS)["todo-app-backend"] == [ref]
    assert list(temporary.iterdir()) == []  # the archives' directory is gone
