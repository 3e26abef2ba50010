"""Remembered image-policy results, so an unchanged image is not exported and walked on every run.

    policy_results(image, secret_values, client, cache=None, keep=None) -> tuple[PolicyResult, ...]

The rules on the config and the layers (healthcheck, non-root-user, no-secret-env, no-secret-files,
canary-scan) depend only on the image and on the secret values looked for. An image ID is the digest
of the image config, which names every layer, so the same ID is the same bytes. A result is kept
under the image ID, the Secret version of the values (the keyed hash that already names the Secret
in the cluster; it tells nothing about the values) and a digest of the policy code, and reused when
all three match. The vulnerability scan is never kept: its database moves; it runs every time.

A new image (one file changed) mostly shares its layers with the last one: the layer walk keeps what
each layer held under the layer's content-addressed name in the `docker save` archive, the same
Secret version and the policy digest, so only the changed top layers are read file by file
(orchestrator.images.policy.LayerMemo). The image-level rules on the config are cheap and rerun.

The file is `$XDG_CACHE_HOME/todo-deploy/image-policy-v<format>.json` (default ~/.cache). It holds image IDs,
versions and rule results, whose findings name keys and files, never values. A missing, unreadable
or foreign file is an empty cache; a failed write is ignored (the next run checks again).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrator.images import policy as image_policy
from orchestrator.images.policy import (
    LayerFindings,
    PolicyResult,
    Rule,
    Sink,
    Status,
    check_policy,
    scan_vulnerabilities,
)
from orchestrator.paths import cache_dir

if TYPE_CHECKING:
    from docker import DockerClient

FORMAT = 2
MAX_ENTRIES = 200
MAX_LAYERS = 1000
KEPT_RULES = (Rule.HEALTHCHECK, Rule.NON_ROOT_USER, Rule.SECRET_ENV, Rule.SECRET_FILES, Rule.CANARY)


def default_path(environ: Mapping[str, str] | None = None) -> Path:
    return cache_dir(environ) / f"image-policy-v{FORMAT}.json"


def policy_digest() -> str:
    """Changes whenever the policy code changes, so no result outlives the rules that made it."""
    return hashlib.sha256(Path(image_policy.__file__).read_bytes()).hexdigest()[:16]


def values_key(secret_values: Mapping[str, str]) -> str | None:
    """The Secret version of the values (None: not keyable without JWT_SECRET, so not kept)."""
    from orchestrator.kube.secret_store import secret_version

    if not secret_values:
        return "none"
    if not secret_values.get("JWT_SECRET"):
        return None
    return secret_version(secret_values)


def _encode(result: PolicyResult) -> dict[str, Any]:
    return {
        "rule": result.rule.value,
        "status": result.status.value,
        "detail": result.detail,
        "findings": list(result.findings),
    }


def _decode(data: Mapping[str, Any]) -> PolicyResult:
    return PolicyResult(
        Rule(data["rule"]),
        Status(data["status"]),
        str(data["detail"]),
        tuple(str(f) for f in data.get("findings") or ()),
    )


@dataclass
class PolicyCache:
    path: Path
    entries: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    layers: dict[str, dict[str, Any]] = field(default_factory=dict)
    digest: str = field(default_factory=lambda: policy_digest())
    dirty: bool = False

    @classmethod
    def load(cls, path: Path | None = None) -> PolicyCache:
        path = path or default_path()
        cache = cls(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("format") == FORMAT and isinstance(data.get("entries"), dict):
                cache.entries = data["entries"]
                cache.layers = data["layers"] if isinstance(data.get("layers"), dict) else {}
        except (OSError, ValueError, AttributeError):
            pass
        return cache

    def key(self, image_id: str, secret_values: Mapping[str, str]) -> str | None:
        values = values_key(secret_values)
        if not image_id or values is None:
            return None
        return f"{image_id}|{values}|{self.digest}"

    def get(self, key: str | None) -> tuple[PolicyResult, ...] | None:
        stored = self.entries.get(key) if key else None
        if not stored:
            return None
        try:
            results = tuple(_decode(item) for item in stored)
        except (KeyError, ValueError, TypeError):
            return None
        return results if tuple(r.rule for r in results) == KEPT_RULES else None

    def put(self, key: str | None, results: tuple[PolicyResult, ...]) -> None:
        kept = tuple(r for r in results if r.rule in KEPT_RULES)
        if key and tuple(r.rule for r in kept) == KEPT_RULES:
            self.entries.pop(key, None)
            self.entries[key] = [_encode(r) for r in kept]
            while len(self.entries) > MAX_ENTRIES:
                self.entries.pop(next(iter(self.entries)))
            self.dirty = True
        if self.dirty:
            self.save()

    def save(self) -> None:
        while len(self.layers) > MAX_LAYERS:
            self.layers.pop(next(iter(self.layers)))
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}")
            temporary.write_text(
                json.dumps({"format": FORMAT, "entries": self.entries, "layers": self.layers}), encoding="utf-8"
            )
            temporary.replace(self.path)
            self.dirty = False
        except OSError:
            pass

    def layer_memo(self, secret_values: Mapping[str, str]) -> LayerMemoEntries | None:
        """The kept layer findings for these secret values (None: not keyable)."""
        values = values_key(secret_values)
        return None if values is None else LayerMemoEntries(self, f"{values}|{self.digest}")


@dataclass
class LayerMemoEntries:
    """orchestrator.images.policy.LayerMemo over the cache file, for one Secret version and policy."""

    cache: PolicyCache
    suffix: str

    def get(self, layer: str) -> LayerFindings | None:
        stored = self.cache.layers.get(f"{layer}|{self.suffix}")
        if not isinstance(stored, dict):
            return None
        try:
            return LayerFindings(
                int(stored["files"]),
                int(stored["bytes"]),
                [str(f) for f in stored["secret_files"]],
                [str(h) for h in stored["canary_hits"]],
            )
        except (KeyError, TypeError, ValueError):
            return None

    def put(self, layer: str, findings: LayerFindings) -> None:
        key = f"{layer}|{self.suffix}"
        self.cache.layers.pop(key, None)
        self.cache.layers[key] = {
            "files": findings.files,
            "bytes": findings.bytes,
            "secret_files": list(findings.secret_files),
            "canary_hits": list(findings.canary_hits),
        }
        self.cache.dirty = True


def policy_results(
    image: Any,
    secret_values: Mapping[str, str],
    client: DockerClient,
    cache: PolicyCache | None = None,
    keep: Sink | None = None,
) -> tuple[PolicyResult, ...]:
    """Every rule on `image` (a BuiltImage), in the order of Rule; kept results reused when they fit.
    `keep` receives the image's `docker save` archive when the rules export it (nothing when kept
    results were reused)."""
    cache = cache if cache is not None else PolicyCache.load()
    key = cache.key(getattr(image, "image_id", ""), secret_values)
    kept = cache.get(key)
    if kept is not None:
        return kept + (scan_vulnerabilities(image.ref),)
    results = tuple(check_policy(image, secret_values, client, layers=cache.layer_memo(secret_values), keep=keep))
    cache.put(key, results)  # saves the layers walked too
    return results
