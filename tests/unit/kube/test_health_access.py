"""The final summary of `up`: the URL that works now, and the /etc/hosts line when todo-app.local
does not point at the cluster (orchestrator.kube.health.access_lines, pure)."""

from __future__ import annotations

from orchestrator.kube.health import access_lines

IP = "192.168.49.2"


def test_a_resolving_host_gets_the_pretty_url_only() -> None:
    assert access_lines(f"http://{IP}/health", "ingress", ip=IP, node_port=30080, host_addresses=frozenset({IP})) == [
        "todo-app is up: http://todo-app.local/"
    ]


def test_an_unresolved_host_gets_the_node_port_url_and_the_hosts_line() -> None:
    lines = access_lines(f"http://{IP}/health", "ingress", ip=IP, node_port=30080)
    assert lines[0] == f"todo-app is up: http://{IP}:30080/"
    assert f"`{IP} todo-app.local`" in lines[1] and "/etc/hosts" in lines[1] and "minikube tunnel" in lines[1]


def test_a_host_resolving_elsewhere_is_not_enough() -> None:
    lines = access_lines(
        f"http://{IP}:30080/health", "nodeport", ip=IP, node_port=30080, host_addresses=frozenset({"127.0.0.1"})
    )
    assert lines[0] == f"todo-app is up: http://{IP}:30080/" and "/etc/hosts" in lines[1]


def test_only_a_port_forward_answered() -> None:
    lines = access_lines("http://127.0.0.1:41234/health", "port-forward", ip=None)
    assert lines == [
        "todo-app is up: through a port-forward: `kubectl -n todo-app port-forward "
        "svc/todo-app-frontend 3000:3000`, then http://localhost:3000/"
    ]


def test_a_given_url_is_the_url() -> None:
    assert access_lines("http://app.example:8080/health", "url", ip=None) == [
        "todo-app is up: http://app.example:8080/"
    ]
