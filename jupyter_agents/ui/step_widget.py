"""One step of the approval widget: the streamed thought, the flags, the code, the outcome.

The run's widget (:mod:`.widget_view`) stacks these and owns the buttons; a step shows what
happened to it and hands the decision it is asked for back through :meth:`StepWidget.ask`.
"""

from __future__ import annotations

import asyncio
import html
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import ipywidgets as widgets

from ..core.risk_flags import RiskFlag
from ..core.steps import Step, StepStatus
from ..kernel.stream_flush import flush_pending_streams
from ..safety.approval import ApprovalDecision, ApprovalRequest
from .control_bar import ControlBar
from .highlight import code_html, text_html

STREAM_REFRESH_SECONDS = 0.05
#: The streamed preview shows at most this many of the latest characters: a model that
#: writes megabytes would otherwise have every refresh redact and send all of it again.
STREAM_PREVIEW_CHARS = 20_000

_STATUS_LINES = {
    StepStatus.APPROVED: ("ja-ok", "approved"),
    StepStatus.EDITED: ("ja-warn", "edited, then run"),
    StepStatus.AUTO: ("ja-muted", "ran (auto-approved)"),
    StepStatus.REJECTED: ("ja-bad", "rejected"),
    StepStatus.REFUSED: ("ja-bad", "refused: risk flags, and nobody can approve it here"),
}


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


class StepOutput(widgets.Output):
    """An Output widget that flushes the kernel's streams as it starts and stops capturing
    only when they hold unsent text (see :mod:`..kernel.stream_flush`): four waits on the
    kernel's IO thread a step, most of them for nothing, were a tenth of a step's overhead."""

    def _flush(self) -> None:
        flush_pending_streams()


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
        self.output = StepOutput(layout=look.layout)
        self.box = widgets.VBox(
            [self.title, self.thought, self.risks, self.code, self.outcome, self.output],
            layout=look.layout,
        )
        self._streamed: list[str] = []
        self._refresh: asyncio.TimerHandle | None = None
        #: When streamed text was last shown (the event loop's clock).
        self._shown_at = float("-inf")
        self._pending: ApprovalRequest | None = None
        self._editing = False

    # -- the model's reply --------------------------------------------------------------

    def stream(self, text: str) -> None:
        """Add streamed text; the widget refreshes at most every 50 ms, not per token.

        The first text (and any after a pause) shows at once: waiting out the interval
        before anything appears only delays the first sign that the model is answering.
        """
        self._streamed.append(text)
        if self._refresh is None:
            loop = asyncio.get_running_loop()
            wait = self._shown_at + STREAM_REFRESH_SECONDS - loop.time()
            if wait <= 0:
                self._show_stream()
            else:
                self._refresh = loop.call_later(wait, self._show_stream)

    def _show_stream(self) -> None:
        self._refresh = None
        self._shown_at = asyncio.get_running_loop().time()
        joined = "".join(self._streamed)
        self._streamed = [joined]
        hidden = len(joined) - STREAM_PREVIEW_CHARS
        shown = html.escape(self.redact(joined[hidden:] if hidden > 0 else joined))
        if hidden > 0:
            shown = f'<span class="ja-muted">… {hidden:,} earlier characters</span>\n{shown}'
        self.thought.value = f'<div class="ja-text ja-streaming">{shown}</div>'

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

    def show_pending(self, request: ApprovalRequest | None) -> None:
        """Enable the decision buttons while ``request`` waits; disable them once settled."""
        self._pending = request
        self._controls.set_pending(request is not None)
        if request is None:
            self._controls.reason.value = ""  # a reason belongs to one decision only
            self._set_editing(False)

    def decision(self, make: Callable[[str], ApprovalDecision]) -> ApprovalDecision | None:
        """``make(code)`` for the pending request (code is the edit if editing), or None."""
        if self._pending is None:
            return None
        editor = self.editor if self._editing else None
        code = editor.value if editor is not None else self._pending.code
        return make(code)

    def toggle_edit(self) -> None:
        if self._pending is not None:
            self._set_editing(not self._editing)

    def _set_editing(self, editing: bool) -> None:
        if editing == self._editing:
            return
        self._editing = editing
        editor = self._editor()
        if not editing and self._pending is not None:
            editor.value = self._pending.code  # "Discard edit" restores the proposal
        editor.layout.display = "" if editing else "none"
        self.code.layout.display = "none" if editing else ""
        self._controls.edit.description = "Discard edit" if editing else "Edit"

    def _editor(self) -> widgets.Textarea:
        """The code editor, made and placed under the code the first time it is needed."""
        if self.editor is None:
            code = self._pending.code if self._pending is not None else ""
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
