"""One run, from settings to result: build the parts, drive the loop, end it cleanly.

The loop runs as its own task so the Stop button can cancel it without touching the cell's
task. Then a CancelledError reaching us means one of two things: Stop (we cancelled the loop
task, the cell goes on and returns normally) or an interrupt (ipykernel cancelled the cell's
task; we say so in one line). Either way the widget shows how the run ended, and every step
that completed stays recorded.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from .approval import ApprovalGate
from .config import Settings
from .context import recent_user_cells, system_prompt, task_message
from .errors import InvalidOption, JupyterAgentsError, RunInterrupted
from .executor import KernelExecutor
from .loop import LoopParts, run_loop
from .memory import Memory
from .model import ModelClient
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
    with session.claim(run):
        bind_tools(shell.user_ns, tools)
        needs_approval = settings.approve == "each"
        try:
            view = await open_view(run, needs_approval, settings.frontend_timeout)
        except JupyterAgentsError as error:
            run.finish(RunStatus.FAILED, str(error))
            error.run = run
            raise
        parts = LoopParts(
            model=ModelClient(
                settings.model,
                stream=settings.stream,
                timeout=settings.model_timeout,
                retry=RetryPolicy(retries=settings.model_retries),
                extra=settings.model_kwargs,
            ),
            gate=ApprovalGate(settings.approve, view.ask if needs_approval else None),
            executor=KernelExecutor(shell, settings.observation_tokens),
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
                ),
            ),
            max_steps=settings.max_steps,
            observation_tokens=settings.observation_tokens,
        )
        stop_requested = False

        def stop() -> None:
            nonlocal stop_requested
            stop_requested = True
            loop_task.cancel()

        loop_task = asyncio.ensure_future(run_loop(run, parts))
        view.on_stop(stop)
        try:
            await loop_task
        except asyncio.CancelledError:
            if not stop_requested:
                raise _ended(run, view, RunStatus.INTERRUPTED, _interrupt_message(run)) from None
            run.finish(RunStatus.STOPPED)
        except RunInterrupted as error:
            raise _ended(run, view, RunStatus.INTERRUPTED, _interrupt_message(run)) from error
        except JupyterAgentsError as error:
            raise _ended(run, view, RunStatus.FAILED, str(error), error) from None
        finally:
            if not loop_task.done():  # we are being cancelled: take the loop down with us
                loop_task.cancel()
        view.finish(run)
        return run


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
    run: RunResult,
    view: Any,
    status: RunStatus,
    message: str,
    error: JupyterAgentsError | None = None,
) -> JupyterAgentsError:
    """Record how the run ended, show it, and return the error the caller raises."""
    run.finish(status, message)
    view.finish(run)
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
