"""`python -m fakecluster --scenario NAME [--pods real|scripted] [--backend-dir DIR] [--tools-bin DIR] [--state-dir DIR] -- COMMAND...`

Pods run as real Docker containers by default (`--pods scripted`: every pod follows the scenario script).

Starts the fake cluster, runs COMMAND with KUBECONFIG and PATH (fake minikube, pinned helm/kubectl)
pointing at it, stops everything and exits with COMMAND's exit code. Without COMMAND it serves until
interrupted and prints the environment to use.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import threading

from .cluster import FakeCluster
from .kubelet import docker_available
from .scenarios import Scenario


def parse_args(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    command: list[str] = []
    if "--" in argv:
        split = argv.index("--")
        argv, command = argv[:split], argv[split + 1 :]
    parser = argparse.ArgumentParser(
        prog="python -m fakecluster", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scenario", default="healthy", choices=[s.value for s in Scenario])
    parser.add_argument(
        "--pods",
        choices=["real", "scripted"],
        default="real",
        help="real (default): pods run as Docker containers under their spec where the scenario "
        "allows (healthy, missing-secret-key, image-not-loaded, api-flaky; slow, crash-loop and "
        "unschedulable stay scripted); scripted: every pod follows the scenario script and "
        "traffic goes to --upstream",
    )
    parser.add_argument("--state-dir", help="where the kubeconfig, minikube state and bin dir go (default: temp)")
    parser.add_argument(
        "--upstream",
        help="what NodePort/ingress traffic reaches: a URL, 'backend' (start the "
        "backend in --backend-dir with SQLite, the default when given) or 'builtin' (a /health stub)",
    )
    parser.add_argument(
        "--backend-dir",
        help="the directory holding the backend's todo_api package, e.g. "
        "app/backend (default: $FAKECLUSTER_BACKEND_DIR)",
    )
    parser.add_argument(
        "--tools-bin",
        help="a directory of pinned helm/kubectl to put on PATH, e.g. .tools/bin (default: $FAKECLUSTER_TOOLS_BIN)",
    )
    parser.add_argument(
        "--service-upstream",
        action="append",
        default=[],
        metavar="SERVICE=URL",
        help="send one Service's traffic elsewhere (repeatable; SERVICE or NAMESPACE/SERVICE)",
    )
    parser.add_argument(
        "--ingress-port", default="auto", help="port for the emulated ingress ('auto': 80 if free, 'none' to disable)"
    )
    parser.add_argument("--port", type=int, default=0, help="API server port (default: any free port)")
    parser.add_argument("--nodes", type=int, default=1, help="how many nodes: minikube, minikube-m02, ... (default 1)")
    parser.add_argument(
        "--zones",
        default="",
        help="comma-separated zones spread over the nodes as topology.kubernetes.io/zone labels (default: none)",
    )
    parser.add_argument("--kubernetes-version", help="what GET /version says (default: v1.35.0)")
    return parser.parse_args(argv), command


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM stops the cluster as cleanly as Ctrl-C does


def main(argv: list[str]) -> int:
    args, command = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    if args.pods == "real" and not docker_available():
        print(
            "fakecluster: real pods need the Docker engine and it does not answer; start dockerd, "
            "or run with --pods scripted",
            file=sys.stderr,
        )
        return 2
    with FakeCluster(
        args.scenario,
        state_dir=args.state_dir,
        upstream=args.upstream,
        real_pods=args.pods == "real",
        ingress_port=args.ingress_port,
        port=args.port,
        backend_dir=args.backend_dir,
        tools_bin=args.tools_bin,
        nodes=args.nodes,
        zones=[z for z in args.zones.split(",") if z],
        kubernetes_version=args.kubernetes_version,
        service_upstreams=dict(item.split("=", 1) for item in args.service_upstream),
    ) as cluster:
        env = cluster.env
        if not command:
            print(f"export KUBECONFIG={env['KUBECONFIG']}")
            print(f"export PATH={env['PATH']}")
            print(f"export FAKE_MINIKUBE_STATE={env['FAKE_MINIKUBE_STATE']}")
            print(f"# API server {cluster.url}; scenario file {cluster.scenario_file}; Ctrl-C stops", flush=True)
            try:
                threading.Event().wait()
            except KeyboardInterrupt:
                return 0
        try:
            return subprocess.run(command, env=env, check=False).returncode
        except FileNotFoundError:
            print(f"fakecluster: command not found: {command[0]}", file=sys.stderr)
            return 127
        except KeyboardInterrupt:
            return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
