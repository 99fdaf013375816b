"""The snapshot that puts an interrupted cell's bindings back (unit level; kernels elsewhere)."""

from __future__ import annotations

from jupyter_agents.kernel.namespace_rollback import NamespaceSnapshot


def test_added_rebound_and_deleted_names_are_put_back():
    data = [1, 2]
    namespace = {"df": data, "old": "kept", "gone": 1, "_": None, "In": []}
    snapshot = NamespaceSnapshot(namespace)
    namespace["df"] = [3]
    namespace["new"] = "partial"
    del namespace["gone"]
    namespace["old"] = "kept"  # the same object again: not a change

    assert snapshot.restore() == ["df", "gone", "new"]
    assert namespace == {"df": data, "old": "kept", "gone": 1, "_": None, "In": []}
    assert namespace["df"] is data


def test_history_names_follow_the_execution_count_and_stay():
    namespace = {"_": 1, "_i": "a"}
    snapshot = NamespaceSnapshot(namespace)
    namespace.update({"_": 2, "_i": "b", "_i7": "x = 1", "_7": 1, "__": 1, "_ii": "a"})
    assert snapshot.restore() == []
    assert namespace["_i7"] == "x = 1" and namespace["_"] == 2


def test_changes_inside_objects_are_not_undone():
    items = [1]
    namespace = {"items": items}
    snapshot = NamespaceSnapshot(namespace)
    items.append(2)
    assert snapshot.restore() == []
    assert namespace["items"] == [1, 2]
