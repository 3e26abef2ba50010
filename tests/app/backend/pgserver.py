"""A throwaway PostgreSQL server for tests: initdb + pg_ctl as the `postgres` user, on a free port."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

BINARIES = ("initdb", "pg_ctl", "postgres")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def find_bin_dir() -> Path | None:
    """The directory holding initdb, pg_ctl and postgres: PATH first, then Debian's layout."""
    found = [shutil.which(name) for name in BINARIES]
    if all(found):
        return Path(found[0]).parent  # type: ignore[arg-type]
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if all((Path(candidate) / name).exists() for name in BINARIES):
            return Path(candidate)
    return None


def _as_postgres(argv: list[str]) -> list[str]:
    # initdb refuses to run as root; other users run the binaries directly.
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


@dataclass
class PostgresServer:
    bin_dir: Path
    root: Path
    port: int

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def url(self, database: str = "postgres", password: str | None = None) -> str:
        auth = "postgres" if password is None else f"postgres:{password}"
        return f"postgresql://{auth}@127.0.0.1:{self.port}/{database}"

    def _run(self, *argv: str, timeout: float = 60) -> None:
        result = subprocess.run(
            _as_postgres([str(self.bin_dir / argv[0]), *argv[1:]]),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if result.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed ({result.returncode}): {result.stderr[-2000:]}")

    def start(self, listen: tuple[str, ...] = ("127.0.0.1",), hba: tuple[str, ...] = ()) -> None:
        """`listen`: addresses to serve on; `hba`: extra pg_hba.conf lines (e.g. password logins
        from containers: `host all all 172.16.0.0/12 scram-sha-256`)."""
        self._run("initdb", "-D", str(self.data_dir), "-A", "trust", "-U", "postgres", "-E", "UTF8")
        if hba:
            with (self.data_dir / "pg_hba.conf").open("a") as handle:
                handle.write("".join(line + "\n" for line in hba))
        options = f"-p {self.port} -k {self.root} -c listen_addresses={','.join(listen)} -c fsync=off"
        self._run(
            "pg_ctl",
            "-D",
            str(self.data_dir),
            "-l",
            str(self.root / "server.log"),
            "-o",
            options,
            "-w",
            "-t",
            "30",
            "start",
        )

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop", timeout=30)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def start_server(listen: tuple[str, ...] = ("127.0.0.1",), hba: tuple[str, ...] = ()) -> PostgresServer:
    """Start a server, or raise RuntimeError saying what is missing."""
    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise RuntimeError(
            "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found on PATH or under "
            "/usr/lib/postgresql/*/bin; install the PostgreSQL server package"
        )
    root = Path(tempfile.mkdtemp(prefix="todo-pg-", dir="/tmp"))
    if os.geteuid() == 0:
        shutil.chown(root, user="postgres", group="postgres")
    server = PostgresServer(bin_dir=bin_dir, root=root, port=free_port())
    server.start(listen, hba)
    return server
