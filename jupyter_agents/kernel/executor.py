"""Running approved code in the user's namespace, as if the user had run the cell.

Code runs through IPython's ``run_cell_async`` with history on, so execution counts advance,
``In``/``Out`` and ``_`` work, magics and top-level ``await`` work, and the outputs (including
rich ones) are published like any cell's. While it runs, what it prints and displays is also
recorded, bounded, for the model; each output is redacted (:mod:`.output_redaction`) and
capped at ``max_output_bytes`` (:mod:`.output_limits`) before it leaves the kernel; and a
cell that runs past ``cell_timeout`` is interrupted as the stop button does
(:mod:`.time_limit`).
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import (
    AbstractAsyncContextManager,
    AbstractContextManager,
    AsyncExitStack,
    contextmanager,
    nullcontext,
)
from dataclasses import dataclass, field
from typing import Any

from ..core.errors import UnknownHandoffTarget
from ..core.observation import CHARS_PER_TOKEN, Observation, truncate_middle
from .error_feedback import error_hint, format_error
from .namespace_rollback import NamespaceSnapshot
from .output_pipeline import ModelCapture, agent_cell_outputs
from .output_rules import OutputRules
from .shutdown import exit_when_stuck
from .sigint import sigint_layer
from .time_limit import CellTimeLimit
from .turn_end import (
    NO_ANSWER,
    AnswerSlot,
    Handoff,
    TurnEnded,
    current_slot,
    unknown_handoff_target,
)
from .undo_log import UndoLog


@dataclass
class ExecutionOutcome:
    """What running one cell did."""

    execution_count: int | None
    observation: Observation
    error_name: str | None = None
    answer: Any = NO_ANSWER
    handoff: Handoff | None = None
    interrupted: bool = False
    #: A Stop or interrupt arrived after the cell had ended, while its outputs were being
    #: released: the cell completed, and the loop ends the run once the step is recorded.
    cancelled_after: bool = False
    seconds: float = 0.0
    #: The time limit (seconds) that interrupted the cell; None if it ran to its end.
    timed_out_after: float | None = None
    #: Names whose bindings were put back because the cell was cut short (see
    #: :mod:`.namespace_rollback`).
    rolled_back: list[str] = field(default_factory=list)
    #: Why the run cannot go on after this cell, in one line: it ignored its time limit's
    #: interrupts, or it shut the kernel down. None: the run may go on.
    ends_run: str | None = None

    @property
    def has_answer(self) -> bool:
        return self.answer is not NO_ANSWER


@dataclass
class _Cell:
    """A cell as IPython will run it."""

    code: str
    transformed: str
    #: The error that stops it before it runs (IPython shows it as the cell's output).
    preprocessing_error: Any
    runs_async: bool


@dataclass
class _Ran:
    """What running one cell left: its result, captures, answer and how it ended."""

    capture: ModelCapture
    slot: AnswerSlot
    limit: CellTimeLimit
    result: Any = None
    interrupted: bool = False
    cancelled_after: bool = False


class KernelExecutor:
    """Runs cells in a live IPython shell and records what the model should see."""

    def __init__(
        self,
        shell: Any,
        observation_tokens: int = 2000,
        on_interrupt: Callable[[], None] | None = None,
        roles: Sequence[str] = (),
        cell_timeout: float | Callable[[], float] | None = None,
        max_output_bytes: int | None = None,
        redact: Callable[[str], str] | None = None,
        on_stuck: Callable[[str], None] | None = None,
        undo_log: UndoLog | None = None,
    ) -> None:
        self.shell = shell
        #: The run's record of the namespace before it, for undo (None: not kept).
        self.undo_log = undo_log
        #: Told, from a timer thread, when a cell ignores every interrupt (:mod:`.time_limit`).
        self.on_stuck = on_stuck
        #: Applied to every text output before it leaves the kernel (:mod:`.output_redaction`).
        self.redact = redact
        #: Seconds a cell may run before it is interrupted (None or 0: no limit); a callable
        #: is asked at each cell (the run's view, hence its default, may change mid-run).
        self.cell_timeout = cell_timeout
        #: Most bytes each of a cell's outputs keeps (None or 0: no limit).
        self.max_output_bytes = max_output_bytes
        #: In a crew: the roles ``handoff`` may name.
        self.roles = tuple(roles)
        self.capture_chars = observation_tokens * CHARS_PER_TOKEN
        #: Told when the stop button interrupts synchronous cell code.
        self.on_interrupt = on_interrupt

    def _time_limit(self) -> float | None:
        limit = self.cell_timeout
        return limit() if callable(limit) else limit

    async def run(
        self,
        code: str,
        output: AbstractContextManager[Any] | AbstractAsyncContextManager[Any] | None = None,
    ) -> ExecutionOutcome:
        """Run ``code`` as a cell.

        ``output`` decides where the cell's outputs appear while it runs: a step's Output widget
        (a sync context manager) or a notebook cell through the protocol (an async one).
        """
        cell = self._prepare(code)
        namespace, undo_log = self.shell.user_ns, self.undo_log
        if undo_log is not None:  # copies what the cell may change in place, for undo
            snapshot = undo_log.before_cell(cell.transformed, namespace)
        else:
            snapshot = NamespaceSnapshot(namespace)
        started = time.perf_counter()
        try:
            ran = await self._execute(cell, output)
            return self._outcome(cell, ran, time.perf_counter() - started, snapshot)
        finally:  # however the cell ended, what it bound is noted (after any rollback)
            if undo_log is not None:
                undo_log.after_cell(snapshot, namespace)

    def _prepare(self, code: str) -> _Cell:
        """The cell as IPython will run it, with the error that stops it before it runs."""
        shell = self.shell
        preprocessing_error = None
        try:
            transformed = shell.transform_cell(code)
        except Exception:
            transformed, preprocessing_error = code, sys.exc_info()
        problem = unknown_handoff_target(transformed, self.roles) if self.roles else None
        if problem is not None and preprocessing_error is None:
            # IPython then shows the error as the cell's output and runs none of it.
            try:
                raise UnknownHandoffTarget(problem)
            except UnknownHandoffTarget:
                preprocessing_error = sys.exc_info()
        runs_async = shell.should_run_async(
            code, transformed_cell=transformed, preprocessing_exc_tuple=preprocessing_error
        )
        return _Cell(code, transformed, preprocessing_error, runs_async)

    async def _execute(
        self,
        cell: _Cell,
        output: AbstractContextManager[Any] | AbstractAsyncContextManager[Any] | None,
    ) -> _Ran:
        """Run the prepared cell inside the output pipeline, the answer scope and the limits."""
        shell = self.shell
        ran = _Ran(
            capture=ModelCapture(self.capture_chars),
            slot=AnswerSlot(roles=self.roles),
            limit=CellTimeLimit(self._time_limit(), cell.runs_async, self.on_stuck),
        )
        rules = OutputRules(self.max_output_bytes, self.redact)
        try:
            async with AsyncExitStack() as stack:
                if isinstance(output, AbstractAsyncContextManager):
                    await stack.enter_async_context(output)
                else:
                    stack.enter_context(output if output is not None else nullcontext())
                stack.enter_context(agent_cell_outputs(shell, ran.capture, rules))
                stack.enter_context(_answer_scope(shell, ran.slot))
                if not cell.runs_async:
                    stack.enter_context(_sigint_raises_in_sync_code(self.on_interrupt))
                await stack.enter_async_context(ran.limit)
                ran.result = await shell.run_cell_async(
                    cell.code,
                    store_history=True,
                    transformed_cell=cell.transformed,
                    preprocessing_exc_tuple=cell.preprocessing_error,
                )
                # What a kernel does after every cell; matplotlib's inline backend shows
                # figures on post_execute, and they belong in this step's output.
                shell.events.trigger("post_execute")
                shell.events.trigger("post_run_cell", ran.result)
        except KeyboardInterrupt:
            ran.interrupted = True
        except asyncio.CancelledError:
            if ran.limit.fired:
                ran.interrupted = True  # the time limit's cancellation, caught outside the cell
            elif ran.result is not None:
                # The cell had ended. A Stop clicked during a cell that never awaits is read
                # only now, and an interrupt can cancel twice: record the step as it is.
                ran.cancelled_after = True
            else:
                raise
        return ran

    def _outcome(
        self, cell: _Cell, ran: _Ran, seconds: float, snapshot: NamespaceSnapshot
    ) -> ExecutionOutcome:
        """What the cell did, as the loop and the model learn it."""
        result, limit, interrupted = ran.result, ran.limit, ran.interrupted
        error = None if result is None else (result.error_before_exec or result.error_in_exec)
        if isinstance(error, KeyboardInterrupt):
            interrupted = True
        if isinstance(error, asyncio.CancelledError):
            # Stop or interrupt while the cell awaited: IPython's run_code caught it like any
            # error. Report it as an interruption, so the step is recorded before the run ends.
            interrupted = True
        if isinstance(error, TurnEnded):
            error = None
        error_name = None if error is None else type(error).__name__
        if limit.fired:
            # The time limit, not the user, interrupted it: the run goes on. (If the user also
            # pressed stop, the loop's own checks end the run right after this step.)
            interrupted = False
            if error is None or isinstance(error, (KeyboardInterrupt, asyncio.CancelledError)):
                error_name = "CellTimeout"
        ends_run = _ends_run(self.shell, limit)
        # A cell cut short did not complete: the namespace goes back to before it.
        rolled_back = snapshot.restore() if interrupted or limit.fired else []
        capture = ran.capture
        observation = Observation(
            stdout=capture.stdout.text(),
            stderr=capture.stderr.text(),
            result=self._format_result(result),
            displays=capture.displays,
            more_displays=capture.more_displays,
            error=None if error is None else format_error(error, self.capture_chars),
            hint=None if error is None else error_hint(error, cell.transformed, self.shell.user_ns),
        )
        return ExecutionOutcome(
            execution_count=None if result is None else result.execution_count,
            observation=observation,
            error_name=error_name,
            answer=ran.slot.value,
            handoff=ran.slot.handoff,
            interrupted=interrupted,
            cancelled_after=ran.cancelled_after,
            seconds=seconds,
            timed_out_after=limit.seconds if limit.fired else None,
            rolled_back=rolled_back,
            ends_run=ends_run,
        )

    def _format_result(self, result: Any) -> str | None:
        value = None if result is None else result.result
        if value is None:
            return None
        try:
            data, _ = self.shell.display_formatter.format(value, include={"text/plain"})
            text = data.get("text/plain") or repr(value)
        except Exception as error:
            text = f"<{type(value).__name__}: repr failed with {type(error).__name__}>"
        return truncate_middle(text, self.capture_chars)


def _ends_run(shell: Any, limit: CellTimeLimit) -> str | None:
    """Why the run cannot go on after this cell, if it cannot (see ExecutionOutcome)."""
    if getattr(shell, "exit_now", False):
        # exit(), quit() or kernel.do_shutdown(): the kernel's event loop stops in a moment.
        exit_when_stuck(asyncio.get_running_loop())
        return "the cell shut the kernel down"
    if limit.escalated:
        return limit.stuck_message
    return None


@contextmanager
def _answer_scope(shell: Any, slot: AnswerSlot) -> Iterator[None]:
    """Let ``final_answer`` and ``handoff`` end this cell quietly.

    IPython's custom-exception hook is the supported way to handle an exception type without
    a traceback; ours is installed for the step only and hands every other exception type to
    whatever handler the user had.
    """
    token = current_slot.set(slot)
    saved_types, saved_handler = shell.custom_exceptions, shell.CustomTB

    def handler(_shell: Any, etype: type, value: BaseException, tb: Any, tb_offset: Any = None):
        if issubclass(etype, TurnEnded):
            _not_an_error(shell, value)
            return None
        return saved_handler(etype, value, tb, tb_offset=tb_offset)

    shell.set_custom_exc((TurnEnded, *saved_types), handler)
    try:
        yield
    finally:
        shell.custom_exceptions, shell.CustomTB = saved_types, saved_handler
        current_slot.reset(token)


def _not_an_error(shell: Any, ended: BaseException) -> None:
    """Take the turn's end off the cell's result: it is how ``final_answer`` stops a cell, not
    an error. IPython keeps a formatted traceback of every cell that raised, and its formatter
    took about 25 ms, a run's largest single cost after the model, for a traceback nobody reads.
    The result being run is the display hook's (IPython sets it for the cell's duration)."""
    result = getattr(getattr(shell, "displayhook", None), "exec_result", None)
    if result is not None and result.error_in_exec is ended:
        result.error_in_exec = None


@contextmanager
def _sigint_raises_in_sync_code(on_interrupt: Callable[[], None] | None) -> Iterator[None]:
    """Make the kernel's stop button raise KeyboardInterrupt inside synchronous cell code.

    While an async cell runs, ipykernel turns SIGINT into cancelling the cell's task, which
    takes effect only when the event loop gets control back. Synchronous generated code
    (``while True: ...``) never gives it back, so the stop button would do nothing. For the
    duration of such a cell, Python's default handler is restored, as for any ordinary cell.
    """

    def interrupt(signum: int, frame: Any, below: Callable[[], None]) -> None:
        if on_interrupt is not None:
            on_interrupt()
        raise KeyboardInterrupt

    with sigint_layer(interrupt):
        yield
