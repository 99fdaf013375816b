"""Undoing a run in the notebook: its cells leave, and its record says it was undone.

The record stays (marked ``undone``, with what could not be undone), so a reader can still see
that the run happened, and the prompt cell, run again, knows not to replay it.
"""

from __future__ import annotations

import time

from ..core.records import PromptMark, cell_record, run_records
from .bridge import NotebookBridge
from .run_record import iso_time


async def undo_run_cells(bridge: NotebookBridge, run_id: str, not_undone: list[str]) -> int | None:
    """Delete run ``run_id``'s cells (not its prompt cell) and mark its record undone; how
    many cells were deleted, or None if this notebook holds neither (another notebook on the
    same kernel asked)."""
    notebook = await bridge.read_notebook()
    cells = [
        cell["id"]
        for cell in notebook.get("cells", [])
        if (entry := cell_record(cell)) is not None
        and entry.run_id == run_id
        and not isinstance(entry, PromptMark)
    ]
    record = next(
        (run for run in run_records(notebook.get("metadata")) if run.run_id == run_id), None
    )
    if record is None and not cells:
        return None
    for cell_id in cells:
        await bridge.delete_cell(cell_id)
    if record is not None:
        record.undone = {"at": iso_time(time.time()), "not_undone": list(not_undone)}
        await bridge.record_run(record.dump(), replaces=run_id)
    return len(cells)
