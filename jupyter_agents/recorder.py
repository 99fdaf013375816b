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
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, AbstractContextManager, asynccontextmanager
from typing import Any

from .approval import ApprovalDecision
from .memory import Step, StepStatus
from .notebook_bridge import BridgeError, FrontendGone, NotebookBridge
from .protocol import METADATA_KEY
from .result import RunResult

#: Where a cell's outputs go while it runs: the widget (sync) or a notebook cell (async).
OutputTarget = AbstractContextManager[Any] | AbstractAsyncContextManager[Any]


class NoRecorder:
    """No notebook to write to: proposals and outputs live in the widget only."""

    active = False

    async def context_cells(self) -> list[dict[str, Any]] | None:
        return None

    async def propose(self, step: int, code: str) -> str | None:
        return None

    async def code_to_run(self, cell_id: str | None, decided_code: str) -> str | None:
        return decided_code

    def capture(self, cell_id: str | None, fallback: AbstractContextManager[Any]) -> OutputTarget:
        return fallback

    async def ran(self, cell_id: str | None, step: Step) -> None:
        pass

    async def rejected(self, cell_id: str | None, step: Step) -> None:
        pass

    async def finish(self, run: RunResult) -> None:
        pass


class NotebookRecorder(NoRecorder):
    """Writes the run into the notebook through a :class:`NotebookBridge`."""

    def __init__(
        self,
        bridge: NotebookBridge,
        run: RunResult,
        anchor_cell_id: str,
        parent_msg_id: str,
        keep_rejected: bool = False,
        role: str = "agent",
        on_decision: Callable[[ApprovalDecision], None] | None = None,
        on_lost: Callable[[str], None] | None = None,
    ) -> None:
        self.bridge = bridge
        self.run = run
        self.anchor = anchor_cell_id
        self.parent_msg_id = parent_msg_id
        self.keep_rejected = keep_rejected
        self.role = role
        self.active = True
        self._last = anchor_cell_id
        self._pending: str | None = None
        self._on_decision = on_decision
        self._on_lost = on_lost
        bridge.on_decision(self._decision)

    async def start(self) -> None:
        """Mark the ``%agent`` cell as the run's prompt."""
        await self._call(
            self.bridge.update_cell(
                self.anchor, metadata={METADATA_KEY: {"run_id": self.run.run_id, "prompt": True}}
            )
        )

    async def context_cells(self) -> list[dict[str, Any]] | None:
        """The notebook's cells above the ``%agent`` cell, oldest first."""
        notebook = await self._call(self.bridge.read_notebook())
        if not notebook:
            return None
        return list(notebook["cells"][: notebook["anchor_index"]])

    async def propose(self, step: int, code: str) -> str | None:
        metadata = {METADATA_KEY: self._provenance(step, "pending")}
        # Pending before the request: if the run ends before the reply, cleanup removes it.
        self._pending = new_cell_id()
        inserted = await self._call(
            self.bridge.insert_cell(self._pending, self._last, code, metadata)
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

    async def ran(self, cell_id: str | None, step: Step) -> None:
        self._pending = None
        if cell_id is None:
            return
        await self._call(
            self.bridge.update_cell(
                cell_id,
                execution_count=step.execution_count,
                metadata={METADATA_KEY: self._provenance_of(step)},
            )
        )
        self._last = cell_id

    async def rejected(self, cell_id: str | None, step: Step) -> None:
        self._pending = None
        if cell_id is None:
            return
        await self._call(self.bridge.delete_cell(cell_id))
        if self.keep_rejected and self.active:
            record = _rejection_record(step)
            metadata = {METADATA_KEY: self._provenance_of(step), "jupyter": {"source_hidden": True}}
            kept = await self._call(
                self.bridge.insert_cell(
                    new_cell_id(), self._last, record, metadata, cell_type="markdown"
                )
            )
            self._last = kept or self._last

    async def finish(self, run: RunResult) -> None:
        """Remove a proposal nobody decided on, and close the protocol."""
        if self._pending is not None:
            await self._call(self.bridge.delete_cell(self._pending))
            self._pending = None
        self.bridge.end(str(run.status))
        self.active = False

    # -- helpers ---------------------------------------------------------------------------------

    def _provenance(self, step: int, status: str) -> dict[str, Any]:
        return {
            "run_id": self.run.run_id,
            "step": step,
            "role": self.role,
            "model": self.run.model,
            "status": status,
        }

    def _provenance_of(self, step: Step) -> dict[str, Any]:
        record = self._provenance(step.number, str(step.status))
        if step.status is StepStatus.EDITED:
            record["proposed_source"] = step.proposed_code
        if step.status is StepStatus.REJECTED and step.reason:
            record["reason"] = step.reason
        return record

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


def _rejection_record(step: Step) -> str:
    reason = f" Reason: {step.reason}" if step.reason else ""
    return (
        f"**Rejected proposal** (step {step.number}).{reason}\n\n"
        f"```python\n{step.proposed_code}\n```"
    )
