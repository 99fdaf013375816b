"""One run, from settings to result: claim the kernel, drive the turns, end cleanly.

:func:`run_context` is every run's lifecycle: it claims the kernel, shows the run, connects
the notebook (:mod:`jupyter_agents.run.run_start`) and hands the caller a
:class:`~jupyter_agents.run.run_context.RunContext`; however the run ends (an answer, Stop,
interrupt, a failure, a bug) it leaves the widget and the notebook saying so, with every
completed step recorded. A plain ``%agent`` run is one turn (:func:`run_agent`); a crew is
several (:mod:`jupyter_agents.crew.crew_run`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from ..agent.instructions import recent_user_cells, system_prompt, task_message
from ..agent.loop import run_turn
from ..agent.preload import finish_preload
from ..agent.telemetry import model_name, set_attributes, span
from ..core.errors import InvalidOption, JupyterAgentsError, RunInterrupted
from ..core.events import RunEnded
from ..core.observation import CHARS_PER_TOKEN
from ..core.result import RunResult, RunStatus
from ..core.steps import Memory
from ..kernel.control import RunControl, StopRequested, finish_despite_cancellation
from ..kernel.turn_end import NO_ANSWER
from ..notebook.transcript import Transcript
from ..safety.redact import Redactor
from ..text.terminal_text import one_line, quoted
from ..ui.view import ViewSubscriber, open_view
from .config import Settings
from .run_context import RunContext
from .run_start import connect_notebook, record_of, replay_or_start
from .session import KernelSession


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
    # The background import from %load_ext ends first: the run imports some of the same
    # modules (pygments.lexers swaps itself in sys.modules, which a concurrent import breaks).
    finish_preload()
    with session.claim(run):
        redact = Redactor(namespace=getattr(session.shell, "user_ns", None))
        context = RunContext(session, run, settings, crew_spec=crew_spec, redact=redact)
        if settings.transcripts:
            context.transcript = Transcript(context.redact, settings.transcript_chars)
            context.events.subscribe(context.transcript)
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
                await _open(context)
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
                await _close(context, run_span, ending)
        if ending is not None:
            raise ending


async def _open(context: RunContext) -> None:
    """Show the run, connect the notebook, and replay the recorded run or start a new one."""
    settings = context.settings
    context.view = await open_view(
        context.run,
        settings.approve != "auto",
        settings.frontend_timeout,
        crew=context.crew_spec is not None,
        redact=context.redact,
    )
    context.view.on_stop(context.control.request_stop)
    context.view.attach(context.approver)
    shown = ViewSubscriber(context.view)
    context.events.subscribe(shown)
    context.step_output = shown.step_output
    context.recorder = await connect_notebook(context)
    await replay_or_start(context)


async def _close(context: RunContext, run_span: Any, ending: JupyterAgentsError | None) -> None:
    """Record the run's end in the notebook, the widget and its span, whatever ended it."""
    run = context.run
    if context.recorded is None:
        await finish_despite_cancellation(context.recorder.record(record_of(context)))
    await finish_despite_cancellation(context.recorder.finish(run))
    context.events.emit(RunEnded(run))
    set_attributes(
        run_span,
        error__type=type(ending).__qualname__ if ending is not None else None,
        jupyter_agents__status=str(run.status),
        jupyter_agents__steps=len(run.steps),
        gen_ai__usage__input_tokens=run.usage.prompt_tokens,
        gen_ai__usage__output_tokens=run.usage.completion_tokens,
    )


R = TypeVar("R", bound=RunResult)


def new_result(kind: type[R], task: str, settings: Settings, **more: Any) -> R:
    """A run's result as it starts (an agent's, or a crew's with ``more``), from its settings."""
    return kind(
        task=task,
        model=settings.model or "no model",
        approve=settings.approve,
        max_steps=settings.max_steps,
        **more,
    )


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
    run = new_result(RunResult, task, settings)
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
            context_chars=settings.context_tokens * CHARS_PER_TOKEN,
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
    completed = [s for s in run.steps if s.code_run is not None and not s.interrupted]
    cut_short = bool(run.steps) and run.steps[-1].interrupted
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
