"""The run's memory: one dataclass per step, each able to say what the model should be told.

The conversation is append-only between compactions, so each model call repeats the previous
one as its start and a provider's prompt cache (or llama.cpp's) reuses it: a step is shown
whole when it is new and stays exactly so. When the conversation passes its budget
(``context_tokens``), the older steps are folded at once into short forms, and the growth
starts again from there. The prompt then stays bounded whatever the cells print, and its start
changes only at those rare compactions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from .. import prompts
from .observation import CHARS_PER_TOKEN, truncate_middle
from .risk_flags import RiskFlag

#: Steps still shown whole right after a compaction: the latest, whose outputs the model is
#: working from.
KEEP_WHOLE = 1
#: After a context-window overflow, the budget becomes this share of what overflowed.
OVERFLOW_SHARE = 0.75
#: Fewest steps one compaction folds.
MIN_FOLD = 2
#: A folded step's observation is cut to this many characters.
FOLDED_OBSERVATION_CHARS = 600
#: Harder folding: when folding leaves the conversation over COMPRESS_SHARE of its budget (a
#: long run), and after the model reported a context-window overflow.
COMPRESSED_OBSERVATION_CHARS = 150
#: A compaction leaves at most this share of the budget used, where it can: the rest is room
#: to grow append-only for many steps before the next one.
COMPRESS_SHARE = 1 / 3


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

    def to_messages(self, observation_chars: int | None = None) -> list[dict[str, str]]:
        """The step as the model reads it; its observation cut to ``observation_chars``, if
        given (a folded step)."""
        messages: list[dict[str, str]] = []
        for invalid, correction in self.invalid_replies:
            messages.append({"role": "assistant", "content": invalid})
            messages.append({"role": "user", "content": correction})
        messages.append({"role": "assistant", "content": self.reply})
        messages.append({"role": "user", "content": self.feedback(observation_chars)})
        return messages

    def feedback(self, observation_chars: int | None = None) -> str:
        """What the model is told about this step's outcome."""
        if self.status is StepStatus.REJECTED:
            reason = f"Reason: {self.reason}" if self.reason else "No reason was given."
            return prompts.render("rejected", step=self.number, reason=reason).strip()
        if self.status is StepStatus.REFUSED:
            return prompts.render("refused", step=self.number).strip()
        observation = self.observation or ""
        if observation_chars is not None:
            observation = truncate_middle(observation, observation_chars)
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
class Compaction:
    """One fold of the conversation: steps ``first``..``last`` are now shown shortened."""

    first: int
    last: int
    budget_tokens: int

    def note(self) -> str:
        """The one line the person sees."""
        steps = f"steps {self.first}-{self.last}" if self.first < self.last else f"step {self.last}"
        return (
            f"Compacted the conversation: {steps} are now shown shortened (it had passed "
            f"context_tokens, about {self.budget_tokens:,} tokens); the model's prompt cache "
            "starts again from here."
        )


@dataclass
class Memory:
    """The system prompt, the task message and the steps so far."""

    system: str
    task: str
    steps: list[Step] = field(default_factory=list)
    #: The conversation's budget in characters (``context_tokens`` at about four each).
    context_chars: int = 48_000
    #: ``steps[:folded]`` are shown shortened, ``steps[:compressed]`` shorter still.
    folded: int = 0
    compressed: int = 0
    #: The model said the prompt is longer than its context window: later compactions
    #: compress too, within a budget lowered below what overflowed.
    overflowed: bool = False
    #: A typed-in final answer was turned back once (see
    #: :mod:`jupyter_agents.agent.answer_check`); not again.
    answer_nudged: bool = False

    def compact(self) -> Compaction | None:
        """Fold the older steps if the conversation has passed its budget (before a call).

        Between compactions nothing already sent changes, so the next prompt starts with the
        previous one; a fold changes the start once, for many steps to come.
        """
        keep_from = len(self.steps) - KEEP_WHOLE
        # Folding one step at a time would rewrite the prompt at every call (a budget too small
        # for the steps): fold two or more, or wait and stay a step over the budget.
        if keep_from - self.folded < MIN_FOLD or self._chars() <= self.context_chars:
            return None
        first = self.steps[self.folded].number
        self.folded = keep_from
        if self.overflowed or self._chars() > self.context_chars * COMPRESS_SHARE:
            self.compressed = keep_from
        last = self.steps[keep_from - 1].number
        return Compaction(first, last, self.context_chars // CHARS_PER_TOKEN)

    def compress(self) -> bool:
        """The model said the prompt is too long: every step but the latest, shortest, and a
        budget below what overflowed, so later growth folds before it overflows again.
        False if there was nothing left to shorten."""
        self.overflowed = True
        self.context_chars = min(self.context_chars, int(self._chars() * OVERFLOW_SHARE))
        keep_from = max(len(self.steps) - KEEP_WHOLE, 0)
        if self.compressed >= keep_from:
            return False
        self.folded = self.compressed = keep_from
        return True

    def to_messages(self) -> list[dict[str, str]]:
        messages = [
            {"role": "system", "content": self.system},
            {"role": "user", "content": self.task},
        ]
        for index, step in enumerate(self.steps):
            messages.extend(step.to_messages(self._observation_chars(index)))
        return messages

    def _observation_chars(self, index: int) -> int | None:
        if index < self.compressed:
            return COMPRESSED_OBSERVATION_CHARS
        return FOLDED_OBSERVATION_CHARS if index < self.folded else None

    def _chars(self) -> int:
        return sum(len(message["content"]) for message in self.to_messages())
