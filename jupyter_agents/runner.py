"""One run, from settings to result: set up what its turns share, drive them, end cleanly.

:class:`RunContext` holds what every turn of a run shares: the claim on the kernel, the view,
the notebook recorder, and :class:`~jupyter_agents.control.RunControl` for Stop and interrupt.
A plain ``%agent`` run is one turn (:func:`run_agent`); a crew is several
(:mod:`jupyter_agents.crew`). The turns run as their own task so Stop can cancel it without
touching the cell's task, and every way a run can end (an answer, Stop, interrupt, a failure,
a bug) leaves the widget and the notebook saying so, with every completed step recorded.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from .approval import ApprovalGate, refuse_unattended
from .config import Settings, require_model
from .context import recent_user_cells, system_prompt, task_message
from .control import RunControl, StopRequested, finish_despite_cancellation
from .errors import InvalidOption, JupyterAgentsError, NotRecorded, RunInterrupted
from .executor import KernelExecutor
from .final_answer import NO_ANSWER
from .loop import LoopParts, run_turn
from .memory import Memory
from .model import ModelClient
from .notebook_bridge import FrontendRefused, NotebookBridge
from .recorded import RecordedRun
from .recorder import NoRecorder, NotebookRecorder
from .redact import Redactor
from .result import RunResult, RunStatus
from .retry import RetryPolicy
from .risk import RiskFlag, review_cell
from .run_record import decode_answer, redacted, run_record
from .session import KernelSession
from .telemetry import model_name, set_attributes, span
from .terminal_text import one_line, quoted
from .time_limit import HEADLESS_CELL_TIMEOUT
from .transcript import Transcript
from .view import approval_unavailable, open_view


@dataclass
class RunContext:
    """What the turns of one run share."""

    session: KernelSession
    run: RunResult
    settings: Settings
    control: RunControl = field(default_factory=RunControl)
    view: Any = None
    recorder: NoRecorder = field(default_factory=NoRecorder)
    redact: Callable[[str], str] = field(default_factory=Redactor)
    #: The crew's spec as recorded (None for a single agent).
    crew_spec: dict[str, Any] | None = None
    #: The run recorded below this prompt cell, when this run replays it instead.
    recorded: RecordedRun | None = None
    transcript: Transcript | None = None

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
        transcript, steps = self.transcript, self.run.steps

        def on_reply(sent: list[dict[str, str]], reply: str) -> None:
            if transcript is not None:
                transcript.record(name, sent, reply, step=len(steps) + 1, role=role)

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
                cell_timeout=self.cell_timeout(),
                on_stuck=self._stuck,
                max_output_bytes=settings.max_output_bytes,
                redact=self.redact,
            ),
            view=self.view,
            memory=memory,
            max_steps=max_steps or settings.max_steps,
            observation_tokens=settings.observation_tokens,
            max_proposal_chars=settings.max_proposal_chars,
            recorder=self.recorder,
            control=self.control,
            redact=self.redact,
            role=role,
            review=self.review,
            account=self.run.spend,
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
            self.view.notice(f"The agent's cell: {line}")
        except Exception:  # a view that cannot be updated from a thread: the run still ends
            pass

    def headless_limit(self) -> bool:
        """Whether the headless default limit applies (see :meth:`cell_timeout`)."""
        unset = self.settings.sources.get("cell_timeout", "default") == "default"
        return unset and self.view is not None and not self.view.can_ask

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
        return ApprovalGate(policy, self.view.ask)


@asynccontextmanager
async def run_context(
    session: KernelSession,
    run: RunResult,
    settings: Settings,
    crew_spec: dict[str, Any] | None = None,
) -> AsyncIterator[RunContext]:
    """Claim the kernel, show the run, connect the notebook; end the run however it ends.

    If the notebook holds this prompt cell's recorded run (same task) and ``rerun`` is off,
    ``context.recorded`` is set and the caller replays it instead of calling a model.
    """
    with session.claim(run):
        context = RunContext(session, run, settings, crew_spec=crew_spec)
        if settings.transcripts:
            context.transcript = Transcript(context.redact, settings.transcript_chars)
        ending: JupyterAgentsError | None = None
        agent = "crew" if crew_spec is not None else "agent"
        with (
            context.control.watching_sigint(),
            span(
                f"invoke_agent {agent}",
                gen_ai__operation__name="invoke_agent",
                gen_ai__agent__name=agent,
                gen_ai__agent__id=run.run_id,
                gen_ai__request__model=model_name(settings.model) if settings.model else None,
            ) as run_span,
        ):
            try:
                context.view = await open_view(
                    run,
                    settings.approve != "auto",
                    settings.frontend_timeout,
                    crew=crew_spec is not None,
                    redact=context.redact,
                )
                context.view.on_stop(context.control.request_stop)
                context.recorder = await connect_notebook(context)
                await _replay_or_start(context)
                yield context
            except (asyncio.CancelledError, StopRequested, RunInterrupted):
                if context.control.stop_requested and not context.control.interrupted:
                    run.finish(RunStatus.STOPPED)
                else:
                    ending = _ended(
                        run, RunStatus.INTERRUPTED, _interrupt_message(run, context.control)
                    )
            except JupyterAgentsError as error:
                ending = _ended(run, RunStatus.FAILED, str(error), error)
            except Exception as error:  # a bug: still end the run cleanly, then let it show
                run.finish(RunStatus.FAILED, f"internal error: {type(error).__name__}: {error}")
                raise
            finally:
                if context.recorded is None:
                    await finish_despite_cancellation(context.recorder.record(_record(context)))
                await finish_despite_cancellation(context.recorder.finish(run))
                if context.view is not None:
                    context.view.finish(run)
                set_attributes(
                    run_span,
                    error__type=type(ending).__qualname__ if ending is not None else None,
                    jupyter_agents__status=str(run.status),
                    jupyter_agents__steps=len(run.steps),
                    gen_ai__usage__input_tokens=run.usage.prompt_tokens,
                    gen_ai__usage__output_tokens=run.usage.completion_tokens,
                )
        if ending is not None:
            raise ending


async def run_agent(
    task: str,
    settings: Settings,
    tools: Sequence[Callable[..., Any]],
    session: KernelSession,
    section: str | None = None,
) -> RunResult:
    """Run the agent on ``task`` in ``session``'s kernel and return what it did.

    With ``section``, the agent works in that notebook section (one a person or another agent
    wrote): it sees that section's cells and adds its cells at the section's end.
    """
    run = RunResult(
        task=task,
        model=settings.model or "no model",
        approve=settings.approve,
        max_steps=settings.max_steps,
    )
    session.require_final_answer()
    bind_tools(session.shell.user_ns, tools)
    async with run_context(session, run, settings) as context:
        if context.recorded is not None:
            return run
        around = await _working_context(context, section)
        memory = Memory(
            system=system_prompt(tools),
            task=task_message(
                task,
                context.shell.user_ns,
                hidden=list(getattr(context.shell, "user_ns_hidden", {})),
                recent_cells=recent_user_cells(
                    context.shell.history_manager.input_hist_raw, settings.history_cells
                ),
                notebook_cells=around,
                cells_below=await context.recorder.cells_below() if section is None else (),
                redact=context.redact,
                section=section,
            ),
        )
        parts = context.parts(memory, context.gate())

        async def one_turn() -> None:
            outcome = await run_turn(parts, run.steps)
            apply_outcome(run, outcome)

        await context.drive(one_turn())
    return run


def apply_outcome(run: RunResult, outcome: Any) -> None:
    """Record a finished turn's outcome as the run's ending."""
    if outcome.answer is not NO_ANSWER:
        run.answer = outcome.answer
    status = RunStatus.COMPLETED if outcome.status is RunStatus.HANDED_OFF else outcome.status
    run.finish(status)


async def _working_context(context: RunContext, section: str | None) -> list[Any] | None:
    """The notebook cells the agent sees: a section's, or those above the ``%agent`` cell."""
    if section is None:
        return await context.recorder.context_cells()
    if not context.recorder.active:
        raise InvalidOption(
            f"--section {quoted(section)} needs the notebook: run it in JupyterLab or Notebook 7 "
            "with the jupyter-agents extension (jupyter labextension list)."
        )
    cells = await context.recorder.adopt_section(section)
    if cells is None:
        raise InvalidOption(
            f"there is no section {quoted(section)} in this notebook; a section starts at a "
            f"markdown heading such as '## {one_line(section, 80)}'."
        )
    return cells


async def connect_notebook(context: RunContext) -> NoRecorder:
    """A recorder that writes into the notebook, if the frontend speaks the protocol."""
    shell, run, view = context.shell, context.run, context.view
    parent = shell.get_parent() if hasattr(shell, "get_parent") else {}
    anchor = (parent.get("metadata") or {}).get("cellId")
    try:
        bridge = await NotebookBridge.connect(run.run_id, anchor, run.model)
    except FrontendRefused as refusal:
        view.notice(f"{refusal}; the run goes on in this widget.")
        return NoRecorder()
    if bridge is None:
        return NoRecorder()

    def lost(note: str) -> None:
        view.use_notebook(False)
        view.notice(note)

    recorder = NotebookRecorder(
        bridge,
        run,
        anchor_cell_id=anchor,
        parent_msg_id=parent["header"]["msg_id"],
        keep_rejected=context.settings.keep_rejected,
        on_decision=view.answer,
        on_lost=lost,
        redact=context.redact,
        on_queued=context.session.queued_proposals.add,
    )
    view.use_notebook(True)
    return recorder


async def _replay_or_start(context: RunContext) -> None:
    """Replay this prompt cell's recorded run, or start recording a new one."""
    settings, run = context.settings, context.run
    previous = await context.recorder.previous_run()
    same = previous is not None and previous.record.get("task") == context.redact(run.task)
    if same and context.crew_spec is not None:  # the record holds the spec redacted
        same = previous.record.get("crew") == redacted(context.crew_spec, context.redact)
    if previous is not None and same and not settings.rerun:
        context.recorded = previous
        # Its cells run next, as ordinary code: with the agent cells' redaction and output cap,
        # so they print what was recorded and no secret lands in the notebook.
        if context.session.output_rules is not None:
            context.session.output_rules.watch(
                previous.cell_ids, context.redact, settings.max_output_bytes
            )
        run.answer = decode_answer(previous.record.get("answer"))
        run.steps = previous.steps()
        run.finish(RunStatus.REPLAYED)
        context.view.show_replay(previous.describe())
        context.view.notice(
            f"Found this cell's {previous.describe()} below: not calling a model. The recorded "
            "cells run as ordinary code; the result is the recorded answer. "
            "Add --rerun to ask the model again."
        )
        return
    if settings.offline:
        raise NotRecorded(
            "this cell has no recorded run in the notebook (or its task changed), and offline "
            "mode never calls a model: run it with a model first (jupyter agents run)."
        )
    require_model(settings, context.crew_spec)
    if settings.approve == "each" and not context.view.can_ask:
        raise approval_unavailable(settings.frontend_timeout, context.recorder.client)
    if context.headless_limit():
        context.view.notice(
            f"Nobody can press stop here, so each agent cell may run {HEADLESS_CELL_TIMEOUT:g} s "
            "before it is interrupted (set cell_timeout to change it)."
        )
    if previous is not None and not settings.rerun:
        changed = "task" if previous.record.get("task") != context.redact(run.task) else "crew"
        context.view.notice(
            f"The {changed} changed since this cell's {previous.describe()}: the new run "
            f"replaces its {len(previous.cell_ids)} cell(s) below."
        )
    # A new run of a prompt cell replaces its previous run's cells, as re-running a cell
    # replaces its outputs: left in place they would be orphans that Run All still executes.
    # The record so far (status "running"): written when the run begins, after each step,
    # and in full at the end.
    context.recorder.progress = lambda: _record(context, transcript=False)
    await context.recorder.start(replacing=previous)


def _record(context: RunContext, transcript: bool = True) -> dict[str, Any]:
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


def bind_tools(namespace: dict[str, Any], tools: Sequence[Callable[..., Any]]) -> None:
    """Make the user's tool functions callable by name from generated code."""
    for tool in tools:
        name = getattr(tool, "__name__", None)
        if not callable(tool) or not name or not name.isidentifier():
            raise InvalidOption(f"tools must be named functions; got {tool!r}")
        if name in namespace and namespace[name] is not tool:
            raise InvalidOption(
                f"tool {name!r} would replace a different object named {name!r} in your "
                "namespace; rename the function or the variable."
            )
        namespace[name] = tool


def _ended(
    run: RunResult, status: RunStatus, message: str, error: JupyterAgentsError | None = None
) -> JupyterAgentsError:
    """Record how the run ended and return the error the caller raises."""
    run.finish(status, message)
    error = error or RunInterrupted(message)
    error.run = run
    return error


def _interrupt_message(run: RunResult, control: RunControl) -> str:
    if control.reason:  # the run could not go on: say why, and what to do
        return (
            f"agent run ended: {control.reason}. The earlier cells' results are kept; if the "
            "kernel is still busy or gone, restart it."
        )
    completed = [s for s in run.steps if s.code_run is not None and s.error != "KeyboardInterrupt"]
    cut_short = bool(run.steps) and run.steps[-1].error == "KeyboardInterrupt"
    step = len(run.steps) if cut_short else len(run.steps) + 1
    message = (
        f"agent run interrupted at step {step}; {len(completed)} earlier cell(s) completed "
        "and their results are kept."
    )
    if cut_short and run.steps[-1].rolled_back:
        names = run.steps[-1].rolled_back
        shown = ", ".join(names[:10]) + (" ..." if len(names) > 10 else "")
        message += f" The interrupted cell's assignments were undone: {shown}."
    return message


async def _settled(task: asyncio.Future[Any]) -> None:
    """Wait for a task to end, however it ends."""
    await asyncio.wait({task})
