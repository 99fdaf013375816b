"""The CodeAct loop: the model proposes a cell, a human decides, the kernel runs it, repeat.

One call drives one *turn*: a whole ``%agent`` run, or one role's part of a crew. Everything it
needs arrives in :class:`LoopParts`; the loop only sequences them and returns how the turn
ended: a final answer, a handoff to another role, Stop, or the step limit (where one last
call asks the model for its best answer). What the ending means for the run is the caller's
business (:mod:`jupyter_agents.run.runner`, :mod:`jupyter_agents.crew.crew_run`), and so is
cancellation.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from .. import prompts
from ..core.errors import RunInterrupted
from ..core.events import (
    NoteShown,
    Notice,
    ReplyShown,
    RisksShown,
    RunEvents,
    StepEnded,
    StepStarted,
)
from ..core.result import RunStatus
from ..core.risk_flags import RiskFlag
from ..core.steps import Memory, Step, Timings, Usage
from ..kernel.control import RunControl, finish_despite_cancellation
from ..kernel.executor import ExecutionOutcome, KernelExecutor
from ..kernel.turn_end import NO_ANSWER, Handoff
from ..notebook.no_recorder import NoRecorder
from ..safety.approval import (
    RUNNING_NOTE,
    ApprovalDecision,
    ApprovalGate,
    ApprovalRequest,
    Verdict,
    decision_note,
    step_status,
)
from ..safety.risk import review_cell
from .answer_check import typed_in_answer, unsupported_facts, verify_note
from .model import ModelClient
from .proposals import Proposal, StepBudget, StepsSpent, ask_model, propose
from .telemetry import set_attributes, span


@dataclass
class LoopParts:
    model: ModelClient
    gate: ApprovalGate
    executor: KernelExecutor
    #: Where the loop says what happens; the views subscribe (see core/events.py).
    events: RunEvents
    memory: Memory
    max_steps: int
    observation_tokens: int
    #: Writes the steps into the notebook when a frontend speaks the protocol.
    recorder: NoRecorder = field(default_factory=NoRecorder)
    #: Stop and interrupt requests, checked between phases.
    control: RunControl = field(default_factory=RunControl)
    #: Removes secrets from what cells printed before the model sees it.
    redact: Callable[[str], str] = lambda text: text
    #: In a crew: the role taking this turn (shown on each step and recorded with it).
    role: str | None = None
    #: The static risk review of a cell (bound to the user's namespace by the run's context).
    review: Callable[[str], list[RiskFlag]] = review_cell
    #: Told of model calls that no step accounts for (tokens, seconds): the run's totals.
    add_usage: Callable[[Usage, float], None] = lambda usage, seconds: None
    #: Most characters of code a proposal may have (0: no limit); see :mod:`.proposals`.
    max_proposal_chars: int = 0
    #: Replies this turn may still use; made from ``max_steps`` when not given.
    budget: StepBudget | None = None
    #: Where a step's cell shows its outputs when no notebook cell takes them (the widget).
    step_output: Callable[[], AbstractContextManager[Any]] = nullcontext

    def __post_init__(self) -> None:
        if self.budget is None:
            self.budget = StepBudget(self.max_steps)

    def decision_note(self, risks: tuple[RiskFlag, ...]) -> str:
        return decision_note(self.gate, risks)


@dataclass
class TurnOutcome:
    """How a turn ended."""

    status: RunStatus
    answer: Any = NO_ANSWER
    handoff: Handoff | None = None


@dataclass
class Decided:
    """What happens to a proposal: the decision, and the code that runs with its risk flags."""

    decision: ApprovalDecision
    #: The policy decided, not a human.
    by_policy: bool
    #: What runs (the proposal or the human's edit); None when nothing runs.
    code: str | None
    risks: tuple[RiskFlag, ...]


async def run_turn(parts: LoopParts, steps: list[Step]) -> TurnOutcome:
    """Drive one turn to its end, appending each step to ``steps`` as it is decided.

    Each step, and each reply that gave no cell to run, uses one of ``max_steps``; when they
    are used up, one last call asks the model for its best answer.
    """
    number = 0
    while parts.budget.left > 0:
        number += 1
        parts.budget.spend()
        with span(
            f"step {number}",
            jupyter_agents__step=number,
            jupyter_agents__role=parts.role or "agent",
        ) as step_span:
            try:
                ended = await run_step(parts, steps, number)
            except StepsSpent:
                break
            if steps and steps[-1].number == number:
                set_attributes(step_span, jupyter_agents__status=str(steps[-1].status))
        if ended is not None:
            return ended
    answer = await best_answer(parts)
    return TurnOutcome(RunStatus.MAX_STEPS, answer=answer)


async def run_step(parts: LoopParts, steps: list[Step], number: int) -> TurnOutcome | None:
    """One step: propose, decide, run. A TurnOutcome if it ended the turn, else None."""
    emit = parts.events.emit
    emit(StepStarted(number, title=_title(parts, number)))
    proposal = await propose(parts)
    if proposal.prose_answer is not None:
        parts.add_usage(proposal.usage, proposal.model_seconds)
        emit(ReplyShown(proposal.prose_answer))
        emit(NoteShown(PROSE_ANSWER_NOTE))
        return TurnOutcome(RunStatus.ANSWERED_WITHOUT_CODE, answer=proposal.prose_answer)
    try:
        parts.control.check()
        asks = parts.gate.asks(proposal.risks)
        cell = await parts.recorder.propose(
            number, proposal.code, parts.role, proposal.risks, asks=asks
        )
        waiting_since = time.perf_counter()
        decided = await decide(parts, number, proposal, cell)
        parts.control.check()
    except BaseException:  # stopped or interrupted before a decision: the call still counts
        parts.add_usage(proposal.usage, proposal.model_seconds)
        raise
    waited = time.perf_counter() - waiting_since
    decision, code = decided.decision, decided.code
    if decision.verdict is Verdict.STOP:
        parts.add_usage(proposal.usage, proposal.model_seconds)
        return TurnOutcome(RunStatus.STOPPED)

    step = Step(
        number=number,
        reply=proposal.reply,
        thought=proposal.thought,
        proposed_code=proposal.code,
        status=step_status(decision, decided.by_policy, proposal.code, code or ""),
        reason=decision.reason,
        usage=proposal.usage,
        timings=Timings(model_seconds=proposal.model_seconds, waiting_seconds=waited),
        invalid_replies=proposal.invalid_replies,
        role=parts.role,
        risks=list(decided.risks),
    )
    steps.append(step)
    parts.memory.steps.append(step)
    if code is None:
        await parts.recorder.rejected(cell, step)
        emit(StepEnded(step))
        return None
    step.code_run = code
    return await run_cell(parts, cell, step, announce=not decided.by_policy)


async def run_cell(
    parts: LoopParts, cell: str | None, step: Step, announce: bool
) -> TurnOutcome | None:
    """Run an approved step's cell, tell the model what it did, and say if the turn ended."""
    number, code, emit = step.number, step.code_run or "", parts.events.emit
    await parts.recorder.executing(cell, step)
    if announce:  # a policy's note already says it runs (one message less)
        emit(NoteShown(RUNNING_NOTE))
    output = parts.recorder.capture(cell, fallback=parts.step_output())
    with span(
        "execute_tool run_cell",
        gen_ai__operation__name="execute_tool",
        gen_ai__tool__name="run_cell",
        jupyter_agents__step=number,
    ) as cell_span:
        outcome = await parts.executor.run(code, output=output)
        set_attributes(cell_span, jupyter_agents__error=outcome.error_name)
    accepted = observe(parts, step, outcome)
    # The cell has run: its record (execution count, outputs, no longer "running") must land
    # even if Stop or an interrupt arrives now; the checks below then end the run.
    cancelled = await finish_despite_cancellation(parts.recorder.ran(cell, step))
    emit(StepEnded(step))
    parts.control.check()
    if cancelled or outcome.cancelled_after:
        raise asyncio.CancelledError  # not ours: pass it on
    if outcome.interrupted:
        raise RunInterrupted(f"interrupted while step {number} ran")
    if outcome.ends_run:
        parts.control.end(f"step {number}: {outcome.ends_run}")
    if outcome.handoff is not None:
        return TurnOutcome(RunStatus.HANDED_OFF, handoff=outcome.handoff)
    if accepted:
        return TurnOutcome(RunStatus.COMPLETED, answer=outcome.answer)
    return None


def observe(parts: LoopParts, step: Step, outcome: ExecutionOutcome) -> bool:
    """Put what the cell did on the step, as the model will read it; whether its
    ``final_answer`` (if any) is accepted."""
    number, code = step.number, step.code_run or ""
    step.execution_count = outcome.execution_count
    step.error = "KeyboardInterrupt" if outcome.interrupted else outcome.error_name
    step.cut_short = outcome.interrupted or outcome.timed_out_after is not None
    observation = outcome.observation.render(parts.observation_tokens)
    step.rolled_back = outcome.rolled_back
    if outcome.timed_out_after is not None:  # the model is told, and may try another way
        step.timed_out_after = outcome.timed_out_after
        limit = prompts.render(
            "timed_out",
            seconds=f"{outcome.timed_out_after:g}",
            undone=undone_note(outcome.rolled_back),
        )
        observation = f"{limit.strip()}\n\n{observation}"
    unverified = _unverified_facts(parts, code, outcome) if outcome.has_answer else []
    accepted = outcome.has_answer and not unverified
    if unverified:
        step.answer_turned_back = True
        observation += "\n\n" + verify_note(outcome.answer, unverified)
        parts.events.emit(
            Notice(
                f"Step {number} called final_answer with a value written into the code that no "
                "cell showed; the model was asked to compute it first, and the run goes on."
            )
        )
    step.observation = parts.redact(observation)
    step.timings.execution_seconds = outcome.seconds
    return accepted


#: Under a reply the model gave instead of a cell, when it is taken as the answer.
PROSE_ANSWER_NOTE = (
    "Answered without code: the model stated this in its reply instead of calling "
    "final_answer in a cell; the numbers in it were shown by the cells above."
)


def _unverified_facts(parts: LoopParts, code: str, outcome: ExecutionOutcome) -> list[str]:
    """What no cell showed of a typed-in ``final_answer``, the first time one is (see
    :mod:`.answer_check`): then the answer is turned back once. Empty: accept it."""
    memory = parts.memory
    # A crew role's final_answer is its report to the next role or the manager, not the run's
    # answer: it is read by a model that can check it, so it is not turned back.
    if parts.role is not None or memory.answer_nudged or not typed_in_answer(code):
        return []
    shown = [memory.task, *(step.observation or "" for step in memory.steps[:-1])]
    shown += [step.code_run or "" for step in memory.steps[:-1]]  # numbers earlier cells set
    shown.append(outcome.observation.render(parts.observation_tokens))
    missing = unsupported_facts(outcome.answer, shown)
    memory.answer_nudged = bool(missing)
    return missing


async def decide(parts: LoopParts, number: int, proposal: Proposal, cell: str | None) -> Decided:
    """The gate's decision on a proposal, and the code that runs with its own risk flags.

    With the notebook, what runs is the pending cell's text at decision time, which the user
    may have changed: changed code is reviewed again, and its flags are what the step records.
    If the policy approved the proposal without asking but the changed code has flags the
    policy asks about (``risky``), a human is asked after all: an edit made while nobody was
    asked must not slip past the review. (The notebook recorder inserts a cell the policy
    approves only as it runs, so no such edit can reach it today; the rule stays enforced
    here, where the decision is made, whatever a recorder does.)
    """
    request = ApprovalRequest(number, proposal.code, proposal.thought, proposal.risks)
    while True:
        decision, by_policy = await parts.gate.decide(request)
        if decision.verdict is not Verdict.APPROVE:
            return Decided(decision, by_policy, None, request.risks)
        code = await parts.recorder.code_to_run(cell, decision.code or request.code)
        if code is None:  # the user deleted the proposed cell from the notebook
            rejected = ApprovalDecision.reject("you deleted the proposed cell")
            return Decided(rejected, by_policy, None, request.risks)
        if code == request.code:
            return Decided(decision, by_policy, code, request.risks)
        risks = tuple(parts.review(code))
        parts.events.emit(RisksShown(risks))
        if not (by_policy and parts.gate.asks(risks)):
            return Decided(decision, by_policy, code, risks)
        note = "The cell was changed and has risk flags: waiting for your decision."
        parts.events.emit(NoteShown(note))
        request = ApprovalRequest(number, code, proposal.thought, risks)


def undone_note(names: list[str]) -> str:
    """One sentence on the assignments an interrupted cell had made and that were undone."""
    if not names:
        return "It had assigned no names, so the namespace is as it was."
    shown = ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
    return (
        f"Its assignments were undone ({shown}): the namespace is as it was before the cell, "
        "except for changes made inside existing objects and files written."
    )


async def best_answer(parts: LoopParts) -> str:
    """At the step limit: one more call, asking for the best answer in plain text."""
    parts.events.emit(StepStarted(parts.max_steps + 1, title="Step limit reached"))
    final = {"role": "user", "content": prompts.render("final_step", max_steps=parts.max_steps)}
    reply = await ask_model(parts, [final])
    parts.add_usage(reply.usage, reply.seconds)
    answer = reply.text.strip()
    parts.events.emit(ReplyShown(answer))
    parts.events.emit(NoteShown("The model's best answer (no code runs after the step limit)."))
    return answer


def _title(parts: LoopParts, number: int) -> str:
    step = f"Step {number} of {parts.max_steps}"
    return f"{parts.role} · {step.lower()}" if parts.role else step
