"""What a run reads from the notebook, and the one safe way to send the notebook a request.

The notebook is read once for the run, and again only after the run inserted or removed
cells. Every request goes through :meth:`NotebookReader._call`: a refusal (the cell is gone)
becomes None, and a lost frontend becomes one notice, after which the run goes on in the
widget. The recorder (:mod:`.recorder`) builds the writing of the run's cells on this.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..core.records import cell_record
from .bridge import BridgeError, FrontendGone, NotebookBridge, PostedRequest
from .no_recorder import NoRecorder
from .recorded import RecordedRun, find_recorded_run
from .sections import CellPlacement, find_section


class NotebookReader(NoRecorder):
    """A run's view of the notebook through a :class:`NotebookBridge`."""

    def __init__(
        self, bridge: NotebookBridge, anchor: str, on_lost: Callable[[str], None] | None
    ) -> None:
        self.bridge = bridge
        self.client = bridge.client
        #: The ``%agent`` cell's id.
        self.anchor = anchor
        self.active = True
        self._place = CellPlacement(anchor)
        #: The earlier run of this prompt cell that this run replaces, until it begins.
        self._replacing: RecordedRun | None = None
        self._begun = False
        #: The notebook as read once for the run (see :meth:`_notebook`).
        self._snapshot: dict[str, Any] | None = None
        self._on_lost = on_lost
        #: Requests sent without waiting for their replies, until :meth:`_settle` reads them.
        self._in_flight: list[PostedRequest] = []

    async def previous_run(self) -> RecordedRun | None:
        notebook = await self._notebook()
        return find_recorded_run(notebook, self.anchor) if notebook else None

    def _replaced(self, cell: dict[str, Any]) -> bool:
        """Whether ``cell`` belongs to the run this one replaces (and will be removed)."""
        if self._replacing is None or self._begun:
            return False
        entry = cell_record(cell)
        return entry is not None and entry.run_id == self._replacing.run_id

    async def adopt_section(self, title: str) -> list[dict[str, Any]] | None:
        notebook = await self._notebook()
        if not notebook:
            return None
        found = find_section(notebook["cells"], title)
        if found is None:
            return None
        heading, cells = found
        self._place.enter(title, cells[-1]["id"] if cells else heading["id"])
        return cells

    async def sections_present(self, titles: Sequence[str]) -> list[str]:
        notebook = await self._notebook()
        if not notebook:
            return []
        cells = [cell for cell in notebook["cells"] if not self._replaced(cell)]
        return [title for title in titles if find_section(cells, title) is not None]

    async def context_cells(self) -> list[dict[str, Any]] | None:
        """The notebook's cells above the ``%agent`` cell, oldest first."""
        notebook = await self._notebook()
        if not notebook:
            return None
        return list(notebook["cells"][: notebook["anchor_index"]])

    async def cells_below(self) -> list[dict[str, Any]]:
        """The notebook's cells below the ``%agent`` cell: what the user means to run after
        the agent's cells (``print(monthly.tail())`` says ``monthly`` should exist)."""
        notebook = await self._notebook()
        if not notebook:
            return []
        below = notebook["cells"][notebook["anchor_index"] + 1 :]
        return [cell for cell in below if not self._replaced(cell)]

    async def _notebook(self) -> dict[str, Any] | None:
        """The notebook as the run found it: read once, and again only after the run
        inserted or removed cells (the earlier run's, a section, a step)."""
        if self._snapshot is None:
            self._snapshot = await self._call(self.bridge.read_notebook())
        return self._snapshot

    async def _edit(self, request: Any) -> Any:
        """A request that inserts or removes a cell: the snapshot no longer holds."""
        self._snapshot = None
        return await self._call(request)

    async def _call(self, request: Any) -> Any:
        """Await a bridge request; None if refused (e.g. the cell is gone) or disconnected."""
        if not self.active:
            request.close()  # a coroutine we won't run
            return None
        try:
            return await request
        except FrontendGone as error:
            self._lost(error)
        except BridgeError:
            pass
        return None

    def _post(self, op: str, **arguments: Any) -> bool:
        """Send a request that only has to take effect before the kernel's next messages
        (the frontend handles them in order), without waiting: whether it was sent."""
        if not self.active:
            return False
        try:
            self._in_flight.append(self.bridge.post(op, **arguments))
        except FrontendGone as error:
            self._lost(error)
            return False
        return True

    async def _settle(self) -> None:
        """Read the replies of the requests sent without waiting: a refusal is dropped, as
        for any request, and a frontend that is gone shows here."""
        in_flight, self._in_flight = self._in_flight, []
        for posted in in_flight:
            await self._call(posted.result())

    def _lost(self, error: FrontendGone) -> None:
        if self.active:
            self.active = False
            self.bridge.close()
            if self._on_lost is not None:
                self._on_lost(f"The notebook stopped answering ({error}); using the widget.")
