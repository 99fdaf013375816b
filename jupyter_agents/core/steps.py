"""The run's memory: one dataclass per step, each able to say what the model should be told.

The conversation sent to the model is rebuilt from these steps at every call, so what a step
contributes can change with age: the last few steps keep their full observations, older ones a
short cut. The prompt then grows with the number of steps, not with how much the cells printed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from .. import prompts
from .observation import truncate_middle
from .risk_flags import RiskFlag

#: Steps this recent keep their full observation in the prompt.
RECENT_STEPS = 3
#: Older observations are cut to this many characters.
OLD_OBSERVATION_CHARS = 600
#: After the model reported a context-window overflow: only this many steps stay whole, and
#: older observations are cut harder.
COMPRESSED_RECENT_STEPS = 1
COMPRESSED_OBSERVATION_CHARS = 150


class StepStatus(str, Enum):
    """How a proposed cell was decided."""

    APPROVED = "approved"
    EDITED = "edited"
    REJECTED = "rejected"
    AUTO = "auto"
    #: Not run: it has risk flags and nobody can approve it (``--approve risky`` headless).
    REFUSED = "refused"

    def __str__(self) -> str:
        return self.value


@dataclass
class Usage:
    """Tokens and cost of model calls. ``cost`` is None when litellm does not know the price."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float | None = 0.0

    def __add__(self, other: Usage) -> Usage:
        cost = None if self.cost is None or other.cost is None else self.cost + other.cost
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            cost,
        )

    def describe(self) -> str:
        cost = "cost n/a" if self.cost is None else f"${self.cost:.4f}"
        return (
            f"{self.prompt_tokens:,} prompt + {self.completion_tokens:,} completion tokens, {cost}"
        )


@dataclass
class Timings:
    """Where a step's wall time went: the model, the human deciding, the cell running."""

    model_seconds: float = 0.0
    waiting_seconds: float = 0.0
    execution_seconds: float = 0.0


@dataclass
class Step:
    """One proposed cell: what the model said, what the human decided, what running it showed."""

    number: int
    reply: str
    thought: str
    proposed_code: str
    status: StepStatus
    code_run: str | None = None
    reason: str | None = None
    observation: str | None = None
    execution_count: int | None = None
    error: str | None = None
    usage: Usage = field(default_factory=Usage)
    timings: Timings = field(default_factory=Timings)
    #: Replies that could not run (no code block, or cut off), each with the correction the
    #: model got for it, in order; they came before this step's reply.
    invalid_replies: list[tuple[str, str]] = field(default_factory=list)
    #: In a crew: the role whose step this is.
    role: str | None = None
    #: The risk review's flags for the code that ran (or, if nothing ran, the proposal).
    #: Shown to the human and recorded; never sent to the model.
    risks: list[RiskFlag] = field(default_factory=list)
    #: The cell did not complete: interrupted (stop, SIGINT) or stopped at its time limit.
    #: Its assignments were undone, the notebook marks it, and replay skips it.
    cut_short: bool = False
    #: The time limit (seconds) that stopped this step's cell, if one did.
    timed_out_after: float | None = None
    #: Names whose assignments were undone because the cell was cut short.
    rolled_back: list[str] = field(default_factory=list)
    #: It called final_answer with a typed-in value no cell showed, which was turned back
    #: once (:mod:`jupyter_agents.agent.answer_check`): the same cell again means "yes, that
    #: value".
    answer_turned_back: bool = False

    @property
    def interrupted(self) -> bool:
        """Cut short by a person (stop, interrupt), not by its time limit: the run ends."""
        return self.cut_short and self.timed_out_after is None

    def to_messages(
        self, recent: bool = True, old_chars: int = OLD_OBSERVATION_CHARS
    ) -> list[dict[str, str]]:
        messages: list[dict[str, str]] = []
        for invalid, correction in self.invalid_replies:
            messages.append({"role": "assistant", "content": invalid})
            messages.append({"role": "user", "content": correction})
        messages.append({"role": "assistant", "content": self.reply})
        messages.append({"role": "user", "content": self.feedback(recent, old_chars)})
        return messages

    def feedback(self, recent: bool = True, old_chars: int = OLD_OBSERVATION_CHARS) -> str:
        """What the model is told about this step's outcome."""
        if self.status is StepStatus.REJECTED:
            reason = f"Reason: {self.reason}" if self.reason else "No reason was given."
            return prompts.render("rejected", step=self.number, reason=reason).strip()
        if self.status is StepStatus.REFUSED:
            return prompts.render("refused", step=self.number).strip()
        observation = self.observation or ""
        if not recent:
            observation = truncate_middle(observation, old_chars)
        edit_note = ""
        if self.status is StepStatus.EDITED:
            edit_note = prompts.render("edited", code=self.code_run or "")
        return prompts.render(
            "observation",
            step=self.number,
            execution_count=self.execution_count if self.execution_count is not None else "?",
            edit_note=edit_note,
            observation=observation,
        ).strip()


@dataclass
class Memory:
    """The system prompt, the task message and the steps so far."""

    system: str
    task: str
    steps: list[Step] = field(default_factory=list)
    #: Set after a context-window overflow: older steps are shortened harder.
    compressed: bool = False
    #: A typed-in final answer was turned back once (see
    #: :mod:`jupyter_agents.agent.answer_check`); not again.
    answer_nudged: bool = False

    def compress(self) -> None:
        """Shorten older steps further (once: the model said the prompt is too long)."""
        self.compressed = True

    def to_messages(self) -> list[dict[str, str]]:
        messages = [
            {"role": "system", "content": self.system},
            {"role": "user", "content": self.task},
        ]
        recent = COMPRESSED_RECENT_STEPS if self.compressed else RECENT_STEPS
        old_chars = COMPRESSED_OBSERVATION_CHARS if self.compressed else OLD_OBSERVATION_CHARS
        first_recent = len(self.steps) - recent
        for index, step in enumerate(self.steps):
            messages.extend(step.to_messages(index >= first_recent, old_chars))
        return messages
