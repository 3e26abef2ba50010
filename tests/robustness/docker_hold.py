"""A unix-socket proxy in front of the Docker engine that holds image builds, run as its own process.

    python docker_hold.py LISTEN_SOCKET TARGET_SOCKET [request|response]

Every request passes through except `POST .../build`, which is held, and the proxy prints `held`:
- `request` (default): from its first byte on, that connection's bytes towards the engine are
  dropped, so the engine never receives the whole build context and builds and tags nothing;
- `response`: the request reaches the engine, which builds; the client gets the response headers
  and the first output, then nothing more: it sits inside its build reading the stream.
SIGKILL drops every connection at once (the engine lost mid-build); a client that gives up closes
its side, and the proxy closes the engine's. The engine itself is never touched.
"""

from __future__ import annotations

import re
import socket
import sys
import threading

BUILD_REQUEST = re.compile(rb"^POST /[^ ]*/build[? ]")


def close(*socks: socket.socket) -> None:
    for sock in socks:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class Connection:
    def __init__(self, client: socket.socket, upstream: socket.socket, mode: str) -> None:
        self.client, self.upstream, self.mode = client, upstream, mode
        self.build_seen = threading.Event()

    def to_engine(self) -> None:
        holding = False
        try:
            while data := self.client.recv(65536):
                if not self.build_seen.is_set() and BUILD_REQUEST.match(data):
                    self.build_seen.set()
                    if self.mode == "request":
                        print("held", flush=True)
                        holding = True
                if not holding:
                    self.upstream.sendall(data)
        except OSError:
            pass
        finally:
            close(self.client, self.upstream)

    def to_client(self) -> None:
        holding = False
        try:
            while data := self.upstream.recv(65536):
                if holding:
                    continue
                self.client.sendall(data)
                if self.mode == "response" and self.build_seen.is_set():
                    print("held", flush=True)
                    holding = True
        except OSError:
            pass
        finally:
            close(self.client, self.upstream)


def main(listen: str, target: str, mode: str = "request") -> None:
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(listen)
    server.listen(64)
    print("ready", flush=True)
    while True:
        client, _ = server.accept()
        upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        upstream.connect(target)
        connection = Connection(client, upstream, mode)
        threading.Thread(target=connection.to_engine, daemon=True).start()
        threading.Thread(target=connection.to_client, daemon=True).start()


if __name__ == "__main__":
    main(*sys.argv[1:4])
