"""Turning steps into notebook cells, with provenance, through the notebook protocol.

The loop tells the recorder what happens (a proposal, a decision, a cell that ran) and the
recorder keeps the notebook in step: a pending cell below the ``%agent`` cell, its outputs
and execution count once approved, its removal if rejected. Without a capable frontend the
loop gets :class:`NoRecorder`, which records nothing and leaves everything to the widget.

The notebook is a convenience, never a dependency: if the frontend stops answering mid-run,
the recorder says so once and the run goes on in the widget.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, asynccontextmanager
from typing import Any

from ..core.records import METADATA_KEY, PromptMark, SectionMark, StepProvenance
from ..core.result import RunResult
from ..core.risk_flags import RiskFlag
from ..core.steps import Step, StepStatus
from ..kernel.stream_flush import flush_pending_streams
from ..safety.approval import ApprovalDecision
from ..text.markdown_fence import fenced
from .bridge import BridgeError, FrontendGone, NotebookBridge
from .no_recorder import OutputTarget
from .notebook_reader import NotebookReader
from .recorded import RecordedRun
from .recorder_inputs import NotebookListener, PromptCell


class NotebookRecorder(NotebookReader):
    """Writes the run into the notebook through a :class:`NotebookBridge`."""

    def __init__(
        self,
        bridge: NotebookBridge,
        run: RunResult,
        prompt: PromptCell,
        *,
        keep_rejected: bool = False,
        redact: Callable[[str], str] = lambda text: text,
        listener: NotebookListener | None = None,
    ) -> None:
        listener = listener or NotebookListener()
        super().__init__(bridge, prompt.cell_id, listener.on_lost)
        #: Applied to what the notebook keeps besides code that ran: the model's original of
        #: an edited cell, rejection reasons and kept rejected proposals.
        self.redact = redact
        self.run = run
        self.parent_msg_id = prompt.msg_id
        self.keep_rejected = keep_rejected
        #: A step's role when it has none of its own (a single agent's steps).
        self.role = "agent"
        #: The model each role uses, when it is not the run's (crews).
        self.models: dict[str, str] = {}
        self._pending: str | None = None
        #: The earlier run of this prompt cell that this run replaces (``--rerun``, or a
        #: changed task); its cells are removed when this run writes its first cell.
        self._replaces: str | None = None
        self._started = False
        #: A cell the policy approved without asking: inserted only as it starts running.
        self._deferred: str | None = None
        #: The step about to run and its running provenance, for the capture's request.
        self._running: tuple[Step, dict[str, Any]] | None = None
        #: The cell whose outputs are still routed to it, until :meth:`ran` releases it.
        self._releasing: str | None = None
        self._on_decision = listener.on_decision
        #: The run's record so far (status ``running``), written after each step: if the
        #: kernel dies mid-run, the notebook still holds it, and the extension marks it
        #: interrupted.
        self.progress: Callable[[], dict[str, Any]] | None = None
        bridge.on_event("decision", self._decision)
        self._on_queued = listener.on_queued
        bridge.on_event("queued", self._queued)

    async def start(self, replacing: RecordedRun | None = None) -> None:
        """Begin recording: mark the ``%agent`` cell as the run's prompt, record the run as
        running, and (replacing an earlier run of this cell) remove that run's cells.

        When the run replaces one, all that waits for the run's first cell: a run that fails
        before it writes anything (the model unreachable, say) leaves the earlier run, its
        cells and its record as they were.
        """
        self._started = True
        self._replacing = replacing
        if replacing is None:
            await self._begin()
        else:
            self._replaces = replacing.run_id

    async def _begin(self) -> None:
        """What :meth:`start` does, once, before the run's first cell goes in."""
        if self._begun or not self._started:
            return
        self._begun = True
        for cell_id in self._replacing.cell_ids if self._replacing else ():
            await self._edit(self.bridge.delete_cell(cell_id))
        # Sent without waiting: the model call that comes next does not need its reply.
        mark = {"metadata": {METADATA_KEY: PromptMark(self.run.run_id).dump()}}
        record = self._record_so_far()
        self._post(
            "update_cell", cell_id=self.anchor, **mark, **({"record": record} if record else {})
        )

    async def record(self, record: dict[str, Any]) -> None:
        if self._begun:  # a run that never started (no model, say) leaves no record
            await self._call(self.bridge.record_run(record, self._replaces))

    async def _record_progress(self) -> None:
        if self.progress is not None:
            await self.record(self.progress())

    def _record_so_far(self) -> dict[str, Any] | None:
        """The run's record so far, as ``update_cell`` carries it along (``record``)."""
        if not self._begun or self.progress is None:
            return None
        return {"run": self.progress(), "replaces": self._replaces}

    def use_model(self, role: str, model: str) -> None:
        self.models[role] = model

    async def start_section(self, title: str, role: str) -> None:
        await self._begin()
        if self._place.reenter(title):
            return
        metadata = {METADATA_KEY: SectionMark(self.run.run_id, title, role).dump()}
        heading = await self._edit(
            self.bridge.insert_cell(
                new_cell_id(), self._place.end, f"## {title}", metadata, cell_type="markdown"
            )
        )
        if heading is not None:
            self._place.enter(title, heading)

    async def propose(
        self,
        step: int,
        code: str,
        role: str | None = None,
        risks: Sequence[RiskFlag] = (),
        asks: bool = True,
    ) -> str | None:
        """Show the proposal as a pending cell, when a person will be asked about it.

        When the policy decides alone (``asks`` False), nobody reads a pending cell: the cell
        goes in only as it starts running, decided, in the same message that routes its
        outputs (:meth:`capture`). Its id is chosen now all the same.
        """
        await self._begin()
        if not asks:
            self._deferred = new_cell_id()
            return self._deferred
        # With its flags, so the notebook can point at them while the cell waits for a decision.
        provenance = self._provenance(step, role, None, risks=tuple(risks))
        metadata = {METADATA_KEY: provenance.dump()}
        # Pending before the request: if the run ends before the reply, cleanup removes it.
        self._pending = new_cell_id()
        inserted = await self._edit(
            self.bridge.insert_cell(self._pending, self._place.where(), code, metadata)
        )
        if inserted is None:
            self._pending = None
        return inserted

    async def code_to_run(self, cell_id: str | None, decided_code: str) -> str | None:
        """The cell's current text (the user may have edited it); None if it was deleted."""
        if not self.active or cell_id is None or cell_id == self._deferred:
            return decided_code  # no cell yet: nobody could have edited it
        try:
            cell = await self.bridge.read_cell(cell_id)
        except FrontendGone as error:
            self._lost(error)
            return decided_code
        except BridgeError:
            return None  # the user deleted the proposed cell
        return str(cell.get("source", ""))

    def capture(self, cell_id: str | None, fallback: AbstractContextManager[Any]) -> OutputTarget:
        if not self.active or cell_id is None:
            return fallback
        return self._capture(cell_id, fallback)

    async def executing(self, cell_id: str | None, step: Step) -> None:
        """The cell was approved and is about to run: it is no longer a pending proposal.

        Its provenance (status decided, ``running``) goes with the request that starts
        routing its outputs (:meth:`capture`), before any of them: a kernel restart while it
        runs (which makes the extension remove pending cells) keeps the cell whose code did
        run, with what it printed.
        """
        self._pending = None
        self._running = (step, self._provenance_of(step, running=True))

    @asynccontextmanager
    async def _capture(self, cell_id: str, fallback: AbstractContextManager[Any]) -> Any:
        """Route the cell's outputs into it: one request (the insert of a cell the policy
        approved, or the running provenance of a pending one) that also starts the routing.
        It is sent, not awaited: the frontend takes it before the outputs that follow it.
        The routing stops with the request :meth:`ran` sends, so a step makes two."""
        flush_pending_streams()  # what was printed before (the step's header) stays out
        if not self._start_capture(cell_id):
            with fallback:  # the frontend is gone: outputs go to the widget
                yield
            return
        try:
            yield
        except BaseException:
            flush_pending_streams()
            await self._settle()
            await self._call(self.bridge.update_cell(cell_id, release=True))
            raise
        # Output still buffered in the kernel's streams must travel before the release.
        flush_pending_streams()
        self._releasing = cell_id

    def _start_capture(self, cell_id: str) -> bool:
        """Send the request that starts routing outputs into the cell; whether it was sent.
        A refusal (the cell is gone) leaves the outputs where the frontend shows them
        without routing: under the ``%agent`` cell."""
        step, running = self._running or (None, None)
        self._running = None
        metadata = {METADATA_KEY: running} if running is not None else {}
        capture = self.parent_msg_id
        if cell_id == self._deferred and step is not None:
            self._deferred = None
            self._snapshot = None  # a cell goes in
            return self._post(
                "insert_cell",
                cell_id=cell_id,
                after=self._place.where(),
                cell_type="code",
                source=step.code_run or "",
                metadata=metadata,
                capture=capture,
            )
        changes = {"metadata": metadata} if metadata else {}
        return self._post("update_cell", cell_id=cell_id, capture=capture, **changes)

    async def ran(self, cell_id: str | None, step: Step) -> None:
        """Record the cell's end in one request: stop routing its outputs, set its execution
        count and provenance (tagged ``raises-exception`` if it raised), store the run's
        record. The frontend stores the record first, so it lands even if the cell is gone."""
        self._pending = None
        await self._settle()
        if cell_id is None:
            return
        if cell_id == self._deferred:  # it never started running: nothing was inserted
            self._deferred = None
            return
        changes: dict[str, Any] = {
            "execution_count": step.execution_count,
            "metadata": {METADATA_KEY: self._provenance_of(step)},
        }
        if step.error and not step.cut_short:
            # The model saw the error and went on; Run All must go on past it too (JupyterLab
            # and nbclient stop at an error unless the cell carries this tag). The frontend
            # adds it to the tags the user may have set while the cell was pending.
            changes["add_tags"] = [RAISES]
        if self._releasing == cell_id:
            changes["release"] = True
            self._releasing = None
        record = self._record_so_far()
        if record is not None:
            changes["record"] = record
        # Not waited for either: the next step's requests come after it, and its reply is
        # read before them (:meth:`_settle`) or when the run ends.
        self._post("update_cell", cell_id=cell_id, **changes)
        self._place.advance(cell_id)

    async def rejected(self, cell_id: str | None, step: Step) -> None:
        self._pending = None
        if cell_id is None or cell_id == self._deferred:  # nothing in the notebook
            self._deferred = None
            return
        await self._edit(self.bridge.delete_cell(cell_id))
        if self.keep_rejected and self.active:
            record = self.redact(_rejection_record(step))
            metadata = {METADATA_KEY: self._provenance_of(step), "jupyter": {"source_hidden": True}}
            kept = await self._edit(
                self.bridge.insert_cell(
                    new_cell_id(), self._place.where(), record, metadata, cell_type="markdown"
                )
            )
            if kept:
                self._place.advance(kept)
        await self._record_progress()

    async def finish(self, run: RunResult) -> None:
        """Remove a proposal nobody decided on, and close the protocol."""
        self._deferred = None
        await self._settle()
        if self._pending is not None:
            await self._edit(self.bridge.delete_cell(self._pending))
            self._pending = None
        if self._releasing is not None:  # the run ended between a cell and its record
            await self._call(self.bridge.update_cell(self._releasing, release=True))
            self._releasing = None
        self.bridge.end(str(run.status))
        self.active = False

    # -- helpers ---------------------------------------------------------------------------------

    def _provenance(
        self, step: int, role: str | None, status: StepStatus | None, **more: Any
    ) -> StepProvenance:
        """A step cell's provenance (``status`` None: pending a decision)."""
        return StepProvenance(
            run_id=self.run.run_id,
            step=step,
            role=role or self.role,
            model=self.models.get(role or "", self.run.model),
            status=status,
            **more,
        )

    def _provenance_of(self, step: Step, running: bool = False) -> dict[str, Any]:
        decided = step.status in (StepStatus.REJECTED, StepStatus.REFUSED) and step.reason
        return self._provenance(
            step.number,
            step.role,
            step.status,
            proposed_source=self.redact(step.proposed_code)
            if step.status is StepStatus.EDITED
            else None,
            reason=self.redact(step.reason) if decided else None,
            risks=tuple(step.risks),
            running=running,
            cut_short=step.cut_short,
        ).dump()

    def _decision(self, event: dict[str, Any]) -> None:
        if self._on_decision is None or event.get("cell_id") != self._pending:
            return
        verdict = event.get("verdict")
        if verdict == "approve":
            self._on_decision(ApprovalDecision.approve(""))  # the code is read from the cell
        elif verdict == "reject":
            self._on_decision(ApprovalDecision.reject(event.get("reason")))
        elif verdict == "stop":
            self._on_decision(ApprovalDecision.stop())

    def _queued(self, event: dict[str, Any]) -> None:
        """The user ran the pending cell themselves (:mod:`..safety.queued_proposals`)."""
        if self._on_queued is not None and event.get("cell_id") == self._pending:
            self._on_queued(self._pending)


def new_cell_id() -> str:
    """A fresh nbformat cell id."""
    return uuid.uuid4().hex


RAISES = "raises-exception"


def _rejection_record(step: Step) -> str:
    reason = f" Reason: {step.reason}" if step.reason else ""
    what = "Refused" if step.status is StepStatus.REFUSED else "Rejected"
    return f"**{what} proposal** (step {step.number}).{reason}\n\n{fenced(step.proposed_code)}"
