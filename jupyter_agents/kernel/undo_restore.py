"""Putting the namespace back as an :class:`~.undo_log.UndoLog` found it, and saying what that
does before it does it (the same code answers ``--dry-run`` and the real undo)."""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import Any

from .undo_copies import can_restore_in_place, restore_in_place
from .undo_log import MISSING, NotCopied, UndoLog


@dataclass
class NamespaceUndo:
    """What undoing a run does to the namespace, name by name."""

    #: Names the run created: removed.
    removed: list[str] = field(default_factory=list)
    #: Names the run rebound or deleted: their earlier objects are bound again.
    rebound: list[str] = field(default_factory=list)
    #: Objects changed in place whose contents are put back (every reference sees it).
    restored_in_place: list[str] = field(default_factory=list)
    #: Objects changed in place whose type cannot take its contents back: the name is bound to
    #: the copy, so other references to the object keep the changed one.
    rebound_to_copy: list[str] = field(default_factory=list)
    #: Objects changed in place without a copy (over the budget, not copyable).
    not_restorable: list[NotCopied] = field(default_factory=list)
    #: Names the user rebound after the run: they too go back to their value before the run.
    changed_since: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """What will be (or was) undone, one line each."""
        out = []
        if self.removed:
            out.append(f"removed (the run created them): {', '.join(self.removed)}")
        if self.rebound:
            out.append(f"bound to their objects from before the run: {', '.join(self.rebound)}")
        if self.restored_in_place:
            out.append(f"contents put back in place: {', '.join(self.restored_in_place)}")
        for name in self.rebound_to_copy:
            out.append(
                f"{name}: bound to a copy made before the run changed it (other references to "
                "the object still see the changed one)"
            )
        for name in self.changed_since:
            out.append(f"{name}: changed after the run too; reset to its value from before it")
        return out

    def not_restorable_lines(self) -> list[str]:
        """The objects changed in place that stay as the run left them."""
        return [
            f"{entry.name}: changed in place; cannot be restored ({entry.why})"
            for entry in self.not_restorable
        ]


def plan_undo(log: UndoLog, namespace: MutableMapping[str, Any]) -> NamespaceUndo:
    """What :func:`undo_namespace` would do now, without doing it."""
    return _undo(log, namespace, apply=False)


def undo_namespace(log: UndoLog, namespace: MutableMapping[str, Any]) -> NamespaceUndo:
    """Put back every binding the run changed and the contents of what it copied."""
    return _undo(log, namespace, apply=True)


def _undo(log: UndoLog, namespace: MutableMapping[str, Any], apply: bool) -> NamespaceUndo:
    result = NamespaceUndo(not_restorable=list(log.not_copied))
    for name, old in log.before.items():
        now = namespace.get(name, MISSING)
        if now is not log.left.get(name, MISSING):
            result.changed_since.append(name)
        if old is MISSING:
            if now is not MISSING:
                result.removed.append(name)
                if apply:
                    del namespace[name]
        elif now is not old:
            result.rebound.append(name)
            if apply:
                namespace[name] = old
    for key, saved in log.copies.items():
        name = log.copied_as[key]
        if apply and restore_in_place(saved.original, saved.copy):
            result.restored_in_place.append(name)
        elif not apply and can_restore_in_place(saved.original, saved.copy):
            result.restored_in_place.append(name)
        else:
            result.rebound_to_copy.append(name)
            if apply:
                _bind_copy(namespace, saved.original, saved.copy)
    return result


def _bind_copy(namespace: MutableMapping[str, Any], original: Any, copy: Any) -> None:
    for name, value in list(namespace.items()):
        if value is original:
            namespace[name] = copy
