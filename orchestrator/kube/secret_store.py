"""Kubernetes Secrets from the settings: versioned, immutable, written only when values change.

Each set of values becomes one immutable Opaque Secret named `<release>-secrets-<version>`, where the
version is a keyed hash of the values (HMAC-SHA256 keyed by JWT_SECRET): it is stable across machines,
changes when any value changes, and tells nothing about the values. A new version means a new Secret
name in the pod template, so pods roll exactly when a secret changes, and `helm rollback` finds the
previous version still in place until garbage collection removes it.

All Kubernetes calls go through a `Rest` (orchestrator.kube.rest) passed in, as plain JSON. API errors are mapped to the orchestrator's
errors with status and reason only: an ApiException's text holds the response body (it can echo a
Secret), so it is never chained, logged or shown.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import secrets as _random
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from orchestrator.errors import DeployNeedsAction, EnvironmentProblem, InputError, OrchestratorError
from orchestrator.kube.api import api_error, quiet_client_logging
from orchestrator.kube.rest import core_path

MANAGED_BY = "todo-deploy"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
LABEL_INSTANCE = "app.kubernetes.io/instance"
LABEL_VERSION = "todo-deploy/secret-version"
ANNOTATION_CREATED = "todo-deploy/created-at"
VERSION_LENGTH = 10
GENERATABLE_KEYS = frozenset({"JWT_SECRET"})
_VERSION_DOMAIN = b"todo-deploy/secret-version/v1\n"

T = TypeVar("T")


@dataclass(frozen=True)
class SecretWrite:
    name: str
    version: str
    written: bool


@dataclass(frozen=True)
class SecretVersion:
    name: str
    version: str
    created_at: str


def secret_version(values: Mapping[str, str]) -> str:
    """HMAC-SHA256 (key: JWT_SECRET) over the canonical JSON of all key/values, 10 hex chars."""
    key = values.get("JWT_SECRET")
    if not key:
        raise InputError("JWT_SECRET is required to version the Secret", "set JWT_SECRET in the env file")
    canonical = json.dumps(dict(values), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    digest = hmac.new(key.encode("utf-8"), _VERSION_DOMAIN + canonical.encode("utf-8"), hashlib.sha256)
    return digest.hexdigest()[:VERSION_LENGTH]


def secret_name(release: str, version: str) -> str:
    return f"{release}-secrets-{version}"


def generate_secret(key: str) -> str:
    """A fresh random value for a key the project can make up itself (JWT_SECRET only)."""
    if key not in GENERATABLE_KEYS:
        raise InputError(
            f"{key} cannot be generated: it comes from its provider",
            f"only {', '.join(sorted(GENERATABLE_KEYS))} can be generated; set {key} in the env file",
        )
    return _random.token_urlsafe(48)


# NamespaceLifecycle admission refuses to delete these (403 "this namespace may not be deleted") and any
# create in a namespace whose phase is Terminating (403 "unable to create new content in namespace ...
# because it is being terminated"): kubernetes/kubernetes staging/src/k8s.io/apiserver/pkg/admission/
# plugin/namespace/lifecycle/admission.go. Namespace deletion is asynchronous (the namespace controller
# empties it first), so a namespace can be Terminating for a while after `kubectl delete namespace`.
PROTECTED_NAMESPACES = frozenset({"default", "kube-system", "kube-public"})
NAMESPACE_WAIT_S = 120.0


def is_protected_namespace(name: str) -> bool:
    return name in PROTECTED_NAMESPACES


def _terminating(namespace: Mapping[str, Any]) -> bool:
    return (namespace.get("status") or {}).get("phase") == "Terminating" or bool(
        (namespace.get("metadata") or {}).get("deletionTimestamp")
    )


def wait_namespace_gone(
    api: Any,
    name: str,
    timeout_s: float = NAMESPACE_WAIT_S,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> bool:
    """Poll until the namespace is gone (True) or `timeout_s` passed (False)."""
    deadline = clock() + timeout_s
    while True:
        _, status = _api(
            lambda: api.get(core_path(None, "namespaces", name)), f"read namespace {name}", name, tolerate=(404,)
        )
        if status == 404:
            return True
        if clock() >= deadline:
            return False
        sleep(0.5)


def ensure_namespace(
    api: Any,
    name: str,
    *,
    wait_s: float = NAMESPACE_WAIT_S,
    sleep: Callable[[float], None] = time.sleep,
    on_wait: Callable[[], None] | None = None,
) -> bool:
    """Create the namespace unless it exists; True when it was created.

    A namespace still Terminating (an interrupted `invoke down`, someone's `kubectl delete ns`) cannot take
    new objects: wait (bounded) for it to go, then create it again.
    """
    quiet_client_logging(api)
    existing, status = _api(
        lambda: api.get(core_path(None, "namespaces", name)), f"read namespace {name}", name, tolerate=(404,)
    )
    if status is None and existing is not None:
        if not _terminating(existing):
            return False
        if on_wait is not None:
            on_wait()
        if not wait_namespace_gone(api, name, wait_s, sleep=sleep):
            raise EnvironmentProblem(
                f"namespace {name} is still being deleted (Terminating) after {wait_s:.0f} s",
                f"see what holds it: `kubectl get namespace {name} -o yaml` (finalizers, conditions); "
                "run `invoke up` again once `kubectl get namespace " + name + "` says NotFound",
            )
    body = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": {LABEL_MANAGED_BY: MANAGED_BY}},
    }
    _, status = _api(
        lambda: api.create(core_path(None, "namespaces"), body), f"create namespace {name}", name, tolerate=(409,)
    )
    return status is None


def write_secret(api: Any, namespace: str, release: str, values: Mapping[str, str]) -> SecretWrite:
    """Create the immutable Secret for `values` unless it already exists (then nothing is written)."""
    quiet_client_logging(api)
    version = secret_version(values)
    name = secret_name(release, version)
    existing, status = _api(
        lambda: api.get(core_path(namespace, "secrets", name)), f"read secret {name}", namespace, tolerate=(404,)
    )
    if status is None and existing is not None:
        _check_same(existing, name, namespace, values)
        return SecretWrite(name, version, written=False)
    body = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {LABEL_MANAGED_BY: MANAGED_BY, LABEL_INSTANCE: release, LABEL_VERSION: version},
            "annotations": {ANNOTATION_CREATED: datetime.now(UTC).isoformat(timespec="microseconds")},
        },
        "type": "Opaque",
        "immutable": True,
        "data": {k: base64.b64encode(v.encode("utf-8")).decode("ascii") for k, v in values.items()},
    }
    # 409: created by a concurrent run between our GET and POST; same name means same values.
    _, status = _api(
        lambda: api.create(core_path(namespace, "secrets"), body), f"create secret {name}", namespace, tolerate=(409,)
    )
    return SecretWrite(name, version, written=status is None)


def list_secret_versions(api: Any, namespace: str, release: str) -> list[SecretVersion]:
    """This release's Secret versions, newest first."""
    quiet_client_logging(api)
    selector = f"{LABEL_MANAGED_BY}={MANAGED_BY},{LABEL_INSTANCE}={release}"
    listing, _ = _api(
        lambda: api.get(core_path(namespace, "secrets"), labelSelector=selector),
        f"list secrets of release {release}",
        namespace,
    )
    assert listing is not None  # no status is tolerated: a failure raised
    found: list[SecretVersion] = []
    for item in listing.get("items") or []:
        meta = item.get("metadata") or {}
        labels = meta.get("labels") or {}
        # Filter again: a server that ignores label selectors must not make us touch other Secrets.
        if labels.get(LABEL_MANAGED_BY) != MANAGED_BY or labels.get(LABEL_INSTANCE) != release:
            continue
        version = labels.get(LABEL_VERSION, "")
        if not version or meta.get("name") != secret_name(release, version):
            continue
        created = (meta.get("annotations") or {}).get(ANNOTATION_CREATED) or _iso(meta.get("creationTimestamp"))
        found.append(SecretVersion(meta["name"], version, created))
    found.sort(key=lambda s: (s.created_at, s.name), reverse=True)
    return found


def read_kept_values(api: Any, namespace: str, release: str, keys: Collection[str]) -> dict[str, str]:
    """`keys` of the newest Secret version of this release ({} when there is none, or no namespace).

    This is where values the orchestrator generated (JWT_SECRET, the in-cluster database's password)
    are kept between runs: returned to the caller, never logged.
    """
    quiet_client_logging(api)
    _, status = _api(
        lambda: api.get(core_path(None, "namespaces", namespace)),
        f"read namespace {namespace}",
        namespace,
        tolerate=(404,),
    )
    if status is not None:
        return {}
    versions = list_secret_versions(api, namespace, release)
    if not versions:
        return {}
    newest = versions[0].name
    secret, status = _api(
        lambda: api.get(core_path(namespace, "secrets", newest)), f"read secret {newest}", namespace, tolerate=(404,)
    )
    if status is not None or secret is None:
        return {}
    data = secret.get("data") or {}
    kept = {k: _decode(data[k]).decode("utf-8", errors="strict") for k in keys if k in data}
    return {k: v for k, v in kept.items() if v}


def garbage_collect(
    api: Any,
    namespace: str,
    release: str,
    *,
    keep: Collection[str] = (),
    keep_last: int = 2,
) -> list[str]:
    """Delete this release's old Secret versions; keep the newest `keep_last` and anything in `keep`.

    `keep` holds Secret names or versions still referenced (the live release, the rollback target).
    Returns the names deleted.
    """
    deleted: list[str] = []
    for index, item in enumerate(list_secret_versions(api, namespace, release)):
        if index < keep_last or item.name in keep or item.version in keep:
            continue
        _, status = _api(
            functools.partial(api.delete, core_path(namespace, "secrets", item.name)),
            f"delete secret {item.name}",
            namespace,
            tolerate=(404,),
        )
        if status is None:
            deleted.append(item.name)
    return deleted


def read_secret_keys(api: Any, namespace: str, name: str) -> set[str]:
    """The data keys of a Secret (never its values); an empty set when it does not exist."""
    quiet_client_logging(api)
    secret, status = _api(
        lambda: api.get(core_path(namespace, "secrets", name)), f"read secret {name}", namespace, tolerate=(404,)
    )
    if status is not None or secret is None:
        return set()
    return set((secret.get("data") or {}).keys()) | set((secret.get("stringData") or {}).keys())


def _check_same(existing: Any, name: str, namespace: str, values: Mapping[str, str]) -> None:
    """An existing Secret of this version must hold exactly these values (compared, never shown)."""
    data = existing.get("data") or {}
    same = set(data) == set(values) and all(
        hmac.compare_digest(_decode(data[k]), v.encode("utf-8")) for k, v in values.items()
    )
    missing = sorted(set(values) - set(data))
    if missing:
        raise DeployNeedsAction(
            f"Secret {namespace}/{name} lacks the key(s) {', '.join(missing)} (changed outside todo-deploy)",
            f"delete it and re-run: kubectl -n {namespace} delete secret {name}",
        )
    if not same:
        raise DeployNeedsAction(
            f"Secret {namespace}/{name} exists but does not hold the current values (changed outside todo-deploy)",
            f"delete it and re-run: kubectl -n {namespace} delete secret {name}",
        )


def _iso(timestamp: Any) -> str:
    """A creationTimestamp (RFC 3339, `2026-01-01T00:00:00Z`) in the form of the created annotation."""
    if not timestamp:
        return ""
    try:
        return datetime.fromisoformat(str(timestamp).replace("Z", "+00:00")).isoformat()
    except ValueError:
        return str(timestamp)


def _decode(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (ValueError, TypeError):
        return b""


def _api(
    call: Callable[[], T], action: str, namespace: str, *, tolerate: tuple[int, ...] = ()
) -> tuple[T | None, int | None]:
    """Run one API call -> (result, None), or (None, status) for a tolerated status.

    Other failures become orchestrator errors (kube.api.api_error) raised outside the `except` block,
    so the ApiException (whose text holds the response body) is not even kept as `__context__`.
    """
    import urllib3.exceptions
    from kubernetes.client.exceptions import ApiException

    failure: OrchestratorError
    try:
        return call(), None
    except ApiException as exc:
        if int(exc.status or 0) in tolerate:
            return None, int(exc.status or 0)
        failure = api_error(exc, action, namespace, can_i="create secrets")
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        failure = api_error(exc, action, namespace)
    raise failure
