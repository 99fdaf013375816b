"""A run that needs no approval starts at once, in plain outputs, and moves into the widget if
a widget frontend answers later.

Under ``--approve auto`` nobody has to click, so waiting seconds to learn whether the frontend
renders widgets (plain nbclient, papermill and bare kernel clients never answer) would only
delay the run. It starts on the plain view; every call made to the view is kept, and when the
answer comes, the widget is built by making the same calls on it, so it shows the whole run so
far and carries on from there.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any


class _Recorder:
    """Forwards calls to the view in use and keeps them, to make them again on another."""

    #: Calls that are not part of what the view shows (a context manager for a cell's
    #: outputs): forwarded, not kept.
    NOT_KEPT: frozenset[str] = frozenset()

    def __init__(self, current: Any) -> None:
        self._current = current
        self._calls: list[tuple[str, tuple[Any, ...], dict[str, Any], Any]] = []

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._current, name)
        if not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            result = getattr(self._current, name)(*args, **kwargs)
            if name in self.NOT_KEPT:
                return result
            if name == "start_step":
                result = SwitchableStepView(result)
            self._calls.append((name, args, kwargs, result))
            return result

        return call

    def _move_to(self, other: Any) -> None:
        for name, args, kwargs, result in self._calls:
            made = getattr(other, name)(*args, **kwargs)
            if isinstance(result, SwitchableStepView):
                result._move_to(made)
        self._current = other


class SwitchableStepView(_Recorder):
    NOT_KEPT = frozenset({"capture"})


class SwitchableRunView(_Recorder):
    """The plain view until :meth:`switch_when` learns that widgets render."""

    def __init__(self, current: Any) -> None:
        super().__init__(current)
        self._answered: asyncio.Future[bool] | None = None

    @property
    def can_ask(self) -> bool:
        return bool(self._current.can_ask)

    def switch_when(self, answered: asyncio.Future[bool], make: Callable[[], Any]) -> None:
        """When ``answered`` says the frontend renders widgets, move to ``make()``; the
        question is dropped when the run ends."""
        self._answered = answered

        def arrived(future: asyncio.Future[bool]) -> None:
            if future.cancelled() or future.exception() is not None or not future.result():
                return
            self._move_to(make())

        answered.add_done_callback(arrived)

    def finish(self, run: Any) -> None:
        if self._answered is not None and not self._answered.done():
            self._answered.cancel()  # the run is over: nothing left to move
        self.__getattr__("finish")(run)  # forwarded and kept, as any other call
