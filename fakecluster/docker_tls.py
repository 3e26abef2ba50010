"""The node's Docker engine as `minikube docker-env` presents it: tcp:// with mutual TLS.

With the docker runtime, minikube prints `DOCKER_TLS_VERIFY="1"`, `DOCKER_HOST="tcp://IP:PORT"` and
`DOCKER_CERT_PATH` (ca.pem, cert.pem, key.pem: minikube's CA and a client certificate), and the node's
dockerd only talks TLS with a client certificate that CA signed (kubernetes/minikube
cmd/minikube/cmd/docker-env.go, dockerURL and the TCP template). Here a TLS terminator on 127.0.0.1
with certificates made for the cluster (openssl) relays to the local engine's socket, so a client has
to get the scheme, the certificates and the hostname check right, as against a real node.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import subprocess
from pathlib import Path

ENGINE_SOCKET = "/var/run/docker.sock"


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_certificates(directory: Path) -> Path:
    """A CA, a server certificate for 127.0.0.1/localhost and a client certificate, as minikube keeps them
    (ca.pem, cert.pem, key.pem for the client; server.pem, server-key.pem for the engine)."""
    directory.mkdir(parents=True, exist_ok=True)
    if (directory / "cert.pem").exists():
        return directory
    days = "2"
    _openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca-key.pem",
        "-out",
        "ca.pem",
        "-days",
        days,
        "-subj",
        "/O=fakecluster/CN=minikubeCA",
        cwd=directory,
    )
    for name, subject, extension in (
        (
            "server",
            "/O=fakecluster/CN=minikube",
            "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:minikube\nextendedKeyUsage=serverAuth\n",
        ),
        ("client", "/O=fakecluster/CN=minikube-user", "extendedKeyUsage=clientAuth\n"),
    ):
        (directory / f"{name}.ext").write_text(extension)
        _openssl(
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            f"{name}-key.pem",
            "-out",
            f"{name}.csr",
            "-subj",
            subject,
            cwd=directory,
        )
        _openssl(
            "x509",
            "-req",
            "-in",
            f"{name}.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca-key.pem",
            "-CAcreateserial",
            "-out",
            f"{name}.pem",
            "-days",
            days,
            "-extfile",
            f"{name}.ext",
            cwd=directory,
        )
    (directory / "client.pem").rename(directory / "cert.pem")
    (directory / "client-key.pem").rename(directory / "key.pem")
    for leftover in directory.glob("*.csr"):
        leftover.unlink()
    for private in directory.glob("*key.pem"):
        private.chmod(0o600)
    return directory


class DockerTls:
    """Mutual-TLS listener relaying to the local engine; `port` once started."""

    def __init__(self, cert_dir: Path, socket_path: str = ENGINE_SOCKET) -> None:
        self.cert_dir = cert_dir
        self.socket_path = socket_path
        self.port = 0
        self.connections = 0  # accepted with a valid client certificate
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        await asyncio.to_thread(make_certificates, self.cert_dir)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(self.cert_dir / "ca.pem"))
        context.load_cert_chain(str(self.cert_dir / "server.pem"), str(self.cert_dir / "server-key.pem"))
        context.verify_mode = ssl.CERT_REQUIRED  # dockerd --tlsverify: no client certificate, no engine
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0, ssl=context)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            up_reader, up_writer = await asyncio.open_unix_connection(self.socket_path)
        except OSError:
            writer.close()
            return
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError, ssl.SSLError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()
