"""A pending proposal the user ran themselves runs only through the approval gate.

A pending agent cell is an ordinary notebook cell, so Shift+Enter (or Run All) on it sends an
execute request. The kernel is busy with the ``%agent`` cell, so that request waits in its
queue and would run once the agent's run is over: a second time if the user also approved
the cell, and, worse, at all if they rejected it. The extension tells the kernel when the
user schedules a pending cell (the protocol's ``queued`` event); this module then answers
that one queued request with a one-line note instead of the cell's code. Requests for the
same cell made later run as usual.

The request is recognised by the cell id the frontend sends with it (``metadata.cellId``),
in an IPython input transformer: the code is replaced before IPython compiles it.
"""

from __future__ import annotations

from typing import Any

SKIPPED_NOTE = (
    "jupyter-agents: not run again. You ran this cell while it was a pending proposal; it runs "
    "only through the agent's approval (it ran there if you approved it)."
)


class QueuedProposals:
    """The pending cells the user ran while a run was going, until their request comes."""

    def __init__(self, shell: Any) -> None:
        self.shell = shell
        #: cell id -> the execute request being answered with the note (None: not yet come).
        self._cells: dict[str, str | None] = {}
        shell.input_transformers_cleanup.append(self.transform)

    def add(self, cell_id: str) -> None:
        """The user scheduled pending cell ``cell_id``: its queued request must not run it."""
        self._cells.setdefault(cell_id, None)

    def close(self) -> None:
        if self.transform in self.shell.input_transformers_cleanup:
            self.shell.input_transformers_cleanup.remove(self.transform)

    def transform(self, lines: list[str]) -> list[str]:
        if not self._cells:
            return lines
        parent = self.shell.get_parent() if hasattr(self.shell, "get_parent") else {}
        cell_id = (parent.get("metadata") or {}).get("cellId")
        if cell_id not in self._cells:
            return lines
        request = (parent.get("header") or {}).get("msg_id")
        answering = self._cells[cell_id]
        if answering is None:
            self._cells[cell_id] = request
        elif answering != request:  # a later request for the cell: the user's own run
            del self._cells[cell_id]
            return lines
        return [f"print({SKIPPED_NOTE!r})\n"]
