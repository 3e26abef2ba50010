"""A unix-socket proxy in front of the Docker engine's socket, run as its own process.

    python docker_proxy.py LISTEN_SOCKET TARGET_SOCKET

Prints `ready` once it listens. Killing the process (SIGKILL) drops every connection through it at
once, which is what a client sees when the engine goes away in the middle of a build; the engine
itself is never touched.
"""

from __future__ import annotations

import socket
import sys
import threading


def pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (source, sink):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def main(listen: str, target: str) -> None:
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(listen)
    server.listen(64)
    print("ready", flush=True)
    while True:
        client, _ = server.accept()
        upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        upstream.connect(target)
        threading.Thread(target=pipe, args=(client, upstream), daemon=True).start()
        threading.Thread(target=pipe, args=(upstream, client), daemon=True).start()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
