"""The ended run's "Undo run" button: a first click lists, a second click undoes.

Two clicks, because an undo throws away what the run computed: the person first sees what
will be put back and what cannot be (files written, commands run), then confirms. The click
arrives as a comm message with no cell executing, so the undo runs as a task on the kernel's
event loop, and the notebook that sent the click removes the run's cells (``run.undo``).
"""

from __future__ import annotations

import asyncio
import html
from collections.abc import Callable

import ipywidgets as widgets

from ..core.errors import JupyterAgentsError
from ..core.result import RunResult
from ..core.undo_report import UndoReport


class UndoButton:
    """``Undo run`` under an ended run's widget; it becomes ``Undo now`` once listed."""

    def __init__(
        self,
        run: RunResult,
        redact: Callable[[str], str] = lambda text: text,
        on_undone: Callable[[], None] = lambda: None,
    ) -> None:
        self.run = run
        self.redact = redact
        self.on_undone = on_undone
        self.button = widgets.Button(
            description="Undo run",
            icon="undo",
            tooltip="List what undoing this run puts back and what it cannot, then confirm",
        )
        self.button.layout.width = "auto"
        self.listing = widgets.HTML()
        self.box = widgets.VBox([widgets.HBox([self.button]), self.listing])  # not full width
        self._listed = False
        self._task: asyncio.Task[None] | None = None
        self.button.on_click(lambda _: self.click())
        run.undo_listeners.append(self._undone)

    def click(self) -> None:
        """First click: the dry run's list. Second click: the undo."""
        if self._task is not None and not self._task.done():
            return  # a click while the last one is still at work
        self.button.disabled = True
        self._task = asyncio.ensure_future(self._work(dry_run=not self._listed))

    async def _work(self, dry_run: bool) -> None:
        try:
            report = await self.run.undo(dry_run=dry_run)
        except (JupyterAgentsError, RuntimeError) as problem:  # NotUndoable, a run active
            self._show(f'<div class="ja-bad">{html.escape(self.redact(str(problem)))}</div>')
            self.button.disabled = not self._listed and self.run.undoer is None
            return
        if dry_run:
            self._show(self.redact(_report_html(report)))
            self._listed = True
            self.button.description = "Undo now"
            self.button.button_style = "warning"
            self.button.tooltip = "Undo the run as listed above"
            self.button.disabled = False

    def _undone(self, report: UndoReport) -> None:
        """The run was undone, by this button or by ``%agent_undo``: nothing more to click."""
        self._show(self.redact(_report_html(report)))
        self.button.description = "undone"
        self.button.icon = "check"
        self.button.button_style = ""
        self.button.disabled = True
        self.on_undone()

    def _show(self, body: str) -> None:
        self.listing.value = body


def _report_html(report: UndoReport) -> str:
    """The report's two lists; the second click is the confirmation, so no command to type."""
    head = "Undoing this run will:" if report.dry_run else "Undone:"
    return (
        f"<div><b>{head}</b></div>{_items(report.done_lines())}"
        f"<div><b>Cannot be undone:</b></div>{_items(report.not_undone)}"
    )


def _items(lines: list[str]) -> str:
    return "<ul>" + "".join(f"<li>{html.escape(line)}</li>" for line in lines) + "</ul>"
