"""What every namespace gets from kube-controller-manager a moment after it is created: the
`default` ServiceAccount and the `kube-root-ca.crt` ConfigMap.

- kubernetes/kubernetes pkg/controller/serviceaccount/serviceaccounts_controller.go: on a namespace
  add or update (and on the deletion of a `default` ServiceAccount) the namespace is queued; the
  sync creates `default` when it is missing and the namespace is Active. Since 1.24 no token Secret
  is made for it (pkg/controller/serviceaccount/tokens_controller.go only cleans legacy ones).
- kubernetes/kubernetes pkg/controller/certificates/rootcacertpublisher/publisher.go: the same for
  the `kube-root-ca.crt` ConfigMap (key ca.crt) that the projected API token volume mounts.

Until the ServiceAccount exists, ServiceAccount admission refuses the namespace's pods
(admission.py). The delay is `Timings.service_account_delay`; namespaces that exist when the
cluster starts are served at once (the controllers caught up long ago).
"""

from __future__ import annotations

import asyncio

from .store import ApiError, Obj, Store, WatchEvent

DEFAULT_SERVICE_ACCOUNT = "default"
ROOT_CA_CONFIGMAP = "kube-root-ca.crt"
ROOT_CA_DESCRIPTION = (
    "Contains a CA bundle that can be used to verify the kube-apiserver when using internal "
    "endpoints such as the internal service IP or kubernetes.default.svc. No other usage is "
    "guaranteed across distributions of Kubernetes clusters."
)
# A self-signed "minikubeCA" certificate (public part only; no key exists anywhere).
MINIKUBE_CA = """-----BEGIN CERTIFICATE-----
MIIBfzCCASWgAwIBAgIUT49JfK2r4jZooYNw+KyklfA7HXkwCgYIKoZIzj0EAwIw
FTETMBEGA1UEAwwKbWluaWt1YmVDQTAeFw0yNjExMzAxNTQ4MzhaFw0zNjExMjcx
NTQ4MzhaMBUxEzARBgNVBAMMCm1pbmlrdWJlQ0EwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAAQOEjUA4dC2XG6dosE1MLFOkCIPfbyAiM6wkjQkHDJUE36/IvpP3tNo
EDoFdMcYOuYgD8ZQWRedduusebOWdpmzo1MwUTAdBgNVHQ4EFgQUK0GdwX8564kJ
Y8cc2dFA9nxo8SQwHwYDVR0jBBgwFoAUK0GdwX8564kJY8cc2dFA9nxo8SQwDwYD
VR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNIADBFAiAujsQb2Nip5YmoJFAJpfy9
kzf5qonNxdmdAbkezdPqBQIhAJaQSRwxlqxNPwQiM25c+feJ9kqYbrTethpDXMdC
UPnj
-----END CERTIFICATE-----
"""


def sync_namespace(store: Store, namespace: str) -> None:
    """Create what the namespace lacks, as the two controllers' syncs do (Active namespaces only)."""
    ns = store.find(store.table.by_kind("Namespace"), "", namespace)
    if (
        ns is None
        or (ns.get("status") or {}).get("phase", "Active") != "Active"
        or ns["metadata"].get("deletionTimestamp")
    ):
        return
    wanted: list[tuple[str, Obj]] = [
        (
            "ServiceAccount",
            {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {"name": DEFAULT_SERVICE_ACCOUNT, "namespace": namespace},
            },
        ),
        (
            "ConfigMap",
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {
                    "name": ROOT_CA_CONFIGMAP,
                    "namespace": namespace,
                    "annotations": {"kubernetes.io/description": ROOT_CA_DESCRIPTION},
                },
                "data": {"ca.crt": MINIKUBE_CA},
            },
        ),
    ]
    for kind, obj in wanted:
        res = store.table.by_kind(kind)
        if store.find(res, namespace, obj["metadata"]["name"]) is None:
            try:
                store.create(res, namespace, obj)
            except ApiError:
                pass  # the namespace went away meanwhile: nothing to do, as in the real sync


class ServiceAccountsController:
    """Runs on the cluster's loop; reacts to store events like the informers' handlers."""

    def __init__(self, store: Store, delay: float) -> None:
        self.store, self.delay = store, delay
        self._pending: set[str] = set()

    def start(self) -> None:
        for ns in self.store.iter_kind("Namespace"):
            sync_namespace(self.store, ns["metadata"]["name"])
        self.store.add_listener(self._on_event)

    def _on_event(self, event: WatchEvent) -> None:
        kind, meta = event.resource.kind, event.object.get("metadata") or {}
        if kind == "Namespace" and event.type in ("ADDED", "MODIFIED"):
            self._queue(meta.get("name", ""))
        elif event.type == "DELETED" and (kind, meta.get("name")) in (
            ("ServiceAccount", DEFAULT_SERVICE_ACCOUNT),
            ("ConfigMap", ROOT_CA_CONFIGMAP),
        ):
            self._queue(meta.get("namespace", ""))

    def _queue(self, namespace: str) -> None:
        if not namespace or namespace in self._pending:
            return
        self._pending.add(namespace)
        asyncio.get_running_loop().call_later(self.delay, self._sync, namespace)

    def _sync(self, namespace: str) -> None:
        self._pending.discard(namespace)
        sync_namespace(self.store, namespace)
