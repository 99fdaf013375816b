"""Finding a prompt cell's recorded run in the notebook, so Run All needs no model.

A ``%agent`` or ``%%crew`` cell that already ran carries ``metadata.jupyter_agents.run_id``,
the cells its run wrote carry the same id, and the notebook's metadata holds the run's
record. When all three are there and the task is unchanged, running the cell again replays
the record (the cells below run as ordinary code) instead of asking a model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .protocol import METADATA_KEY


@dataclass(frozen=True)
class RecordedRun:
    """A previous run of one prompt cell, as the notebook holds it."""

    run_id: str
    record: dict[str, Any]
    #: The cells the run wrote (steps, section headings, kept rejections), in notebook order.
    cell_ids: tuple[str, ...]

    def describe(self) -> str:
        record = self.record
        models = sorted(set(record.get("models", {}).values()) | {record.get("model", "?")})
        return (
            f"recorded run {self.run_id} ({', '.join(models)}; {record.get('steps', 0)} step(s), "
            f"{record.get('status', '?')})"
        )


def find_recorded_run(notebook: dict[str, Any], anchor: str) -> RecordedRun | None:
    """The run recorded for prompt cell ``anchor``; None unless its record and cells exist."""
    cells = notebook.get("cells", [])
    prompt = next((cell for cell in cells if cell.get("id") == anchor), None)
    if prompt is None:
        return None
    run_id = _agent_metadata(prompt).get("run_id")
    if not run_id:
        return None
    cell_ids = tuple(
        cell["id"]
        for cell in cells
        if cell.get("id") != anchor and _agent_metadata(cell).get("run_id") == run_id
    )
    runs = (notebook.get("metadata") or {}).get("runs", [])
    # A hand-edited or damaged record is no record: the cell then asks its model as usual.
    runs = runs if isinstance(runs, list) else []
    record = next(
        (run for run in runs if isinstance(run, dict) and run.get("run_id") == run_id), None
    )
    if record is None or not cell_ids:
        return None
    return RecordedRun(run_id, record, cell_ids)


def _agent_metadata(cell: dict[str, Any]) -> dict[str, Any]:
    entry = (cell.get("metadata") or {}).get(METADATA_KEY)
    return entry if isinstance(entry, dict) else {}
