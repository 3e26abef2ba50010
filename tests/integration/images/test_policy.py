"""The image policy on real images: a good fixture passes every rule, each bad fixture fails its rule."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest

from orchestrator.errors import ImageError
from orchestrator.images.budget import Budget
from orchestrator.images.build import build_images
from orchestrator.images.pipeline import build_and_check
from orchestrator.images.policy import PolicyResult, Rule, Status, check_policy
from orchestrator.run.events import Reporter
from tests.integration.images.conftest import fixture_spec, nonce

pytestmark = pytest.mark.docker

CANARIES = {
    "JWT_SECRET": "canary-jwt-" + "7" * 40,
    "COHERE_API_KEY": "canary-cohere-3b1f0c5e9d",
    "DATABASE_URL": "postgresql://todo:canary-db-pw-81c2@db.internal:5432/todo",
}


def _policy(client, cleanup, spec) -> dict[Rule, PolicyResult]:
    [image] = build_images([spec], Reporter(), client)
    cleanup.refs.append(image.ref)
    results = check_policy(image, CANARIES, client)
    assert [r.rule for r in results] == list(Rule)
    text = json.dumps([r.as_dict() for r in results])
    for value in CANARIES.values():  # findings name keys and files, never a value
        assert value not in text and base64.b64encode(value.encode()).decode() not in text
    return {r.rule: r for r in results}


def _only_failure(results: dict[Rule, PolicyResult], rule: Rule) -> PolicyResult:
    failed = [r.rule for r in results.values() if r.status is Status.FAIL]
    assert failed == [rule], {r.rule.value: (r.status.value, r.detail, r.findings) for r in results.values()}
    return results[rule]


def test_good_fixture_passes_and_the_scan_is_never_a_silent_pass(docker_client, cleanup, fixture_context: Path) -> None:
    results = _policy(docker_client, cleanup, fixture_spec("good", fixture_context, NONCE=nonce()))
    for rule in (Rule.HEALTHCHECK, Rule.NON_ROOT_USER, Rule.SECRET_ENV, Rule.SECRET_FILES, Rule.CANARY):
        assert results[rule].status is Status.PASS, results[rule]
    assert "3 of 3" in results[Rule.CANARY].detail
    vuln = results[Rule.VULNERABILITIES]
    assert vuln.status in (Status.PASS, Status.FAIL, Status.SKIPPED) and vuln.detail
    if not any(os.path.exists(os.path.join(d, t)) for d in os.environ["PATH"].split(":") for t in ("trivy", "grype")):
        assert vuln.status is Status.SKIPPED and "no scanner" in vuln.detail


@pytest.mark.parametrize(
    ("kind", "rule", "expect"),
    [
        ("no-healthcheck", Rule.HEALTHCHECK, "no HEALTHCHECK"),
        ("root-user", Rule.NON_ROOT_USER, "runs as root"),
        ("named-user", Rule.NON_ROOT_USER, "not numeric"),
        ("group-zero", Rule.NON_ROOT_USER, "group 0"),
        ("secret-env", Rule.SECRET_ENV, "ENV JWT_SECRET"),
        ("env-file-deleted", Rule.SECRET_FILES, "/app/.env"),
    ],
)
def test_bad_fixture_fails_its_rule(
    docker_client, cleanup, fixture_context: Path, kind: str, rule: Rule, expect: str
) -> None:
    result = _only_failure(_policy(docker_client, cleanup, fixture_spec(kind, fixture_context)), rule)
    assert expect in result.detail + " ".join(result.findings)


def test_env_file_copied_without_dockerignore_fails(docker_client, cleanup, fixture_context: Path) -> None:
    (fixture_context / ".env").write_text("LOG_LEVEL=DEBUG\n")
    result = _only_failure(
        _policy(docker_client, cleanup, fixture_spec("env-file", fixture_context)), Rule.SECRET_FILES
    )
    assert any(f.startswith("/app/.env in layer") for f in result.findings)


def test_private_key_in_a_layer_fails(docker_client, cleanup, fixture_context: Path) -> None:
    body = base64.encodebytes(os.urandom(600)).decode()
    (fixture_context / "server.pem").write_text(f"-----BEGIN PRIVATE KEY-----\n{body}-----END PRIVATE KEY-----\n")
    result = _only_failure(
        _policy(docker_client, cleanup, fixture_spec("private-key", fixture_context)), Rule.SECRET_FILES
    )
    assert any("/app/tls/server.pem" in f and "private key" in f for f in result.findings)


@pytest.mark.parametrize(
    ("kind", "where", "encoding"),
    [
        ("canary-file", "/app/settings.txt", "raw"),
        ("canary-base64", "/app/blob.b64", "base64"),
        ("canary-history", "history", "raw"),
    ],
)
def test_canary_leak_is_caught(
    docker_client, cleanup, fixture_context: Path, kind: str, where: str, encoding: str
) -> None:
    spec = fixture_spec(kind, fixture_context, LEAK=CANARIES["JWT_SECRET"])
    result = _only_failure(_policy(docker_client, cleanup, spec), Rule.CANARY)
    assert any(f.startswith(f"JWT_SECRET ({encoding})") and where in f for f in result.findings), result.findings
    assert not any(f.startswith(("COHERE_API_KEY", "DATABASE_URL")) for f in result.findings)


def test_canary_scan_without_values_is_skipped_not_passed(docker_client, cleanup, fixture_context: Path) -> None:
    [image] = build_images([fixture_spec("good", fixture_context, NONCE=nonce())], Reporter(), docker_client)
    cleanup.refs.append(image.ref)
    canary = {r.rule: r for r in check_policy(image, {}, docker_client)}[Rule.CANARY]
    assert canary.status is Status.SKIPPED


def test_pipeline_reports_policy_and_untags_a_failing_image(
    docker_client, cleanup, fixture_context: Path, tmp_path: Path
) -> None:
    good = fixture_spec("good", fixture_context, NONCE=nonce())  # a tag of its own: test_build.py removes its
    leaky = fixture_spec("canary-file", fixture_context, LEAK=CANARIES["JWT_SECRET"], NONCE=nonce())
    reporter = Reporter()
    archives = tmp_path / "archives"
    archives.mkdir()
    with pytest.raises(ImageError) as caught:
        build_and_check([good, leaky], reporter, CANARIES, Budget(), client=docker_client, archive_dir=archives)
    [finished] = reporter.named("image.report")
    cleanup.refs.extend(i["ref"] for i in finished["images"])
    assert finished["ok"] is False
    refs = {i["name"]: i["ref"] for i in finished["images"]}
    assert caught.value.message.startswith(f"{refs[leaky.name]} fails the image policy (canary-scan)")
    assert any("/app/settings.txt" in d for d in caught.value.details)
    statuses = {(e["image"], e["rule"]): e["status"] for e in reporter.named("image.policy")}
    assert statuses[(leaky.name, "canary-scan")] == "FAIL" and statuses[(good.name, "canary-scan")] == "PASS"
    assert {r["rule"] for r in finished["policy"][good.name]} == {r.value for r in Rule}
    assert finished["budget"]["ok"] is True and finished["budget"]["unit"] == "bytes, uncompressed"
    # The failing image lost its tag; the good one keeps it.
    assert not docker_client.images.list(name=leaky.name)
    assert docker_client.images.get(refs[good.name])
    assert not [a for a in archives.iterdir() if a.name.startswith(leaky.name)]  # its export went with its tag
    text = json.dumps(reporter.history, default=str)
    assert all(v not in text for v in CANARIES.values())


def test_the_export_the_policy_reads_is_kept_as_a_loadable_archive(
    docker_client, cleanup, fixture_context: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One export per new image: the policy's `docker save` stream is also written whole (closing
    blocks included) as the archive a target loads; reused results export nothing, so no archive."""
    import tarfile

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # no kept results: the rules export
    spec = fixture_spec("good", fixture_context, NONCE=nonce())
    first = tmp_path / "first"
    first.mkdir()
    report = build_and_check([spec], Reporter(), CANARIES, Budget(), client=docker_client, archive_dir=first)
    [image] = report.images
    cleanup.refs.append(image.ref)
    archive = report.archives[spec.name]
    assert archive.parent == first and image.ref.split(":")[1] in archive.name
    with tarfile.open(archive) as opened:
        manifest = json.load(opened.extractfile("manifest.json"))  # type: ignore[arg-type]
        names = opened.getnames()
    assert manifest[0]["RepoTags"] == [image.ref]
    assert all(layer in names for layer in manifest[0]["Layers"])
    assert archive.stat().st_size == sum(len(chunk) for chunk in docker_client.api.get_image(image.ref))

    again = tmp_path / "again"
    again.mkdir()
    reused = build_and_check([spec], Reporter(), CANARIES, Budget(), client=docker_client, archive_dir=again)
    assert reused.archives == {} and list(again.iterdir()) == []
