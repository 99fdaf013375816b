"""Asking the model for the next cell until it gives one that can run, within the step budget.

A reply can fail to give a cell in five ways: no code block, code cut off at the output limit,
code longer than ``max_proposal_chars`` (megabytes of data written out as a literal would
block the kernel while it is reviewed and shown, and swell the widget and the notebook), the
same cell as before (:mod:`.repetition`), or, after it was told to write code, prose that
states the answer. Real models do all five. None of them ends the run while steps are left:
each costs one step of the budget (as a step does in smolagents) and gets a correction that
says what to do instead. Prose that states an answer the cells showed, given again after the
correction, *is* the answer: the run ends "answered without code", and says so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING

from .. import prompts
from ..core.errors import ContextOverflow
from ..core.events import (
    NoteShown,
    Notice,
    ProposalShown,
    RunEvent,
    StreamRestarted,
    TextStreamed,
)
from ..core.observation import truncate_middle
from ..core.risk_flags import RiskFlag
from ..core.steps import Memory, Usage
from .answer_check import unsupported_facts
from .kernel_installs import NOTE as PIP_NOTE
from .kernel_installs import pip_in_kernel
from .model import ModelReply
from .parser import parse_reply
from .repetition import repeat_correction, repeated_step
from .retry import ModelFailure

if TYPE_CHECKING:
    from .loop import LoopParts

#: What the conversation keeps of a reply that could not run: it is re-sent with every later
#: call, and a reply cut at the output limit is as long as that limit.
INVALID_REPLY_CHARS = 600


class StepsSpent(Exception):
    """The step budget ran out on replies that gave no cell to run."""


@dataclass
class StepBudget:
    """Model replies a turn may use: each proposal, and each reply that could not run."""

    steps: int
    used: int = 0

    @property
    def left(self) -> int:
        return self.steps - self.used

    def spend(self) -> None:
        self.used += 1


@dataclass
class Proposal:
    """A reply that holds code, and what it cost to get it."""

    reply: str
    thought: str
    code: str
    usage: Usage
    model_seconds: float
    #: Replies that could not run, each with the correction the model got (see ``Step``).
    invalid_replies: list[tuple[str, str]] = field(default_factory=list)
    risks: tuple[RiskFlag, ...] = ()
    #: The answer, when the model stated it in prose instead of a cell (see module doc).
    prose_answer: str | None = None


async def propose(parts: LoopParts) -> Proposal:
    """The model's next cell (or its answer in prose); raises StepsSpent at the budget."""
    invalid: list[tuple[str, str]] = []
    usage, seconds = Usage(), 0.0
    while True:
        corrections: list[dict[str, str]] = []
        for text, correction in invalid:
            corrections += [
                {"role": "assistant", "content": text},
                {"role": "user", "content": correction},
            ]
        try:
            reply = await ask_model(parts, corrections)
        except BaseException:  # earlier replies of this step (without code) still count
            parts.add_usage(usage, seconds)
            raise
        usage, seconds = usage + reply.usage, seconds + reply.seconds
        text = reply.text
        parsed = None if reply.truncated else parse_reply(text)
        if reply.truncated:
            correction, note = prompts.render("cut_off").strip(), CUT_OFF_NOTE
        elif parsed.code is None:
            if invalid and invalid[-1][1].startswith(NO_CODE_START):
                answer = prose_answer(parts.memory, text)
                if answer is not None:
                    return Proposal(text, text, "", usage, seconds, invalid, prose_answer=answer)
            correction, note = no_code_correction(parts.memory), NO_CODE_NOTE
        elif 0 < parts.max_proposal_chars < len(parsed.code):
            correction, note = too_long(len(parsed.code), parts.max_proposal_chars)
        else:
            code = pip_in_kernel(parsed.code)
            earlier = repeated_step(code, parts.memory.steps)
            if earlier is None:
                risks = tuple(parts.review(code))
                parts.events.emit(ProposalShown(parsed.thought, code, risks))
                changed = f"{PIP_NOTE} " if code != parsed.code else ""
                parts.events.emit(NoteShown(changed + parts.decision_note(risks)))
                return Proposal(text, parsed.thought, code, usage, seconds, invalid, risks)
            correction = repeat_correction(earlier)
            note = f"The model proposed the same cell as step {earlier.number}; it did not run."
        invalid.append((truncate_middle(text, INVALID_REPLY_CHARS), correction))
        if parts.budget.left <= 0:
            parts.add_usage(usage, seconds)
            raise StepsSpent
        parts.budget.spend()  # asking again costs a step
        left = f"{note} Asking again ({parts.budget.left} step(s) left)."
        parts.events.emit(StreamRestarted(left))


NO_CODE_START = "Your reply had no ```python block"
NO_CODE_NOTE = "The reply had no code block; nothing ran."
CUT_OFF_NOTE = "The reply was cut off at the model's output limit; nothing ran."


def too_long(chars: int, limit: int) -> tuple[str, str]:
    """The correction, and the note for the person, for a cell over ``max_proposal_chars``."""
    correction = prompts.render("too_long", chars=f"{chars:,}", limit=f"{limit:,}").strip()
    note = (
        f"The proposed cell has {chars:,} characters of code, more than max_proposal_chars "
        f"({limit:,}); nothing ran."
    )
    return correction, note


def no_code_correction(memory: Memory) -> str:
    """The correction for a reply without code, pointed at where the run stands."""
    last = memory.steps[-1] if memory.steps else None
    if last is not None and last.error:
        situation = f"Cell {last.number} failed with {last.error}: fix or avoid its cause."
    elif last is not None and last.code_run is not None:
        situation = (
            "If the cells so far answer the task, call final_answer(...) with the values they "
            "computed; otherwise write the next cell."
        )
    else:
        situation = "Write the code for the task."
    return prompts.render("no_code", situation=situation).strip()


def prose_answer(memory: Memory, reply: str) -> str | None:
    """``reply`` as the run's answer, if it states one that the cells showed.

    Only prose that holds numbers, each shown by a cell of this run, counts: an explanation of
    an error, a plan or a question has none that cells showed, and gets a correction instead.
    """
    text = reply.strip()
    if not text or not any(step.code_run is not None for step in memory.steps):
        return None
    shown = [memory.task, *(step.observation or "" for step in memory.steps)]
    if not any(ch.isdigit() for ch in text) or unsupported_facts(text, shown):
        return None
    return text


async def ask_model(parts: LoopParts, extra: list[dict[str, str]]) -> ModelReply:
    """The model's reply to the memory plus ``extra``.

    If the model says the prompt is longer than its context window, older steps are
    shortened harder, the conversation's budget drops below what overflowed, and the call is
    made again; an overflow with nothing left to shorten fails with a message that says what
    to change.
    """
    emit = parts.events.emit
    compaction = parts.memory.compact()
    if compaction is not None:
        emit(Notice(compaction.note()))
    call = partial(
        parts.model.complete,
        on_text=lambda text: emit(TextStreamed(text)),
        on_retry=_retry_notice(emit),
    )
    try:
        return await call(parts.memory.to_messages() + extra)
    except ContextOverflow:
        if not parts.memory.compress():  # nothing left to shorten: say what to change
            raise
    note = (
        "The conversation grew longer than the model's context window; shortened the older "
        "steps and asked again."
    )
    emit(StreamRestarted(note))
    emit(Notice(note))
    return await call(parts.memory.to_messages() + extra)


def _retry_notice(
    emit: Callable[[RunEvent], None],
) -> Callable[[ModelFailure, int, float], None]:
    def notice(failure: ModelFailure, attempt: int, delay: float) -> None:
        status = f" {failure.status}" if failure.status else ""
        emit(
            StreamRestarted(
                f"{failure.provider}:{status} {failure.kind}; retrying in {delay:.1f} s "
                f"(attempt {attempt + 1})"
            )
        )

    return notice
