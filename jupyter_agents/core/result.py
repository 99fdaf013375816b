"""The outcome of one agent run, as the Python API returns it."""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from ..text.clipping import cut
from .errors import NotUndoable
from .steps import Step, Timings, Usage
from .undo_report import UndoReport


class RunStatus(str, Enum):
    RUNNING = "running"
    COMPLETED = "completed"
    #: The model stated the answer in prose (numbers the cells showed) instead of calling
    #: final_answer in a cell: the answer is its reply's text.
    ANSWERED_WITHOUT_CODE = "answered-without-code"
    MAX_STEPS = "max-steps"
    STOPPED = "stopped"
    #: A role's turn in a crew ended with handoff(); not an ending for a whole run.
    HANDED_OFF = "handed-off"
    INTERRUPTED = "interrupted"
    #: Run All found the cell's recorded run below it and replayed it without a model.
    REPLAYED = "replayed"
    FAILED = "failed"

    def __str__(self) -> str:
        return self.value


@dataclass
class RunResult:
    """Everything one run did. ``answer`` is the final answer (None if there was none)."""

    task: str
    model: str
    approve: str
    max_steps: int
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    status: RunStatus = RunStatus.RUNNING
    answer: Any = None
    steps: list[Step] = field(default_factory=list)
    #: Model calls that are not part of a step: the best-answer call at the step limit, a
    #: proposal stopped or interrupted before it ran, a crew manager's decisions.
    extra_usage: Usage = field(default_factory=Usage)
    extra_model_seconds: float = 0.0
    error: str | None = None
    started: float = field(default_factory=time.time)
    duration: float = 0.0
    #: The run was undone: its names and copied objects are back as they were before it.
    undone: bool = False
    #: Does the undo (set by the kernel session while the run is undoable; see :meth:`undo`).
    undoer: Callable[[RunResult, bool], Awaitable[UndoReport]] | None = field(
        default=None, repr=False, compare=False
    )
    #: Told of the undo once it is done, however it was asked for: the run's widget shows it
    #: as undone after ``%agent_undo`` too.
    undo_listeners: list[Callable[[UndoReport], None]] = field(
        default_factory=list, repr=False, compare=False
    )

    @property
    def usage(self) -> Usage:
        total = self.extra_usage
        for step in self.steps:
            total = total + step.usage
        return total

    def add_usage(self, usage: Usage, model_seconds: float) -> None:
        """Account for a model call that is not part of a step (see ``extra_usage``)."""
        self.extra_usage = self.extra_usage + usage
        self.extra_model_seconds += model_seconds

    @property
    def timings(self) -> Timings:
        total = Timings(model_seconds=self.extra_model_seconds)
        for step in self.steps:
            total.model_seconds += step.timings.model_seconds
            total.waiting_seconds += step.timings.waiting_seconds
            total.execution_seconds += step.timings.execution_seconds
        return total

    def finish(self, status: RunStatus, error: str | None = None) -> None:
        """Mark the run as ended; the first ending wins (a Stop after an error is not news)."""
        if self.status is RunStatus.RUNNING:
            self.status = status
            self.error = error
            self.duration = time.time() - self.started

    async def undo(self, dry_run: bool = False) -> UndoReport:
        """Undo this run: the names it bound and the objects it changed go back to how they
        were before it, and its cells leave the notebook. ``dry_run`` only lists what would be
        undone and what cannot be. Runs undo newest first."""
        if self.undoer is None:
            why = "it was undone already" if self.undone else "this kernel keeps no undo for it"
            raise NotUndoable(f"run {self.run_id} cannot be undone: {why}.")
        report = await self.undoer(self, dry_run)
        if not dry_run:
            for listener in list(self.undo_listeners):
                listener(report)
        return report

    def headline(self) -> str:
        """One line saying how the run ended."""
        if self.undone:
            return "Undone: the names and objects it changed are back as they were before it."
        if self.status is RunStatus.COMPLETED:
            return "Done. Final answer: " + self._shown_answer()
        if self.status is RunStatus.ANSWERED_WITHOUT_CODE:
            return "Answered without code (the model's reply, not a cell's result): " + (
                self._shown_answer()
            )
        if self.status is RunStatus.MAX_STEPS:
            return (
                f"Reached the step limit ({self.max_steps}); the model's best answer is the result."
            )
        if self.status is RunStatus.STOPPED:
            return "Stopped by you."
        if self.status is RunStatus.INTERRUPTED:
            return "Interrupted. Cells that completed are kept."
        if self.status is RunStatus.FAILED:
            return f"Failed: {self.error}"
        if self.status is RunStatus.REPLAYED:
            return "Replayed the recorded run. Recorded answer: " + self._shown_answer()
        return "Running."

    def _shown_answer(self) -> str:
        return cut(repr(self.answer), 200)

    def summary(self) -> str:
        if self.status is RunStatus.REPLAYED:
            return "replayed: no model was called (use --rerun to ask one)"
        ran = sum(1 for step in self.steps if step.code_run is not None)
        return (
            f"{self.status} after {len(self.steps)} step(s), {ran} cell(s) ran; "
            f"{self.usage.describe()}; {self.duration:.1f} s"
        )

    def __repr__(self) -> str:
        return f"<RunResult {self.run_id} {self.summary()}; answer={self.answer!r:.80}>"
