"""One run, from settings to result: build the parts, drive the loop, end it cleanly.

The loop runs as its own task so the Stop button can cancel it without touching the cell's
task. :class:`~jupyter_agents.control.RunControl` knows whether an early end was Stop (the
cell returns normally) or an interrupt (one line says so). Either way the widget and the
notebook show how the run ended, and every step that completed stays recorded.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from .approval import ApprovalGate
from .config import Settings
from .context import recent_user_cells, system_prompt, task_message
from .control import RunControl, StopRequested, finish_despite_cancellation
from .errors import InvalidOption, JupyterAgentsError, RunInterrupted
from .executor import KernelExecutor
from .loop import LoopParts, run_loop
from .memory import Memory
from .model import ModelClient
from .notebook_bridge import NotebookBridge
from .recorder import NoRecorder, NotebookRecorder
from .redact import Redactor
from .result import RunResult, RunStatus
from .retry import RetryPolicy
from .session import KernelSession
from .view import open_view


async def run_agent(
    task: str, settings: Settings, tools: Sequence[Callable[..., Any]], session: KernelSession
) -> RunResult:
    """Run the agent on ``task`` in ``session``'s kernel and return what it did."""
    shell = session.shell
    run = RunResult(
        task=task, model=settings.model, approve=settings.approve, max_steps=settings.max_steps
    )
    session.require_final_answer()
    bind_tools(shell.user_ns, tools)
    with session.claim(run):
        control = RunControl()
        view: Any = None
        recorder: NoRecorder = NoRecorder()
        loop_task: asyncio.Future[None] | None = None
        ending: JupyterAgentsError | None = None
        with control.watching_sigint():
            try:
                view = await open_view(run, settings.approve == "each", settings.frontend_timeout)
                view.on_stop(control.request_stop)
                recorder = await connect_notebook(shell, run, settings, view)
                parts = await build_parts(shell, task, settings, tools, view, recorder, control)
                loop_task = asyncio.ensure_future(run_loop(run, parts))
                control.attach(loop_task)
                await loop_task
            except (asyncio.CancelledError, StopRequested, RunInterrupted):
                if control.stop_requested and not control.interrupted:
                    run.finish(RunStatus.STOPPED)
                else:
                    ending = _ended(run, RunStatus.INTERRUPTED, _interrupt_message(run))
            except JupyterAgentsError as error:
                ending = _ended(run, RunStatus.FAILED, str(error), error)
            except Exception as error:  # a bug: still end the run cleanly, then let it show
                run.finish(RunStatus.FAILED, f"internal error: {type(error).__name__}: {error}")
                raise
            finally:
                if loop_task is not None and not loop_task.done():
                    loop_task.cancel()  # we are being cancelled: take the loop down with us
                    await finish_despite_cancellation(_settled(loop_task), timeout=5)
                await finish_despite_cancellation(recorder.finish(run))
                if view is not None:
                    view.finish(run)
        if ending is not None:
            raise ending
        return run


async def build_parts(
    shell: Any,
    task: str,
    settings: Settings,
    tools: Sequence[Callable[..., Any]],
    view: Any,
    recorder: NoRecorder,
    control: RunControl,
) -> LoopParts:
    """Everything the loop needs for this run."""
    notebook_cells = await recorder.context_cells()
    redact = Redactor()
    return LoopParts(
        model=ModelClient(
            settings.model,
            stream=settings.stream,
            timeout=settings.model_timeout,
            retry=RetryPolicy(retries=settings.model_retries),
            extra=settings.model_kwargs,
        ),
        gate=ApprovalGate(settings.approve, view.ask if settings.approve == "each" else None),
        executor=KernelExecutor(
            shell, settings.observation_tokens, on_interrupt=control.mark_interrupted
        ),
        view=view,
        memory=Memory(
            system=system_prompt(tools),
            task=task_message(
                task,
                shell.user_ns,
                hidden=list(getattr(shell, "user_ns_hidden", {})),
                recent_cells=recent_user_cells(
                    shell.history_manager.input_hist_raw, settings.history_cells
                ),
                notebook_cells=notebook_cells,
                redact=redact,
            ),
        ),
        max_steps=settings.max_steps,
        observation_tokens=settings.observation_tokens,
        recorder=recorder,
        control=control,
        redact=redact,
    )


async def connect_notebook(shell: Any, run: RunResult, settings: Settings, view: Any) -> NoRecorder:
    """A recorder that writes into the notebook, if the frontend speaks the protocol."""
    parent = shell.get_parent() if hasattr(shell, "get_parent") else {}
    anchor = (parent.get("metadata") or {}).get("cellId")
    bridge = await NotebookBridge.connect(run.run_id, anchor, run.model)
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
        keep_rejected=settings.keep_rejected,
        on_decision=view.answer,
        on_lost=lost,
    )
    view.use_notebook(True)
    await recorder.start()
    return recorder


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


def _interrupt_message(run: RunResult) -> str:
    completed = [s for s in run.steps if s.code_run is not None and s.error != "KeyboardInterrupt"]
    cut_short = bool(run.steps) and run.steps[-1].error == "KeyboardInterrupt"
    step = len(run.steps) if cut_short else len(run.steps) + 1
    return (
        f"agent run interrupted at step {step}; {len(completed)} earlier cell(s) completed "
        "and their results are kept."
    )


async def _settled(task: asyncio.Future[Any]) -> None:
    """Wait for a task to end, however it ends."""
    await asyncio.wait({task})
