"""Pulling an image from a registry reachable here, as the node's kubelet and runtime would.

An image reference whose registry host is on loopback (`127.0.0.1:PORT/...`, `localhost:PORT/...`,
e.g. fakecluster.registry.LocalRegistry) is present on the nodes once that registry serves its
manifest: the fake asks the registry (Docker Registry HTTP API v2, GET /v2/<name>/manifests/<tag or
digest>, distribution/distribution docs/spec/api.md) the way the runtime resolves a reference before
pulling. A digest reference is checked by digest, so a node runs exactly the bytes that were pushed.

When the registry does not have it (or does not answer), the kubelet reports the pull failure
(kubernetes/kubernetes pkg/kubelet/images/image_manager.go, EnsureImageExists; pkg/kubelet/images/types.go):
the container waits with `ErrImagePull` and a `Failed` event carrying the runtime's error, and on
the next attempts with `ImagePullBackOff` ("Back-off pulling image ...").

Registries elsewhere are never contacted (no network here): their references stay absent, as before.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

LOOPBACK_HOSTS = ("127.0.0.1", "localhost")
MANIFEST_TYPES = ", ".join(
    (
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    )
)
RETRY_SECONDS = 1.0  # a failed look-up is asked again after this (the kubelet's back-off starts at 10 s)
ERR_IMAGE_PULL_SECONDS = 1.0  # how long a failing container shows ErrImagePull before ImagePullBackOff


@dataclass(frozen=True)
class RegistryRef:
    host: str  # "127.0.0.1:5000"
    repository: str  # "team/todo-backend"
    reference: str  # a tag or "sha256:..."


def parse(ref: str) -> RegistryRef | None:
    """A reference naming a loopback registry, or None."""
    name, _, digest = ref.partition("@")
    host, slash, path = name.partition("/")
    if not slash or host.split(":", 1)[0] not in LOOPBACK_HOSTS:
        return None
    repository, _, tag = path.rpartition(":") if ":" in path.rsplit("/", 1)[-1] else (path, "", "latest")
    return RegistryRef(host, repository, digest or tag)


def repo_digest(ref: str) -> str:
    """`repo@sha256:...` for a reference that names a digest (any registry), else "": what the runtime
    reports as the image ID of an image pulled by digest (its RepoDigests entry; cri-dockerd answers
    `docker-pullable://<repo>@<digest>`, kubernetes/kubernetes pkg/kubelet/container/runtime.go ImageID)."""
    name, _, digest = ref.partition("@")
    if not digest:
        return ""
    host_and_path = name.rsplit("/", 1)
    if ":" in host_and_path[-1]:
        name = name.rsplit(":", 1)[0]
    return f"{name}@{digest}"


@dataclass
class Lookup:
    digest: str  # "" when absent
    error: str
    when: float


class RegistryPuller:
    """Which loopback-registry images the nodes have pulled (a successful pull is kept)."""

    def __init__(self) -> None:
        self._pulled: dict[str, str] = {}  # ref -> digest
        self._failed: dict[str, Lookup] = {}
        self._first_failure: dict[tuple[str, str], float] = {}  # (pod uid, ref) -> monotonic

    def handles(self, ref: str) -> bool:
        return parse(ref) is not None

    def digest(self, ref: str) -> str:
        """The manifest digest once pulled ("" while not)."""
        if ref in self._pulled:
            return self._pulled[ref]
        target = parse(ref)
        if target is None:
            return ""
        failed = self._failed.get(ref)
        if failed is not None and time.monotonic() - failed.when < RETRY_SECONDS:
            return ""
        lookup = _ask(target)
        if lookup.digest:
            self._pulled[ref] = lookup.digest
            self._failed.pop(ref, None)
        else:
            self._failed[ref] = lookup
        return lookup.digest

    def error(self, ref: str) -> str:
        failed = self._failed.get(ref)
        return failed.error if failed else ""

    def failing_reason(self, pod_uid: str, ref: str) -> str:
        """ErrImagePull on the first attempt, ImagePullBackOff afterwards."""
        first = self._first_failure.setdefault((pod_uid, ref), time.monotonic())
        return "ErrImagePull" if time.monotonic() - first < ERR_IMAGE_PULL_SECONDS else "ImagePullBackOff"


def _ask(target: RegistryRef) -> Lookup:
    url = f"http://{target.host}/v2/{target.repository}/manifests/{target.reference}"
    request = urllib.request.Request(url, method="GET", headers={"Accept": MANIFEST_TYPES})
    shown = f"{target.host}/{target.repository}" + (
        f"@{target.reference}" if target.reference.startswith("sha256:") else f":{target.reference}"
    )
    try:
        with urllib.request.urlopen(request, timeout=2) as response:
            digest = response.headers.get("Docker-Content-Digest", "")
            json.load(response)  # a manifest, not an error page
            return Lookup(digest or target.reference, "", time.monotonic())
    except urllib.error.HTTPError as err:
        # the Docker engine's wording (minikube's default runtime) for a manifest the registry lacks
        message = (
            f"Error response from daemon: manifest for {shown} not found: manifest unknown: manifest unknown"
            if err.code == 404
            else f"Error response from daemon: {err.code} {err.reason}"
        )
        return Lookup("", message, time.monotonic())
    except (urllib.error.URLError, OSError, ValueError) as err:
        reason = getattr(err, "reason", err)
        return Lookup(
            "",
            f'Error response from daemon: Get "http://{target.host}/v2/": dial tcp {target.host}: connect: {reason}',
            time.monotonic(),
        )
