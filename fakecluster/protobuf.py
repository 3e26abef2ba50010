"""Decoding of the protobuf request bodies Go clients send (helm stores its releases in Secrets this way).

Only the messages Go clients write through typed clients in this project's flows are covered (Secret,
ConfigMap, Namespace, ServiceAccount); other kinds get 415, so `kubectl create deployment|ingress|...`
(imperative, typed) fails while `kubectl apply` (JSON) works.
The envelope is `k8s\\0` + runtime.Unknown{typeMeta, raw, contentEncoding, contentType}.
"""

from __future__ import annotations

import base64
import datetime
from typing import Any

MAGIC = b"k8s\x00"
PROTOBUF_TYPE = "application/vnd.kubernetes.protobuf"


class ProtobufError(ValueError):
    pass


class UnsupportedKind(ProtobufError):
    pass


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise ProtobufError("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _fields(buf: bytes) -> list[tuple[int, Any]]:
    """(field number, value) pairs: ints for varints, bytes for length-delimited."""
    out: list[tuple[int, Any]] = []
    pos = 0
    while pos < len(buf):
        value: int | bytes
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 2:
            length, pos = _varint(buf, pos)
            value, pos = buf[pos : pos + length], pos + length
        elif wire == 1:
            value, pos = buf[pos : pos + 8], pos + 8
        elif wire == 5:
            value, pos = buf[pos : pos + 4], pos + 4
        else:
            raise ProtobufError(f"unsupported wire type {wire}")
        out.append((number, value))
    return out


def _map_entry(buf: bytes) -> tuple[str, bytes]:
    key, value = "", b""
    for number, raw in _fields(buf):
        if number == 1:
            key = raw.decode()
        elif number == 2:
            value = raw
    return key, value


def _time(buf: bytes) -> str:
    seconds = dict(_fields(buf)).get(1, 0)
    return datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _owner_reference(buf: bytes) -> dict[str, Any]:
    names = {1: "kind", 3: "name", 4: "uid", 5: "apiVersion"}
    ref: dict[str, Any] = {}
    for number, raw in _fields(buf):
        if number in names:
            ref[names[number]] = raw.decode()
        elif number == 6:
            ref["controller"] = bool(raw)
        elif number == 7:
            ref["blockOwnerDeletion"] = bool(raw)
    return ref


def _object_meta(buf: bytes) -> dict[str, Any]:
    strings = {1: "name", 2: "generateName", 3: "namespace", 5: "uid", 6: "resourceVersion"}
    meta: dict[str, Any] = {}
    for number, raw in _fields(buf):
        if number in strings:
            meta[strings[number]] = raw.decode()
        elif number == 7:
            meta["generation"] = raw
        elif number == 8:
            meta["creationTimestamp"] = _time(raw)
        elif number == 11:
            key, value = _map_entry(raw)
            meta.setdefault("labels", {})[key] = value.decode()
        elif number == 12:
            key, value = _map_entry(raw)
            meta.setdefault("annotations", {})[key] = value.decode()
        elif number == 13:
            meta.setdefault("ownerReferences", []).append(_owner_reference(raw))
        elif number == 14:
            meta.setdefault("finalizers", []).append(raw.decode())
    return meta


def _secret(buf: bytes) -> dict[str, Any]:
    obj: dict[str, Any] = {"metadata": {}}
    for number, raw in _fields(buf):
        if number == 1:
            obj["metadata"] = _object_meta(raw)
        elif number == 2:
            key, value = _map_entry(raw)
            obj.setdefault("data", {})[key] = base64.b64encode(value).decode()
        elif number == 3:
            obj["type"] = raw.decode()
        elif number == 4:
            key, value = _map_entry(raw)
            obj.setdefault("stringData", {})[key] = value.decode()
        elif number == 5:
            obj["immutable"] = bool(raw)
    return obj


def _config_map(buf: bytes) -> dict[str, Any]:
    obj: dict[str, Any] = {"metadata": {}}
    for number, raw in _fields(buf):
        if number == 1:
            obj["metadata"] = _object_meta(raw)
        elif number == 2:
            key, value = _map_entry(raw)
            obj.setdefault("data", {})[key] = value.decode()
        elif number == 3:
            key, value = _map_entry(raw)
            obj.setdefault("binaryData", {})[key] = base64.b64encode(value).decode()
        elif number == 4:
            obj["immutable"] = bool(raw)
    return obj


def _metadata_only(buf: bytes) -> dict[str, Any]:
    for number, raw in _fields(buf):
        if number == 1:
            return {"metadata": _object_meta(raw)}
    return {"metadata": {}}


_DECODERS = {"Secret": _secret, "ConfigMap": _config_map, "Namespace": _metadata_only, "ServiceAccount": _metadata_only}


def decode(body: bytes) -> dict[str, Any]:
    """A protobuf-encoded Kubernetes object -> its JSON-shaped dict."""
    if not body.startswith(MAGIC):
        raise ProtobufError("missing the k8s protobuf magic prefix")
    api_version = kind = ""
    raw = b""
    for number, value in _fields(body[len(MAGIC) :]):
        if number == 1:
            for sub, text in _fields(value):
                if sub == 1:
                    api_version = text.decode()
                elif sub == 2:
                    kind = text.decode()
        elif number == 2:
            raw = value
    decoder = _DECODERS.get(kind)
    if decoder is None:
        raise UnsupportedKind(
            f"the body of the request was in an unknown format - accepted media types "
            f"include: application/json, application/yaml (protobuf {kind!r})"
        )
    obj = decoder(raw)
    obj["apiVersion"] = api_version
    obj["kind"] = kind
    return obj
