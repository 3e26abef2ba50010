"""A unix-socket proxy in front of the Docker engine that holds image builds, run as its own process.

    python docker_hold.py LISTEN_SOCKET TARGET_SOCKET

Every request passes through, except `POST .../build`: from its first byte on, that connection's
bytes towards the engine are held (the engine never receives the whole build context, so it builds
and tags nothing), and the proxy prints `held` on stdout. The client is then inside its build for as
long as the test wants. SIGKILL drops every connection at once (the engine lost mid-build); a client
that gives up closes its side and the held bytes are dropped. The engine itself is never touched.
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


def to_engine(client: socket.socket, upstream: socket.socket) -> None:
    holding = False
    try:
        while data := client.recv(65536):
            if not holding and BUILD_REQUEST.match(data):
                print("held", flush=True)
                holding = True
            if not holding:
                upstream.sendall(data)
    except OSError:
        pass
    finally:
        close(client, upstream)


def to_client(upstream: socket.socket, client: socket.socket) -> None:
    try:
        while data := upstream.recv(65536):
            client.sendall(data)
    except OSError:
        pass
    finally:
        close(client, upstream)


def main(listen: str, target: str) -> None:
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(listen)
    server.listen(64)
    print("ready", flush=True)
    while True:
        client, _ = server.accept()
        upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        upstream.connect(target)
        threading.Thread(target=to_engine, args=(client, upstream), daemon=True).start()
        threading.Thread(target=to_client, args=(upstream, client), daemon=True).start()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
