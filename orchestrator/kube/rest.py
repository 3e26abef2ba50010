"""Plain-JSON requests to the Kubernetes API through the run's ApiClient.

The typed API classes of the `kubernetes` client (CoreV1Api, AppsV1Api, ...) import a model class for
every kind they can return: on client 37 that is about a second of CPU before the first request, the
largest single cost of a no-op `invoke up`. The orchestrator reads and writes a handful of kinds and
works on their JSON anyway, so it sends requests itself, through what the ApiClient already holds:
its connection pool (TLS, client certificates, proxy; `rest_client.pool_manager`), its default headers
and its credentials (`configuration.auth_settings()`, which also runs a kubeconfig's token refresh
hook). Both hold on every client version in pyproject.toml's range.

A request that gets a non-2xx answer raises the client's own `ApiException` (status, reason; the body is
kept for the caller's checks but never shown), so orchestrator.kube.api's retry rule and error mapping
apply unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import quote, urlencode

JSON = "application/json"


def path_of(*parts: str) -> str:
    """`/api/v1` + quoted parts: path_of("/api/v1", "namespaces", ns, "secrets", name)."""
    head, *rest = parts
    return head.rstrip("/") + "".join("/" + quote(part, safe="") for part in rest)


def core_path(namespace: str | None, resource: str, name: str | None = None) -> str:
    """A core (`/api/v1`) resource path: namespaced when `namespace` is given."""
    parts = ["/api/v1", *(("namespaces", namespace) if namespace else ()), resource, *((name,) if name else ())]
    return path_of(*parts)


def group_path(group_version: str, namespace: str | None, resource: str, name: str | None = None) -> str:
    """A resource path in an API group: group_path("apps/v1", ns, "deployments")."""
    parts = [f"/apis/{group_version}", *(("namespaces", namespace) if namespace else ()), resource]
    return path_of(*parts, *((name,) if name else ()))


class Rest:
    """Requests through `api_client` (a kubernetes.client.ApiClient); bodies and answers are dicts."""

    def __init__(self, api_client: Any) -> None:
        self.api_client = api_client
        self.configuration = api_client.configuration

    def _headers(self, body: bool) -> dict[str, str]:
        headers = {"Accept": JSON, **dict(self.api_client.default_headers or {})}
        if body:
            headers["Content-Type"] = JSON
        for auth in (self.configuration.auth_settings() or {}).values():
            if auth.get("in") == "header" and auth.get("value"):
                headers[str(auth["key"])] = str(auth["value"])
        return headers

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, Any] | None = None,
        body: Any = None,
        timeout: Any = None,
        stream: bool = False,
        retries: Any = None,
    ) -> Any:
        """One request; the urllib3 response (unread when `stream`). Non-2xx raises ApiException.
        `retries` is urllib3's: None keeps the pool's (urllib3's default retries refused connections
        and honours a 503's Retry-After three times), False sends the request once."""
        from kubernetes.client.exceptions import ApiException

        pairs = {k: _query_value(v) for k, v in (query or {}).items() if v is not None}
        url = self.configuration.host.rstrip("/") + path + (f"?{urlencode(pairs)}" if pairs else "")
        response = self.api_client.rest_client.pool_manager.request(
            method,
            url,
            body=None if body is None else json.dumps(body).encode("utf-8"),
            headers=self._headers(body is not None),
            timeout=_timeout(timeout),
            preload_content=not stream,
            **({} if retries is None else {"retries": retries}),
        )
        if not 200 <= response.status < 300:
            if stream:
                response.read()
                response.release_conn()
            raise ApiException(http_resp=_ErrorResponse(response))
        return response

    def get(self, path: str, *, request_timeout: Any = None, **query: Any) -> dict[str, Any]:
        return _json(self.request("GET", path, query=query, timeout=request_timeout))

    def create(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return _json(self.request("POST", path, body=dict(body)))

    def replace(self, path: str, body: Mapping[str, Any], *, retries: Any = None) -> dict[str, Any]:
        return _json(self.request("PUT", path, body=dict(body), retries=retries))

    def delete(self, path: str) -> dict[str, Any]:
        return _json(self.request("DELETE", path))

    def pod_log(
        self,
        namespace: str,
        pod: str,
        container: str,
        *,
        tail_lines: int | None = None,
        previous: bool = False,
        request_timeout: Any = None,
    ) -> str:
        """A container's log (text/plain), undecodable bytes replaced."""
        query = {"container": container, "tailLines": tail_lines, "previous": previous or None}
        response = self.request("GET", core_path(namespace, "pods", pod) + "/log", query=query, timeout=request_timeout)
        return str(response.data.decode("utf-8", errors="replace"))

    def follow_log(self, namespace: str, pod: str, container: str, *, tail_lines: int | None = None) -> Iterator[str]:
        """A container's log as it is written, line by line, until the container or the caller stops."""
        query = {"container": container, "tailLines": tail_lines, "follow": True}
        response = self.request(
            "GET", core_path(namespace, "pods", pod) + "/log", query=query, timeout=(10, None), stream=True
        )
        pending = b""
        try:
            for chunk in response.stream(4096, decode_content=True):
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    yield line.decode("utf-8", errors="replace")
            if pending:
                yield pending.decode("utf-8", errors="replace")
        finally:
            response.release_conn()

    def lister(self, collection: Callable[[str], str]) -> Callable[..., Any]:
        """A list function shaped like the typed client's `list_namespaced_*` called with
        `_preload_content=False` (the raw response), for the rollout feeds: `collection(namespace)`
        is the path; `watch=True` opens a watch."""

        def list_fn(
            namespace: str,
            *,
            label_selector: str | None = None,
            watch: bool | None = None,
            timeout_seconds: int | None = None,
            resource_version: str | None = None,
            _preload_content: bool = False,
            _request_timeout: Any = None,
        ) -> Any:
            query = {
                "labelSelector": label_selector,
                "watch": watch,
                "timeoutSeconds": timeout_seconds,
                "resourceVersion": resource_version,
            }
            return self.request("GET", collection(namespace), query=query, timeout=_request_timeout, stream=bool(watch))

        return list_fn


class _ErrorResponse:
    """What ApiException(http_resp=...) reads: status, reason, data, and the headers (`headers` on
    client 37, `getheaders()` before)."""

    def __init__(self, response: Any) -> None:
        self.status = response.status
        self.reason = response.reason
        self.data = response.data
        self.headers = response.headers

    def getheaders(self) -> Any:
        return self.headers

    def getheader(self, name: str, default: Any = None) -> Any:
        return self.headers.get(name, default)


def _json(response: Any) -> dict[str, Any]:
    data = response.data
    return json.loads(data) if data else {}


def _query_value(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _timeout(value: Any) -> Any:
    """The client's `_request_timeout` forms: a number (total) or (connect, read)."""
    import urllib3

    if value is None:
        return urllib3.Timeout(connect=10, read=60)
    if isinstance(value, (tuple, list)):
        return urllib3.Timeout(connect=value[0], read=value[1])
    return urllib3.Timeout(total=value)
