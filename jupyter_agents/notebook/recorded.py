"""Finding a prompt cell's recorded run in the notebook, so Run All needs no model.

A ``%agent`` or ``%%crew`` cell that already ran carries ``metadata.jupyter_agents.run_id``,
the cells its run wrote carry the same id, and the notebook's metadata holds the run's
record. When all three are there and the task is unchanged, running the cell again replays
the record (the cells below run as ordinary code) instead of asking a model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..core.records import (
    PromptMark,
    RunRecord,
    StepProvenance,
    cell_record,
    run_records,
)
from ..core.steps import Step, StepStatus


@dataclass(frozen=True)
class RecordedRun:
    """A previous run of one prompt cell, as the notebook holds it."""

    run_id: str
    record: RunRecord
    #: The cells the run wrote (steps, section headings, kept rejections), in notebook order.
    cell_ids: tuple[str, ...]
    #: The step cells among them: (source, provenance), in notebook order.
    step_cells: tuple[tuple[str, StepProvenance], ...] = ()

    def steps(self) -> list[Step]:
        """The recorded steps, so ``last_run()`` after a replay lists what the run did.

        Built from what the notebook keeps: each step's number, role and decision (the
        record's ``step_metrics``) and its code (the step's cell; an edited cell's original
        from its provenance). Left empty because the notebook does not keep them per step:
        the model's words (``reply``, ``thought``; the record's transcript has them, if kept),
        and the code of a rejected proposal that was not kept as a cell. Tokens, cost and
        times stay zero: the replay called no model, and the record holds the original's.
        """
        crew = self.record.kind == "crew"
        cells = {(cell.role, cell.step): (source, cell) for source, cell in self.step_cells}
        steps = []
        for metrics in self.record.step_metrics:
            role, number, status = metrics.role, metrics.step, metrics.status
            source, cell = cells.get((role, number), ("", None))
            rejected = status in (StepStatus.REJECTED, StepStatus.REFUSED)  # never ran
            proposed = cell.proposed_source if cell is not None else None
            steps.append(
                Step(
                    number=number,
                    reply="",
                    thought="",
                    proposed_code=source if proposed is None else proposed,
                    status=status,
                    code_run=None if rejected else source,
                    reason=None if cell is None else cell.reason,
                    role=role if crew else None,
                )
            )
        return steps

    def describe(self) -> str:
        record = self.record
        models = sorted(set(record.models.values()) | {record.model or "?"})
        return (
            f"recorded run {self.run_id} ({', '.join(models)}; {record.steps} step(s), "
            f"{record.status or '?'})"
        )


def find_recorded_run(notebook: dict[str, Any], anchor: str) -> RecordedRun | None:
    """The run recorded for prompt cell ``anchor``; None unless its record and cells exist
    (or its record says it was undone, and its cells were removed)."""
    cells = notebook.get("cells", [])
    prompt = next((cell for cell in cells if cell.get("id") == anchor), None)
    if prompt is None:
        return None
    mark = cell_record(prompt)
    run_id = mark.run_id if isinstance(mark, PromptMark) else None
    if not run_id:
        return None
    written = [
        (cell, entry)
        for cell in cells
        if cell.get("id") != anchor
        and (entry := cell_record(cell)) is not None
        and entry.run_id == run_id
    ]
    # A hand-edited or damaged record is no record: the cell then asks its model as usual.
    runs = run_records(notebook.get("metadata"))  # as read_notebook sends it: the entry
    record = next((run for run in runs if run.run_id == run_id), None)
    if record is None or not (written or record.undone):  # an undone run has no cells left
        return None
    step_cells = tuple(
        (str(cell.get("source", "")), provenance)  # one string, as read_notebook sends
        for cell, provenance in written
        if isinstance(provenance, StepProvenance)
    )
    return RecordedRun(run_id, record, tuple(cell["id"] for cell, _ in written), step_cells)
