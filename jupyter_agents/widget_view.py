"""The approval widget: the run as it happens, and the buttons that decide each cell.

Layout, top to bottom: a header (model, policy, task); one block per step (the streamed
thought, the risk review's flags, the highlighted code, how it was decided, the cell's
outputs); one control bar for the run (Approve, Edit, Reject with an optional reason, Approve
all, Stop); a footer with tokens, cost and status. The control bar sits right under the step
that waits for a decision.

Clicks arrive while the ``%agent`` cell is still running: ipykernel >= 7.4 processes comm
messages while a cell awaits, and :meth:`StepWidget.ask` awaits a future that the buttons
resolve.
"""

from __future__ import annotations

import asyncio
import html
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import ipywidgets as widgets

from .approval import ApprovalDecision, ApprovalRequest
from .highlight import code_html, stylesheet, text_html
from .memory import Step, StepStatus
from .result import RunResult, RunStatus
from .risk import RiskFlag

STREAM_REFRESH_SECONDS = 0.05

_STATUS_LINES = {
    StepStatus.APPROVED: ("ja-ok", "approved"),
    StepStatus.EDITED: ("ja-warn", "edited, then run"),
    StepStatus.AUTO: ("ja-muted", "ran (auto-approved)"),
    StepStatus.REJECTED: ("ja-bad", "rejected"),
    StepStatus.REFUSED: ("ja-bad", "refused: risk flags, and nobody can approve it here"),
}


class ControlBar:
    """The run's buttons. One set for the whole run, enabled while a decision is pending.

    Decision buttons are created disabled: a button created enabled and disabled a moment
    later can be clicked in between, and that click would be silently lost.
    """

    def __init__(self, approval: bool, crew: bool = False) -> None:
        self.approve = widgets.Button(
            description="Approve",
            button_style="success",
            icon="check",
            disabled=True,
            tooltip="Run this cell (the edited code, if you edited it)",
        )
        self.edit = widgets.Button(
            description="Edit", icon="pencil", disabled=True, tooltip="Edit before running"
        )
        self.reject = widgets.Button(
            description="Reject",
            button_style="warning",
            icon="times",
            disabled=True,
            tooltip="Don't run it; the reason goes back to the model",
        )
        self.reason = widgets.Text(
            placeholder="Reason (optional, sent to the model)",
            disabled=True,
            layout=widgets.Layout(width="auto", flex="1 1 12em"),
        )
        self.approve_all = widgets.Button(
            description="Approve all",
            icon="forward",
            disabled=True,
            tooltip="Run this cell and every later cell of this run without asking",
        )
        self.stop = widgets.Button(
            description="Stop", button_style="danger", icon="stop", tooltip="End the run now"
        )
        self.approve_crew = widgets.Button(
            description="Approve crew",
            icon="forward",
            disabled=True,
            tooltip="Run this cell and every later cell of every role without asking",
        )
        self.decision_buttons = [self.approve, self.edit, self.reject, self.approve_all]
        if crew:
            self.approve_all.tooltip = "Run this cell and this role's later cells without asking"
            self.decision_buttons.append(self.approve_crew)
        for button in (*self.decision_buttons, self.stop):
            button.layout.width = "auto"  # ipywidgets' fixed default width wraps the bar
        children = [*self.decision_buttons[:3], self.reason, *self.decision_buttons[3:], self.stop]
        if not approval:
            children = [self.stop]
        self.box = widgets.HBox(children, layout=widgets.Layout(flex_flow="row wrap"))

    def set_pending(self, pending: bool) -> None:
        for button in self.decision_buttons:
            button.disabled = not pending
        self.reason.disabled = not pending

    def close(self) -> None:
        self.box.layout.display = "none"
        for child in (*self.decision_buttons, self.approve_crew, self.reason, self.stop):
            child.disabled = True
            child.close()
        self.box.close()


class SharedLook:
    """Layout and style models that every step of a run shares, created once per run.

    Each ipywidgets widget gets its own Layout and Style model by default, and each model costs
    a ``comm_open`` (its whole state) in the kernel and a model in the browser: a step's
    seven widgets came with fifteen of them. Where a widget's look never changes, one model
    serves them all, so nothing may change these shared models afterwards; a widget that
    toggles its own ``display`` (the code, the editor) keeps a Layout of its own.
    """

    def __init__(self) -> None:
        self.layout = widgets.Layout()
        self._html_style: widgets.Style | None = None  # the first HTML widget's style

    def html(self, value: str = "", own_layout: bool = False) -> widgets.HTML:
        """An HTML widget with the shared style (and the shared layout, unless ``own_layout``).

        ipywidgets does not export the HTML style class, so the first HTML widget made here
        creates the style model and the others reuse it.
        """
        options = {} if own_layout else {"layout": self.layout}
        if self._html_style is not None:
            options["style"] = self._html_style
        widget = widgets.HTML(value, **options)
        self._html_style = widget.style
        return widget


class StepWidget:
    """One step: streamed thought, proposed code, decision and outputs."""

    def __init__(
        self,
        number: int,
        controls: ControlBar,
        title: str,
        redact: Callable[[str], str] = lambda text: text,
        look: SharedLook | None = None,
    ) -> None:
        self.number = number
        #: Widget state can be saved with the notebook (nbclient does): model text is redacted.
        self.redact = redact
        self._controls = controls
        look = look or SharedLook()
        self.title = look.html(f'<div class="ja-title">{html.escape(title)}</div>')
        self.thought = look.html()
        #: Stays visible in notebook mode, where the code itself is in the pending cell.
        self.risks = look.html()
        self.code = look.html(own_layout=True)  # its layout is its own: hidden while editing
        #: Made on the first Edit (most steps are never edited): see :meth:`_set_editing`.
        self.editor: widgets.Textarea | None = None
        self.outcome = look.html()
        self.output = widgets.Output(layout=look.layout)
        self.box = widgets.VBox(
            [self.title, self.thought, self.risks, self.code, self.outcome, self.output],
            layout=look.layout,
        )
        self._streamed: list[str] = []
        self._refresh: asyncio.TimerHandle | None = None
        self._pending: tuple[ApprovalRequest, asyncio.Future[ApprovalDecision]] | None = None
        self._editing = False

    # -- the model's reply --------------------------------------------------------------

    def stream(self, text: str) -> None:
        """Add streamed text; the widget refreshes at most every 50 ms, not per token."""
        self._streamed.append(text)
        if self._refresh is None:
            loop = asyncio.get_running_loop()
            self._refresh = loop.call_later(STREAM_REFRESH_SECONDS, self._show_stream)

    def _show_stream(self) -> None:
        self._refresh = None
        streamed = html.escape(self.redact("".join(self._streamed)))
        self.thought.value = f'<div class="ja-text ja-streaming">{streamed}</div>'

    def restart_stream(self, note: str) -> None:
        """Discard a partial reply (a retry follows) and say why."""
        self._cancel_refresh()
        self._streamed.clear()
        self.thought.value = f'<div class="ja-muted">{html.escape(note)}</div>'

    def show_proposal(self, thought: str, code: str, risks: Sequence[RiskFlag] = ()) -> None:
        self._cancel_refresh()
        self.thought.value = text_html(self.redact(thought)) if thought else ""
        self.show_risks(risks)
        self.code.value = code_html(code)

    def show_risks(self, risks: Sequence[RiskFlag]) -> None:
        """The risk review's flags above the code (replacing earlier ones, e.g. after an edit)."""
        self.risks.value = risks_html(risks)

    def show_text(self, text: str) -> None:
        """Show a finished text-only reply (the best answer at the step limit)."""
        self._cancel_refresh()
        self.thought.value = text_html(self.redact(text))

    def show_note(self, text: str, style: str = "ja-muted") -> None:
        self.outcome.value = f'<div class="{style}">{html.escape(text)}</div>'

    def _cancel_refresh(self) -> None:
        if self._refresh is not None:
            self._refresh.cancel()
            self._refresh = None

    # -- approval -------------------------------------------------------------------------

    async def ask(self, request: ApprovalRequest) -> ApprovalDecision:
        future: asyncio.Future[ApprovalDecision] = asyncio.get_running_loop().create_future()
        self._pending = (request, future)
        self._controls.set_pending(True)
        try:
            return await future
        finally:
            self._pending = None
            self._controls.set_pending(False)
            self._controls.reason.value = ""  # a reason belongs to one decision only
            self._set_editing(False)

    def decide(self, make: Callable[[str], ApprovalDecision]) -> None:
        """Resolve the pending request with ``make(code)``; code is the edit if editing."""
        if self._pending is None:
            return
        request, future = self._pending
        code = self.editor.value if self._editing and self.editor is not None else request.code
        if not future.done():
            future.set_result(make(code))

    def toggle_edit(self) -> None:
        if self._pending is not None:
            self._set_editing(not self._editing)

    def _set_editing(self, editing: bool) -> None:
        if editing == self._editing:
            return
        self._editing = editing
        editor = self._editor()
        if not editing and self._pending is not None:
            editor.value = self._pending[0].code  # "Discard edit" restores the proposal
        editor.layout.display = "" if editing else "none"
        self.code.layout.display = "none" if editing else ""
        self._controls.edit.description = "Discard edit" if editing else "Edit"

    def _editor(self) -> widgets.Textarea:
        """The code editor, made and placed under the code the first time it is needed."""
        if self.editor is None:
            code = self._pending[0].code if self._pending is not None else ""
            self.editor = widgets.Textarea(
                code,
                rows=min(max(code.count("\n") + 2, 4), 30),
                layout=widgets.Layout(width="100%", display="none"),
            )
            children = list(self.box.children)
            children.insert(children.index(self.code) + 1, self.editor)
            self.box.children = tuple(children)
        return self.editor

    @property
    def pending(self) -> bool:
        return self._pending is not None

    # -- running --------------------------------------------------------------------------

    @contextmanager
    def capture(self) -> Iterator[None]:
        """Route the cell's outputs into this step's Output widget.

        Not ``with self.output:`` directly: Output.__exit__ swallows exceptions under IPython
        (it prints them), and a swallowed CancelledError would make Stop and interrupt fail.
        """
        self.output.__enter__()
        try:
            yield
        finally:
            self.output.__exit__(None, None, None)

    def show_outcome(self, step: Step) -> None:
        if step.status is StepStatus.EDITED:
            self.code.value = code_html(step.code_run or "")
        style, label = _STATUS_LINES[step.status]
        parts = [label]
        if step.status is StepStatus.REJECTED and step.reason:
            parts.append(f"reason: {self.redact(step.reason)}")
        if step.execution_count is not None:
            parts.append(f"In [{step.execution_count}]")
        if step.timed_out_after is not None:
            parts.append(f"interrupted at its time limit ({step.timed_out_after:g} s)")
        elif step.error:
            parts.append(f"raised {step.error}")
        if step.code_run is not None:
            parts.append(f"ran {step.timings.execution_seconds:.2f} s")
        parts.append(f"model {step.timings.model_seconds:.1f} s")
        if step.timings.waiting_seconds >= 0.05:
            parts.append(f"your decision {step.timings.waiting_seconds:.1f} s")
        parts.append(step.usage.describe())
        self.outcome.value = f'<div class="{style}">{html.escape(" · ".join(parts))}</div>'


def risks_html(risks: Sequence[RiskFlag]) -> str:
    """The flags as escaped HTML, one line each; nothing at all when there are none."""
    if not risks:
        return ""
    lines = "".join(f'<div class="ja-risk">⚠ {html.escape(str(flag))}</div>' for flag in risks)
    tip = "What the static risk review found: a reading aid, not a guarantee (docs/risk.md)"
    return f'<div class="ja-risks" title="{html.escape(tip)}">{lines}</div>'


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
        self.controls.edit.on_click(lambda _: self._current and self._current.toggle_edit())
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
        self._on_stop: Callable[[], None] | None = None
        self.notebook_mode = False
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

    async def ask(self, request: ApprovalRequest) -> ApprovalDecision:
        """Ask the human about the current step's proposal (the approval gate calls this)."""
        assert self._current is not None
        if self.notebook_mode:
            self._current.show_note(
                "Proposed as a cell below this one: edit it there if you like, then Approve "
                "(here or on the cell's toolbar)."
            )
        return await self._current.ask(request)

    def answer(self, decision: ApprovalDecision) -> None:
        """Resolve the pending question with a decision made elsewhere (the cell's toolbar)."""
        if self._current is not None:
            self._current.decide(lambda _code: decision)

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
        self.controls.close()
        if self._current is not None:
            self._current._cancel_refresh()
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
        if self._current is not None:
            self._current.decide(make)

    def _reject(self) -> None:
        reason = self.controls.reason.value
        self._decide(lambda _code: ApprovalDecision.reject(reason))

    def _stop(self) -> None:
        if self._current is not None and self._current.pending:
            self._current.decide(lambda _code: ApprovalDecision.stop())
        elif self._on_stop is not None:
            self._on_stop()

    def show_replay(self, description: str) -> None:
        """The run replays a record: the header names it, not this kernel's model and policy."""
        self._replaying = description
        self.header.value = self._header_html()

    def _header_html(self) -> str:
        run = self.run
        task = run.task if len(run.task) <= 300 else run.task[:297] + "..."
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
