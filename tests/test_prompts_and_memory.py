"""Prompt size and context discipline, measured with litellm's offline tokenizer."""

import asyncio
import itertools

import litellm
import pytest

from jupyter_agents.agent.instructions import recent_user_cells, system_prompt, task_message
from jupyter_agents.core.observation import Observation
from jupyter_agents.core.steps import Memory, Step, StepStatus
from jupyter_agents.safety.approval import (
    ApprovalDecision,
    ApprovalGate,
    ApprovalRequest,
    Verdict,
    step_status,
)

TOKENIZER_MODEL = "gpt-4o"


def tokens(text: str) -> int:
    return litellm.token_counter(model=TOKENIZER_MODEL, text=text)


def test_system_prompt_is_compact():
    # smolagents' default CodeAgent system prompt measures 1,968 tokens on this tokenizer.
    assert tokens(system_prompt()) <= 1000


def test_tools_are_listed_in_the_system_prompt():
    def fetch_rates(currency: str, day: str = "today") -> dict:
        """Exchange rates for one currency, from the internal API."""

    prompt = system_prompt([fetch_rates])
    assert "fetch_rates(currency: str, day: str = 'today') -> dict: Exchange rates" in prompt


def test_task_message_is_bounded_however_big_the_kernel_is():
    namespace = {f"frame_{i}": list(range(10_000)) for i in range(300)}
    history = [f"cell_{i} = {'x' * 5000!r}\n" * 40 for i in range(50)] + ["%agent current"]
    message = task_message("task", namespace, hidden=[], recent_cells=recent_user_cells(history, 5))
    assert tokens(message) < 6000
    assert "%agent current" not in message  # the running cell is not 'recent history'


def step(number: int, printed: str) -> Step:
    return Step(
        number=number,
        reply=f"Step {number}.\n```python\nprint(data[{number}])\n```",
        thought=f"Step {number}.",
        proposed_code=f"print(data[{number}])",
        status=StepStatus.AUTO,
        code_run=f"print(data[{number}])",
        observation=Observation(stdout=printed).render(1000),
        execution_count=number,
    )


def conversation(output_kb: int, steps: int = 30) -> list[tuple[list[dict], bool]]:
    """Each model call's messages, and whether the conversation was compacted just before it,
    as the loop makes them: compact, then call, then the step's outcome joins the memory."""
    printed = ("row, value\n" * 100_000)[: output_kb * 1000]
    memory = Memory(system=system_prompt(), task="Task: analyse", context_chars=48_000)
    calls = []
    for number in range(1, steps + 1):
        compacted = memory.compact() is not None
        calls.append((memory.to_messages(), compacted))
        memory.steps.append(step(number, printed))
    return calls


def prompt_tokens(calls: list[tuple[list[dict], bool]], number: int) -> int:
    return litellm.token_counter(model=TOKENIZER_MODEL, messages=calls[number - 1][0])


def test_each_prompt_starts_with_the_previous_one_except_at_a_compaction():
    calls = conversation(10)
    for (before, _), (after, compacted) in itertools.pairwise(calls):
        assert compacted or after[: len(before)] == before
    compactions = [number for number, (_, compacted) in enumerate(calls, 1) if compacted]
    assert 1 <= len(compactions) <= 30 // 8  # rare: at most one per 8 steps
    assert all(later - earlier >= 8 for earlier, later in itertools.pairwise(compactions))


def test_prompt_at_step_30_does_not_grow_with_output_size():
    """Folded observations are cut, so the prompt grows with steps, not with what cells print."""
    small, large = conversation(10), conversation(100)
    assert abs(prompt_tokens(large, 30) - prompt_tokens(small, 30)) < 0.01 * prompt_tokens(
        small, 30
    )
    # Bounded by the budget (12,000 tokens at four characters each), whatever the output.
    assert max(sum(len(m["content"]) for m in messages) for messages, _ in large) < 48_000 + 5_000


def test_a_compaction_keeps_the_latest_step_whole_and_says_so_in_one_line():
    memory = Memory(system="s", task="t", context_chars=10_000)
    for number in range(1, 5):
        memory.steps.append(step(number, "x" * 3000 + "\n"))
    compaction = memory.compact()
    assert compaction is not None and (compaction.first, compaction.last) == (1, 3)
    assert (
        "\n" not in compaction.note() and "steps 1-3 are now shown shortened" in compaction.note()
    )
    messages = memory.to_messages()
    assert "x" * 3000 in messages[-1]["content"]  # step 4, whole
    assert all(len(m["content"]) < 1000 for m in messages[2:-2])  # steps 1-3, folded
    assert memory.compact() is None  # under budget now: nothing changes until it grows again


def test_a_context_overflow_compresses_every_step_but_the_latest():
    memory = Memory(system="s", task="t")
    for number in range(1, 4):
        memory.steps.append(step(number, "y" * 3000 + "\n"))
    overflowed_at = sum(len(m["content"]) for m in memory.to_messages())
    assert memory.compress()
    assert memory.overflowed and memory.context_chars < overflowed_at  # later growth folds first
    messages = memory.to_messages()
    assert all(len(m["content"]) < 400 for m in messages[2:-2])
    assert "y" * 3000 in messages[-1]["content"]


def test_feedback_for_each_decision():
    rejected = Step(1, "r", "t", "x = 1", StepStatus.REJECTED, reason="use y")
    assert "rejected cell 1" in rejected.feedback() and "Reason: use y" in rejected.feedback()
    no_reason = Step(2, "r", "t", "x = 1", StepStatus.REJECTED)
    assert "No reason was given." in no_reason.feedback()
    edited = Step(
        3,
        "r",
        "t",
        "x = 1",
        StepStatus.EDITED,
        code_run="x = 2",
        observation="ok",
        execution_count=9,
    )
    assert "edited your cell" in edited.feedback() and "x = 2" in edited.feedback()
    assert "In [9]" in edited.feedback()
    retried = Step(
        4,
        "r",
        "t",
        "x",
        StepStatus.AUTO,
        code_run="x",
        invalid_replies=[("prose only", "Your reply had no Python code block")],
    )
    roles = [message["role"] for message in retried.to_messages()]
    assert roles == ["assistant", "user", "assistant", "user"]


def test_gate_policies():
    asked = []

    async def ask(request: ApprovalRequest) -> ApprovalDecision:
        asked.append(request)
        return ApprovalDecision.approve(request.code.replace("1", "2"), approve_rest=True)

    async def scenario():
        gate = ApprovalGate("each", ask)
        first = await gate.decide(ApprovalRequest(1, "x = 1"))
        second = await gate.decide(ApprovalRequest(2, "y = 1"))
        return first, second, gate.policy

    (first, first_by_policy), (second, second_by_policy), policy = asyncio.run(scenario())
    assert first.code == "x = 2" and not first_by_policy
    assert second.code == "y = 1" and second_by_policy  # "Approve all" switched the policy
    assert policy == "auto" and len(asked) == 1

    async def reject(request):
        return ApprovalDecision.reject("  ")

    decision, by_policy = asyncio.run(ApprovalGate("each", reject).decide(ApprovalRequest(1, "x")))
    assert decision.verdict is Verdict.REJECT and decision.reason is None and not by_policy
    with pytest.raises(ValueError):
        ApprovalGate("each", None)


def test_step_status():
    approve, reject = ApprovalDecision.approve("x"), ApprovalDecision.reject("no")
    assert step_status(reject, False, "x = 1", "") is StepStatus.REJECTED
    assert step_status(approve, True, "x = 1", "x = 2") is StepStatus.AUTO
    assert step_status(approve, False, "x = 1", "x = 1\n") is StepStatus.APPROVED
    assert step_status(approve, False, "x = 1", "x = 2") is StepStatus.EDITED


def test_a_later_overflow_shortens_the_new_steps_and_one_with_nothing_new_does_not():
    memory = Memory(system="s", task="t")
    for number in range(1, 4):
        memory.steps.append(step(number, "z" * 3000 + "\n"))
    assert memory.compress()
    assert not memory.compress()  # nothing new to shorten: the caller says what to change
    for number in range(4, 7):
        memory.steps.append(step(number, "z" * 3000 + "\n"))
    assert memory.compress()
    assert memory.compressed == 5
