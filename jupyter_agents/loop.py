"""The CodeAct loop: the model proposes a cell, a human decides, the kernel runs it, repeat.

One call drives one *turn*: a whole ``%agent`` run, or one role's part of a crew. Everything it
needs arrives in :class:`LoopParts`; the loop only sequences them and returns how the turn
ended: a final answer, a handoff to another role, Stop, or the step limit (where one last
call asks the model for its best answer). What the ending means for the run is the caller's
business (:mod:`jupyter_agents.runner`, :mod:`jupyter_agents.crew`), and so is cancellation.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from . import prompts
from .approval import ApprovalDecision, ApprovalGate, ApprovalRequest, Verdict, step_status
from .control import RunControl
from .errors import ContextOverflow, ReplyFormatError, RunInterrupted
from .executor import KernelExecutor
from .final_answer import NO_ANSWER, Handoff
from .memory import Memory, Step, Timings, Usage
from .model import ModelClient, ModelReply
from .parser import parse_reply
from .recorder import NoRecorder
from .result import RunStatus
from .retry import ModelFailure
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


@dataclass
class TurnOutcome:
    """How a turn ended."""

    status: RunStatus
    answer: Any = NO_ANSWER
    handoff: Handoff | None = None
    #: Model calls that are not part of a step (a stopped proposal, the best-answer call).
    extra_usage: Usage = field(default_factory=Usage)


@dataclass
class Proposal:
    """A reply that holds code, and what it cost to get it."""

    reply: str
    thought: str
    code: str
    usage: Usage
    model_seconds: float
    invalid_replies: list[str] = field(default_factory=list)


async def run_turn(parts: LoopParts, steps: list[Step]) -> TurnOutcome:
    """Drive one turn to its end, appending each step to ``steps`` as it is decided."""
    for number in range(1, parts.max_steps + 1):
        step_view = parts.view.start_step(number, title=_title(parts, number))
        proposal = await propose(parts, step_view)
        parts.control.check()
        cell = await parts.recorder.propose(number, proposal.code, parts.role)

        waiting_since = time.perf_counter()
        decision, by_policy = await parts.gate.decide(
            ApprovalRequest(number, proposal.code, proposal.thought)
        )
        waited = time.perf_counter() - waiting_since
        parts.control.check()
        if decision.verdict is Verdict.STOP:
            return TurnOutcome(RunStatus.STOPPED, extra_usage=proposal.usage)

        code = None
        if decision.verdict is Verdict.APPROVE:
            code = await parts.recorder.code_to_run(cell, decision.code or proposal.code)
            if code is None:  # the user deleted the proposed cell from the notebook
                decision = ApprovalDecision.reject("you deleted the proposed cell")
        step = Step(
            number=number,
            reply=proposal.reply,
            thought=proposal.thought,
            proposed_code=proposal.code,
            status=step_status(decision, by_policy, proposal.code, code or ""),
            reason=decision.reason,
            usage=proposal.usage,
            timings=Timings(model_seconds=proposal.model_seconds, waiting_seconds=waited),
            invalid_replies=proposal.invalid_replies,
            role=parts.role,
        )
        steps.append(step)
        parts.memory.steps.append(step)
        if code is None:
            await parts.recorder.rejected(cell, step)
            step_view.show_outcome(step)
            parts.view.update_footer()
            continue

        step.code_run = code
        output = parts.recorder.capture(cell, fallback=step_view.capture())
        outcome = await parts.executor.run(code, output=output)
        step.execution_count = outcome.execution_count
        step.error = "KeyboardInterrupt" if outcome.interrupted else outcome.error_name
        step.observation = parts.redact(outcome.observation.render(parts.observation_tokens))
        step.timings.execution_seconds = outcome.seconds
        await parts.recorder.ran(cell, step)
        step_view.show_outcome(step)
        parts.view.update_footer()
        parts.control.check()
        if outcome.interrupted:
            raise RunInterrupted(f"interrupted while step {number} ran")
        if outcome.handoff is not None:
            return TurnOutcome(RunStatus.HANDED_OFF, handoff=outcome.handoff)
        if outcome.has_answer:
            return TurnOutcome(RunStatus.COMPLETED, answer=outcome.answer)

    answer, usage = await best_answer(parts)
    return TurnOutcome(RunStatus.MAX_STEPS, answer=answer, extra_usage=usage)


async def propose(parts: LoopParts, step_view: StepView) -> Proposal:
    """Ask the model for the next cell; a reply without code gets a correction and a retry."""
    invalid: list[str] = []
    usage = Usage()
    seconds = 0.0
    for _ in range(MAX_REPLIES_WITHOUT_CODE):
        corrections: list[dict[str, str]] = []
        for text in invalid:
            corrections.append({"role": "assistant", "content": text})
            corrections.append({"role": "user", "content": prompts.render("no_code").strip()})
        reply = await ask_model(parts, step_view, corrections)
        usage = usage + reply.usage
        seconds += reply.seconds
        parsed = parse_reply(reply.text)
        if parsed.code is not None:
            step_view.show_proposal(parsed.thought, parsed.code)
            step_view.show_note(
                "Waiting for your decision."
                if parts.gate.policy == "each"
                else "Approved automatically (--approve auto); running."
            )
            return Proposal(reply.text, parsed.thought, parsed.code, usage, seconds, invalid)
        invalid.append(reply.text)
        step_view.restart_stream("The reply had no code block; asking the model again.")
    last = " ".join(invalid[-1].split())[:200] if invalid else ""
    raise ReplyFormatError(
        f"the model replied {MAX_REPLIES_WITHOUT_CODE} times without a Python code block "
        f"(last reply: {last!r}). Try again, or use a model that follows instructions better."
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


async def best_answer(parts: LoopParts) -> tuple[str, Usage]:
    """At the step limit: one more call, asking for the best answer in plain text."""
    step_view = parts.view.start_step(parts.max_steps + 1, title="Step limit reached")
    final = {"role": "user", "content": prompts.render("final_step", max_steps=parts.max_steps)}
    reply = await ask_model(parts, step_view, [final])
    answer = reply.text.strip()
    step_view.show_text(answer)
    step_view.show_note("The model's best answer (no code runs after the step limit).")
    return answer, reply.usage


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
