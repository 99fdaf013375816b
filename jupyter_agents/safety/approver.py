"""The one place a pending approval question is answered, whichever way the person answers.

A person can decide a proposed cell on the run's widget or on the notebook cell's toolbar
(through the notebook protocol). Both call :meth:`Approver.answer`; the first answer wins and
later ones are ignored, so a double click, or a click on both, decides once. The approval gate
awaits :meth:`Approver.ask` and depends on no view: views only watch what is pending, to
enable their buttons.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from .approval import ApprovalDecision, ApprovalRequest

#: Told the request when a question becomes pending, and None when it is settled.
PendingWatcher = Callable[[ApprovalRequest | None], None]


class Approver:
    """Asks one question at a time and takes the first answer from any source."""

    def __init__(self) -> None:
        self._pending: tuple[ApprovalRequest, asyncio.Future[ApprovalDecision]] | None = None
        self._watchers: list[PendingWatcher] = []

    def watch(self, watcher: PendingWatcher) -> None:
        """Call ``watcher`` when a question becomes pending and when it is settled."""
        self._watchers.append(watcher)

    @property
    def pending(self) -> ApprovalRequest | None:
        """The question waiting for an answer, if any."""
        return self._pending[0] if self._pending is not None else None

    async def ask(self, request: ApprovalRequest) -> ApprovalDecision:
        """Wait for the first answer to ``request`` (the gate's asker)."""
        future: asyncio.Future[ApprovalDecision] = asyncio.get_running_loop().create_future()
        self._pending = (request, future)
        self._tell(request)
        try:
            return await future
        finally:
            self._pending = None
            self._tell(None)

    def answer(self, decision: ApprovalDecision) -> bool:
        """Settle the pending question with ``decision``; False if nothing was pending."""
        if self._pending is None or self._pending[1].done():
            return False
        self._pending[1].set_result(decision)
        return True

    def _tell(self, request: ApprovalRequest | None) -> None:
        for watcher in self._watchers:
            watcher(request)
