"""The fake cluster's `kubectl`: `port-forward` is emulated, every other subcommand runs the real kubectl.

kubectl 1.35 speaks SPDY/3.1 tunnelled over WebSocket to a pod's `portforward` subresource, which no
Python library implements; emulating that protocol would be out of proportion. This shim keeps what a
caller sees of the real command instead (kubernetes/kubectl pkg/cmd/portforward/portforward.go,
kubernetes/client-go tools/portforward/portforward.go):
- the target (`svc/NAME`, `deploy/NAME`, `pod/NAME` or `NAME`) is resolved by the fake cluster
  (`Network.port_forward`): one pod, ready and running first; a pod that is not Running is
  `error: unable to forward port because pod is not running. Current status=Pending`; no pod yet:
  wait for one until `--pod-running-timeout` (1m), then `error: timed out waiting for the condition`;
- `[LOCAL:]REMOTE` (LOCAL 0 or empty: a free port), one listener per `--address` (default
  `localhost`: 127.0.0.1 and ::1), printing `Forwarding from 127.0.0.1:PORT -> REMOTE` (and
  `Forwarding from [::1]:PORT -> REMOTE`) on stdout, then `Handling connection for PORT` per connection;
- the bytes go to where the fake routes the Service's ready endpoints (`Network.endpoint_url`).
Run by `<state-dir>/bin/kubectl` with FAKE_KUBECTL_REAL (the real binary) and FAKE_KUBECTL_CONTROL
(the fake's control URL) set.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import time
import urllib.request
from typing import Any

VALUE_FLAGS = {
    "-n",
    "--namespace",
    "--kubeconfig",
    "--context",
    "--address",
    "--pod-running-timeout",
    "--cluster",
    "--user",
    "--request-timeout",
    "-s",
    "--server",
}


def parse(args: list[str]) -> tuple[dict[str, str], list[str]]:
    """Flags (`--x v`, `--x=v`, `-n v`) and positional arguments of `kubectl port-forward ...`."""
    flags: dict[str, str] = {}
    positional: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg.startswith("-") and "=" in arg:
            key, value = arg.split("=", 1)
            flags[key] = value
        elif arg in VALUE_FLAGS and i + 1 < len(args):
            flags[arg] = args[i + 1]
            i += 1
        elif arg.startswith("-"):
            flags[arg] = "true"
        else:
            positional.append(arg)
        i += 1
    return flags, positional


def _seconds(duration: str) -> float:
    """A Go duration such as 1m0s, 30s, 2m."""
    total = 0.0
    for amount, unit in re.findall(r"(\d+(?:\.\d+)?)(h|ms|m|s)", duration):
        total += float(amount) * {"h": 3600, "m": 60, "s": 1, "ms": 0.001}[unit]
    return total or 60.0


def _ask(control: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{control}/port-forward",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        try:
            writer.close()
        except (ConnectionError, OSError):
            pass


async def _serve(addresses: list[str], ports: list[tuple[int, int]], target: tuple[str, int]) -> None:
    servers: list[asyncio.Server] = []
    for local, remote in ports:
        bound = {"port": local}  # every address listens on the same local port, as kubectl does

        async def handler(
            reader: asyncio.StreamReader, writer: asyncio.StreamWriter, bound: dict[str, int] = bound
        ) -> None:
            await _connection(reader, writer, bound["port"], target)

        for address in addresses:
            try:
                server = await asyncio.start_server(handler, address, bound["port"])
            except OSError as exc:
                if servers or address != addresses[-1]:
                    print(f"Unable to listen on port {bound['port']}: {exc}", file=sys.stderr, flush=True)
                    continue
                raise
            bound["port"] = server.sockets[0].getsockname()[1]
            host = f"[{address}]" if ":" in address else address
            print(f"Forwarding from {host}:{bound['port']} -> {remote}", flush=True)
            servers.append(server)
    await asyncio.gather(*(s.serve_forever() for s in servers))


async def _connection(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, port: int, target: tuple[str, int]
) -> None:
    print(f"Handling connection for {port}", flush=True)
    try:
        up_reader, up_writer = await asyncio.open_connection(*target)
    except OSError as exc:
        print(f"E0000 portforward.go] an error occurred forwarding {port}: {exc}", file=sys.stderr, flush=True)
        writer.close()
        return
    await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))


def port_forward(args: list[str], control: str) -> int:
    flags, positional = parse(args)
    if len(positional) < 2:
        print("error: TYPE/NAME and list of ports are required for port-forward", file=sys.stderr)
        return 1
    target, port_specs = positional[0], positional[1:]
    namespace = flags.get("-n") or flags.get("--namespace") or "default"
    address_flag = flags.get("--address", "localhost")
    addresses: list[str] = []
    for address in address_flag.split(","):
        addresses += ["127.0.0.1", "::1"] if address == "localhost" else [address]
    deadline = time.monotonic() + _seconds(flags.get("--pod-running-timeout", "1m0s"))
    while True:
        answer = _ask(control, {"namespace": namespace, "target": target, "port": port_specs[0].split(":")[-1]})
        if "error" in answer:
            print(answer["error"], file=sys.stderr)
            return 1
        if not answer.get("waiting"):
            break
        if time.monotonic() >= deadline:
            print("error: timed out waiting for the condition", file=sys.stderr)
            return 1
        time.sleep(0.5)
    ports: list[tuple[int, int]] = []
    for spec in port_specs:
        local, _, remote = spec.rpartition(":")
        one = _ask(control, {"namespace": namespace, "target": target, "port": remote})
        if "error" in one:
            print(one["error"], file=sys.stderr)
            return 1
        # "3000" keeps 3000 locally; ":3000" and "0:3000" take a free port
        local_port = int(remote) if ":" not in spec else int(local or 0)
        ports.append((local_port, int(one["container_port"])))
    try:
        asyncio.run(_serve(addresses, ports, (answer["address"][0], int(answer["address"][1]))))
    except KeyboardInterrupt:
        return 0
    except OSError as exc:
        print(f"error: unable to listen on any of the requested ports: {exc}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str]) -> int:
    real = os.environ.get("FAKE_KUBECTL_REAL", "")
    control = os.environ.get("FAKE_KUBECTL_CONTROL", "")
    args = argv[1:]
    _flags, positional = parse(args)
    if positional[:1] == ["port-forward"] and control:
        rest = list(args)
        rest.remove("port-forward")
        return port_forward(rest, control)
    os.execv(real, [real, *args])
    return 127  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv))
