"""The real `kubernetes` client against the fake API server, over HTTP."""

from __future__ import annotations

import base64
import json
import threading
import time

import pytest
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

from fakecluster import FakeCluster


@pytest.fixture
def api(cluster: FakeCluster) -> client.ApiClient:
    return config.new_client_from_config(config_file=str(cluster.kubeconfig))


def _secret(name: str, **fields: object) -> client.V1Secret:
    return client.V1Secret(metadata=client.V1ObjectMeta(name=name, labels={"app": "todo"}), **fields)


def test_version_and_discovery(api: client.ApiClient) -> None:
    assert client.VersionApi(api).get_code().git_version == "v1.35.0"
    core = client.CoreV1Api(api).get_api_resources()
    assert core.group_version == "v1"
    assert {"secrets", "pods/log", "namespaces"} <= {r.name for r in core.resources}
    groups = {g.name for g in client.ApisApi(api).get_api_versions().groups}
    assert {"apps", "networking.k8s.io"} <= groups


def test_namespace_lifecycle_terminating_then_gone(api: client.ApiClient) -> None:
    core = client.CoreV1Api(api)
    ns = core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="todo-app")))
    assert ns.status.phase == "Active" and ns.metadata.uid
    core.create_namespaced_config_map("todo-app", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="c")))
    core.delete_namespace("todo-app")
    # deletion is not instant: Terminating, and nothing new may be created meanwhile
    assert core.read_namespace("todo-app").status.phase == "Terminating"
    with pytest.raises(ApiException) as err:
        core.create_namespaced_config_map("todo-app", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="d")))
    body = json.loads(err.value.body)
    assert err.value.status == 403 and "because it is being terminated" in body["message"]
    assert body["details"]["causes"][0]["reason"] == "NamespaceTerminating"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            core.read_namespace("todo-app")
        except ApiException as gone:
            assert gone.status == 404
            break
        time.sleep(0.1)
    else:
        raise AssertionError("the namespace never went")
    with pytest.raises(ApiException) as err:
        core.read_namespaced_config_map("c", "todo-app")
    assert err.value.status == 404


@pytest.mark.parametrize("name", ["default", "kube-system", "kube-public"])
def test_protected_namespaces_cannot_be_deleted(api: client.ApiClient, name: str) -> None:
    with pytest.raises(ApiException) as err:
        client.CoreV1Api(api).delete_namespace(name)
    assert err.value.status == 403
    assert (
        json.loads(err.value.body)["message"] == f'namespaces "{name}" is forbidden: this namespace may not be deleted'
    )
    assert client.CoreV1Api(api).read_namespace(name).status.phase == "Active"


def test_secret_crud_metadata_and_string_data(api: client.ApiClient, namespace: str) -> None:
    core = client.CoreV1Api(api)
    created = core.create_namespaced_secret(namespace, _secret("s", string_data={"K": "canary-value"}))
    assert created.data == {"K": base64.b64encode(b"canary-value").decode()}
    assert created.string_data is None
    assert created.metadata.uid and created.metadata.resource_version and created.metadata.creation_timestamp
    assert created.type == "Opaque"
    created.data["OTHER"] = base64.b64encode(b"x").decode()
    replaced = core.replace_namespaced_secret("s", namespace, created)
    assert int(replaced.metadata.resource_version) > int(created.metadata.resource_version)
    assert set(core.read_namespaced_secret("s", namespace).data) == {"K", "OTHER"}


def test_not_found_and_conflict_bodies_are_real_status_objects(api: client.ApiClient, namespace: str) -> None:
    core = client.CoreV1Api(api)
    with pytest.raises(ApiException) as err:
        core.read_namespaced_secret("missing", namespace)
    body = json.loads(err.value.body)
    assert (err.value.status, body["kind"], body["reason"]) == (404, "Status", "NotFound")
    assert body["message"] == 'secrets "missing" not found'
    assert body["details"] == {"name": "missing", "kind": "secrets"}
    core.create_namespaced_secret(namespace, _secret("dup"))
    with pytest.raises(ApiException) as err:
        core.create_namespaced_secret(namespace, _secret("dup"))
    body = json.loads(err.value.body)
    assert (err.value.status, body["reason"], body["message"]) == (409, "AlreadyExists", 'secrets "dup" already exists')
    stale = core.read_namespaced_secret("dup", namespace)
    core.patch_namespaced_secret("dup", namespace, {"metadata": {"labels": {"v": "2"}}})
    with pytest.raises(ApiException) as err:
        core.replace_namespaced_secret("dup", namespace, stale)
    assert err.value.status == 409 and json.loads(err.value.body)["reason"] == "Conflict"
    with pytest.raises(ApiException) as err:
        core.create_namespaced_secret("no-such-ns", _secret("x"))
    assert err.value.status == 404
    assert json.loads(err.value.body)["message"] == 'namespaces "no-such-ns" not found'


def test_immutable_secret_rejects_data_changes_with_422(api: client.ApiClient, namespace: str) -> None:
    core = client.CoreV1Api(api)
    core.create_namespaced_secret(namespace, _secret("frozen", string_data={"K": "v1"}, immutable=True))
    with pytest.raises(ApiException) as err:
        core.patch_namespaced_secret("frozen", namespace, {"stringData": {"K": "v2"}})
    body = json.loads(err.value.body)
    assert err.value.status == 422 and body["reason"] == "Invalid"
    assert body["message"] == 'Secret "frozen" is invalid: data: Forbidden: field is immutable when `immutable` is set'
    # Metadata may still change, and deletion is allowed.
    core.patch_namespaced_secret("frozen", namespace, {"metadata": {"labels": {"old": "true"}}})
    core.delete_namespaced_secret("frozen", namespace)


def test_label_and_field_selectors(api: client.ApiClient, namespace: str) -> None:
    core = client.CoreV1Api(api)
    for name, tier in (("a", "web"), ("b", "db"), ("c", "web")):
        core.create_namespaced_config_map(
            namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name, labels={"tier": tier}))
        )
    names = lambda items: sorted(i.metadata.name for i in items.items)  # noqa: E731
    assert names(core.list_namespaced_config_map(namespace, label_selector="tier=web")) == ["a", "c"]
    assert names(core.list_namespaced_config_map(namespace, label_selector="tier!=web,tier")) == ["b"]
    assert names(core.list_namespaced_config_map(namespace, label_selector="tier in (db, x)")) == ["b"]
    assert names(core.list_namespaced_config_map(namespace, field_selector="metadata.name=c")) == ["c"]
    listing = core.list_namespaced_config_map(namespace)
    assert listing.kind == "ConfigMapList" and listing.api_version == "v1"
    assert listing.metadata.resource_version


def test_patch_flavours(api: client.ApiClient, namespace: str) -> None:
    apps = client.AppsV1Api(api)
    apps.create_namespaced_deployment(
        namespace,
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "d"},
            "spec": {
                "selector": {"matchLabels": {"app": "d"}},
                "template": {
                    "metadata": {"labels": {"app": "d"}},
                    "spec": {
                        "containers": [
                            {"name": "a", "image": "x:1", "env": [{"name": "A", "value": "1"}]},
                            {"name": "b", "image": "y:1"},
                        ]
                    },
                },
            },
        },
    )
    # Strategic merge: containers merge by name.
    apps.patch_namespaced_deployment(
        "d", namespace, {"spec": {"template": {"spec": {"containers": [{"name": "b", "image": "y:2"}]}}}}
    )
    containers = apps.read_namespaced_deployment("d", namespace).spec.template.spec.containers
    assert [(c.name, c.image) for c in containers] == [("a", "x:1"), ("b", "y:2")]
    # A list body makes the client send a JSON patch.
    apps.patch_namespaced_deployment("d", namespace, [{"op": "replace", "path": "/spec/replicas", "value": 3}])
    deployment = apps.read_namespaced_deployment("d", namespace)
    assert deployment.spec.replicas == 3
    assert deployment.metadata.generation == 3  # each spec change bumps it


def test_watch_streams_changes_from_a_resource_version(api: client.ApiClient, namespace: str) -> None:
    core = client.CoreV1Api(api)
    start = core.list_namespaced_config_map(namespace).metadata.resource_version
    seen: list[tuple[str, str]] = []

    def consume() -> None:
        for event in watch.Watch().stream(
            core.list_namespaced_config_map, namespace, resource_version=start, timeout_seconds=3
        ):
            seen.append((event["type"], event["object"].metadata.name))
            if len(seen) == 3:
                return

    thread = threading.Thread(target=consume)
    thread.start()
    core.create_namespaced_config_map(namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="w")))
    core.patch_namespaced_config_map("w", namespace, {"data": {"k": "v"}})
    core.delete_namespaced_config_map("w", namespace)
    thread.join(5)
    assert seen == [("ADDED", "w"), ("MODIFIED", "w"), ("DELETED", "w")]


def test_requests_are_recorded_with_bodies(cluster: FakeCluster, api: client.ApiClient, namespace: str) -> None:
    cluster.clear_requests()
    client.CoreV1Api(api).create_namespaced_secret(namespace, _secret("rec", string_data={"K": "canary-rec"}))
    writes = [r for r in cluster.requests if r.is_write]
    assert len(writes) == 1 and writes[0].method == "POST" and writes[0].status == 201
    assert writes[0].mentions("canary-rec")
    assert not writes[0].mentions("something-else")


def test_watch_from_a_compacted_resource_version_gets_410_expired(monkeypatch: pytest.MonkeyPatch) -> None:
    import httpx

    from fakecluster import store

    monkeypatch.setattr(store, "HISTORY", 5)
    with FakeCluster(upstream="builtin") as small:
        api = client.CoreV1Api(config.new_client_from_config(config_file=str(small.kubeconfig)))
        for n in range(10):
            api.create_namespaced_config_map("default", client.V1ConfigMap(metadata=client.V1ObjectMeta(name=f"c{n}")))
        response = httpx.get(f"{small.url}/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=2", timeout=5)
        event = json.loads(response.text.splitlines()[0])
        assert event["type"] == "ERROR"
        assert event["object"]["code"] == 410 and event["object"]["reason"] == "Expired"


def _client_version() -> tuple[int, int]:
    from importlib.metadata import version

    major, minor, *_ = version("kubernetes").split(".")
    return int(major), int(minor)


def test_expire_watches_on_demand_and_what_the_client_makes_of_it(
    cluster: FakeCluster, api: client.ApiClient, namespace: str
) -> None:
    """cluster.expire_watches(n): the next n watches from a resourceVersion get the real 410 ERROR
    event. The client's own Watch turns it into ApiException(410) when it deserializes; with
    deserialize=False (34.1+) it fails with KeyError('raw_object') instead, and before 34.1 the
    argument does not exist: that is why orchestrator/kube/rollout/wait.py reads the stream itself."""
    core = client.CoreV1Api(api)
    core.create_namespaced_config_map(namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="before")))
    start = core.list_namespaced_config_map(namespace).metadata.resource_version

    cluster.expire_watches(1)
    with pytest.raises(ApiException) as expired:
        list(
            watch.Watch().stream(core.list_namespaced_config_map, namespace, resource_version=start, timeout_seconds=2)
        )
    assert expired.value.status == 410 and "too old resource version" in str(expired.value.reason)
    watches = [r for r in cluster.requests if r.query.get("watch")]
    assert watches[-1].status == 200  # the error travels inside the stream, not as the HTTP status

    cluster.expire_watches(1)
    fresh = core.list_namespaced_config_map(namespace).metadata.resource_version
    expected: type[BaseException] = KeyError if _client_version() >= (34, 1) else TypeError
    with pytest.raises(expected):
        list(
            watch.Watch().stream(
                core.list_namespaced_config_map, namespace, resource_version=fresh, timeout_seconds=2, deserialize=False
            )
        )


def _lease(name: str, holder: str | None, **meta: object) -> dict:
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": name, **meta},
        "spec": {
            "holderIdentity": holder,
            "leaseDurationSeconds": 15,
            "acquireTime": "2026-01-01T00:00:00.000000Z",
            "renewTime": "2026-01-01T00:00:01.000000Z",
            "leaseTransitions": 0,
        },
    }


def test_leases_discovery_crud_and_conflicts(api: client.ApiClient, namespace: str) -> None:
    """coordination.k8s.io/v1 Leases as client-go's LeaseLock uses them: create, get, update with the
    resourceVersion read (a stale one is 409 Conflict), a second create is 409 AlreadyExists."""
    groups = {g.name: g for g in client.ApisApi(api).get_api_versions().groups}
    assert groups["coordination.k8s.io"].preferred_version.group_version == "coordination.k8s.io/v1"
    resources = client.CoordinationV1Api(api).get_api_resources()
    assert {(r.name, r.kind, r.namespaced) for r in resources.resources} >= {("leases", "Lease", True)}

    leases = client.CoordinationV1Api(api)
    created = leases.create_namespaced_lease(namespace, _lease("lock", "a"))
    assert created.spec.holder_identity == "a" and created.spec.lease_duration_seconds == 15
    assert created.spec.renew_time.microsecond == 0 and created.spec.renew_time.second == 1
    with pytest.raises(ApiException) as err:
        leases.create_namespaced_lease(namespace, _lease("lock", "b"))
    assert err.value.status == 409 and json.loads(err.value.body)["reason"] == "AlreadyExists"

    version = created.metadata.resource_version
    taken = leases.replace_namespaced_lease("lock", namespace, _lease("lock", "b", resourceVersion=version))
    assert taken.spec.holder_identity == "b" and taken.metadata.resource_version != version
    with pytest.raises(ApiException) as err:  # the loser of the race wrote with what it had read
        leases.replace_namespaced_lease("lock", namespace, _lease("lock", "c", resourceVersion=version))
    assert err.value.status == 409 and json.loads(err.value.body)["reason"] == "Conflict"
    assert leases.read_namespaced_lease("lock", namespace).spec.holder_identity == "b"

    bad = _lease("bad", "a")
    bad["spec"]["leaseDurationSeconds"] = 0
    with pytest.raises(ApiException) as err:
        leases.create_namespaced_lease(namespace, bad)
    assert err.value.status == 422 and "must be greater than 0" in json.loads(err.value.body)["message"]
    assert [item.metadata.name for item in leases.list_namespaced_lease(namespace).items] == ["lock"]
