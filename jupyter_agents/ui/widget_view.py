"""The approval widget: the run as it happens, and the buttons that decide each cell.

Layout, top to bottom: a header (model, policy, task); one block per step (the streamed
thought, the risk review's flags, the highlighted code, how it was decided, the cell's
outputs); one control bar for the run (Approve, Edit, Reject with an optional reason, Approve
all, Stop); a footer with tokens, cost and status. The control bar sits right under the step
that waits for a decision.

Clicks arrive while the ``%agent`` cell is still running: ipykernel >= 7.4 processes comm
messages while a cell awaits, and the approval gate awaits
:class:`~jupyter_agents.safety.approver.Approver`, which the buttons answer.
"""

from __future__ import annotations

import html
from collections.abc import Callable

import ipywidgets as widgets

from ..core.result import RunResult, RunStatus
from ..safety.approval import ApprovalDecision, ApprovalRequest
from ..safety.approver import Approver
from ..text.clipping import cut
from .control_bar import ControlBar
from .highlight import stylesheet
from .step_widget import SharedLook, StepWidget
from .undo_button import UndoButton


class WidgetRunView:
    """The whole run in one ipywidgets box, displayed under the ``%agent`` cell."""

    #: The frontend renders widgets, so a person can be asked.
    can_ask = True

    def __init__(
        self,
        run: RunResult,
        approval: bool,
        crew: bool = False,
        redact: Callable[[str], str] = lambda text: text,
    ) -> None:
        self.run = run
        self.redact = redact
        self.controls = ControlBar(approval, crew)
        self.controls.approve.on_click(lambda _: self._decide(ApprovalDecision.approve))
        self.controls.approve_all.on_click(
            lambda _: self._decide(lambda code: ApprovalDecision.approve(code, approve_rest=True))
        )
        self.controls.approve_crew.on_click(
            lambda _: self._decide(
                lambda code: ApprovalDecision.approve(code, approve_rest=True, scope="crew")
            )
        )
        self.controls.reject.on_click(lambda _: self._reject())
        self.controls.edit.on_click(lambda _: self._asking and self._asking.toggle_edit())
        self.controls.stop.on_click(lambda _: self._stop())
        self._replaying: str | None = None
        self.header = widgets.HTML(self._header_html())
        self.notices = widgets.HTML()
        self.look = SharedLook()
        self.steps = widgets.VBox()
        self.footer = widgets.HTML()
        self.box = widgets.VBox(
            [self.header, self.notices, self.steps, self.controls.box, self.footer]
        )
        self.box.add_class("jupyter-agents")
        self._current: StepWidget | None = None
        #: The step whose proposal waits for a decision (see :meth:`attach`).
        self._asking: StepWidget | None = None
        self._approver: Approver | None = None
        self._on_stop: Callable[[], None] | None = None
        self.notebook_mode = False
        self.undo_button: UndoButton | None = None
        self.update_footer()

    def display(self) -> None:
        from IPython.display import display

        display(self.box)

    def on_stop(self, callback: Callable[[], None]) -> None:
        """``callback`` ends the run when Stop is clicked while no decision is pending."""
        self._on_stop = callback

    def start_section(self, title: str, role: str) -> None:
        """A heading in the run's widget: the steps below belong to this section."""
        heading = self.look.html(
            f'<div class="ja-section">{html.escape(title)} '
            f'<span class="ja-muted">· {html.escape(role)}</span></div>'
        )
        self.steps.children = (*self.steps.children, heading)

    def show_handoff(self, text: str) -> None:
        """What a role passed on when its turn ended (the note the next role starts from)."""
        line = self.look.html(f'<div class="ja-handoff">{html.escape(self.redact(text))}</div>')
        self.steps.children = (*self.steps.children, line)

    def start_step(self, number: int, title: str | None = None) -> StepWidget:
        title = title or f"Step {number} of {self.run.max_steps}"
        step = StepWidget(number, self.controls, title, self.redact, self.look)
        if self.notebook_mode:  # the code lives in its notebook cell, right below
            step.code.layout.display = "none"
        self.steps.children = (*self.steps.children, step.box)
        self._current = step
        step.show_note("thinking...")
        return step

    def attach(self, approver: Approver) -> None:
        """Send this widget's decisions to ``approver``, and show what it has pending."""
        self._approver = approver
        approver.watch(self._show_pending)

    def _show_pending(self, request: ApprovalRequest | None) -> None:
        """A question became pending (for the current step) or was settled."""
        if request is None:
            if self._asking is not None:
                self._asking.show_pending(None)
            self._asking = None
            return
        self._asking = self._current
        if self._asking is None:
            return
        if self.notebook_mode:
            self._asking.show_note(
                "Proposed as a cell below this one: edit it there if you like, then Approve "
                "(here or on the cell's toolbar)."
            )
        self._asking.show_pending(request)

    def use_notebook(self, active: bool) -> None:
        """With the notebook extension, proposals are shown and edited in their cells."""
        self.notebook_mode = active
        self.controls.edit.layout.display = "none" if active else ""
        if not active and self._current is not None:
            self._current.code.layout.display = ""  # back to the widget: show the code here

    def notice(self, text: str) -> None:
        """A lasting note about the run (shown under the header)."""
        line = f'<div class="ja-warn">{html.escape(self.redact(text))}</div>'
        self.notices.value += line

    def update_footer(self) -> None:
        run = self.run
        if not run.steps:
            self.footer.value = ""
            return
        times = run.timings
        text = (
            f"{len(run.steps)} step(s) · {run.usage.describe()} · model "
            f"{times.model_seconds:.1f} s, running {times.execution_seconds:.1f} s, "
            f"your decisions {times.waiting_seconds:.1f} s"
        )
        self.footer.value = f'<div class="ja-muted">{html.escape(text)}</div>'

    def finish(self, run: RunResult) -> None:
        children = [child for child in self.box.children if child is not self.controls.box]
        if run.undoer is not None and not run.undone:  # under the footer's headline
            self.undo_button = UndoButton(run, self.redact, on_undone=self._show_ending)
            children.append(self.undo_button.box)
        self.box.children = tuple(children)
        self.controls.close()
        if self._current is not None:
            self._current._cancel_refresh()
        self._show_ending()

    def _show_ending(self) -> None:
        """The footer's headline and summary of the ended run (again once it is undone)."""
        run = self.run
        style = {
            RunStatus.COMPLETED: "ja-ok",
            RunStatus.FAILED: "ja-bad",
            RunStatus.INTERRUPTED: "ja-bad",
        }.get(run.status, "ja-warn")
        headline = self.redact(run.headline())
        self.footer.value = (
            f'<div class="{style}">{html.escape(headline)}</div>'
            f'<div class="ja-muted">{html.escape(self.redact(run.summary()))}</div>'
        )

    def _decide(self, make: Callable[[str], ApprovalDecision]) -> None:
        step = self._asking
        decision = step.decision(make) if step is not None else None
        if decision is not None and self._approver is not None:
            self._approver.answer(decision)

    def _reject(self) -> None:
        reason = self.controls.reason.value
        self._decide(lambda _code: ApprovalDecision.reject(reason))

    def _stop(self) -> None:
        if self._approver is not None and self._approver.answer(ApprovalDecision.stop()):
            return
        if self._on_stop is not None:
            self._on_stop()

    def show_replay(self, description: str) -> None:
        """The run replays a record: the header names it, not this kernel's model and policy."""
        self._replaying = description
        self.header.value = self._header_html()

    def _header_html(self) -> str:
        run = self.run
        task = cut(run.task, 300)
        about = (
            f"replaying the {self._replaying} · no model is called"
            if self._replaying
            else f"{run.model} · approve: {run.approve} · at most {run.max_steps} steps"
        )
        return (
            f"<style>{stylesheet()}</style>"
            f'<div class="ja-muted">jupyter-agents · {html.escape(about)}</div>'
            f'<div class="ja-text"><b>Task:</b> {html.escape(task)}</div>'
        )
