"""Prompt size and context discipline, measured with litellm's offline tokenizer."""

import asyncio

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
        observation=Observation(stdout=printed).render(2000),
        execution_count=number,
    )


def prompt_sizes(output_kb: int) -> dict[int, int]:
    printed = ("row, value\n" * 100_000)[: output_kb * 1000]
    memory = Memory(system=system_prompt(), task="Task: analyse")
    sizes = {}
    for number in range(1, 31):
        memory.steps.append(step(number, printed))
        if number in (1, 10, 30):
            sizes[number] = litellm.token_counter(
                model=TOKENIZER_MODEL, messages=memory.to_messages()
            )
    return sizes


def test_prompt_at_step_30_does_not_grow_with_output_size():
    """Old observations are cut, so the prompt grows with steps, not with what cells print."""
    small, large = prompt_sizes(10), prompt_sizes(100)
    assert abs(large[30] - small[30]) < 0.01 * small[30]  # 10x the output, same prompt
    # Steps 10 -> 30 are 20 older steps: each costs a short summary, not a full observation.
    assert (large[30] - large[10]) / 20 < 300


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
