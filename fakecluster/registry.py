"""A real container registry on loopback: Debian's `docker-registry` (the Distribution registry 2.8).

Not a fake: the real Docker Registry HTTP API v2 server, started on a free port with its storage in a
temporary directory, so pushes, digests and pulls are the real thing. The Docker engine treats
registries on 127.0.0.0/8 as insecure-allowed, so no TLS or daemon configuration is needed.

    with LocalRegistry() as registry:       # needs /usr/bin/docker-registry (scripts/test installs it)
        registry.address                      # "127.0.0.1:PORT"
        registry.tags("todo-backend")         # the tags the registry holds for a repository
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

from fakecluster.network import free_port

BINARY = "/usr/bin/docker-registry"
CONFIG = """version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: {root}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:{port}
"""


class LocalRegistry:
    def __init__(self, binary: str = BINARY, start_timeout: float = 15.0) -> None:
        self.binary = binary
        self.start_timeout = start_timeout
        self.port = 0
        self._dir: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def __enter__(self) -> LocalRegistry:
        if not Path(self.binary).exists():
            raise RuntimeError(f"{self.binary} is missing: `apt-get install docker-registry` (scripts/test does)")
        self._dir = Path(tempfile.mkdtemp(prefix="registry-"))
        self.port = free_port()
        config = self._dir / "config.yml"
        config.write_text(CONFIG.format(root=self._dir / "data", port=self.port))
        log = (self._dir / "registry.log").open("wb")
        self._proc = subprocess.Popen([self.binary, "serve", str(config)], stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"the registry exited: {(self._dir / 'registry.log').read_text()[-500:]}")
            try:
                with urllib.request.urlopen(f"http://{self.address}/v2/", timeout=1) as response:
                    if response.status == 200:
                        return self
            except (urllib.error.URLError, OSError):
                time.sleep(0.1)
        self.__exit__(None, None, None)
        raise RuntimeError(f"the registry did not answer on {self.address} within {self.start_timeout} s")

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)

    def tags(self, repository: str) -> list[str]:
        """GET /v2/<name>/tags/list: the tags the registry holds (empty when it has none)."""
        try:
            with urllib.request.urlopen(f"http://{self.address}/v2/{repository}/tags/list", timeout=5) as response:
                return sorted(json.load(response).get("tags") or [])
        except urllib.error.HTTPError as err:
            if err.code == 404:
                return []
            raise
