"""How a run meets the notebook: connect a recorder, then replay this cell's run or start one.

A prompt cell whose recorded run is below it (same task, ``rerun`` off) replays that record
instead of calling a model, so Run All reproduces a notebook. Otherwise the new run checks
what it needs (a model, someone to approve, a time limit where nobody can press stop) and
starts its record, replacing the previous run's cells as re-running a cell replaces its outputs.
"""

from __future__ import annotations

from typing import Any

from ..core.errors import NotRecorded
from ..core.events import Notice
from ..core.result import RunResult, RunStatus
from ..core.undo_report import UndoReport
from ..kernel.time_limit import HEADLESS_CELL_TIMEOUT
from ..kernel.undo_log import UndoLog
from ..notebook.bridge import FrontendRefused, NotebookBridge
from ..notebook.no_recorder import NoRecorder
from ..notebook.recorded import RecordedRun
from ..notebook.recorder import NotebookRecorder
from ..notebook.recorder_inputs import NotebookListener, PromptCell
from ..notebook.run_record import decode_answer, run_record
from ..safety.redact import redacted_json
from ..ui.view import approval_unavailable
from .config import require_model
from .run_context import RunContext


async def connect_notebook(context: RunContext) -> NoRecorder:
    """A recorder that writes into the notebook, if the frontend speaks the protocol."""
    shell, run, view = context.shell, context.run, context.view
    parent = shell.get_parent() if hasattr(shell, "get_parent") else {}
    anchor = (parent.get("metadata") or {}).get("cellId")
    try:
        bridge = await NotebookBridge.connect(run.run_id, anchor, run.model)
    except FrontendRefused as refusal:
        context.events.emit(Notice(f"{refusal}; the run goes on in this widget."))
        return NoRecorder()
    if bridge is None:
        return NoRecorder()

    def lost(note: str) -> None:
        view.use_notebook(False)
        context.events.emit(Notice(note))

    recorder = NotebookRecorder(
        bridge,
        run,
        PromptCell(anchor, parent["header"]["msg_id"]),
        keep_rejected=context.settings.keep_rejected,
        redact=context.redact,
        listener=NotebookListener(
            on_decision=context.approver.answer,
            on_queued=context.session.queued_proposals.add,
            on_lost=lost,
        ),
    )
    view.use_notebook(True)
    return recorder


async def replay_or_start(context: RunContext) -> None:
    """Replay this prompt cell's recorded run, or start recording a new one."""
    settings, run = context.settings, context.run
    previous = await context.recorder.previous_run()
    same = previous is not None and previous.record.task == context.redact(run.task)
    if same and context.crew_spec is not None:  # the record holds the spec redacted
        same = previous.record.crew == redacted_json(context.crew_spec, context.redact)
    if previous is not None and same and not settings.rerun and previous.record.undone:
        _skip_undone(context, previous)
    elif previous is not None and same and not settings.rerun:
        _replay(context, previous)
    else:
        await _start(context, previous)


def _skip_undone(context: RunContext, previous: RecordedRun) -> None:
    """The cell's run was undone: running the cell again (Run All) does not bring it back."""
    run = context.run
    context.recorded = previous
    run.undone = True
    run.finish(RunStatus.REPLAYED)
    context.view.show_replay(previous.describe())
    context.events.emit(
        Notice(
            f"This cell's run {previous.run_id} was undone: not replaying it, and not calling a "
            "model. Add --rerun to ask the model again."
        )
    )


def _replay(context: RunContext, previous: RecordedRun) -> None:
    """Take the recorded run as this run's result; its cells below run next as ordinary code."""
    settings, run = context.settings, context.run
    context.recorded = previous
    # Its cells run next, as ordinary code: with the agent cells' redaction and output cap,
    # so they print what was recorded and no secret lands in the notebook.
    if context.session.output_rules is not None:
        context.session.output_rules.watch(
            previous.cell_ids, context.redact, settings.max_output_bytes
        )
    run.answer = decode_answer(previous.record.answer)
    run.steps = previous.steps()
    run.finish(RunStatus.REPLAYED)
    context.view.show_replay(previous.describe())
    context.events.emit(
        Notice(
            f"Found this cell's {previous.describe()} below: not calling a model. The recorded "
            "cells run as ordinary code; the result is the recorded answer. "
            "Add --rerun to ask the model again."
        )
    )


async def _start(context: RunContext, previous: RecordedRun | None) -> None:
    """Check the new run can go ahead, then start its record (replacing ``previous``'s cells)."""
    settings, run = context.settings, context.run
    if settings.offline:
        raise NotRecorded(
            "this cell has no recorded run in the notebook (or its task changed), and offline "
            "mode never calls a model: run it with a model first (jupyter agents run)."
        )
    require_model(settings, context.crew_spec)
    if settings.approve == "each" and not context.view.can_ask:
        raise approval_unavailable(settings.frontend_timeout, context.recorder.client)
    context.on_headless(
        lambda: context.events.emit(
            Notice(
                f"Nobody can press stop here, so each agent cell may run "
                f"{HEADLESS_CELL_TIMEOUT:g} s before it is interrupted (set cell_timeout to "
                "change it)."
            )
        )
    )
    if previous is not None and not settings.rerun:
        changed = "task" if previous.record.task != context.redact(run.task) else "crew"
        context.events.emit(
            Notice(
                f"The {changed} changed since this cell's {previous.describe()}: the new run "
                f"replaces its {len(previous.cell_ids)} cell(s) below."
            )
        )
    # A new run of a prompt cell replaces its previous run's cells, as re-running a cell
    # replaces its outputs: left in place they would be orphans that Run All still executes.
    # The record so far (status "running"): written when the run begins, after each step,
    # and in full at the end.
    context.recorder.progress = lambda: record_of(context, transcript=False)
    _make_undoable(context)
    await context.recorder.start(replacing=previous)


def _make_undoable(context: RunContext) -> None:
    """Keep what the run changes in the namespace, so ``%agent_undo`` can put it back."""
    settings, session, run = context.settings, context.session, context.run
    if settings.undo_depth <= 0:
        return
    context.undo_log = UndoLog.with_budget(settings.undo_memory_mb)
    session.undo.push(run, context.undo_log, settings.undo_depth)

    async def undo(undone: RunResult, dry_run: bool) -> UndoReport:
        active = session.active is not None
        prompt_cell = getattr(context.recorder, "anchor", None)  # its cells are below it
        return await session.undo.undo(undone, dry_run, session.shell, active, prompt_cell)

    run.undoer = undo


def record_of(context: RunContext, transcript: bool = True) -> dict[str, Any]:
    """The run's record; without ``transcript`` for the records written while it runs."""
    recorder = context.recorder
    return run_record(
        context.run,
        prompt_cell=getattr(recorder, "anchor", ""),
        redact=context.redact,
        models=getattr(recorder, "models", {}),
        crew=context.crew_spec,
        transcript=context.transcript.as_json() if transcript and context.transcript else None,
    )
