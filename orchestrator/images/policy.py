"""The image policy: what a built image must satisfy before it is deployed.

    healthcheck         the image has a HEALTHCHECK (the deployment spec requires one)
    non-root-user       USER is numeric uid:gid, uid and gid both non-zero (runAsNonRoot can verify it)
    no-secret-env       no ENV whose name or value looks like a secret
    no-secret-files     no .env, private key or credentials file in any layer (deleted ones count:
                        a later layer's whiteout does not remove the bytes from the earlier layer)
    canary-scan         none of the given secret values appears in any layer, in the image config or
                        in its history, raw or base64-encoded
    vulnerability-scan  trivy or grype, when on PATH: FAIL on critical/high findings, SKIPPED with
                        the reason when no scanner or no vulnerability database is available

Each rule gives PASS, FAIL or SKIPPED(reason); nothing passes silently. Findings name keys, files
and layers, never a secret value. The layer walk streams `docker save`; a caller that will copy the
image into a cluster may keep that one export as a file (`keep`), so the image is exported once.

    check_policy(image, secret_values, client=None, scanners=..., keep=None) -> list[PolicyResult]
    enforce_policy(image, results, require_scan=False)  raises ImageError when a rule failed
"""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
import tarfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any, Protocol

from orchestrator import shell
from orchestrator.errors import ImageError

if TYPE_CHECKING:
    from docker import DockerClient


class Rule(str, Enum):
    HEALTHCHECK = "healthcheck"
    NON_ROOT_USER = "non-root-user"
    SECRET_ENV = "no-secret-env"
    SECRET_FILES = "no-secret-files"
    CANARY = "canary-scan"
    VULNERABILITIES = "vulnerability-scan"


class Status(str, Enum):
    PASS = "PASS"
    FAIL = "FAIL"
    SKIPPED = "SKIPPED"


@dataclass(frozen=True)
class PolicyResult:
    rule: Rule
    status: Status
    detail: str
    findings: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule.value,
            "status": self.status.value,
            "detail": self.detail,
            "findings": list(self.findings),
        }


MAX_FINDINGS = 20
MIN_CANARY_BYTES = 8


# --- rules on the image config (pure) -------------------------------------------------------------


def check_healthcheck(config: Mapping[str, Any]) -> PolicyResult:
    test = (config.get("Healthcheck") or {}).get("Test") or []
    if not test or test[0] == "NONE":
        return PolicyResult(Rule.HEALTHCHECK, Status.FAIL, "no HEALTHCHECK instruction")
    return PolicyResult(Rule.HEALTHCHECK, Status.PASS, " ".join(str(t) for t in test[1:])[:120])


_NUMERIC_USER = re.compile(r"\A(?P<uid>\d+):(?P<gid>\d+)\Z")


def check_user(config: Mapping[str, Any]) -> PolicyResult:
    user = str(config.get("User") or "")
    match = _NUMERIC_USER.match(user)
    if not user:
        return PolicyResult(Rule.NON_ROOT_USER, Status.FAIL, "no USER: the image runs as root")
    if not match:
        return PolicyResult(Rule.NON_ROOT_USER, Status.FAIL, f"USER {user} is not numeric uid:gid")
    if int(match["uid"]) == 0 or int(match["gid"]) == 0:
        return PolicyResult(Rule.NON_ROOT_USER, Status.FAIL, f"USER {user} is root or in group 0")
    return PolicyResult(Rule.NON_ROOT_USER, Status.PASS, f"USER {user}")


_SECRET_NAME = re.compile(
    r"(?i)(?:^|_)(?:SECRET|PASSWORD|PASSWD|PASSPHRASE|TOKEN|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|SECRET_?KEY|"
    r"CREDENTIALS?|DATABASE_URL|DSN)(?:_|$)"
)
_SECRET_VALUE = [
    ("a URL with a password", re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@")),
    ("a private key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY")),
    ("an AWS access key", re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("a GitHub token", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}")),
    ("an API secret key", re.compile(r"\b(sk|rk)[-_](live|test|proj)?[-_]?[A-Za-z0-9]{20,}")),
    ("a Slack token", re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}")),
    ("a JWT", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.")),
]


def check_env(config: Mapping[str, Any]) -> PolicyResult:
    findings = []
    for entry in config.get("Env") or []:
        name, _, value = str(entry).partition("=")
        if _SECRET_NAME.search(name) and value:
            findings.append(f"ENV {name}: the name looks secret and it has a value")
            continue
        for label, pattern in _SECRET_VALUE:
            if pattern.search(value):
                findings.append(f"ENV {name}: the value looks like {label}")
                break
    if findings:
        return PolicyResult(Rule.SECRET_ENV, Status.FAIL, f"{len(findings)} secret-looking ENV", tuple(findings))
    return PolicyResult(Rule.SECRET_ENV, Status.PASS, f"{len(config.get('Env') or [])} ENV checked")


# --- what counts as a secret file or a leaked value (pure) ---------------------------------------

_ENV_OK_SUFFIXES = (".example", ".sample", ".template", ".dist")
_KEY_NAMES = {"id_rsa", "id_dsa", "id_ecdsa", "id_ed25519", "id_ecdsa_sk", "id_ed25519_sk"}
_CREDENTIAL_NAMES = {".netrc", "_netrc", ".git-credentials", ".pypirc", "credentials.json", ".htpasswd"}
_CREDENTIAL_PATHS = (".aws/credentials", ".docker/config.json", ".config/gcloud/credentials.db", ".kube/config")
_KEY_SUFFIXES = (".key", ".p12", ".pfx", ".jks", ".keystore")
PRIVATE_KEY = re.compile(rb"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----\r?\n[A-Za-z0-9+/=:, \r\n-]{40}")
_NPM_TOKEN = re.compile(rb"(?m)^\s*(?://[^\s]*:)?_(?:authToken|auth|password)\s*=\s*\S")
_DOCKER_AUTH = re.compile(rb'"auth"\s*:\s*"[^"]+"')


def secret_file_reason(path: str, head: bytes) -> str | None:
    """Why a file at `path` (starting with `head`) is a secret file, or None."""
    p = PurePosixPath(path)
    name = p.name
    if name.startswith(".wh."):  # a whiteout: the deletion marker, not a file
        return None
    if name == ".env" or (name.startswith(".env.") and not name.endswith(_ENV_OK_SUFFIXES)):
        return "an env file"
    if name in _KEY_NAMES:
        return "an SSH private key"
    if name in _CREDENTIAL_NAMES:
        return "a credentials file"
    posix = p.as_posix()
    for suffix in _CREDENTIAL_PATHS:
        if posix.endswith(suffix):
            if suffix == ".docker/config.json" and not _DOCKER_AUTH.search(head):
                return None
            return "a credentials file"
    if name == ".npmrc" and _NPM_TOKEN.search(head):
        return "an .npmrc with a registry token"
    if PRIVATE_KEY.search(head):
        return "a private key"
    if name.endswith(_KEY_SUFFIXES) and head and b"PUBLIC KEY" not in head and b"CERTIFICATE" not in head:
        return "a key file"
    return None


@dataclass(frozen=True)
class Needle:
    key: str
    encoding: str
    data: bytes


def _b64_fragments(value: bytes, alphabet: Callable[[bytes], bytes]) -> Iterator[bytes]:
    """The base64 characters fully determined by `value`, for each of the three alignments."""
    for shift in range(3):
        encoded = alphabet(b"\0" * shift + value)
        first = -(-8 * shift // 6)  # ceil: characters that still mix in the prefix are dropped
        last = 8 * (shift + len(value)) // 6  # characters past it mix in whatever follows
        yield encoded[first:last]


def canary_needles(secret_values: Mapping[str, str]) -> tuple[list[Needle], list[str]]:
    """Byte strings to look for, per key: raw and base64 (standard and URL-safe, every alignment).

    Returns (needles, keys too short to scan reliably).
    """
    needles: list[Needle] = []
    short: list[str] = []
    for key in sorted(secret_values):
        raw = secret_values[key].encode()
        if len(raw) < MIN_CANARY_BYTES:
            if raw:
                short.append(key)
            continue
        seen = {raw}
        needles.append(Needle(key, "raw", raw))
        for label, alphabet in (("base64", base64.b64encode), ("base64url", base64.urlsafe_b64encode)):
            for fragment in _b64_fragments(raw, alphabet):
                if len(fragment) >= MIN_CANARY_BYTES and fragment not in seen:
                    seen.add(fragment)
                    needles.append(Needle(key, label, fragment))
    return needles, short


def find_needles(data: bytes, needles: Sequence[Needle]) -> list[Needle]:
    return [n for n in needles if n.data in data]


# --- walking the layers --------------------------------------------------------------------------


class _ChunkReader(io.RawIOBase):
    """A file object over an iterator of byte chunks (the `docker save` stream)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        while not self._buffer:
            try:
                self._buffer = next(self._chunks)
            except StopIteration:
                return 0
        count = min(len(target), len(self._buffer))
        target[:count] = self._buffer[:count]
        self._buffer = self._buffer[count:]
        return count


@dataclass
class LayerFindings:
    """What one layer holds that the rules care about (file paths and key names, never a value)."""

    files: int = 0
    bytes: int = 0
    secret_files: list[str] = field(default_factory=list)
    canary_hits: list[str] = field(default_factory=list)


class LayerMemo(Protocol):
    """Findings of layers already walked, by the layer's directory name in the `docker save`
    archive. That name is content-addressed (moby image/tarexport/save.go: v1.CreateID over the
    layer's chain ID, i.e. over the digests of this layer and every layer below it), so the same
    name is the same bytes; the memo must also be specific to the secret values looked for."""

    def get(self, layer: str) -> LayerFindings | None: ...

    def put(self, layer: str, findings: LayerFindings) -> None: ...


@dataclass
class LayerScan:
    """What the walk over every layer (and the image config) found."""

    layers: int = 0
    files: int = 0
    bytes: int = 0
    secret_files: list[str] = field(default_factory=list)
    canary_hits: list[str] = field(default_factory=list)
    walked: int = 0  # layers read file by file (the others came from the memo)

    def add(self, found: LayerFindings) -> None:
        self.files += found.files
        self.bytes += found.bytes
        self.secret_files += found.secret_files
        self.canary_hits += found.canary_hits


def scan_image_archive(stream: Iterable[bytes], needles: Sequence[Needle], memo: LayerMemo | None = None) -> LayerScan:
    """Walk a `docker save` archive: every file of every layer, plus the config (env, history).
    A layer the memo knows is passed over unread; a layer walked here goes into the memo.

    Two layouts exist: Docker before 25 writes `<id>/layer.tar` and `<id>.json`; Docker 25 and later
    write an OCI image layout, every layer, config and manifest a `blobs/sha256/<digest>` file (moby
    image/tarexport/save.go). A blob is a layer when it is a tar archive and JSON otherwise."""
    scan = LayerScan()
    with tarfile.open(fileobj=io.BufferedReader(_ChunkReader(stream), 1 << 20), mode="r|") as outer:
        for member in outer:
            if not member.isfile():
                continue
            handle = outer.extractfile(member)
            if handle is None:
                continue
            if member.name.endswith("/layer.tar"):
                _walk_layer(scan, member.name.split("/", 1)[0], handle, needles, memo)
            elif member.name.startswith("blobs/"):
                reader = io.BufferedReader(handle, 1 << 16)  # type: ignore[type-var]
                if _is_tar(reader.peek(512)[:512]):
                    _walk_layer(scan, member.name.rsplit("/", 1)[-1], reader, needles, memo)
                else:
                    _scan_json(scan, reader.read(), needles)
            elif member.name.endswith(".json") and member.name not in ("manifest.json", "index.json"):
                _scan_json(scan, handle.read(), needles)
    return scan


class Sink(Protocol):
    """Where a copy of the export goes (orchestrator.images.pipeline.ArchiveFile)."""

    def write(self, data: bytes) -> object: ...


def _copied(chunks: Iterator[bytes], sink: Sink) -> Iterator[bytes]:
    for chunk in chunks:
        sink.write(chunk)
        yield chunk


def _is_tar(header: bytes) -> bool:
    """A tar header: the ustar magic at offset 257 (POSIX and GNU formats both carry it)."""
    return len(header) >= 262 and header[257:262] == b"ustar"


def _walk_layer(scan: LayerScan, layer: str, handle: Any, needles: Sequence[Needle], memo: LayerMemo | None) -> None:
    scan.layers += 1
    found = memo.get(layer) if memo is not None else None
    if found is None:
        found = LayerFindings()
        _scan_layer(handle, f"layer {layer[:12]}", needles, found)
        scan.walked += 1
        if memo is not None:
            memo.put(layer, found)
    scan.add(found)


def _scan_json(scan: LayerScan, data: bytes, needles: Sequence[Needle]) -> None:
    for needle in find_needles(data, needles):
        scan.canary_hits.append(f"{needle.key} ({needle.encoding}) in the image config/history")


def _scan_layer(handle: io.BufferedIOBase | Any, where: str, needles: Sequence[Needle], scan: LayerFindings) -> None:
    with tarfile.open(fileobj=handle, mode="r|") as layer:
        for entry in layer:
            if not entry.isfile():
                continue
            data = layer.extractfile(entry)
            content = data.read() if data else b""
            scan.files += 1
            scan.bytes += len(content)
            path = "/" + entry.name.lstrip("./")
            reason = secret_file_reason(path, content[:65536])
            if reason:
                scan.secret_files.append(f"{path} in {where}: {reason}")
            for needle in find_needles(content, needles):
                scan.canary_hits.append(f"{needle.key} ({needle.encoding}) in {path} ({where})")


def _limited(findings: Sequence[str]) -> tuple[str, ...]:
    unique = list(dict.fromkeys(findings))
    if len(unique) > MAX_FINDINGS:
        return tuple(unique[:MAX_FINDINGS]) + (f"... and {len(unique) - MAX_FINDINGS} more",)
    return tuple(unique)


def layer_results(
    scan: LayerScan, history_text: str, needles: Sequence[Needle], short_keys: Sequence[str], keys: int
) -> list[PolicyResult]:
    """The no-secret-files and canary-scan results of a finished walk."""
    where = f"{scan.layers} layers, {scan.files} files, {scan.bytes / 1e6:.0f} MB"
    files = (
        PolicyResult(
            Rule.SECRET_FILES,
            Status.FAIL,
            f"{len(scan.secret_files)} secret file(s) ({where})",
            _limited(scan.secret_files),
        )
        if scan.secret_files
        else PolicyResult(Rule.SECRET_FILES, Status.PASS, f"none in {where}")
    )
    hits = list(scan.canary_hits)
    history = history_text.encode()
    hits += [f"{n.key} ({n.encoding}) in the image history" for n in find_needles(history, needles)]
    short_note = f"; not scanned (shorter than {MIN_CANARY_BYTES} bytes): {', '.join(short_keys)}" if short_keys else ""
    if hits:
        canary = PolicyResult(
            Rule.CANARY, Status.FAIL, f"{len(set(hits))} secret value occurrence(s){short_note}", _limited(hits)
        )
    elif not needles:
        canary = PolicyResult(Rule.CANARY, Status.SKIPPED, f"no secret values given to look for{short_note}")
    else:
        scanned = len({n.key for n in needles})
        canary = PolicyResult(
            Rule.CANARY, Status.PASS, f"{scanned} of {keys} secret values absent (raw, base64) in {where}{short_note}"
        )
    return [files, canary]


# --- vulnerability scan --------------------------------------------------------------------------

Runner = Callable[..., shell.Result]
SCANNERS = ("trivy", "grype")
SCAN_TIMEOUT = 600


def _count_trivy(report: Mapping[str, Any]) -> dict[str, int]:
    counts = {"CRITICAL": 0, "HIGH": 0}
    for result in report.get("Results") or []:
        for vuln in result.get("Vulnerabilities") or []:
            severity = str(vuln.get("Severity", "")).upper()
            if severity in counts:
                counts[severity] += 1
    return counts


def _count_grype(report: Mapping[str, Any]) -> dict[str, int]:
    counts = {"CRITICAL": 0, "HIGH": 0}
    for match in report.get("matches") or []:
        severity = str((match.get("vulnerability") or {}).get("severity", "")).upper()
        if severity in counts:
            counts[severity] += 1
    return counts


def _scanner_argv(tool: str, path: str, ref: str) -> list[str]:
    if tool == "trivy":
        return [path, "image", "--quiet", "--format", "json", "--severity", "CRITICAL,HIGH", ref]
    return [path, f"docker:{ref}", "-o", "json", "--quiet"]


def scan_vulnerabilities(
    ref: str, which: Callable[[str], str | None] = shutil.which, runner: Runner = shell.run
) -> PolicyResult:
    """Run the first scanner on PATH; PASS / FAIL (critical or high) / SKIPPED with the reason."""
    for tool in SCANNERS:
        path = which(tool)
        if not path:
            continue
        result = runner(_scanner_argv(tool, path, ref), check=False, timeout=SCAN_TIMEOUT)
        if result.returncode != 0:
            last = (result.stderr.strip().splitlines() or ["no output"])[-1][:200]
            reason = (
                "no vulnerability database" if re.search(r"(?i)\bdb\b|database", result.stderr) else "scanner error"
            )
            return PolicyResult(Rule.VULNERABILITIES, Status.SKIPPED, f"{tool}: {reason} ({last})")
        try:
            report = json.loads(result.stdout or "{}")
        except json.JSONDecodeError:
            return PolicyResult(Rule.VULNERABILITIES, Status.SKIPPED, f"{tool}: unreadable report")
        counts = (_count_trivy if tool == "trivy" else _count_grype)(report)
        summary = f"{tool}: {counts['CRITICAL']} critical, {counts['HIGH']} high"
        if counts["CRITICAL"] or counts["HIGH"]:
            return PolicyResult(Rule.VULNERABILITIES, Status.FAIL, summary)
        return PolicyResult(Rule.VULNERABILITIES, Status.PASS, summary)
    return PolicyResult(Rule.VULNERABILITIES, Status.SKIPPED, f"no scanner on PATH ({', '.join(SCANNERS)})")


# --- the whole policy ----------------------------------------------------------------------------


def check_policy(
    image: str | Any,
    secret_values: Mapping[str, str],
    client: DockerClient | None = None,
    *,
    which: Callable[[str], str | None] = shutil.which,
    runner: Runner = shell.run,
    layers: LayerMemo | None = None,
    keep: Sink | None = None,
) -> list[PolicyResult]:
    """Every rule on one local image (a ref, or anything with a `.ref`), in the order of Rule.
    `layers`: findings of layers walked before for the same secret values (only new layers are read).
    `keep`: receives the whole `docker save` archive as the walk reads it (the caller deletes it
    unless every rule passes)."""
    from orchestrator.images.build import connect, engine_unavailable, is_connection_loss

    ref = image if isinstance(image, str) else image.ref
    client = client or connect()
    needles, short = canary_needles(secret_values)
    try:
        attrs = client.api.inspect_image(ref)
        config = attrs.get("Config") or {}
        history = json.dumps(client.api.history(ref))
        export = iter(client.api.get_image(ref))
        scan = scan_image_archive(export if keep is None else _copied(export, keep), needles, layers)
        if keep is not None:
            for chunk in export:  # what the walk left unread: the archive's closing blocks
                keep.write(chunk)
    except Exception as exc:
        if is_connection_loss(exc):
            raise engine_unavailable(f"lost while checking {ref}") from exc
        raise
    results = [check_healthcheck(config), check_user(config), check_env(config)]
    results += layer_results(scan, history, needles, short, len(secret_values))
    results.append(scan_vulnerabilities(ref, which, runner))
    return results


def failures(results: Sequence[PolicyResult], require_scan: bool = False) -> list[PolicyResult]:
    """Results that block the image: FAIL, and a SKIPPED vulnerability scan when one is required."""
    return [
        r
        for r in results
        if r.status is Status.FAIL or (require_scan and r.rule is Rule.VULNERABILITIES and r.status is Status.SKIPPED)
    ]


def enforce_policy(ref: str, results: Sequence[PolicyResult], require_scan: bool = False) -> None:
    """Raise ImageError naming every failed rule and its findings."""
    failed = failures(results, require_scan)
    if not failed:
        return
    details: list[str] = []
    for result in failed:
        details.append(f"{result.rule.value}: {result.status.value} — {result.detail}")
        details += [f"  {finding}" for finding in result.findings]
    raise ImageError(
        f"{ref} fails the image policy ({', '.join(r.rule.value for r in failed)})",
        "fix the Dockerfile or .dockerignore (docker/, the app's .dockerignore) and re-run `invoke build`; "
        "a leaked secret must also be rotated",
        details=details,
    )
