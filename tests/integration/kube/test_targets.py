"""The registry target against a real registry: push by content tag, deploy by digest, skip what is there."""

from __future__ import annotations

import io
import tarfile
import uuid
from collections.abc import Iterator

import pytest

import docker
from fakecluster.registry import LocalRegistry
from orchestrator.kube.targets import RegistryTarget
from orchestrator.run.events import Reporter

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def registry() -> Iterator[LocalRegistry]:
    with LocalRegistry() as running:
        yield running


@pytest.fixture
def tiny_image() -> Iterator[str]:
    """A one-file image made here (no base to pull), under a tag unique to this test."""
    client = docker.from_env()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        data = uuid.uuid4().hex.encode()
        info = tarfile.TarInfo("marker")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    tag = uuid.uuid4().hex[:12]
    ref = f"todo-registry-test:{tag}"
    client.api.import_image_from_data(buffer.getvalue(), repository="todo-registry-test", tag=tag)
    yield ref
    for image_ref in list(client.images.get(ref).tags):
        client.images.remove(image_ref, force=True)


def test_push_returns_the_digest_and_a_second_load_skips(registry: LocalRegistry, tiny_image: str) -> None:
    target = RegistryTarget(registry.address, docker.from_env)
    target.ensure_ready()
    first = Reporter()
    pushed = target.load(tiny_image, first)
    repository_tag, _, digest = pushed.partition("@")
    assert repository_tag == f"{registry.address}/{tiny_image}"
    assert digest.startswith("sha256:") and len(digest) == 71
    assert registry.tags("todo-registry-test") == [tiny_image.split(":")[1]]
    assert [e["event"] for e in first.history] == ["image.loading", "image.loaded"]
    assert first.history[-1]["digest"] == digest

    again = Reporter()
    assert target.load(tiny_image, again) == pushed, "the same tag resolves to the same digest"
    assert [e["event"] for e in again.history] == ["image.load_skipped"]

    # the digest reference is pullable as such: what a node does with it
    client = docker.from_env()
    pulled = client.images.pull(f"{registry.address}/todo-registry-test@{digest}")
    assert pulled.id == client.images.get(tiny_image).id


def test_a_registry_that_does_not_answer_is_an_image_error(tiny_image: str) -> None:
    from fakecluster.network import free_port
    from orchestrator.errors import ImageError

    target = RegistryTarget(f"127.0.0.1:{free_port()}", docker.from_env)
    with pytest.raises(ImageError) as err:
        target.load(tiny_image, Reporter())
    assert "pushing" in err.value.message and err.value.hint
