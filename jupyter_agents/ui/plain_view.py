"""The run as ordinary cell outputs, for frontends without widgets (nbclient, consoles).

Used with ``--approve auto`` and to replay recorded runs: nothing here can ask a human. What
it writes lands in the ``%agent`` cell's outputs, so a headless run leaves a readable record:
each step's thought as text, its code highlighted, then the cell's own outputs. Model text is
never rendered as HTML or Markdown: it is untrusted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from ..core.result import RunResult, RunStatus
from ..core.risk_flags import RiskFlag
from ..core.steps import Step
from ..safety.approver import Approver


class PlainStepView:
    def __init__(
        self, title: str, show_code: bool = True, redact: Callable[[str], str] = lambda t: t
    ) -> None:
        self.title = title
        #: False when the notebook holds each step as its own cell: no need to repeat it.
        self.show_code = show_code
        #: What is printed here is saved with the notebook, so model text is redacted first.
        self.redact = redact

    def stream(self, text: str) -> None:
        """Not shown: a headless run has no live screen, only the final record."""

    def restart_stream(self, note: str) -> None:
        print(f"[{self.title}] {note}")

    def show_proposal(self, thought: str, code: str, risks: Sequence[RiskFlag] = ()) -> None:
        from IPython.display import Code, display

        print(f"── {self.title} ──")
        if thought:
            print(self.redact(thought))
        self.show_risks(risks)
        if self.show_code:
            display(Code(code, language="python"))

    def show_risks(self, risks: Sequence[RiskFlag]) -> None:
        """The risk review's flags, one line each, where the record shows the code."""
        for flag in risks:
            print(f"⚠ {flag}")

    def show_text(self, text: str) -> None:
        print(f"── {self.title} ──")
        print(self.redact(text))

    def show_note(self, text: str, style: str = "") -> None:
        """Transient states ("thinking...") are not worth keeping in a headless record."""

    def capture(self) -> AbstractContextManager[Any]:
        return nullcontext()

    def show_outcome(self, step: Step) -> None:
        where = f" as In [{step.execution_count}]" if step.execution_count is not None else ""
        error = f", raised {step.error}" if step.error else ""
        if step.timed_out_after is not None:
            error = f", interrupted at its time limit ({step.timed_out_after:g} s)"
        print(f"[{self.title}] {step.status}{where}{error}; {step.usage.describe()}")


class PlainRunView:
    #: Nothing here can ask a human: under ``each`` the run refuses to start, and under
    #: ``risky`` a flagged cell is refused
    #: (:func:`~jupyter_agents.safety.approval.refuse_unattended`).
    can_ask = False

    def __init__(self, run: RunResult, redact: Callable[[str], str] = lambda t: t) -> None:
        self.run = run
        self.redact = redact
        self.notebook_mode = False

    def display(self) -> None:
        run = self.run
        print(
            f"jupyter-agents · {run.model} · approve: {run.approve} · at most {run.max_steps} steps"
        )

    def on_stop(self, callback: Callable[[], None]) -> None:
        """No Stop button without widgets; the kernel's interrupt still ends the run."""

    def start_section(self, title: str, role: str) -> None:
        print(f"\n## {title} ({role})")

    def show_handoff(self, text: str) -> None:
        print(self.redact(text))

    def start_step(self, number: int, title: str | None = None) -> PlainStepView:
        return PlainStepView(
            title or f"Step {number} of {self.run.max_steps}",
            show_code=not self.notebook_mode,
            redact=self.redact,
        )

    def attach(self, approver: Approver) -> None:
        """No buttons here: only the notebook's toolbar, if connected, answers the approver."""

    def use_notebook(self, active: bool) -> None:
        """With the notebook connected, each step's code is a cell of its own below."""
        self.notebook_mode = active

    def show_replay(self, description: str) -> None:
        """The header is printed already; the notice that follows names the record."""

    def notice(self, text: str) -> None:
        print(text)

    def update_footer(self) -> None:
        pass

    def finish(self, run: RunResult) -> None:
        if run.status is not RunStatus.FAILED:  # a failure's message is the error shown next
            print(run.headline())
        print(run.summary())
