"""What the turns of one run share, and the parts each turn is built from.

A :class:`RunContext` is made by :func:`~jupyter_agents.run.runner.run_context` once the
kernel is claimed; a plain ``%agent`` run has one turn, a crew several
(:mod:`jupyter_agents.crew.crew_run`). It builds each turn's
:class:`~jupyter_agents.agent.loop.LoopParts` (model, executor, gate, risk review)
from the run's settings, so every turn runs under the same limits, redaction and Stop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from ..agent.loop import LoopParts
from ..agent.model import ModelClient
from ..agent.retry import RetryPolicy
from ..core.events import ModelReplied, Notice, RunEvents
from ..core.result import RunResult
from ..core.risk_flags import RiskFlag
from ..core.steps import Memory
from ..kernel.control import RunControl, finish_despite_cancellation
from ..kernel.executor import KernelExecutor
from ..kernel.time_limit import HEADLESS_CELL_TIMEOUT
from ..kernel.undo_log import UndoLog
from ..notebook.no_recorder import NoRecorder
from ..notebook.recorded import RecordedRun
from ..notebook.transcript import Transcript
from ..safety.approval import ApprovalGate, refuse_unattended
from ..safety.approver import Approver
from ..safety.redact import Redactor
from ..safety.risk import review_cell
from .config import Settings
from .session import KernelSession


@dataclass
class RunContext:
    """What the turns of one run share."""

    session: KernelSession
    run: RunResult
    settings: Settings
    control: RunControl = field(default_factory=RunControl)
    view: Any = None
    #: What the run's turns emit; the view subscribes when it opens.
    events: RunEvents = field(default_factory=RunEvents)
    #: Where a step's cell shows its outputs without a notebook cell (the view's step).
    step_output: Callable[[], AbstractContextManager[Any]] = nullcontext
    recorder: NoRecorder = field(default_factory=NoRecorder)
    redact: Callable[[str], str] = field(default_factory=Redactor)
    #: The crew's spec as recorded (None for a single agent).
    crew_spec: dict[str, Any] | None = None
    #: The run recorded below this prompt cell, when this run replays it instead.
    recorded: RecordedRun | None = None
    transcript: Transcript | None = None
    #: Where the widget's and the notebook toolbar's decisions meet (the gate asks it).
    approver: Approver = field(default_factory=Approver)
    #: What the run changed in the namespace, for undo (None: undo_depth is 0).
    undo_log: UndoLog | None = None

    @property
    def shell(self) -> Any:
        return self.session.shell

    async def drive(self, turns: Coroutine[Any, Any, None]) -> None:
        """Run the turns as their own task, which Stop and interrupt can cancel."""
        task = asyncio.ensure_future(turns)
        self.control.attach(task)
        try:
            await task
        finally:
            if not task.done():  # we are being cancelled: take the turns down with us
                task.cancel()
                await finish_despite_cancellation(_settled(task), timeout=5)

    def model(self, name: str | None = None, role: str | None = None) -> ModelClient:
        settings = self.settings
        name = name or settings.model
        events, steps = self.events, self.run.steps

        def on_reply(sent: list[dict[str, str]], reply: str) -> None:
            events.emit(ModelReplied(name, sent, reply, step=len(steps) + 1, role=role))

        return ModelClient(
            name,
            stream=settings.stream,
            timeout=settings.model_timeout,
            retry=RetryPolicy(retries=settings.model_retries),
            extra=settings.model_kwargs,
            on_reply=on_reply,
        )

    def parts(
        self,
        memory: Memory,
        gate: ApprovalGate,
        *,
        model: str | None = None,
        max_steps: int | None = None,
        role: str | None = None,
        roles: Sequence[str] = (),
    ) -> LoopParts:
        """The loop's parts for one turn."""
        settings = self.settings
        return LoopParts(
            model=self.model(model, role),
            gate=gate,
            executor=KernelExecutor(
                self.shell,
                settings.observation_tokens,
                on_interrupt=self.control.mark_interrupted,
                roles=roles,
                cell_timeout=self.cell_timeout,  # asked at each cell
                on_stuck=self._stuck,
                max_output_bytes=settings.max_output_bytes,
                redact=self.redact,
                undo_log=self.undo_log,
            ),
            events=self.events,
            step_output=self.step_output,
            memory=memory,
            max_steps=max_steps or settings.max_steps,
            observation_tokens=settings.observation_tokens,
            max_proposal_chars=settings.max_proposal_chars,
            recorder=self.recorder,
            control=self.control,
            redact=self.redact,
            role=role,
            review=self.review,
            add_usage=self.run.add_usage,
        )

    def cell_timeout(self) -> float:
        """The agent cells' time limit: the settings', or where nobody can press the stop
        button (no widgets: nbclient, papermill) and no limit was set, the headless one."""
        if self.headless_limit():
            return HEADLESS_CELL_TIMEOUT
        return self.settings.cell_timeout

    def _stuck(self, line: str) -> None:
        """From the time limit's thread: the cell ignores interrupts; end the run when it ends."""
        self.control.mark_interrupted()
        self.control.reason = self.control.reason or line
        try:
            self.events.emit(Notice(f"The agent's cell: {line}"))
        except Exception:  # a view that cannot be updated from a thread: the run still ends
            pass

    def headless_limit(self) -> bool:
        """Whether the headless default limit applies (see :meth:`cell_timeout`)."""
        unset = self.settings.sources.get("cell_timeout", "default") == "default"
        return unset and self.view is not None and not self.view.can_ask

    def on_headless(self, notify: Callable[[], None]) -> None:
        """``notify()`` now if the headless limit applies, or once a run still waiting to
        learn whether widgets render (:mod:`~jupyter_agents.ui.switchable_view`) learns that
        they do not; never if they do."""
        when_plain = getattr(self.view, "when_plain", None)
        if when_plain is not None:
            when_plain(lambda: notify() if self.headless_limit() else None)
        elif self.headless_limit():
            notify()

    def review(self, code: str) -> list[RiskFlag]:
        """The risk review of ``code`` as this kernel will run it: names from earlier cells
        resolved, and read with the shell's live transformers, compiler flags and aliases."""
        return review_cell(code, namespace=self.shell.user_ns, shell=self.shell)

    def gate(self, policy: str | None = None) -> ApprovalGate:
        policy = policy or self.settings.approve
        if policy == "auto":
            return ApprovalGate(policy, None)
        if policy == "risky" and not self.view.can_ask:  # headless: the safe autopilot
            return ApprovalGate(policy, refuse_unattended)
        return ApprovalGate(policy, self.approver.ask)


async def _settled(task: asyncio.Future[Any]) -> None:
    """Wait for a task to end, however it ends."""
    await asyncio.wait({task})
