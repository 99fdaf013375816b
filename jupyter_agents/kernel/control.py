"""Ending a run early, reliably: the Stop button and the kernel's interrupt.

Both cancel the loop's task, so whatever it awaits (the model, a click, a cell) wakes at once.
But a cancellation can be swallowed on its way: by generated code's bare ``except:``, by
IPython's ``run_code`` (which catches everything a cell raises), or by ``asyncio.wait_for`` on
Python < 3.12 when its inner future had just completed. And ipykernel turns only the first
SIGINT of a cell into a cancellation. So each request also leaves a flag, and the loop checks
it between phases: a run always ends at the next step boundary at the latest.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from ..core.errors import RunInterrupted
from .sigint import sigint_layer


class StopRequested(Exception):
    """Raised inside the loop when the user pressed Stop (control flow, never shown)."""


class RunControl:
    def __init__(self) -> None:
        self.stop_requested = False
        self.interrupted = False
        #: Why the run was ended from inside (a cell that ignored its interrupts or shut the
        #: kernel down), in one line; None for the user's interrupt.
        self.reason: str | None = None
        self._task: asyncio.Future[Any] | None = None

    def attach(self, task: asyncio.Future[Any]) -> None:
        """The task to cancel when a request comes in."""
        self._task = task
        if self.stop_requested or self.interrupted:
            task.cancel()

    def request_stop(self) -> None:
        self.stop_requested = True
        self._cancel()

    def mark_interrupted(self) -> None:
        """An interrupt that already stops what runs (KeyboardInterrupt in a sync cell)."""
        self.interrupted = True

    def end(self, reason: str) -> None:
        """End the run as interrupted, for ``reason``: the run cannot go on."""
        self.interrupted = True
        self.reason = self.reason or reason
        raise RunInterrupted(reason)

    def check(self) -> None:
        """Raise if the run was asked to end; the loop calls this between phases."""
        if self.interrupted:
            raise RunInterrupted("interrupted")
        if self.stop_requested:
            raise StopRequested()

    def _cancel(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()

    @contextmanager
    def watching_sigint(self) -> Iterator[None]:
        """See every SIGINT while the run lasts, then pass it down the chain (the kernel's own
        handler, which cancels an awaiting cell): the outermost layer of
        :mod:`jupyter_agents.kernel.sigint`."""

        def on_sigint(signum: int, frame: Any, below: Callable[[], None]) -> None:
            self.interrupted = True
            loop = asyncio.get_event_loop()
            loop.call_soon_threadsafe(self._cancel)
            below()

        with sigint_layer(on_sigint):
            yield


async def wait_for_future(
    future: asyncio.Future[Any], timeout: float, on_timeout: Callable[[], BaseException]
) -> Any:
    """Await ``future`` for at most ``timeout`` seconds, then fail it with ``on_timeout()``.

    Unlike ``asyncio.wait_for`` before Python 3.12, a cancellation arriving just as the future
    completes is never swallowed: the future is awaited directly.
    """

    def expire() -> None:
        if not future.done():
            future.set_exception(on_timeout())

    handle = asyncio.get_running_loop().call_later(timeout, expire)
    try:
        return await future
    finally:
        handle.cancel()


async def finish_despite_cancellation(awaitable: Any, timeout: float = 10.0) -> bool:
    """Run cleanup to its end even if the caller is cancelled again meanwhile (bounded).

    When a run ends by interrupt, cleanup (removing a pending cell, closing the protocol) is
    what keeps the notebook consistent; a second press of the stop button must not cut it
    short. ``asyncio.wait`` does not cancel what it waits for, so the cleanup task survives
    the caller's cancellation and is simply waited for again, up to ``timeout`` in total.
    Returns whether the caller was cancelled meanwhile (the caller decides what that ends).
    """
    task = asyncio.ensure_future(awaitable)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    cancelled = False
    while not task.done() and loop.time() < deadline:
        try:
            await asyncio.wait({task}, timeout=deadline - loop.time())
        except asyncio.CancelledError:
            cancelled = True
            continue
    if not task.done():
        task.cancel()
    elif not task.cancelled() and task.exception() is not None:
        raise task.exception()
    return cancelled
