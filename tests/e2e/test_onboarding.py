"""Day one without accounts: no env file and none of the three secret keys, through the real CLI.

`invoke up` deploys the chart's own PostgreSQL, generates JWT_SECRET and the database password once
(kept in the newest Secret version, read back on the next run), runs the chat on the local intent
parser, and says so in one line each. `down` keeps the data; `down --delete-data` removes it.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from fakecluster import FakeCluster
from tests.e2e.harness import (
    CliRun,
    app_secrets,
    checkout_copy,
    decoded,
    edit_backend,
    http,
    invoke,
    leaks,
    pod_uids,
    write_env,
)

pytestmark = [pytest.mark.e2e, pytest.mark.docker]
NS = "todo-app"
DB = "todo-app-database"
CLAIM = f"data-{DB}-0"


def names(cluster: FakeCluster, kind: str) -> set[str]:
    return {o["metadata"]["name"] for o in cluster.objects(kind, NS)}


def test_up_without_env_file_or_keys_then_noop_then_down_keeps_data(cluster: FakeCluster, tmp_path: Path) -> None:
    # -- first up: nothing set anywhere (the harness strips the three keys from the environment) ---------
    first = invoke(cluster, "up", cwd=tmp_path)
    assert first.returncode == 0, first.explain()
    announced = {e["key"]: e for e in first.named("default.used")}
    assert set(announced) == {"env_file", "DATABASE_URL", "JWT_SECRET", "COHERE_API_KEY"}, first.explain()
    assert announced["JWT_SECRET"]["origin"] == "generated"
    assert announced["COHERE_API_KEY"]["origin"] == "absent"
    assert any(e["image"] == "postgres:15" for e in first.named("image.loaded")), first.explain()

    # The database objects exist; only the backend may reach the database.
    assert DB in names(cluster, "StatefulSet") and DB in names(cluster, "Service")
    assert DB in names(cluster, "NetworkPolicy") and CLAIM in names(cluster, "PersistentVolumeClaim")
    policy = cluster.get("NetworkPolicy", NS, DB)["spec"]
    [rule] = policy["ingress"]
    assert [p["podSelector"]["matchLabels"]["app.kubernetes.io/component"] for p in rule["from"]] == ["backend"]
    pod = cluster.get("StatefulSet", NS, DB)["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsUser"] == 999 and pod["securityContext"]["runAsNonRoot"] is True
    assert pod["containers"][0]["securityContext"]["readOnlyRootFilesystem"] is True

    # One Secret: the generated values, no Cohere key; the backend's DATABASE_URL names the Service.
    [secret] = app_secrets(cluster, NS)
    values = decoded(secret)
    assert set(values) == {"DATABASE_URL", "JWT_SECRET", "POSTGRES_PASSWORD"}
    url = urlsplit(values["DATABASE_URL"])
    assert (url.hostname, url.port, url.username, url.password) == (DB, 5432, "todo", values["POSTGRES_PASSWORD"])
    assert len(values["JWT_SECRET"].encode()) >= 32 and len(values["POSTGRES_PASSWORD"].encode()) >= 32
    backend = cluster.get("Deployment", NS, "todo-app-backend")["spec"]["template"]["spec"]["containers"][0]
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in backend["env"] if "valueFrom" in e}
    assert refs["DATABASE_URL"] == {"name": secret["metadata"]["name"], "key": "DATABASE_URL"}
    assert refs["COHERE_API_KEY"].get("optional") is True
    db_env = {
        e["name"]: e for e in cluster.get("StatefulSet", NS, DB)["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert db_env["POSTGRES_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == secret["metadata"]["name"]

    # The generated values are never shown, and only the Secret's create carried them.
    generated = [values["JWT_SECRET"], values["POSTGRES_PASSWORD"]]
    assert not leaks(first.output, generated)
    for kind in ("Deployment", "StatefulSet", "ConfigMap", "Service", "Pod", "Event"):
        for obj in cluster.objects(kind, NS):
            assert not leaks(str(obj), generated), f"{kind} {obj['metadata']['name']}"
    carrying = [r for r in cluster.requests if r.is_write and any(r.mentions(v) for v in generated)]
    assert [(r.method, r.path.rsplit("/", 1)[-1]) for r in carrying] == [("POST", "secrets")]

    # -- second up: a no-op (same Secret version, nothing written, no pod restarted) ---------------------
    uids = pod_uids(cluster, NS)
    cluster.clear_requests()
    second = invoke(cluster, "up", cwd=tmp_path)
    assert second.returncode == 0, second.explain()
    assert {e["key"]: e["origin"] for e in second.named("default.used")}["JWT_SECRET"] == "kept"
    assert second.named("secret.unchanged")[0]["name"] == secret["metadata"]["name"]
    assert second.named("helm.skipped") and not second.named("helm.upgraded")
    assert any(e["image"] == "postgres:15" for e in second.named("image.load_skipped"))
    assert not [r for r in cluster.requests if r.is_write], [(r.method, r.path) for r in cluster.requests if r.is_write]
    assert pod_uids(cluster, NS) == uids

    # -- down: the app goes, the data stays (claim, namespace, the Secret with the password) -------------
    down = invoke(cluster, "down", cwd=tmp_path)
    assert down.returncode == 0, down.explain()
    assert not names(cluster, "Deployment") and not names(cluster, "StatefulSet")
    assert CLAIM in names(cluster, "PersistentVolumeClaim")
    assert NS in {n["metadata"]["name"] for n in cluster.objects("Namespace")}
    assert [s["metadata"]["name"] for s in app_secrets(cluster, NS)] == [secret["metadata"]["name"]]
    [kept] = down.named("data.kept")
    assert kept["claims"] == [CLAIM] and kept["secrets"] == [secret["metadata"]["name"]]
    human = invoke(cluster, "down", cwd=tmp_path, json_lines=False)
    assert human.returncode == 0 and "--delete-data" in human.output, human.explain()

    # -- up again: the same password and JWT come back (the volume would still open) ---------------------
    again = invoke(cluster, "up", cwd=tmp_path)
    assert again.returncode == 0, again.explain()
    assert [s["metadata"]["name"] for s in app_secrets(cluster, NS)] == [secret["metadata"]["name"]]

    # -- down --delete-data: everything goes ---------------------------------------------------------------
    wipe = invoke(cluster, "down", "--delete-data", cwd=tmp_path)
    assert wipe.returncode == 0, wipe.explain()
    assert not cluster.objects("PersistentVolumeClaim", NS)
    assert NS not in {n["metadata"]["name"] for n in cluster.objects("Namespace")}
    assert f"PersistentVolumeClaim {CLAIM}" in " ".join(
        e.get("name", "") and f"PersistentVolumeClaim {e['name']}" for e in wipe.named("volume.deleted")
    )


def test_with_a_database_url_no_database_renders_and_each_default_is_one_line(
    cluster: FakeCluster, tmp_path: Path, database: str
) -> None:
    url = database  # the test PostgreSQL server the containers reach
    env_file = write_env(tmp_path / "deploy.env", {"DATABASE_URL": url})
    run = invoke(cluster, "up", env_file=env_file, json_lines=False)
    assert run.returncode == 0, run.explain()
    assert not cluster.objects("StatefulSet", NS) and not cluster.objects("PersistentVolumeClaim", NS)
    assert DB not in names(cluster, "Service") and DB not in names(cluster, "NetworkPolicy")
    [secret] = app_secrets(cluster, NS)
    values = decoded(secret)
    assert set(values) == {"DATABASE_URL", "JWT_SECRET"} and values["DATABASE_URL"] == url
    lines = run.stderr.splitlines()
    jwt = [line for line in lines if "JWT_SECRET not set" in line]
    cohere = [line for line in lines if "COHERE_API_KEY not set" in line]
    assert len(jwt) == 1 and "kept in the cluster" in jwt[0], run.explain()
    assert len(cohere) == 1 and "local intent parser" in cohere[0] and "set COHERE_API_KEY" in cohere[0]
    assert not [line for line in lines if "DATABASE_URL not set" in line]
    assert not leaks(run.output, [url, values["JWT_SECRET"]])


def test_with_real_pods_the_data_outlives_a_new_backend_and_down_then_up(cluster: FakeCluster, tmp_path: Path) -> None:
    """The in-cluster database with real pods (no DATABASE_URL anywhere): a task written through the
    app's API is read back after a new backend image rolls out, and after `down` (data kept) and `up`."""
    assert cluster.real_pods, "this test needs the node that runs the containers (E2E_PODS=real)"
    checkout = checkout_copy(tmp_path)  # a backend file changes below: a new content tag
    work = tmp_path / "work"  # no .env here
    work.mkdir()

    def up() -> CliRun:
        run = invoke(cluster, "up", cwd=work, root=checkout)
        assert run.returncode == 0, run.explain()
        return run

    def api() -> str:
        return f"http://127.0.0.1:{cluster.node_port(NS, 'todo-app-frontend')}/api"

    def titles(login: tuple[str, str]) -> list[str]:
        status, token = http("POST", f"{api()}/auth/login", {"email": login[0], "password": login[1]})
        assert status == 200, token
        status, tasks = http("GET", f"{api()}/tasks", token=token["access_token"])
        assert status == 200, tasks
        return [t["title"] for t in tasks]

    def backend_ref(run: CliRun) -> str:
        return next(
            e["ref"]
            for e in run.events
            if e["event"] in ("image.built", "image.skipped") and e["image"] == "todo-backend"
        )

    first = up()
    assert [e["key"] for e in first.named("default.used") if e["key"] == "DATABASE_URL"], first.explain()
    login = (f"day-one-{uuid.uuid4().hex[:8]}@example.org", "pw-12345678")
    status, body = http("POST", f"{api()}/auth/register", {"email": login[0], "password": login[1]})
    assert status == 201, body
    status, token = http("POST", f"{api()}/auth/login", {"email": login[0], "password": login[1]})
    assert status == 200, token
    status, task = http("POST", f"{api()}/tasks", {"title": "kept across rollouts"}, token["access_token"])
    assert status == 201, task
    database_pod = cluster.get("Pod", NS, f"{DB}-0")["metadata"]["uid"]

    # A new backend image: the backend's pods are replaced, the database's pod is not.
    edit_backend(checkout, "a new backend image")
    rolled = up()
    assert backend_ref(rolled) != backend_ref(first), rolled.explain()  # a new content tag (built once per machine)
    assert rolled.named("helm.upgraded"), rolled.explain()
    assert cluster.get("Pod", NS, f"{DB}-0")["metadata"]["uid"] == database_pod
    assert titles(login) == ["kept across rollouts"]

    # down keeps the claim (and the password); the next up's database opens the same data.
    down = invoke(cluster, "down", cwd=work, root=checkout)
    assert down.returncode == 0, down.explain()
    assert down.named("data.kept") and not cluster.objects("Pod", NS)
    up()
    assert cluster.get("Pod", NS, f"{DB}-0")["metadata"]["uid"] != database_pod  # a new database pod
    assert titles(login) == ["kept across rollouts"]
