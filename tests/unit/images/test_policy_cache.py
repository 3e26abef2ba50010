"""Kept image-policy results: reused only for the same image, values and policy code; never a value on disk."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path

import pytest

from orchestrator.images import policy_cache as cache_module
from orchestrator.images.policy import PolicyResult, Rule, Status
from orchestrator.images.policy_cache import PolicyCache, default_path, policy_results

VALUES = {"COHERE_API_KEY": "co-canary-5d1e9f", "DATABASE_URL": "postgresql://u:pw-canary-77@db/x",
          "JWT_SECRET": "jwt-canary-" + "9" * 32}


@dataclass(frozen=True)
class Image:
    ref: str
    image_id: str


def _results(vuln_detail: str = "fresh scan") -> list[PolicyResult]:
    kept = [PolicyResult(rule, Status.PASS, f"{rule.value} ok") for rule in Rule if rule is not Rule.VULNERABILITIES]
    kept[3] = PolicyResult(Rule.SECRET_FILES, Status.FAIL, "1 secret file(s)", ("/app/.env in layer 3",))
    return kept + [PolicyResult(Rule.VULNERABILITIES, Status.SKIPPED, vuln_detail)]


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []

    def fake_check(image, secret_values, client, **_):
        calls.append(image.ref)
        return _results("scan at check time")

    monkeypatch.setattr(cache_module, "check_policy", fake_check)
    monkeypatch.setattr(cache_module, "scan_vulnerabilities", lambda ref: PolicyResult(
        Rule.VULNERABILITIES, Status.SKIPPED, f"scanned {ref} now"))
    return calls


def test_same_image_and_values_reuse_every_rule_but_the_vulnerability_scan(tmp_path: Path, checks: list[str]) -> None:
    path = tmp_path / "policy.json"
    image = Image("todo-backend:abc", "sha256:1111")
    first = policy_results(image, VALUES, client=None, cache=PolicyCache.load(path))
    second = policy_results(image, VALUES, client=None, cache=PolicyCache.load(path))
    assert checks == ["todo-backend:abc"]
    assert [r.rule for r in second] == list(Rule)
    assert second[:5] == first[:5]
    assert second[3].findings == ("/app/.env in layer 3",)
    assert second[5].detail == "scanned todo-backend:abc now"


@pytest.mark.parametrize("change", ["image", "values", "policy"])
def test_another_image_other_values_or_new_policy_code_check_again(tmp_path: Path, checks: list[str],
                                                                    monkeypatch: pytest.MonkeyPatch, change: str) -> None:
    path = tmp_path / "policy.json"
    policy_results(Image("todo-backend:abc", "sha256:1111"), VALUES, client=None, cache=PolicyCache.load(path))
    image, values = Image("todo-backend:abc", "sha256:1111"), dict(VALUES)
    if change == "image":
        image = Image("todo-backend:abc", "sha256:2222")
    elif change == "values":
        values["COHERE_API_KEY"] = "co-canary-rotated"
    else:
        monkeypatch.setattr(cache_module, "policy_digest", lambda: "another-policy")
    policy_results(image, values, client=None, cache=PolicyCache.load(path))
    assert len(checks) == 2


def test_values_without_jwt_secret_are_never_kept(tmp_path: Path, checks: list[str]) -> None:
    path = tmp_path / "policy.json"
    values = {"COHERE_API_KEY": "co-canary-5d1e9f"}
    for _ in range(2):
        policy_results(Image("x:1", "sha256:1111"), values, client=None, cache=PolicyCache.load(path))
    assert len(checks) == 2 and not path.exists()


def test_the_file_holds_no_secret_value(tmp_path: Path, checks: list[str]) -> None:
    path = tmp_path / "policy.json"
    policy_results(Image("x:1", "sha256:1111"), VALUES, client=None, cache=PolicyCache.load(path))
    text = path.read_text()
    for value in VALUES.values():
        assert value not in text and base64.b64encode(value.encode()).decode() not in text


def test_an_unreadable_file_is_an_empty_cache(tmp_path: Path, checks: list[str]) -> None:
    path = tmp_path / "policy.json"
    path.write_text("{not json")
    policy_results(Image("x:1", "sha256:1111"), VALUES, client=None, cache=PolicyCache.load(path))
    assert len(checks) == 1
    policy_results(Image("x:1", "sha256:1111"), VALUES, client=None, cache=PolicyCache.load(path))
    assert len(checks) == 1


def test_default_path_follows_xdg_cache_home(tmp_path: Path) -> None:
    assert default_path({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "todo-deploy" / "image-policy-v2.json"


# --- per-layer findings --------------------------------------------------------------------------


def _layer_tar(files: dict[str, bytes]) -> bytes:
    import io
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _archive(layers: dict[str, dict[str, bytes]]) -> list[bytes]:
    """A `docker save`-shaped archive: <layer id>/layer.tar per layer, then manifest.json."""
    return [_layer_tar({f"{layer}/layer.tar": _layer_tar(files) for layer, files in layers.items()}
                       | {"manifest.json": b"[]"})]


def test_a_new_image_walks_only_the_layers_no_earlier_walk_saw(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from orchestrator.images import policy

    walked: list[str] = []
    real = policy._scan_layer
    monkeypatch.setattr(policy, "_scan_layer", lambda handle, where, needles, found: (walked.append(where),
                                                                                       real(handle, where, needles, found)))
    path = tmp_path / "policy.json"
    base = {"aaaa1111": {"usr/lib/x": b"library"}, "bbbb2222": {"app/.env": b"KEY=1"}}
    memo = PolicyCache.load(path).layer_memo(VALUES)
    needles, _ = policy.canary_needles(VALUES)
    first = policy.scan_image_archive(_archive({**base, "cccc3333": {"app/main.py": b"v1"}}), needles, memo)
    memo.cache.save()

    leaked = VALUES["COHERE_API_KEY"].encode()
    memo = PolicyCache.load(path).layer_memo(VALUES)
    second = policy.scan_image_archive(_archive({**base, "dddd4444": {"app/main.py": b"v2 " + leaked}}), needles, memo)

    assert walked == ["layer aaaa1111", "layer bbbb2222", "layer cccc3333", "layer dddd4444"]
    assert (first.walked, second.walked) == (3, 1) and second.layers == 3
    # What the kept layers held still counts: the .env of the shared layer, and the new layer's leak.
    assert second.secret_files == first.secret_files
    assert [f.split(":")[0] for f in second.secret_files] == ["/app/.env in layer bbbb2222"]
    assert any("COHERE_API_KEY" in hit and "dddd4444" in hit for hit in second.canary_hits)
    # Other secret values (another Secret version): nothing is reused.
    other = dict(VALUES, JWT_SECRET="jwt-canary-" + "8" * 32)
    third = policy.scan_image_archive(_archive(base), needles, PolicyCache.load(path).layer_memo(other))
    assert third.walked == 2
    assert leaked.decode() not in path.read_text()
