"""The image policy's pure rules: config checks, secret files, canary needles, scanner verdicts."""

from __future__ import annotations

import base64
import json

import pytest

from orchestrator.errors import ImageError
from orchestrator.images.policy import (
    PolicyResult,
    Rule,
    Status,
    canary_needles,
    check_env,
    check_healthcheck,
    check_user,
    enforce_policy,
    find_needles,
    scan_vulnerabilities,
    secret_file_reason,
)
from orchestrator.shell import Result

CANARY = "canary-7f3e9a1c-secret-value"


@pytest.mark.parametrize(
    ("config", "status"),
    [
        ({}, Status.FAIL),
        ({"Healthcheck": {"Test": ["NONE"]}}, Status.FAIL),
        ({"Healthcheck": {"Test": ["CMD", "python", "-c", "ok"]}}, Status.PASS),
        ({"Healthcheck": {"Test": ["CMD-SHELL", "true"]}}, Status.PASS),
    ],
)
def test_healthcheck(config: dict, status: Status) -> None:
    assert check_healthcheck(config).status is status


@pytest.mark.parametrize(
    ("user", "status"),
    [
        ("", Status.FAIL),
        ("root", Status.FAIL),
        ("app", Status.FAIL),
        ("10001", Status.FAIL),
        ("0:10001", Status.FAIL),
        ("10001:0", Status.FAIL),
        ("app:app", Status.FAIL),
        ("10001:10001", Status.PASS),
    ],
)
def test_user_must_be_numeric_non_root_with_non_zero_group(user: str, status: Status) -> None:
    assert check_user({"User": user}).status is status


@pytest.mark.parametrize(
    "env",
    [
        "JWT_SECRET=abc",
        "COHERE_API_KEY=abc",
        "DB_PASSWORD=abc",
        "GITHUB_TOKEN=abc",
        "DATABASE_URL=sqlite:///x",
        "SENTRY_DSN=https://k@sentry/1",
        "AWS_SECRET_ACCESS_KEY=abc",
        "URL=postgresql://user:pw@db:5432/app",
        "SOMETHING=AKIAABCDEFGHIJKLMNOP",
        "X=-----BEGIN RSA PRIVATE KEY-----",
        "T=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.sig",
    ],
)
def test_secret_looking_env_fails_without_showing_the_value(env: str) -> None:
    result = check_env({"Env": ["PATH=/usr/bin", env]})
    assert result.status is Status.FAIL
    name, _, value = env.partition("=")
    assert any(name in f for f in result.findings)
    assert value not in json.dumps(result.as_dict())


@pytest.mark.parametrize(
    "env",
    [
        "PATH=/opt/venv/bin:/usr/bin",
        "GPG_KEY=A035C8C19219BA821ECEA86B64E628F8D684696D",
        "TOKENIZERS_PARALLELISM=false",
        "JWT_SECRET=",
        "NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt",
        "BACKEND_URL=http://todo-app-backend:8000",
        "HOSTNAME=0.0.0.0",
    ],
)
def test_ordinary_env_passes(env: str) -> None:
    assert check_env({"Env": [env]}).status is Status.PASS


@pytest.mark.parametrize(
    ("path", "head"),
    [
        ("/app/.env", b""),
        ("/app/.env.production", b""),
        ("/root/.ssh/id_rsa", b""),
        ("/root/.ssh/id_ed25519", b""),
        ("/srv/tls/server.pem", b"-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC\n"),
        (
            "/srv/any.txt",
            b"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAA\n",
        ),
        ("/root/.aws/credentials", b"[default]\n"),
        ("/root/.netrc", b""),
        ("/root/.git-credentials", b""),
        ("/root/.pypirc", b""),
        ("/root/.docker/config.json", b'{"auths": {"r": {"auth": "dXNlcjpwdw=="}}}'),
        ("/app/.npmrc", b"//registry.npmjs.org/:_authToken=npm_abc\n"),
        ("/srv/signing.key", b"binary"),
    ],
)
def test_secret_files_are_named(path: str, head: bytes) -> None:
    assert secret_file_reason(path, head) is not None


@pytest.mark.parametrize(
    ("path", "head"),
    [
        ("/app/.env.example", b"JWT_SECRET=changeme\n"),
        ("/etc/ssl/certs/ca-certificates.crt", b"-----BEGIN CERTIFICATE-----\n"),
        ("/usr/lib/python3/dist-packages/certifi/cacert.pem", b"-----BEGIN CERTIFICATE-----\n"),
        ("/root/.ssh/id_rsa.pub", b"ssh-rsa AAAA"),
        ("/app/.npmrc", b"fund=false\n"),
        ("/root/.docker/config.json", b'{"credsStore": "desktop"}'),
        ("/app/.wh..env", b""),
        ("/usr/lib/ssl/openssl.cnf", b'# PEM_STRING_RSA "RSA PRIVATE KEY"\n'),
        ("/srv/public.key", b"-----BEGIN PUBLIC KEY-----\n"),
    ],
)
def test_ordinary_files_are_not_secret_files(path: str, head: bytes) -> None:
    assert secret_file_reason(path, head) is None


@pytest.mark.parametrize("prefix", [b"", b"a", b"ab", b"abc", b'{"k": "'])
@pytest.mark.parametrize("encode", [base64.b64encode, base64.urlsafe_b64encode])
def test_canary_found_raw_and_base64_at_any_alignment(prefix: bytes, encode) -> None:
    needles, short = canary_needles({"JWT_SECRET": CANARY})
    assert not short
    blob = b"xx" + encode(prefix + CANARY.encode() + b"\n tail") + b"yy"
    found = find_needles(blob, needles)
    assert found and {n.key for n in found} == {"JWT_SECRET"}
    assert find_needles(b"before " + CANARY.encode() + b" after", needles)


def test_canary_needles_miss_other_values_and_skip_short_ones() -> None:
    needles, short = canary_needles({"JWT_SECRET": CANARY, "COHERE_API_KEY": "abc", "DATABASE_URL": ""})
    assert short == ["COHERE_API_KEY"]
    assert {n.key for n in needles} == {"JWT_SECRET"}
    other = "canary-00000000-other-value"
    assert not find_needles(other.encode() + base64.b64encode(other.encode()), needles)


def _runner(returncode: int, stdout: str = "", stderr: str = ""):
    calls: list[list[str]] = []

    def run(argv, **kwargs):
        calls.append(list(argv))
        return Result(tuple(argv), returncode, stdout, stderr)

    run.calls = calls  # type: ignore[attr-defined]
    return run


def test_vulnerability_scan_without_scanner_is_skipped_with_reason() -> None:
    result = scan_vulnerabilities("x:1", which=lambda tool: None, runner=_runner(0))
    assert result.status is Status.SKIPPED and "no scanner" in result.detail


def test_trivy_high_finding_fails() -> None:
    report = {"Results": [{"Vulnerabilities": [{"Severity": "HIGH"}, {"Severity": "LOW"}]}]}
    run = _runner(0, json.dumps(report))
    result = scan_vulnerabilities("x:1", which=lambda t: f"/bin/{t}" if t == "trivy" else None, runner=run)
    assert result.status is Status.FAIL and "1 high" in result.detail
    assert run.calls[0][:2] == ["/bin/trivy", "image"]


def test_grype_clean_report_passes() -> None:
    report = {"matches": [{"vulnerability": {"severity": "Medium"}}]}
    result = scan_vulnerabilities(
        "x:1", which=lambda t: f"/bin/{t}" if t == "grype" else None, runner=_runner(0, json.dumps(report))
    )
    assert result.status is Status.PASS


def test_scanner_without_database_is_skipped_not_passed() -> None:
    run = _runner(1, stderr="FATAL failed to download vulnerability DB: network unreachable")
    result = scan_vulnerabilities("x:1", which=lambda t: "/bin/trivy" if t == "trivy" else None, runner=run)
    assert result.status is Status.SKIPPED and "no vulnerability database" in result.detail


def test_enforce_policy_lists_failures_and_can_require_the_scan() -> None:
    ok = [PolicyResult(Rule.HEALTHCHECK, Status.PASS, ""), PolicyResult(Rule.VULNERABILITIES, Status.SKIPPED, "none")]
    enforce_policy("x:1", ok)
    with pytest.raises(ImageError) as err:
        enforce_policy("x:1", ok, require_scan=True)
    assert "vulnerability-scan" in err.value.message
    bad = ok + [PolicyResult(Rule.SECRET_FILES, Status.FAIL, "1 secret file", ("/app/.env in layer x: an env file",))]
    with pytest.raises(ImageError) as err:
        enforce_policy("x:1", bad)
    assert err.value.exit_code == 4 and any("/app/.env" in d for d in err.value.details)
