"""A run that needs no approval starts at once, in plain outputs, and moves into the widget if
a widget frontend answers within ``frontend_timeout``.

Under ``--approve auto`` nobody has to click, so waiting seconds to learn whether the frontend
renders widgets (plain nbclient, papermill and bare kernel clients never answer) would only
delay the run. It starts on the plain view; every call made to the view is kept, and when the
answer comes, the widget is built by making the same calls on it, so it shows the whole run so
far and carries on from there. After ``frontend_timeout`` the plain view is final: a tab that
connects later must not take over a headless run's record.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

Moves = list[tuple["_Recorder", Any]]


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

    def _replay_on(self, other: Any, moves: Moves) -> None:
        """Make the kept calls on ``other``; what each proxy moves to goes into ``moves``."""
        for name, args, kwargs, result in self._calls:
            made = getattr(other, name)(*args, **kwargs)
            if isinstance(result, SwitchableStepView):
                result._replay_on(made, moves)
        moves.append((self, other))


class SwitchableStepView(_Recorder):
    NOT_KEPT = frozenset({"capture"})


class SwitchableRunView(_Recorder):
    """The plain view until :meth:`switch_when` learns that widgets render."""

    def __init__(self, current: Any) -> None:
        super().__init__(current)
        self._answered: asyncio.Future[bool] | None = None
        self._decided = False
        self._finished = False
        self._when_plain: list[Callable[[], None]] = []

    @property
    def can_ask(self) -> bool:
        return bool(self._current.can_ask)

    def switch_when(
        self, answered: asyncio.Future[bool], make: Callable[[], Any], window: float
    ) -> None:
        """Move to ``make()`` if ``answered`` says, within ``window`` seconds, that the frontend
        renders widgets; the question is dropped at the end of the window or of the run."""
        self._answered = answered
        loop = asyncio.get_running_loop()
        closing = loop.call_later(window, answered.cancel)

        def arrived(future: asyncio.Future[bool]) -> None:
            closing.cancel()
            if self._decided:  # the run ended first (see finish)
                return
            widgets = not future.cancelled() and future.exception() is None and future.result()
            if widgets and not self._finished and self._move_to(make):
                return
            self._decide_plain()

        answered.add_done_callback(arrived)

    def when_plain(self, callback: Callable[[], None]) -> None:
        """``callback()`` once the plain view is final (at once if it is already)."""
        if self._decided:
            if not self.can_ask:
                callback()
            return
        self._when_plain.append(callback)

    def finish(self, run: Any) -> None:
        self._finished = True  # an answer arriving from now on moves nothing
        if self._answered is not None and not self._answered.done():
            self._answered.cancel()
        if not self._decided:  # the plain view is final: what waited for that shows now,
            self._decide_plain()  # while the cell still runs, before the run's last lines
        self.__getattr__("finish")(run)  # forwarded and kept, as any other call

    def _move_to(self, make: Callable[[], Any]) -> bool:
        """Build the widget from the kept calls and use it; if that fails, stay plain."""
        moves: Moves = []
        try:
            self._replay_on(make(), moves)
        except Exception:  # noqa: BLE001 - the plain view still shows the whole run
            return False
        for proxy, view in moves:
            proxy._current = view
        self._decided = True
        self._when_plain.clear()
        return True

    def _decide_plain(self) -> None:
        self._decided = True
        waiting, self._when_plain = self._when_plain, []
        for callback in waiting:
            callback()
