"""The bytes the real API server writes for a JSON body.

kubernetes/kubernetes staging/src/k8s.io/apimachinery/pkg/runtime/serializer/json/json.go (doEncode)
writes non-pretty JSON with Go's encoding/json Encoder: compact (no spaces after `,` and `:`), one
trailing newline, non-ASCII text as UTF-8, and `<`, `>`, `&`, U+2028, U+2029 escaped as \\u003c ...
(the Encoder's default HTML escaping). A `Status` keeps the field order of its Go struct
(staging/src/k8s.io/apimachinery/pkg/apis/meta/v1/types.go): kind, apiVersion, metadata, status,
message, reason, details, code.
"""

from __future__ import annotations

import json
from typing import Any

_HTML_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
STATUS_ORDER = ("kind", "apiVersion", "metadata", "status", "message", "reason", "details", "code")


def _go_order(body: Any) -> Any:
    if isinstance(body, dict) and body.get("kind") == "Status":
        known = {k: body[k] for k in STATUS_ORDER if k in body}
        return {**known, **{k: v for k, v in body.items() if k not in known}}
    return body


def encode(body: Any) -> bytes:
    """`body` as encoding/json's Encoder.Encode writes it."""
    text = json.dumps(_go_order(body), separators=(",", ":"), ensure_ascii=False)
    for char, escaped in _HTML_ESCAPES.items():
        text = text.replace(char, escaped)
    return text.encode() + b"\n"


def list_items_untyped(listing: dict[str, Any]) -> dict[str, Any]:
    """A typed list as the server writes it: the items carry no kind/apiVersion (only the list's own
    TypeMeta is set when it is encoded; clients put them back: kubernetes/kubernetes
    staging/src/k8s.io/apimachinery/pkg/apis/meta/v1/unstructured/helpers.go, "API server doesn't set
    each item's APIVersion and Kind")."""
    items = [{k: v for k, v in item.items() if k not in ("kind", "apiVersion")} for item in listing.get("items", [])]
    return {**listing, "items": items}
