"""The pure parts: patch flavours and selectors."""

from __future__ import annotations

import pytest

from fakecluster.labelselectors import field_selector, label_selector
from fakecluster.patches import PatchError, apply_patch, json_patch, merge_patch, strategic_merge_patch

POD_SPEC = {
    "containers": [{"name": "a", "image": "a:1", "env": [{"name": "X", "value": "1"}]}, {"name": "b", "image": "b:1"}]
}


def test_merge_patch_deletes_with_null_and_replaces_lists() -> None:
    assert merge_patch({"a": 1, "b": {"c": 2, "d": 3}, "l": [1]}, {"b": {"c": None}, "l": [2]}) == {
        "a": 1,
        "b": {"d": 3},
        "l": [2],
    }


def test_strategic_merge_by_name_and_directives() -> None:
    patched = strategic_merge_patch(
        POD_SPEC,
        {
            "$setElementOrder/containers": [{"name": "a"}, {"name": "b"}],
            "containers": [{"name": "a", "env": [{"name": "Y", "value": "2"}]}, {"name": "b", "$patch": "delete"}],
        },
    )
    assert patched == {
        "containers": [{"name": "a", "image": "a:1", "env": [{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}]}]
    }
    replaced = strategic_merge_patch(POD_SPEC, {"containers": [{"name": "c", "image": "c:1"}, {"$patch": "replace"}]})
    assert replaced == {"containers": [{"name": "c", "image": "c:1"}]}


def test_json_patch_operations_and_failures() -> None:
    doc = {"spec": {"replicas": 1, "list": [1, 2]}}
    out = json_patch(
        doc,
        [
            {"op": "replace", "path": "/spec/replicas", "value": 2},
            {"op": "add", "path": "/spec/list/-", "value": 3},
            {"op": "remove", "path": "/spec/list/0"},
            {"op": "copy", "from": "/spec/replicas", "path": "/spec/copy"},
            {"op": "test", "path": "/spec/copy", "value": 2},
        ],
    )
    assert out == {"spec": {"replicas": 2, "list": [2, 3], "copy": 2}}
    assert doc == {"spec": {"replicas": 1, "list": [1, 2]}}
    with pytest.raises(PatchError):
        json_patch(doc, [{"op": "test", "path": "/spec/replicas", "value": 5}])
    with pytest.raises(PatchError):
        json_patch(doc, [{"op": "replace", "path": "/spec/missing", "value": 5}])


def test_apply_removes_what_the_manager_dropped_and_keeps_the_rest() -> None:
    current = {"metadata": {"labels": {"a": "1", "b": "2", "other": "x"}}, "data": {"k": "v"}}
    out = apply_patch(
        current,
        {"metadata": {"labels": {"a": "1", "b": "2"}}, "data": {"k": "v"}},
        {"metadata": {"labels": {"a": "1"}}, "data": {"k": "w"}},
    )
    assert out == {"metadata": {"labels": {"a": "1", "other": "x"}}, "data": {"k": "w"}}


def test_selectors() -> None:
    obj = {"metadata": {"name": "n", "labels": {"app": "web", "tier": "front"}}, "status": {"phase": "Running"}}
    assert label_selector("app=web,tier in (front,back),!legacy")(obj)
    assert not label_selector("app=web,tier notin (front)")(obj)
    assert label_selector("app")(obj) and not label_selector("missing")(obj)
    assert field_selector("metadata.name=n,status.phase!=Pending")(obj)
    assert not field_selector("status.phase==Pending")(obj)
