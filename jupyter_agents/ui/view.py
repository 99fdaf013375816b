"""How a run shows itself, and which way: the approval widget, or plain outputs.

The loop talks to a :class:`RunView` and never to ipywidgets directly. Which view a run gets
depends on the frontend: one that renders widgets (JupyterLab, Notebook 7, VS Code) gets the
widget; one that can't (plain nbclient, a terminal) gets plain outputs, and then approval is
impossible, so a run that needs it fails at once instead of waiting for a click that can't come.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any, Protocol

from ..core.errors import ApprovalUnavailable
from ..core.events import (
    NoteShown,
    Notice,
    ProposalShown,
    ReplyShown,
    RisksShown,
    RunEnded,
    RunEvent,
    SectionStarted,
    StepEnded,
    StepStarted,
    StreamRestarted,
    TextStreamed,
    WorkHandedOn,
)
from ..core.result import RunResult
from ..core.risk_flags import RiskFlag
from ..core.steps import Step
from ..kernel.control import wait_for_future
from ..notebook.protocol import HEADLESS_CLIENT
from ..safety.approver import Approver
from .plain_view import PlainRunView
from .switchable_view import SwitchableRunView


class StepView(Protocol):
    def stream(self, text: str) -> None: ...
    def restart_stream(self, note: str) -> None: ...
    def show_proposal(self, thought: str, code: str, risks: Sequence[RiskFlag] = ...) -> None: ...
    def show_risks(self, risks: Sequence[RiskFlag]) -> None: ...
    def show_text(self, text: str) -> None: ...
    def show_note(self, text: str, style: str = ...) -> None: ...
    def capture(self) -> AbstractContextManager[Any]: ...
    def show_outcome(self, step: Step) -> None: ...


class RunView(Protocol):
    #: False for a view with no way to ask a human (plain outputs).
    can_ask: bool

    def display(self) -> None: ...
    def on_stop(self, callback: Callable[[], None]) -> None: ...
    def start_section(self, title: str, role: str) -> None: ...
    def show_handoff(self, text: str) -> None: ...
    def start_step(self, number: int, title: str | None = None) -> StepView: ...
    def attach(self, approver: Approver) -> None: ...
    def use_notebook(self, active: bool) -> None: ...
    def notice(self, text: str) -> None: ...
    def show_replay(self, description: str) -> None: ...
    def update_footer(self) -> None: ...
    def finish(self, run: RunResult) -> None: ...


class ViewSubscriber:
    """Shows a run's events in its view: the approval widget or plain outputs.

    Subscribed to the run's :class:`~jupyter_agents.core.events.RunEvents`; keeps the step
    view of the step most recently started, which the step's events are about.
    """

    def __init__(self, view: RunView) -> None:
        self.view = view
        self.step: StepView | None = None

    def __call__(self, event: RunEvent) -> None:
        view, step = self.view, self.step
        match event:
            case StepStarted(number=number, title=title):
                self.step = view.start_step(number, title=title)
            case Notice(text=text):
                view.notice(text)
            case SectionStarted(title=title, role=role):
                view.start_section(title, role)
            case WorkHandedOn(text=text):
                view.show_handoff(text)
            case RunEnded(run=run):
                view.finish(run)
            case _ if step is not None:
                self._step_event(step, event)

    def _step_event(self, step: StepView, event: RunEvent) -> None:
        match event:
            case TextStreamed(text=text):
                step.stream(text)
            case StreamRestarted(note=note):
                step.restart_stream(note)
            case ProposalShown(thought=thought, code=code, risks=risks):
                step.show_proposal(thought, code, risks)
            case RisksShown(risks=risks):
                step.show_risks(risks)
            case ReplyShown(text=text):
                step.show_text(text)
            case NoteShown(text=text, style=None):
                step.show_note(text)
            case NoteShown(text=text, style=style):
                step.show_note(text, style)
            case StepEnded(step=ended):
                step.show_outcome(ended)
                self.view.update_footer()

    def step_output(self) -> AbstractContextManager[Any]:
        """Where the current step's cell shows its outputs when no notebook cell takes them."""
        return self.step.capture() if self.step is not None else nullcontext()


async def widget_frontend_answers(timeout: float) -> bool:
    """True if the connected frontend renders ipywidgets, found out within ``timeout`` seconds.

    A widget-capable frontend creates a model for every widget the kernel opens, displayed or
    not. A ``jsdlink`` model, once created, copies its source's value into its target and
    syncs the target back to the kernel. So a link from a Text holding "ready" to an empty Text
    is a question only such a frontend answers. It uses nothing but standard ipywidgets.
    """
    import ipywidgets as widgets

    source = widgets.Text(value="ready")
    target = widgets.Text(value="")
    answered: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

    def on_change(_change: Any) -> None:
        if not answered.done():
            answered.set_result(True)

    target.observe(on_change, names="value")
    link = widgets.jsdlink((source, "value"), (target, "value"))
    try:
        return await wait_for_future(answered, timeout, lambda: TimeoutError())
    except TimeoutError:
        return False
    finally:
        for widget in (link, source, target):
            widget.close()


#: How long a run that needs no approval waits to learn whether widgets render before it
#: starts in plain outputs (JupyterLab answers well within it; a late answer still switches).
WIDGET_GRACE_SECONDS = 0.5
#: The question a run with no approval leaves open; its view ends it after frontend_timeout.
_OPEN_QUESTION_SECONDS = 24 * 3600.0


async def open_view(
    run: RunResult,
    needs_approval: bool,
    frontend_timeout: float,
    crew: bool = False,
    redact: Callable[[str], str] = lambda text: text,
) -> RunView:
    """Pick and display the view for ``run``: the widget if the frontend renders widgets.

    ``needs_approval`` is true for every policy but ``auto``: under ``risky`` any cell may
    turn out to need a human, so the run waits up to ``frontend_timeout`` for the answer.
    Without widgets the run gets the plain view, which cannot ask; the run refuses to start
    (:func:`approval_unavailable`) only once it knows it would call a model, since replaying a
    recorded run asks nobody. A run that needs no approval does not wait: see
    :mod:`.switchable_view`.
    """
    from .widget_view import WidgetRunView  # imports ipywidgets: only when a run opens a view

    def widget() -> RunView:
        return WidgetRunView(run, approval=needs_approval, crew=crew, redact=redact)

    view: RunView
    if needs_approval:
        answered = await widget_frontend_answers(frontend_timeout)
        view = widget() if answered else PlainRunView(run, redact=redact)
        view.display()
        return view
    question = asyncio.ensure_future(widget_frontend_answers(_OPEN_QUESTION_SECONDS))
    try:
        await asyncio.wait({question}, timeout=min(WIDGET_GRACE_SECONDS, frontend_timeout))
    except BaseException:  # interrupted while waiting: the question goes too
        question.cancel()
        raise
    if question.done() and not question.cancelled() and question.result():
        view = widget()
        view.display()
        return view
    switchable = SwitchableRunView(PlainRunView(run, redact=redact))
    switchable.display()
    switchable.switch_when(question, widget, window=frontend_timeout)
    return switchable  # type: ignore[return-value]  # a RunView by delegation


def approval_unavailable(frontend_timeout: float, client: str) -> ApprovalUnavailable:
    """The error for a run that needs approval where nobody can give it, with the fix."""
    if client == HEADLESS_CLIENT:
        return ApprovalUnavailable(
            "approval needs a person, and `jupyter agents run` has nobody to ask: add "
            "--approve auto to run what the model writes unreviewed, --approve risky to run "
            "only cells without risk flags (flagged ones are refused), or open the notebook in "
            "JupyterLab to review each cell."
        )
    return ApprovalUnavailable(
        "approval needs a frontend that shows widgets (JupyterLab, Notebook 7, VS Code), and "
        f"none answered within {frontend_timeout:g} s. To run without approval, use "
        "`--approve auto`; if your frontend is just slow to load widgets, raise "
        "`%agent_config frontend_timeout=10`."
    )
