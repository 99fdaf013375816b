"""The CodeAct loop: the model proposes a cell, a human decides, the kernel runs it, repeat.

One call drives one *turn*: a whole ``%agent`` run, or one role's part of a crew. Everything it
needs arrives in :class:`LoopParts`; the loop only sequences them and returns how the turn
ended: a final answer, a handoff to another role, Stop, or the step limit (where one last
call asks the model for its best answer). What the ending means for the run is the caller's
business (:mod:`jupyter_agents.runner`, :mod:`jupyter_agents.crew`), and so is cancellation.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from . import prompts
from .approval import ApprovalDecision, ApprovalGate, ApprovalRequest, Verdict, step_status
from .control import RunControl, finish_despite_cancellation
from .errors import ContextOverflow, ReplyFormatError, RunInterrupted
from .executor import KernelExecutor
from .final_answer import NO_ANSWER, Handoff
from .memory import Memory, Step, Timings, Usage
from .model import ModelClient, ModelReply
from .observation import truncate_middle
from .parser import parse_reply
from .recorder import NoRecorder
from .result import RunStatus
from .retry import ModelFailure
from .risk import RiskFlag, review_cell
from .telemetry import set_attributes, span
from .view import RunView, StepView

#: Replies in a row without a code block before the run gives up.
MAX_REPLIES_WITHOUT_CODE = 3


@dataclass
class LoopParts:
    model: ModelClient
    gate: ApprovalGate
    executor: KernelExecutor
    view: RunView
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
    #: The static risk review of a cell (bound to the user's namespace by the runner).
    review: Callable[[str], list[RiskFlag]] = review_cell
    #: Told of model calls that no step accounts for (tokens, seconds): the run's totals.
    account: Callable[[Usage, float], None] = lambda usage, seconds: None


@dataclass
class TurnOutcome:
    """How a turn ended."""

    status: RunStatus
    answer: Any = NO_ANSWER
    handoff: Handoff | None = None


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
    """Drive one turn to its end, appending each step to ``steps`` as it is decided."""
    for number in range(1, parts.max_steps + 1):
        with span(
            f"step {number}",
            jupyter_agents__step=number,
            jupyter_agents__role=parts.role or "agent",
        ) as step_span:
            ended = await run_step(parts, steps, number)
            if steps and steps[-1].number == number:
                set_attributes(step_span, jupyter_agents__status=str(steps[-1].status))
        if ended is not None:
            return ended
    answer = await best_answer(parts)
    return TurnOutcome(RunStatus.MAX_STEPS, answer=answer)


async def run_step(parts: LoopParts, steps: list[Step], number: int) -> TurnOutcome | None:
    """One step: propose, decide, run. A TurnOutcome if it ended the turn, else None."""
    step_view = parts.view.start_step(number, title=_title(parts, number))
    proposal = await propose(parts, step_view)
    try:
        parts.control.check()
        cell = await parts.recorder.propose(number, proposal.code, parts.role, proposal.risks)
        waiting_since = time.perf_counter()
        decided = await decide(parts, number, proposal, cell, step_view)
        parts.control.check()
    except BaseException:  # stopped or interrupted before a decision: the call still counts
        parts.account(proposal.usage, proposal.model_seconds)
        raise
    waited = time.perf_counter() - waiting_since
    decision, code = decided.decision, decided.code
    if decision.verdict is Verdict.STOP:
        parts.account(proposal.usage, proposal.model_seconds)
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
        step_view.show_outcome(step)
        parts.view.update_footer()
        return None

    step.code_run = code
    await parts.recorder.executing(cell, step)
    if not decided.by_policy:  # a policy's note already says it runs (one message less)
        step_view.show_note(RUNNING_NOTE)
    output = parts.recorder.capture(cell, fallback=step_view.capture())
    with span(
        "execute_tool run_cell",
        gen_ai__operation__name="execute_tool",
        gen_ai__tool__name="run_cell",
        jupyter_agents__step=number,
    ) as cell_span:
        outcome = await parts.executor.run(code, output=output)
        set_attributes(cell_span, jupyter_agents__error=outcome.error_name)
    step.execution_count = outcome.execution_count
    step.error = "KeyboardInterrupt" if outcome.interrupted else outcome.error_name
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
    step.observation = parts.redact(observation)
    step.timings.execution_seconds = outcome.seconds
    # The cell has run: its record (execution count, outputs, no longer "running") must land
    # even if Stop or an interrupt arrives now; the checks below then end the run.
    cancelled = await finish_despite_cancellation(parts.recorder.ran(cell, step))
    step_view.show_outcome(step)
    parts.view.update_footer()
    parts.control.check()
    if cancelled or outcome.cancelled_after:
        raise asyncio.CancelledError  # not ours: pass it on
    if outcome.interrupted:
        raise RunInterrupted(f"interrupted while step {number} ran")
    if outcome.handoff is not None:
        return TurnOutcome(RunStatus.HANDED_OFF, handoff=outcome.handoff)
    if outcome.has_answer:
        return TurnOutcome(RunStatus.COMPLETED, answer=outcome.answer)
    return None


async def propose(parts: LoopParts, step_view: StepView) -> Proposal:
    """Ask the model for the next cell.

    A reply that cannot run gets a correction and a retry (bounded): one without a code
    block, and one the model's output token limit cut off, whose code may be a fragment
    (``rmtree("build")`` without the line that was to follow) and so never runs.
    """
    invalid: list[tuple[str, str]] = []
    usage = Usage()
    seconds = 0.0
    for _ in range(MAX_REPLIES_WITHOUT_CODE):
        corrections: list[dict[str, str]] = []
        for text, correction in invalid:
            corrections.append({"role": "assistant", "content": text})
            corrections.append({"role": "user", "content": correction})
        try:
            reply = await ask_model(parts, step_view, corrections)
        except BaseException:  # earlier replies of this step (without code) still count
            parts.account(usage, seconds)
            raise
        usage = usage + reply.usage
        seconds += reply.seconds
        if reply.truncated:
            invalid.append((_kept(reply.text), prompts.render("cut_off").strip()))
            step_view.restart_stream(
                "The reply was cut off at the model's output limit; nothing ran. Asking again."
            )
            continue
        parsed = parse_reply(reply.text)
        if parsed.code is not None:
            risks = tuple(parts.review(parsed.code))
            step_view.show_proposal(parsed.thought, parsed.code, risks)
            step_view.show_note(_decision_note(parts.gate, risks))
            return Proposal(reply.text, parsed.thought, parsed.code, usage, seconds, invalid, risks)
        invalid.append((_kept(reply.text), prompts.render("no_code").strip()))
        step_view.restart_stream("The reply had no code block; asking the model again.")
    parts.account(usage, seconds)
    last = " ".join(invalid[-1][0].split())[:200] if invalid else ""
    raise ReplyFormatError(
        f"the model gave {MAX_REPLIES_WITHOUT_CODE} replies in a row that could not run (no "
        f"Python code block, or cut off at its output limit; last reply: {last!r}). Try again, "
        "ask for smaller steps, or use a model that follows instructions better."
    )


async def ask_model(
    parts: LoopParts, step_view: StepView, extra: list[dict[str, str]]
) -> ModelReply:
    """The model's reply to the memory plus ``extra``.

    If the model says the prompt is longer than its context window, older steps are
    shortened harder (once per run) and the call is made again; a second overflow fails
    with a message that says what to change.
    """
    call = partial(
        parts.model.complete, on_text=step_view.stream, on_retry=_retry_notice(step_view)
    )
    try:
        return await call(parts.memory.to_messages() + extra)
    except ContextOverflow:
        if parts.memory.compressed:
            raise
    parts.memory.compress()
    note = (
        "The conversation grew longer than the model's context window; shortened the older "
        "steps and asked again."
    )
    step_view.restart_stream(note)
    parts.view.notice(note)
    return await call(parts.memory.to_messages() + extra)


async def decide(
    parts: LoopParts, number: int, proposal: Proposal, cell: str | None, step_view: StepView
) -> Decided:
    """The gate's decision on a proposal, and the code that runs with its own risk flags.

    With the notebook, what runs is the pending cell's text at decision time, which the user
    may have changed: changed code is reviewed again, and its flags are what the step records.
    If the policy approved the proposal without asking but the changed code has flags the
    policy asks about (``risky``), a human is asked after all: an edit made while nobody was
    asked must not slip past the review.
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
        step_view.show_risks(risks)
        if not (by_policy and parts.gate.asks(risks)):
            return Decided(decision, by_policy, code, risks)
        step_view.show_note("The cell was changed and has risk flags: waiting for your decision.")
        request = ApprovalRequest(number, code, proposal.thought, risks)


#: Shown while a cell runs. A click on Stop reaches the kernel only when the cell awaits or
#: ends (a cell busy in Python holds the kernel's event loop); the kernel's interrupt button
#: raises KeyboardInterrupt in the cell itself.
STOP_HINT = (
    "Stop ends the run when this cell ends (or awaits); "
    "the kernel's interrupt button (■) cuts the cell short."
)
RUNNING_NOTE = f"Running. {STOP_HINT}"

#: What the conversation keeps of a reply that could not run: it is re-sent with every later
#: call, and a reply cut at the output limit is as long as that limit.
INVALID_REPLY_CHARS = 600


def _kept(reply: str) -> str:
    """A reply that could not run, as the conversation keeps it: head and tail, cut noted."""
    return truncate_middle(reply, INVALID_REPLY_CHARS)


def undone_note(names: list[str]) -> str:
    """One sentence on the assignments an interrupted cell had made and that were undone."""
    if not names:
        return "It had assigned no names, so the namespace is as it was."
    shown = ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
    return (
        f"Its assignments were undone ({shown}): the namespace is as it was before the cell, "
        "except for changes made inside existing objects and files written."
    )


def _decision_note(gate: ApprovalGate, risks: tuple[RiskFlag, ...]) -> str:
    """What happens next to a proposal, as the step says while it waits or runs."""
    if gate.asks(risks):
        if gate.policy == "risky":
            return "It has risk flags, so it waits for your decision (--approve risky)."
        return "Waiting for your decision."
    if gate.policy == "risky":
        return f"No risk flags: approved automatically (--approve risky); running. {STOP_HINT}"
    return f"Approved automatically (--approve auto); running. {STOP_HINT}"


async def best_answer(parts: LoopParts) -> str:
    """At the step limit: one more call, asking for the best answer in plain text."""
    step_view = parts.view.start_step(parts.max_steps + 1, title="Step limit reached")
    final = {"role": "user", "content": prompts.render("final_step", max_steps=parts.max_steps)}
    reply = await ask_model(parts, step_view, [final])
    parts.account(reply.usage, reply.seconds)
    answer = reply.text.strip()
    step_view.show_text(answer)
    step_view.show_note("The model's best answer (no code runs after the step limit).")
    return answer


def _title(parts: LoopParts, number: int) -> str:
    step = f"Step {number} of {parts.max_steps}"
    return f"{parts.role} · {step.lower()}" if parts.role else step


def _retry_notice(step_view: StepView) -> Callable[[ModelFailure, int, float], None]:
    def notice(failure: ModelFailure, attempt: int, delay: float) -> None:
        status = f" {failure.status}" if failure.status else ""
        step_view.restart_stream(
            f"{failure.provider}:{status} {failure.kind}; retrying in {delay:.1f} s "
            f"(attempt {attempt + 1})"
        )

    return notice
