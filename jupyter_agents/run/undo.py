"""Undoing runs, newest first: the kernel's names and objects, then the notebook's cells.

Each new run pushes its :class:`~jupyter_agents.kernel.undo_log.UndoLog` on the kernel's
:class:`UndoStack`; past ``undo_depth`` runs, the oldest run's copies are dropped and it can
no longer be undone. Undo pops the newest: an older run cannot be undone before it, because
its record of "before" assumes the later runs' changes are gone.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from ..core.errors import NotUndoable
from ..core.result import RunResult
from ..core.undo_report import NEW_FILES, UNSEEN, UndoReport, side_effects
from ..kernel.undo_log import UndoLog
from ..kernel.undo_restore import plan_undo, undo_namespace
from ..notebook import protocol
from ..notebook.bridge import BridgeError, FrontendRefused, NotebookBridge
from ..notebook.undo_cells import undo_run_cells
from ..text.clipping import squeezed


@dataclass
class UndoableRun:
    run: RunResult
    log: UndoLog


class UndoStack:
    """The kernel's undoable runs, oldest first."""

    def __init__(self) -> None:
        self.runs: list[UndoableRun] = []

    def push(self, run: RunResult, log: UndoLog, depth: int) -> None:
        """``run`` starts: it becomes undoable, and runs past ``depth`` no longer are."""
        self.runs.append(UndoableRun(run, log))
        while len(self.runs) > max(depth, 0):
            self._forget(self.runs[0])

    def _forget(self, entry: UndoableRun) -> None:
        self.runs.remove(entry)
        entry.log.drop()  # the run's undoer stays: it says why the run cannot be undone now

    def latest(self) -> RunResult | None:
        return self.runs[-1].run if self.runs else None

    def entry(self, run: RunResult) -> UndoableRun:
        """The stack's entry for ``run``, if it is the newest; else why not, in one line."""
        found = next((entry for entry in self.runs if entry.run is run), None)
        if found is None:
            why = "it was undone already" if run.undone else "a later run started since"
            raise NotUndoable(
                f"run {run.run_id} can no longer be undone: {why} (undo_depth sets how many "
                "runs stay undoable)."
            )
        newest = self.runs[-1].run
        if newest is not run:
            raise NotUndoable(
                f"run {run.run_id} is not the latest undoable run: undo run {newest.run_id} "
                f"({squeezed(newest.task, 50)!r}) first."
            )
        return found

    async def undo(
        self,
        run: RunResult,
        dry_run: bool,
        shell: Any,
        active: bool,
        prompt_cell: str | None = None,
    ) -> UndoReport:
        """Undo ``run`` (see :meth:`RunResult.undo`); ``prompt_cell`` is the run's ``%agent``
        cell when its cells were written into the notebook."""
        entry = self.entry(run)
        if active:
            raise NotUndoable("an agent run is active in this kernel: wait for it to end first.")
        namespace = shell.user_ns
        changes = (plan_undo if dry_run else undo_namespace)(entry.log, namespace)
        not_undone = [*changes.not_restorable_lines(), *side_effects(run.steps), NEW_FILES, UNSEEN]
        report = UndoReport(
            run.run_id,
            dry_run,
            undone=changes.lines(),
            not_undone=not_undone,
            cells_in_notebook=bool(prompt_cell),
        )
        if dry_run:
            return report
        self._forget(entry)
        run.undone = True
        asking_cell = _asking_cell(shell)
        if asking_cell:  # %agent_undo in a cell: the notebook executing it answers
            removed = await _remove_cells(asking_cell, None, run, not_undone)
        elif prompt_cell:  # a click on Undo run: the notebook whose click asked answers
            removed = await _remove_cells(prompt_cell, protocol.UNDO_PURPOSE, run, not_undone)
        else:
            removed = 0
        if removed is None and prompt_cell:
            not_undone.insert(0, CELLS_STAY)
        report.cells_removed = removed or 0
        return report


#: Why the run's cells can stay after an undo: the notebook is closed, or its frontend lacks
#: the extension's undo handshake.
CELLS_STAY = (
    "the run's cells stay in the notebook: no open notebook with the jupyter-agents extension "
    "answered (delete them by hand)"
)


def _asking_cell(shell: Any) -> str | None:
    """The notebook cell whose execution asked for the undo, if one did."""
    parent = shell.get_parent() if hasattr(shell, "get_parent") else {}
    return (parent.get("metadata") or {}).get("cellId")


async def _remove_cells(
    anchor: str, purpose: str | None, run: RunResult, not_undone: list[str]
) -> int | None:
    """Through the notebook protocol; None if no notebook answered."""
    try:
        bridge = await NotebookBridge.connect(
            uuid.uuid4().hex[:12], anchor, run.model, purpose=purpose
        )
    except FrontendRefused:
        return None
    if bridge is None:
        return None
    try:
        return await undo_run_cells(bridge, run.run_id, not_undone)
    except BridgeError:
        return None
    finally:
        bridge.end("completed")
