"""The recorder's interface, recording nothing: what the loop gets without a capable frontend.

Every call the loop makes on a recorder is here with the answer that leaves the work to the
widget, so the loop never asks whether a notebook is connected.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from typing import Any

from ..core.result import RunResult
from ..core.risk_flags import RiskFlag
from ..core.steps import Step
from .recorded import RecordedRun

#: Where a cell's outputs go while it runs: the widget (sync) or a notebook cell (async).
OutputTarget = AbstractContextManager[Any] | AbstractAsyncContextManager[Any]


class NoRecorder:
    """No notebook to write to: proposals and outputs live in the widget only."""

    active = False
    #: The frontend's name from the protocol handshake ("" without one).
    client = ""
    progress: Callable[[], dict[str, Any]] | None = None

    async def context_cells(self) -> list[dict[str, Any]] | None:
        return None

    async def cells_below(self) -> list[dict[str, Any]]:
        """The notebook's cells below the ``%agent`` cell (none without a notebook)."""
        return []

    async def start_section(self, title: str, role: str) -> None:
        """Begin (or return to) a notebook section: later cells go at its end."""

    def use_model(self, role: str, model: str) -> None:
        """Record that ``role`` uses ``model`` (its cells' provenance says so)."""

    async def adopt_section(self, title: str) -> list[dict[str, Any]] | None:
        """Work in an existing section of the notebook; its cells, or None if not found."""
        return None

    async def sections_present(self, titles: Sequence[str]) -> list[str]:
        """Which of these section titles the notebook already has."""
        return []

    async def previous_run(self) -> RecordedRun | None:
        """The run the notebook recorded for this prompt cell, if any."""
        return None

    async def start(self, replacing: RecordedRun | None = None) -> None:
        """Begin recording (with ``replacing``: first remove that earlier run's cells)."""

    async def record(self, record: dict[str, Any]) -> None:
        """Store the run's record in the notebook's metadata."""

    async def propose(
        self,
        step: int,
        code: str,
        role: str | None = None,
        risks: Sequence[RiskFlag] = (),
        asks: bool = True,
    ) -> str | None:
        """The notebook cell showing the proposal (``asks``: a person will decide on it)."""
        return None

    async def code_to_run(self, cell_id: str | None, decided_code: str) -> str | None:
        return decided_code

    def capture(self, cell_id: str | None, fallback: AbstractContextManager[Any]) -> OutputTarget:
        return fallback

    async def executing(self, cell_id: str | None, step: Step) -> None:
        pass

    async def ran(self, cell_id: str | None, step: Step) -> None:
        pass

    async def rejected(self, cell_id: str | None, step: Step) -> None:
        pass

    async def finish(self, run: RunResult) -> None:
        pass
