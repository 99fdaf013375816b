"""Finding a prompt cell's recorded run in the notebook, so Run All needs no model.

A ``%agent`` or ``%%crew`` cell that already ran carries ``metadata.jupyter_agents.run_id``,
the cells its run wrote carry the same id, and the notebook's metadata holds the run's
record. When all three are there and the task is unchanged, running the cell again replays
the record (the cells below run as ordinary code) instead of asking a model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..core.steps import Step, StepStatus
from .protocol import METADATA_KEY


@dataclass(frozen=True)
class RecordedRun:
    """A previous run of one prompt cell, as the notebook holds it."""

    run_id: str
    record: dict[str, Any]
    #: The cells the run wrote (steps, section headings, kept rejections), in notebook order.
    cell_ids: tuple[str, ...]
    #: The step cells among them: (source, provenance), in notebook order.
    step_cells: tuple[tuple[str, dict[str, Any]], ...] = ()

    def steps(self) -> list[Step]:
        """The recorded steps, so ``last_run()`` after a replay lists what the run did.

        Built from what the notebook keeps: each step's number, role and decision (the
        record's ``step_metrics``) and its code (the step's cell; an edited cell's original
        from its provenance). Left empty because the notebook does not keep them per step:
        the model's words (``reply``, ``thought``; the record's transcript has them, if kept),
        and the code of a rejected proposal that was not kept as a cell. Tokens, cost and
        times stay zero: the replay called no model, and the record holds the original's.
        """
        crew = self.record.get("kind") == "crew"
        cells = {
            (meta.get("role"), meta.get("step")): (source, meta) for source, meta in self.step_cells
        }
        steps = []
        for metrics in self.record.get("step_metrics", []):
            role, number = metrics.get("role"), metrics.get("step")
            try:
                status = StepStatus(metrics.get("status"))
            except ValueError:
                continue  # a hand-edited record: skip what cannot be read
            source, meta = cells.get((role, number), ("", {}))
            rejected = status in (StepStatus.REJECTED, StepStatus.REFUSED)  # never ran
            steps.append(
                Step(
                    number=number,
                    reply="",
                    thought="",
                    proposed_code=meta.get("proposed_source", source),
                    status=status,
                    code_run=None if rejected else source,
                    reason=meta.get("reason"),
                    role=role if crew else None,
                )
            )
        return steps

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
    step_cells = tuple(
        (str(cell.get("source", "")), _agent_metadata(cell))  # one string, as read_notebook sends
        for cell in cells
        if cell.get("id") in cell_ids and "step" in _agent_metadata(cell)
    )
    return RecordedRun(run_id, record, cell_ids, step_cells)


def _agent_metadata(cell: dict[str, Any]) -> dict[str, Any]:
    entry = (cell.get("metadata") or {}).get(METADATA_KEY)
    return entry if isinstance(entry, dict) else {}
