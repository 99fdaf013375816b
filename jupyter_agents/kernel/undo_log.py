"""What a run changed in the kernel's namespace, kept so that the run can be undone at once.

Before each approved cell the executor calls :meth:`UndoLog.before_cell`: the objects the cell
may change in place (:mod:`.undo_targets`) are copied, the first time only, within the run's
memory budget. After the cell, :meth:`UndoLog.after_cell` compares the namespace with its
bindings from before the cell (references, not copies) and keeps, for each name the run bound
or deleted, the object it had before the run. Nothing is re-executed to undo: names are put
back, and copied objects get their old contents back (:mod:`.undo_copies`).
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import Any

from .namespace_rollback import NamespaceSnapshot, is_history_name
from .undo_copies import NotCopyable, ObjectCopy, estimated_size, needs_copy, snapshot
from .undo_targets import mutation_targets

MEGABYTE = 1024 * 1024


class _Missing:
    """The name was not bound (before the run, or when the run ended)."""

    def __repr__(self) -> str:
        return "<unbound>"


MISSING: Any = _Missing()


@dataclass
class NotCopied:
    """An object a cell may have changed in place, and why no copy of it was made."""

    name: str
    why: str


@dataclass
class UndoLog:
    """One run's record of the namespace as it was before the run."""

    budget_bytes: int
    #: Each name the run bound or deleted: its object before the run (or MISSING).
    before: dict[str, Any] = field(default_factory=dict)
    #: The same names: what the run left bound to them (or MISSING), to spot later changes.
    left: dict[str, Any] = field(default_factory=dict)
    #: Copies of objects changed in place, by the original's id; the first copy wins.
    copies: dict[int, ObjectCopy] = field(default_factory=dict)
    #: The name each copied object was reached by, by the original's id.
    copied_as: dict[int, str] = field(default_factory=dict)
    not_copied: list[NotCopied] = field(default_factory=list)
    used_bytes: int = 0

    @classmethod
    def with_budget(cls, megabytes: int) -> UndoLog:
        return cls(budget_bytes=max(0, megabytes) * MEGABYTE)

    def before_cell(self, code: str, namespace: MutableMapping[str, Any]) -> NamespaceSnapshot:
        """Copy what ``code`` may change in place; the bindings before it, to compare after."""
        for name in mutation_targets(code, namespace):
            self._copy(name, namespace[name])
        return NamespaceSnapshot(namespace)

    def after_cell(self, before: NamespaceSnapshot, namespace: MutableMapping[str, Any]) -> None:
        """Keep the pre-run object of each name the cell bound or deleted."""
        for name in _changed_names(before.bindings, namespace):
            if name not in self.before:
                self.before[name] = before.bindings.get(name, MISSING)
            self.left[name] = namespace.get(name, MISSING)

    def _copy(self, name: str, value: Any) -> None:
        key = id(value)
        if key in self.copies or not needs_copy(value):
            return
        if any(entry.name == name for entry in self.not_copied):
            return
        if self.budget_bytes <= 0:
            self.not_copied.append(NotCopied(name, "undo_memory_mb is 0"))
            return
        room = self.budget_bytes - self.used_bytes
        try:
            size = estimated_size(value, room + 1)
            if size > room:
                megabytes = self.budget_bytes / MEGABYTE
                why = f"over the undo memory budget ({megabytes:g} MB, undo_memory_mb)"
                self.not_copied.append(NotCopied(name, why))
                return
            saved = snapshot(value)
        except NotCopyable as error:
            self.not_copied.append(NotCopied(name, str(error)))
            return
        except Exception as error:  # a size estimate that failed: never copy blind
            self.not_copied.append(NotCopied(name, f"its size is unknown ({type(error).__name__})"))
            return
        self.copies[key] = ObjectCopy(original=value, copy=saved, nbytes=size)
        self.copied_as[key] = name
        self.used_bytes += size

    def drop(self) -> None:
        """Free the copies and references: the run can no longer be undone."""
        self.before.clear()
        self.left.clear()
        self.copies.clear()
        self.copied_as.clear()
        self.used_bytes = 0


def _internal(name: str) -> bool:
    """IPython's history names and dunders (``__warningregistry__``): not the user's data."""
    return is_history_name(name) or (name.startswith("__") and name.endswith("__"))


def _changed_names(before: dict[str, Any], namespace: MutableMapping[str, Any]) -> list[str]:
    """Names added, rebound or deleted since ``before``, IPython's history names left out."""
    changed = [
        name
        for name, value in namespace.items()
        if not _internal(name) and (name not in before or before[name] is not value)
    ]
    changed += [name for name in before if name not in namespace and not _internal(name)]
    return changed
