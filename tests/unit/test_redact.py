"""Redactor: every spelling of a secret that can reach a log, a pod log or an error is masked."""

from __future__ import annotations

import base64
import json
import logging
from urllib.parse import quote, quote_plus

import pytest

from orchestrator.redact import MASK, Redactor
from tests.unit.conftest import CANARIES, CANARY_DATABASE_URL, CANARY_DB_PASSWORD, good_values

ODD = 'Sëcret/+?&="quote" \\ back\nnew-line-👀'


@pytest.fixture
def redactor() -> Redactor:
    return Redactor([*good_values().values(), ODD])


@pytest.mark.parametrize(
    "form",
    [
        pytest.param(lambda v: v, id="plain"),
        pytest.param(lambda v: base64.b64encode(v.encode()).decode(), id="base64"),
        pytest.param(lambda v: base64.b64encode(v.encode()).decode().rstrip("="), id="base64-unpadded"),
        pytest.param(lambda v: base64.urlsafe_b64encode(v.encode()).decode(), id="base64-urlsafe"),
        pytest.param(lambda v: quote(v, safe=""), id="url-encoded"),
        pytest.param(lambda v: quote(v), id="url-encoded-path"),
        pytest.param(lambda v: quote_plus(v), id="url-encoded-plus"),
        pytest.param(lambda v: json.dumps(v)[1:-1], id="json-escaped"),
        pytest.param(lambda v: json.dumps(v, ensure_ascii=False)[1:-1], id="json-escaped-unicode"),
        pytest.param(lambda v: repr(v)[1:-1], id="python-repr"),
    ],
)
@pytest.mark.parametrize("value", [*good_values().values(), ODD], ids=["cohere", "db", "jwt", "odd"])
def test_every_form_is_masked(redactor: Redactor, form, value: str) -> None:  # type: ignore[no-untyped-def]
    encoded = form(value)
    out = redactor.redact(f"before {encoded} after")
    assert encoded not in out
    assert out.startswith("before ") and out.endswith(" after") and MASK in out


def test_database_password_alone_is_masked(redactor: Redactor) -> None:
    text = f"FATAL: password authentication failed for user todo (password {CANARY_DB_PASSWORD})"
    assert CANARY_DB_PASSWORD not in redactor.redact(text)
    encoded = Redactor(["postgresql://u:p%40ss%2Fw0rd@db/x"])
    assert encoded.redact("p@ss/w0rd and p%40ss%2Fw0rd") == "*** and ***"


def test_base64_inside_a_longer_blob_is_masked(redactor: Redactor) -> None:
    # e.g. a whole Secret manifest or a helm release record, base64-encoded as one blob
    for prefix in ("", "a", "ab", "abc", '{"JWT_SECRET":"'):
        blob = base64.b64encode((prefix + CANARY_DATABASE_URL + '"}').encode()).decode()
        assert MASK in redactor.redact(blob), prefix


def test_longest_value_wins_and_other_text_is_untouched() -> None:
    r = Redactor(["abcdef", "abcdefghij"])
    assert r.redact("x abcdefghij y abcdef z") == "x *** y *** z"
    assert r.redact("nothing secret here") == "nothing secret here"
    assert Redactor([]).redact("as is") == "as is"
    assert Redactor(["", "abcdef"]).redact("") == ""


def test_short_derived_forms_do_not_wreck_text() -> None:
    r = Redactor(["postgresql://u:pw@db/x"])  # a 2-char password
    assert r.redact("pw is not masked on its own, but postgresql://u:pw@db/x is") == (
        "pw is not masked on its own, but *** is"
    )


def test_bytes_and_logging_filter(redactor: Redactor, caplog: pytest.LogCaptureFixture) -> None:
    assert redactor.redact_bytes(b"log: " + CANARIES[0].encode() + b" \xff") == "log: *** \ufffd"
    logger = logging.getLogger("test.redact")
    caplog.handler.addFilter(redactor.logging_filter())
    with caplog.at_level(logging.INFO, logger="test.redact"):
        logger.info("connecting with %s", CANARY_DATABASE_URL)
        try:
            raise RuntimeError(f"boom {CANARIES[0]}")
        except RuntimeError:
            logger.exception("failed")
    assert "connecting with ***" in caplog.text
    for canary in CANARIES:
        assert canary not in caplog.text
