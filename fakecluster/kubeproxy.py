"""Service addresses inside the node: what kube-proxy does for a ClusterIP.

Each Service with a selector is served at its namespace network's gateway address (the node's side of
the pod network) on each of its ports. A connection goes to one Ready endpoint's targetPort, resolved by
number or by the container port's name, picked at random as kube-proxy's iptables mode does
(kubernetes/kubernetes pkg/proxy/iptables/proxier.go: statistic-mode random per endpoint; only
Ready endpoints are programmed, pkg/proxy/endpointslicecache.go). With no Ready endpoint the
connection is refused (the REJECT rule, pkg/proxy/iptables/proxier.go "has no endpoints"); here it is
accepted and closed at once, which a client sees as a reset.

Two Services of one namespace on the same port cannot both be served (one address per namespace):
the second is reported in `conflicts` and left out.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .store import Obj, Store

EndpointsFn = Callable[[str, dict[str, str], Any], list[tuple[str, int]]]


@dataclass
class ServiceProxy:
    store: Store
    networks: dict[str, str]  # namespace -> gateway address
    endpoints: EndpointsFn
    servers: dict[tuple[str, int], asyncio.Server] = field(default_factory=dict)
    owners: dict[tuple[str, int], tuple[str, str]] = field(default_factory=dict)  # -> (namespace, service)
    conflicts: list[str] = field(default_factory=list)

    def _wanted(self) -> dict[tuple[str, int], tuple[str, str]]:
        wanted: dict[tuple[str, int], tuple[str, str]] = {}
        for svc in sorted(self.store.iter_kind("Service"), key=lambda s: s["metadata"].get("creationTimestamp", "")):
            namespace, name = svc["metadata"]["namespace"], svc["metadata"]["name"]
            spec = svc.get("spec") or {}
            if namespace not in self.networks or not spec.get("selector"):
                continue
            for port in spec.get("ports") or []:
                key = (namespace, int(port.get("port", 0)))
                if key in wanted and wanted[key] != (namespace, name):
                    message = f"{namespace}/{name} port {key[1]}: already served for {wanted[key][1]}"
                    if message not in self.conflicts:
                        self.conflicts.append(message)
                    continue
                wanted[key] = (namespace, name)
        return wanted

    async def sync(self) -> None:
        wanted = self._wanted()
        for key in [k for k in self.servers if k not in wanted]:
            server = self.servers.pop(key)
            self.owners.pop(key, None)
            server.close()
        for key, owner in wanted.items():
            self.owners[key] = owner
            if key in self.servers:
                continue
            namespace, port = key
            try:
                self.servers[key] = await asyncio.start_server(
                    functools.partial(self._serve, key), self.networks[namespace], port, reuse_address=True
                )
            except OSError as exc:
                message = f"{namespace}/{owner[1]} port {port}: {exc}"
                if message not in self.conflicts:
                    self.conflicts.append(message)

    def _service(self, key: tuple[str, int]) -> tuple[Obj, Obj] | None:
        owner = self.owners.get(key)
        if owner is None:
            return None
        svc = self.store.find(self.store.table.by_kind("Service"), owner[0], owner[1])
        if svc is None:
            return None
        port = next((p for p in (svc.get("spec") or {}).get("ports") or [] if int(p.get("port", 0)) == key[1]), None)
        return (svc, port) if port is not None else None

    async def _serve(self, key: tuple[str, int], reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        found = self._service(key)
        targets = []
        if found is not None:
            svc, port = found
            targets = self.endpoints(
                key[0], (svc.get("spec") or {}).get("selector") or {}, port.get("targetPort", port.get("port"))
            )
        if not targets:
            writer.close()
            return
        address, target_port = random.choice(targets)
        try:
            up_reader, up_writer = await asyncio.open_connection(address, target_port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer), return_exceptions=True)

    async def close(self) -> None:
        for server in self.servers.values():
            server.close()
        for server in self.servers.values():
            with contextlib.suppress(Exception):
                async with asyncio.timeout(2):
                    await server.wait_closed()
        self.servers.clear()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    finally:
        with contextlib.suppress(Exception):
            writer.close()
