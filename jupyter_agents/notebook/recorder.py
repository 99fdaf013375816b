"""Turning steps into notebook cells, with provenance, through the notebook protocol.

The loop tells the recorder what happens (a proposal, a decision, a cell that ran) and the
recorder keeps the notebook in step: a pending cell below the ``%agent`` cell, its outputs
and execution count once approved, its removal if rejected. Without a capable frontend the
loop gets :class:`NoRecorder`, which records nothing and leaves everything to the widget.

The notebook is a convenience, never a dependency: if the frontend stops answering mid-run,
the recorder says so once and the run goes on in the widget.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, asynccontextmanager
from typing import Any

from ..core.records import METADATA_KEY, PromptMark, SectionMark, StepProvenance, cell_record
from ..core.result import RunResult
from ..core.risk_flags import RiskFlag
from ..core.steps import Step, StepStatus
from ..safety.approval import ApprovalDecision
from ..text.markdown_fence import fenced
from .bridge import BridgeError, FrontendGone, NotebookBridge
from .no_recorder import NoRecorder, OutputTarget
from .recorded import RecordedRun, find_recorded_run
from .recorder_inputs import NotebookListener, PromptCell
from .sections import CellPlacement, find_section


class NotebookRecorder(NoRecorder):
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
        self.bridge = bridge
        #: Applied to what the notebook keeps besides code that ran: the model's original of
        #: an edited cell, rejection reasons and kept rejected proposals.
        self.redact = redact
        self.client = bridge.client
        self.run = run
        self.anchor = prompt.cell_id
        self.parent_msg_id = prompt.msg_id
        self.keep_rejected = keep_rejected
        #: A step's role when it has none of its own (a single agent's steps).
        self.role = "agent"
        #: The model each role uses, when it is not the run's (crews).
        self.models: dict[str, str] = {}
        self.active = True
        self._place = CellPlacement(prompt.cell_id)
        self._pending: str | None = None
        #: The earlier run of this prompt cell that this run replaces (``--rerun``, or a
        #: changed task); its cells are removed when this run writes its first cell.
        self._replaces: str | None = None
        self._replacing: RecordedRun | None = None
        self._started = False
        self._begun = False
        self._in_flight: asyncio.Future[Any] | None = None
        listener = listener or NotebookListener()
        self._on_decision = listener.on_decision
        self._on_lost = listener.on_lost
        #: The run's record so far (status ``running``), written after each step: if the
        #: kernel dies mid-run, the notebook still holds it, and the extension marks it
        #: interrupted.
        self.progress: Callable[[], dict[str, Any]] | None = None
        #: The notebook as read once for the run (see :meth:`_notebook`).
        self._snapshot: dict[str, Any] | None = None
        bridge.on_event("decision", self._decision)
        self._on_queued = listener.on_queued
        bridge.on_event("queued", self._queued)

    async def previous_run(self) -> RecordedRun | None:
        notebook = await self._notebook()
        return find_recorded_run(notebook, self.anchor) if notebook else None

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
        await self._call(
            self.bridge.update_cell(
                self.anchor, metadata={METADATA_KEY: PromptMark(self.run.run_id).dump()}
            )
        )
        await self._record_progress()

    def _replaced(self, cell: dict[str, Any]) -> bool:
        """Whether ``cell`` belongs to the run this one replaces (and will be removed)."""
        if self._replacing is None or self._begun:
            return False
        entry = cell_record(cell)
        return entry is not None and entry.run_id == self._replacing.run_id

    async def record(self, record: dict[str, Any]) -> None:
        if self._begun:  # a run that never started (no model, say) leaves no record
            await self._call(self.bridge.record_run(record, self._replaces))

    async def _record_progress(self) -> None:
        if self.progress is not None:
            await self.record(self.progress())

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

    async def adopt_section(self, title: str) -> list[dict[str, Any]] | None:
        notebook = await self._notebook()
        if not notebook:
            return None
        found = find_section(notebook["cells"], title)
        if found is None:
            return None
        heading, cells = found
        self._place.enter(title, cells[-1]["id"] if cells else heading["id"])
        return cells

    async def sections_present(self, titles: Sequence[str]) -> list[str]:
        notebook = await self._notebook()
        if not notebook:
            return []
        cells = [cell for cell in notebook["cells"] if not self._replaced(cell)]
        return [title for title in titles if find_section(cells, title) is not None]

    async def context_cells(self) -> list[dict[str, Any]] | None:
        """The notebook's cells above the ``%agent`` cell, oldest first."""
        notebook = await self._notebook()
        if not notebook:
            return None
        return list(notebook["cells"][: notebook["anchor_index"]])

    async def cells_below(self) -> list[dict[str, Any]]:
        """The notebook's cells below the ``%agent`` cell: what the user means to run after
        the agent's cells (``print(monthly.tail())`` says ``monthly`` should exist)."""
        notebook = await self._notebook()
        if not notebook:
            return []
        below = notebook["cells"][notebook["anchor_index"] + 1 :]
        return [cell for cell in below if not self._replaced(cell)]

    async def propose(
        self, step: int, code: str, role: str | None = None, risks: Sequence[RiskFlag] = ()
    ) -> str | None:
        await self._begin()
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
        if not self.active or cell_id is None:
            return decided_code
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

    @asynccontextmanager
    async def _capture(self, cell_id: str, fallback: AbstractContextManager[Any]) -> Any:
        try:
            routed = self.bridge.capture_outputs(cell_id, self.parent_msg_id)
            await routed.__aenter__()
        except BridgeError as error:  # gone, or the cell was deleted: outputs go to the widget
            if isinstance(error, FrontendGone):
                self._lost(error)
            with fallback:
                yield
            return
        try:
            yield
        finally:
            try:
                await routed.__aexit__(None, None, None)
            except FrontendGone as error:
                self._lost(error)
            except BridgeError:
                pass  # the cell went away while it ran; its outputs went with it

    async def executing(self, cell_id: str | None, step: Step) -> None:
        """The cell was approved and is about to run: it is no longer a pending proposal.

        Set before it runs, so that a kernel restart while it runs (which makes the extension
        remove pending cells) keeps the cell whose code did run, with what it printed. The
        request is sent now, in order before the cell's own, but its reply is awaited only in
        :meth:`ran`: the cell does not wait a round trip to start.
        """
        self._pending = None
        if cell_id is not None:
            provenance = self._provenance_of(step, running=True)
            update = self.bridge.update_cell(cell_id, metadata={METADATA_KEY: provenance})
            self._in_flight = asyncio.ensure_future(self._call(update))
            await asyncio.sleep(0)  # the task sends the request before this returns

    async def ran(self, cell_id: str | None, step: Step) -> None:
        self._pending = None
        await self._settle_in_flight()
        if cell_id is None:
            return
        metadata: dict[str, Any] = {METADATA_KEY: self._provenance_of(step)}
        if step.error and not step.cut_short:
            # The model saw the error and went on; Run All must go on past it too (JupyterLab
            # and nbclient stop at an error unless the cell carries this tag). The user may
            # have tagged the cell while it was pending: keep their tags.
            cell = await self._call(self.bridge.read_cell(cell_id)) or {}
            tags = list((cell.get("metadata") or {}).get("tags") or [])
            metadata["tags"] = tags if RAISES in tags else [*tags, RAISES]
        await self._call(
            self.bridge.update_cell(
                cell_id, execution_count=step.execution_count, metadata=metadata
            )
        )
        self._place.advance(cell_id)
        await self._record_progress()

    async def rejected(self, cell_id: str | None, step: Step) -> None:
        self._pending = None
        if cell_id is None:
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

    async def _settle_in_flight(self) -> None:
        """Wait for the reply to the request :meth:`executing` sent."""
        in_flight, self._in_flight = self._in_flight, None
        if in_flight is not None:
            await in_flight

    async def finish(self, run: RunResult) -> None:
        """Remove a proposal nobody decided on, and close the protocol."""
        if self._in_flight is not None and not self._in_flight.done():
            self._in_flight.cancel()  # the run is ending before the cell's end was recorded
        self._in_flight = None
        if self._pending is not None:
            await self._edit(self.bridge.delete_cell(self._pending))
            self._pending = None
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

    async def _notebook(self) -> dict[str, Any] | None:
        """The notebook as the run found it: read once, and again only after the run
        inserted or removed cells (the earlier run's, a section, a step)."""
        if self._snapshot is None:
            self._snapshot = await self._call(self.bridge.read_notebook())
        return self._snapshot

    async def _edit(self, request: Any) -> Any:
        """A request that inserts or removes a cell: the snapshot no longer holds."""
        self._snapshot = None
        return await self._call(request)

    async def _call(self, request: Any) -> Any:
        """Await a bridge request; None if refused (e.g. the cell is gone) or disconnected."""
        if not self.active:
            request.close()  # a coroutine we won't run
            return None
        try:
            return await request
        except FrontendGone as error:
            self._lost(error)
        except BridgeError:
            pass
        return None

    def _lost(self, error: FrontendGone) -> None:
        if self.active:
            self.active = False
            self.bridge.close()
            if self._on_lost is not None:
                self._on_lost(f"The notebook stopped answering ({error}); using the widget.")


def new_cell_id() -> str:
    """A fresh nbformat cell id."""
    return uuid.uuid4().hex


RAISES = "raises-exception"


def _rejection_record(step: Step) -> str:
    reason = f" Reason: {step.reason}" if step.reason else ""
    what = "Refused" if step.status is StepStatus.REFUSED else "Rejected"
    return f"**{what} proposal** (step {step.number}).{reason}\n\n{fenced(step.proposed_code)}"
