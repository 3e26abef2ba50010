"""The four PATCH flavours of the API server: JSON merge, strategic merge, JSON patch, apply (pure functions)."""

from __future__ import annotations

import copy
from typing import Any

from . import mergekeys

# Keys a strategic merge patch uses to merge lists of objects, in the order they are tried.
_MERGE_KEYS = ("name", "containerPort", "mountPath", "devicePath", "type", "ip", "port", "topologyKey")


class PatchError(ValueError):
    pass


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: dicts merge recursively, null deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _merge_key(items: list[Any]) -> str | None:
    if not items or not all(isinstance(i, dict) for i in items):
        return None
    for key in _MERGE_KEYS:
        if all(key in i for i in items):
            return key
    return None


def _list_key(kind: str | None, path: tuple[str, ...], target: list[Any], patch: list[Any]) -> str | None:
    """The merge key for this list: from the served type's struct tags when the kind is known
    (mergekeys.py), else guessed from the items (callers that patch a bare fragment)."""
    if kind is not None:
        return mergekeys.merge_key(kind, path) or None
    key = _merge_key([p for p in patch if not (isinstance(p, dict) and "$patch" in p and len(p) == 1)])
    if key is None or not all(isinstance(i, dict) and key in i for i in target):
        return None
    return key


def _strategic_list(
    target: list[Any], patch: list[Any], kind: str | None = None, path: tuple[str, ...] = ()
) -> list[Any]:
    key = _list_key(kind, path, target, patch)
    if key == mergekeys.MERGE_PRIMITIVES:
        return copy.deepcopy(target) + [copy.deepcopy(p) for p in patch if p not in target]
    if key is None:
        return [_smp(None, p, kind, path) for p in patch if not (isinstance(p, dict) and "$patch" in p)]
    result = [copy.deepcopy(i) for i in target]
    for item in patch:
        directive = item.get("$patch")
        if directive == "replace":
            return [_smp(None, p, kind, path) for p in patch if p is not item]
        index = next((n for n, cur in enumerate(result) if cur.get(key) == item.get(key)), None)
        if directive == "delete":
            if index is not None:
                result.pop(index)
        elif index is None:
            result.append(_smp(None, item, kind, path))
        else:
            result[index] = _smp(result[index], item, kind, path)
    return result


def strategic_merge_patch(target: Any, patch: Any, kind: str | None = None) -> Any:
    """Strategic merge. With `kind`, each list merges as its served type says (by its patchMergeKey,
    as a set of scalars, or replaced whole: mergekeys.py); without, lists of objects merge by the first
    key all their items share. `$patch`, `$setElementOrder`, `$retainKeys`, `$deleteFromPrimitiveList`
    directives are honoured."""
    return _smp(target, patch, kind, ())


def _smp(target: Any, patch: Any, kind: str | None, path: tuple[str, ...]) -> Any:
    if not isinstance(patch, dict):
        if isinstance(patch, list):
            return _strategic_list(target if isinstance(target, list) else [], patch, kind, path)
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: _smp(None, v, kind, (*path, k)) for k, v in patch.items() if k != "$patch"}
    if patch.get("$patch") == "delete":
        return None
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    retain = patch.get("$retainKeys")
    for key, value in patch.items():
        if key.startswith("$setElementOrder/") or key in ("$retainKeys", "$patch"):
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            name = key.split("/", 1)[1]
            result[name] = [v for v in result.get(name) or [] if v not in value]
            continue
        if value is None:
            result.pop(key, None)
        elif isinstance(value, list) and isinstance(result.get(key), list):
            result[key] = _strategic_list(result[key], value, kind, (*path, key))
        else:
            merged = _smp(result.get(key), value, kind, (*path, key))
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
    if isinstance(retain, list):
        result = {k: v for k, v in result.items() if k in retain or k not in patch}
    return result


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f"invalid JSON pointer {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _parent(doc: Any, parts: list[str]) -> tuple[Any, str]:
    current = doc
    for part in parts[:-1]:
        current = current[int(part)] if isinstance(current, list) else current[part]
    return current, parts[-1]


def json_patch(target: Any, operations: list[dict[str, Any]]) -> Any:
    """RFC 6902: add, remove, replace, move, copy, test."""
    doc = copy.deepcopy(target)
    try:
        for op in operations:
            kind, parts = op.get("op"), _pointer(op.get("path", ""))
            if kind in ("move", "copy"):
                src_parent, src_key = _parent(doc, _pointer(op["from"]))
                value = src_parent[int(src_key)] if isinstance(src_parent, list) else src_parent[src_key]
                value = copy.deepcopy(value)
                if kind == "move":
                    doc = json_patch(doc, [{"op": "remove", "path": op["from"]}])
                doc = json_patch(doc, [{"op": "add", "path": op["path"], "value": value}])
                continue
            if not parts:
                if kind in ("add", "replace"):
                    doc = copy.deepcopy(op["value"])
                continue
            parent, key = _parent(doc, parts)
            if kind == "test":
                current = parent[int(key)] if isinstance(parent, list) else parent.get(key)
                if current != op.get("value"):
                    raise PatchError(f"test operation failed at {op.get('path')}")
            elif kind == "remove":
                if isinstance(parent, list):
                    parent.pop(int(key))
                else:
                    del parent[key]
            elif kind == "add":
                if isinstance(parent, list):
                    parent.insert(len(parent) if key == "-" else int(key), copy.deepcopy(op["value"]))
                else:
                    parent[key] = copy.deepcopy(op["value"])
            elif kind == "replace":
                if isinstance(parent, list):
                    parent[int(key)] = copy.deepcopy(op["value"])
                else:
                    if key not in parent:
                        raise PatchError(f"replace operation does not apply: doc is missing path: {op['path']}")
                    parent[key] = copy.deepcopy(op["value"])
            else:
                raise PatchError(f"unknown JSON patch operation {kind!r}")
    except (KeyError, IndexError, ValueError, TypeError) as exc:
        if isinstance(exc, PatchError):
            raise
        raise PatchError(f"JSON patch does not apply: {exc}") from exc
    return doc


def apply_patch(current: Any, previously_applied: Any, applied: Any) -> Any:
    """Server-side apply, simplified: the manager's new intent wins; fields it applied before and
    dropped now are removed; lists it sets are replaced whole; other fields are left alone."""
    if not isinstance(applied, dict) or not isinstance(current, dict):
        return copy.deepcopy(applied)
    previous = previously_applied if isinstance(previously_applied, dict) else {}
    result = copy.deepcopy(current)
    for key in previous:
        if key not in applied:
            result.pop(key, None)
    for key, value in applied.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = apply_patch(result[key], previous.get(key), value)
        else:
            result[key] = copy.deepcopy(value)
    return result
