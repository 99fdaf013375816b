"""Undoing the bindings of a cell that was interrupted before it completed.

An interrupt (the stop button, SIGINT, or a cell's time limit) can land halfway through a
cell: ``df = load(); df = clean(df)`` cut after the first line leaves a ``df`` that no
completed cell produced. So the names an interrupted agent cell bound are put back as they
were before it started: names it added are removed, names it rebound get their old objects.

What this cannot undo: changes made *inside* objects (``df.drop(..., inplace=True)``,
``items.append(x)``), files written, and other side effects. It is a shallow snapshot of the
namespace's bindings, cheap enough to take before every cell.
"""

from __future__ import annotations

import re
from collections.abc import MutableMapping
from typing import Any

#: Names IPython's history machinery binds on every cell (``_``, ``_i3``, ``_3``, ``In``...):
#: they follow the execution count, which the interrupted cell did advance.
_HISTORY_NAME = re.compile(r"^(_+|_i+|_i?\d+|_ih|_oh|_dh|In|Out|exit|quit|get_ipython)$")


def is_history_name(name: str) -> bool:
    """A name IPython rebinds on every cell (``_``, ``_i3``, ``Out``...), not the user's."""
    return _HISTORY_NAME.match(name) is not None


class NamespaceSnapshot:
    """The bindings of a namespace at one moment, to restore after an interrupt."""

    def __init__(self, namespace: MutableMapping[str, Any]) -> None:
        self.namespace = namespace
        self.bindings = dict(namespace)

    def restore(self) -> list[str]:
        """Put the bindings back; the names that changed, sorted."""
        namespace, before = self.namespace, self.bindings
        changed = []
        for name in list(namespace):
            if is_history_name(name):
                continue
            if name not in before:
                del namespace[name]
                changed.append(name)
            elif namespace[name] is not before[name]:
                namespace[name] = before[name]
                changed.append(name)
        for name, value in before.items():
            if name not in namespace and not is_history_name(name):
                namespace[name] = value  # deleted by the cell (``del x``)
                changed.append(name)
        return sorted(changed)
