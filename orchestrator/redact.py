"""Replace secret values with `***` in any text: logs, pod logs, error tails, exception messages.

A secret can reach text in other spellings than its own, so each value is also searched for as:
- base64 (standard and URL-safe, with and without padding) - how a Secret's `data` carries it,
  plus the aligned cores of its base64 inside a longer encoded blob (three byte offsets);
- URL-encoded (`quote` with and without `/` safe, and `quote_plus`);
- JSON-escaped (ASCII and non-ASCII forms) and Python-repr-escaped, as in JSON logs and tracebacks;
- for a URL value (DATABASE_URL): its password, raw and percent-decoded.

Longer forms are replaced first, so a value that contains another one is hidden whole.
Derived forms shorter than MIN_DERIVED_LENGTH are skipped (hiding every "ab" would wreck the text);
whole values are always hidden.
"""

from __future__ import annotations

import base64
import json
import logging
import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus, unquote, urlsplit

MASK = "***"
MIN_DERIVED_LENGTH = 6


class Redactor:
    """`Redactor(values).redact(text)` hides every value and its encodings."""

    def __init__(self, values: Iterable[str]) -> None:
        whole: set[str] = set()
        derived: set[str] = set()
        for value in values:
            if not value:
                continue
            whole.add(value)
            derived.update(_derived_forms(value))
        forms = whole | {f for f in derived if len(f) >= MIN_DERIVED_LENGTH}
        ordered = sorted(forms, key=lambda f: (-len(f), f))
        self._pattern = re.compile("|".join(re.escape(f) for f in ordered)) if ordered else None

    def redact(self, text: str) -> str:
        if self._pattern is None or not text:
            return text
        return self._pattern.sub(MASK, text)

    __call__ = redact

    def redact_bytes(self, data: bytes) -> str:
        """Decode (invalid UTF-8 replaced) and redact, e.g. for pod logs and process output."""
        return self.redact(data.decode("utf-8", errors="replace"))

    def logging_filter(self) -> logging.Filter:
        """A filter that redacts each record's final message (attach it to handlers)."""
        return _RedactingFilter(self)


class _RedactingFilter(logging.Filter):
    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self._redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg = self._redactor.redact(message)
        record.args = None
        if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
            record.exc_text = self._redactor.redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = self._redactor.redact(record.exc_text)
        return True


def _derived_forms(value: str) -> set[str]:
    forms: set[str] = set()
    raw = value.encode("utf-8")
    for encoded in (base64.b64encode(raw), base64.urlsafe_b64encode(raw)):
        text = encoded.decode("ascii")
        forms.add(text)
        forms.add(text.rstrip("="))
    forms.update(_embedded_base64_cores(raw))
    forms.update({quote(value, safe=""), quote(value), quote_plus(value)})
    forms.add(json.dumps(value)[1:-1])
    forms.add(json.dumps(value, ensure_ascii=False)[1:-1])
    forms.add(repr(value)[1:-1])
    if "://" in value:
        try:
            password = urlsplit(value).password
        except ValueError:
            password = None
        if password:
            forms.update({password, unquote(password)})
    forms.discard(value)
    return forms


def _embedded_base64_cores(raw: bytes) -> set[str]:
    """The base64 characters of `raw` that are fixed whatever surrounds it in a longer blob."""
    cores: set[str] = set()
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + raw).decode("ascii")
        start = (offset * 4 + 2) // 3  # skip the chars mixed with the prefix bytes
        end_bytes = offset + len(raw)
        end = (4 * end_bytes) // 3  # chars whose 6 bits all lie inside the value
        core = encoded[start:end] if end > start else ""
        cores.add(core)
        cores.add(core.replace("+", "-").replace("/", "_"))
    cores.discard("")
    return cores
