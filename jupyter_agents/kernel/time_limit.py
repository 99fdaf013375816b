"""Time limits for agent cells: a cell that runs too long is interrupted as the stop button does.

The stop button sends SIGINT to the kernel: synchronous cell code gets a KeyboardInterrupt
(:func:`jupyter_agents.kernel.executor._sigint_raises_in_sync_code`), and an awaiting cell's task is
cancelled. A time limit does the same from a timer, with two differences: the run goes on
(the step records the timeout and the model is told), and what is raised says why.

- Synchronous code holds the event loop (``while True: pass`` never yields), so no loop timer
  can fire. A thread timer sends SIGINT to the main thread with ``pthread_kill``, which also
  cuts a blocking ``time.sleep`` short, exactly like the stop button's signal. A layer of the
  SIGINT chain (:mod:`jupyter_agents.kernel.sigint`), on top of the executor's own, turns the
  signals it is owed into :class:`~jupyter_agents.core.errors.CellTimeout` and passes any other
  (the user's stop button) down the chain.
- An awaiting cell gets its task cancelled from the event loop, with a message.

A cell that swallows the interruption (``except KeyboardInterrupt`` in a loop) is
interrupted again after :data:`REPEAT_SECONDS`; when that fails too, the time limit escalates
once: it raises :class:`~jupyter_agents.core.errors.CellIgnoredInterrupts`, which such a handler
does not catch, and the run ends. A cell that swallows even that (a bare ``except:``) is left
alone: signalling it forever would never end it. :attr:`CellTimeLimit.on_stuck` says so in one
line; a headless client then kills the kernel (:mod:`jupyter_agents.cli.headless`).
"""

from __future__ import annotations

import asyncio
import math
import signal
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from ..core.errors import CellIgnoredInterrupts, CellTimeout
from .sigint import sigint_layer

#: Seconds an agent cell may run where nobody can press the stop button: ``jupyter agents
#: run``/``replay``, and any executor without widgets (nbclient, papermill) when the user set
#: no ``cell_timeout``.
HEADLESS_CELL_TIMEOUT = 600.0

#: After the first interruption, how often it is repeated while the cell still runs.
REPEAT_SECONDS = 5.0
#: Interruptions a cell may swallow before the time limit escalates (see the module's doc).
FAILED_INTERRUPTS = 2
#: How long the end of a cell waits for a SIGINT the timer sent just before the cell ended.
_DRAIN_SECONDS = 1.0


class CellTimeLimit:
    """``async with CellTimeLimit(seconds, runs_async):`` around one cell's execution.

    ``seconds`` of 0 (or None) means no limit. After the block, :attr:`fired` says whether
    the cell was interrupted for running too long.
    """

    def __init__(
        self,
        seconds: float | None,
        runs_async: bool,
        on_stuck: Callable[[str], None] | None = None,
    ) -> None:
        self.seconds = seconds if seconds and math.isfinite(seconds) and seconds > 0 else None
        self.runs_async = runs_async
        self.fired = False
        #: The cell ignored every interruption, the escalation included: told (from a timer
        #: thread) with one line, and nothing more is sent to the cell.
        self.on_stuck = on_stuck
        #: Interruptions sent so far (signals or cancellations).
        self.sent = 0
        self._armed = False
        self._lock = threading.RLock()  # re-entrant: the signal handler runs on the main thread
        self._timer: threading.Timer | None = None
        self._owed = 0  # SIGINTs sent by the timer and not yet handled
        self._layer: AbstractContextManager[bool] | None = None
        self._installed = False
        self._task: asyncio.Task[Any] | None = None
        self._handle: asyncio.TimerHandle | None = None
        self._cancels = 0

    @property
    def message(self) -> str:
        return f"the cell ran longer than its time limit ({self.seconds:g} s)"

    @property
    def escalated(self) -> bool:
        """The cell swallowed the interruptions: the run must end with it."""
        return self.sent > FAILED_INTERRUPTS

    @property
    def stuck_message(self) -> str:
        return (
            f"the cell kept running after its time limit ({self.seconds:g} s) interrupted it "
            f"{FAILED_INTERRUPTS + 1} times"
        )

    def _give_up(self) -> None:
        """Nothing ends the cell from inside: stop signalling and say so, once."""
        self._armed = False
        if self.on_stuck is not None:
            self.on_stuck(
                f"{self.stuck_message} and ignores them: the run ends when it ends; "
                "restart the kernel to stop it now."
            )

    async def __aenter__(self) -> CellTimeLimit:
        if self.seconds is None:
            return self
        if self.runs_async:
            self._task = asyncio.current_task()
            if self._task is not None:
                self._armed = True
                loop = asyncio.get_running_loop()
                self._handle = loop.call_later(self.seconds, self._cancel_task)
        else:
            self._layer = sigint_layer(self._on_sigint)
            self._installed = self._layer.__enter__()
            if self._installed:  # signals reach only the main thread
                self._armed = True
                self._start_timer(self.seconds)
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        try:
            with self._lock:
                self._armed = False
                if self._timer is not None:
                    self._timer.cancel()
            if self._handle is not None:
                self._handle.cancel()
            self._drain()
        finally:
            if self._layer is not None:
                self._layer.__exit__(None, None, None)
                self._layer = None
                self._installed = False
            self._forget_cancels()

    # -- synchronous cells: a thread timer and SIGINT ---------------------------------------------

    def _start_timer(self, delay: float) -> None:
        self._timer = threading.Timer(delay, self._send_sigint)
        self._timer.daemon = True
        self._timer.start()

    def _another_attempt(self) -> bool:
        """Count one more interrupt of the cell, or give up when they all failed."""
        if self.sent > FAILED_INTERRUPTS:
            self._give_up()
            return False
        self.fired = True
        self.sent += 1
        return True

    def _send_sigint(self) -> None:
        with self._lock:
            if not self._armed or not self._another_attempt():
                return
            self._owed += 1
            signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
            self._start_timer(REPEAT_SECONDS)

    def _on_sigint(self, signum: int, frame: Any, below: Callable[[], None]) -> None:
        with self._lock:
            ours = self._owed > 0
            if ours:
                self._owed -= 1
            armed = self._armed
        if not ours:  # the user's stop button: whatever the layer below does
            below()
            return
        # Never raise inside this module's own code: the cell has ended by then.
        if armed and (frame is None or frame.f_code.co_filename != __file__):
            if self.escalated:
                raise CellIgnoredInterrupts(self.stuck_message)
            raise CellTimeout(self.message)

    def _drain(self) -> None:
        """Let a SIGINT the timer sent just before the cell ended arrive here, harmlessly."""
        deadline = time.monotonic() + _DRAIN_SECONDS
        while self._owed > 0 and self._installed and time.monotonic() < deadline:
            time.sleep(0.01)  # the handler runs during the sleep and ignores the signal
        self._owed = 0

    # -- awaiting cells: cancel the task ---------------------------------------------------------

    def _cancel_task(self) -> None:
        if not self._armed or self._task is None or self._task.done():
            return
        if not self._another_attempt():
            return
        self._cancels += 1
        self._task.cancel(msg=self.stuck_message if self.escalated else self.message)
        loop = asyncio.get_running_loop()
        self._handle = loop.call_later(REPEAT_SECONDS, self._cancel_task)

    def _forget_cancels(self) -> None:
        """Our cancellations were delivered to the cell; the task that ran it goes on."""
        uncancel = getattr(self._task, "uncancel", None)  # Python >= 3.11
        if uncancel is not None:
            for _ in range(self._cancels):
                uncancel()
        self._cancels = 0
