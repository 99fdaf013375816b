"""What the model is told (context, observations, corrections) and what the user sees."""

from __future__ import annotations

import json

import pytest

from tests.support.kernel import KernelHarness
from tests.support.llm_server import ScriptedLLMServer
from tests.support.replies import code

pytestmark = pytest.mark.kernel


def captured_outputs(kernel: KernelHarness) -> list[dict]:
    return [o for w in kernel.find_widgets("OutputModel") for o in w.captured]


def auto(kernel: KernelHarness, task: str, options: str = "") -> object:
    run = kernel.execute(f"%agent --approve auto {options} {task}", timeout=90)
    assert run.status == "ok", run.error_text
    return run


def test_context_has_variables_and_recent_cells(
    agent_kernel: KernelHarness, script: ScriptedLLMServer
):
    setup = agent_kernel.execute(
        "import pandas as pd\n"
        "ctx_sales = pd.DataFrame(\n"
        "    {'date': ['2024-01-05', '2024-02-11'], 'revenue': [10.5, 20.0]}\n)\n"
        "ctx_note = 'quarterly'"
    )
    assert setup.status == "ok", setup.error_text
    script.script(code("final_answer(len(ctx_sales))"))
    run = auto(agent_kernel, "How many rows?")

    assert run.result == "2"
    task_message = script.requests[0].messages[1]["content"]
    # (The string column's dtype reads 'object' or 'str' depending on the pandas version.)
    assert "ctx_sales: DataFrame (pandas), shape (2, 2); columns: date (" in task_message
    assert "revenue (float64)" in task_message
    assert "ctx_note: str = 'quarterly'" in task_message
    assert "pd (pandas)" in task_message
    assert "ctx_note = 'quarterly'" in task_message  # the user's recent cell
    variables = task_message.split("Recent cells")[0]
    assert "10.5" not in variables  # the summary never holds the data itself
    system = script.requests[0].messages[0]["content"]
    assert "final_answer(value)" in system


def test_long_output_is_cut_to_the_budget_keeping_head_and_tail(
    agent_kernel: KernelHarness, script: ScriptedLLMServer
):
    script.script(
        code("for i in range(20000):\n    print(f'row {i:05d} ' + 'x' * 40)"),
        code("final_answer('seen')"),
    )
    agent_kernel.execute("%agent_config observation_tokens=500")
    try:
        auto(agent_kernel, "Print a lot")
    finally:
        agent_kernel.execute("%agent_config observation_tokens=1000")
    observation = script.requests[1].last_user_text
    assert "row 00000" in observation and "row 19999" in observation
    assert "characters (" in observation and "lines) cut" in observation
    assert len(observation) < 500 * 4 + 400


def test_each_prompt_repeats_the_last_until_a_compaction_the_widget_announces(
    agent_kernel: KernelHarness, script: ScriptedLLMServer
):
    """Append-only, so a prompt cache reuses it; past context_tokens, one fold, said once."""
    printing = "print('{n}' * 3500)"
    script.script(*(code(printing.format(n=n)) for n in range(1, 7)), code("final_answer(6)"))
    agent_kernel.execute("%agent_config context_tokens=5000")
    try:
        auto(agent_kernel, "Print six parts", "--max-steps 7")
    finally:
        agent_kernel.execute("%agent_config context_tokens=12000")

    calls = [request.messages for request in script.requests]
    kept = [after[: len(before)] == before for before, after in zip(calls, calls[1:], strict=False)]
    assert kept.count(False) == 1, kept  # one compaction in seven calls
    folded_at = kept.index(False) + 1
    assert "1" * 3500 in json.dumps(calls[folded_at - 1])  # step 1's output, whole until then
    assert "1" * 3500 not in json.dumps(calls[folded_at])  # then folded
    assert "Compacted the conversation: steps 1-" in agent_kernel.html_text()


def test_errors_reach_the_model_with_a_trimmed_traceback(
    agent_kernel: KernelHarness, script: ScriptedLLMServer
):
    script.script(
        code("def lookup(d):\n    return d['missing']\nlookup({})"),
        code("final_answer('fixed')"),
    )
    auto(agent_kernel, "Fail once")
    observation = script.requests[1].last_user_text
    assert "KeyError: 'missing'" in observation
    assert "return d['missing']" in observation
    assert "interactiveshell.py" not in observation  # IPython's own frames are dropped
    # The user sees the normal rich traceback under the step.
    assert any(
        o["output_type"] == "error" and o["ename"] == "KeyError"
        for o in captured_outputs(agent_kernel)
    )


def test_rich_outputs_appear_under_the_step(agent_kernel: KernelHarness, script: ScriptedLLMServer):
    script.script(
        code(
            "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3], [3, 1, 2])\nplt.title('rich')\n"
            "import pandas as pd\nfrom IPython.display import display\n"
            "display(pd.DataFrame({'a': [1, 2]}))"
        ),
        code("final_answer('plotted')"),
    )
    auto(agent_kernel, "Plot")
    kinds = {kind for o in captured_outputs(agent_kernel) for kind in o.get("data", {})}
    assert "image/png" in kinds and "text/html" in kinds
    observation = script.requests[1].last_user_text
    assert "image/png" in observation and "text/html" in observation


def test_magics_and_top_level_await_work_in_generated_code(
    agent_kernel: KernelHarness, script: ScriptedLLMServer
):
    script.script(
        code(
            "%time magic_sum = sum(range(10))\nimport asyncio\n"
            "await asyncio.sleep(0)\nprint('awaited', magic_sum)"
        ),
        code("final_answer(magic_sum)"),
    )
    run = auto(agent_kernel, "Use magics")
    assert run.result == "45"
    assert "awaited 45" in script.requests[1].last_user_text


def test_a_reply_without_code_gets_a_correction(
    agent_kernel: KernelHarness, script: ScriptedLLMServer
):
    script.script("I think we should look at the data first.", code("final_answer('corrected')"))
    run = auto(agent_kernel, "Answer")
    assert run.result == "'corrected'"
    second = script.requests[1].messages
    assert second[-2] == {
        "role": "assistant",
        "content": "I think we should look at the data first.",
    }
    assert "no ```python block, so nothing ran" in second[-1]["content"]


def test_a_proposal_over_max_proposal_chars_does_not_run_and_costs_a_step(
    agent_kernel: KernelHarness, script: ScriptedLLMServer
):
    huge = "too_big = [" + "0, " * 700 + "]"  # 2,112 characters of code
    script.script(code(huge), code("small = 1"), "The answer is 1.")
    agent_kernel.execute("%agent_config max_proposal_chars=2000")
    try:
        run = agent_kernel.execute("%agent --approve auto --max-steps 2 Fill a list", timeout=60)
    finally:
        agent_kernel.execute("%agent_config max_proposal_chars=")
    assert run.status == "ok", run.error_text
    assert run.result == "'The answer is 1.'"
    assert "too_big" not in agent_kernel.execute("print(dir())").stdout  # it never ran
    second = script.requests[1].messages
    assert second[-2]["role"] == "assistant" and len(second[-2]["content"]) <= 600
    assert second[-1]["content"].startswith(
        "Your cell had 2,112 characters of code, more than the 2,000 allowed (max_proposal_chars)"
    )
    # The oversized reply used one of the two steps: the small cell used the last one.
    assert "used all 2 steps" in script.requests[2].last_user_text
    assert "too_big" not in json.dumps(captured_outputs(agent_kernel))


def test_a_reply_of_megabytes_is_refused_and_its_preview_stays_small(
    agent_kernel: KernelHarness, script: ScriptedLLMServer
):
    """The default cap (100 kB of code) refuses a 3 MB cell; while it streams, the widget is
    sent only the latest part of it, so the kernel and the frontend are not flooded."""
    huge = "too_big = [\n" + "    12345678,\n" * 214_000 + "]"  # 3 MB of code
    script.script(code(huge), code("final_answer('smaller')"))
    script.chunk_chars = 16_384
    try:
        run = auto(agent_kernel, "Write the data out", "--max-steps 2")
    finally:
        script.chunk_chars = 8
    assert run.result == "'smaller'"
    assert script.requests[1].messages[-1]["content"].startswith("Your cell had 2,996,")
    streamed = [
        str(update["value"])
        for widget in agent_kernel.widgets.values()
        for update in widget.updates
        if "ja-streaming" in str(update.get("value", ""))
    ]
    assert any("earlier characters" in value for value in streamed)
    assert max(map(len, streamed)) < 30_000
    assert "too_big" not in agent_kernel.execute("print(dir())").stdout


def test_step_limit_asks_for_the_best_answer(
    agent_kernel: KernelHarness, script: ScriptedLLMServer
):
    script.script(code("limit_a = 1"), code("limit_b = 2"), "My best answer is 3.")
    run = auto(agent_kernel, "Never finish", "--max-steps 2")
    assert run.result == "'My best answer is 3.'"
    assert "You have used all 2 steps" in script.requests[2].last_user_text
    status = agent_kernel.execute("print(jupyter_agents.last_run().status)").stdout.strip()
    assert status == "max-steps"


def test_tokens_stream_into_the_widget(agent_kernel: KernelHarness, script: ScriptedLLMServer):
    thought = "Streaming thought " + " ".join(f"word{i}" for i in range(60))
    script.script(code("final_answer('streamed')", thought))
    script.chunk_delay = 0.02
    try:
        auto(agent_kernel, "Stream")
    finally:
        script.chunk_delay = 0.0
    streamed = [
        update["value"]
        for widget in agent_kernel.widgets.values()
        if widget.model_name == "HTMLModel"
        for update in widget.updates
        if "ja-streaming" in str(update.get("value", ""))
    ]
    # Several partial versions arrived before the reply was complete.
    partial = [
        value for value in streamed if "Streaming thought" in value and "word59" not in value
    ]
    assert len(partial) >= 2


def test_tokens_and_cost_are_counted(agent_kernel: KernelHarness, script: ScriptedLLMServer):
    script.script(code("acc_a = 1"), code("final_answer(acc_a)"))
    auto(agent_kernel, "Count tokens", "--model openai/gpt-4o-mini")
    usage = json.loads(
        agent_kernel.execute(
            "import json; u = jupyter_agents.last_run().usage\n"
            "print(json.dumps([u.prompt_tokens, u.completion_tokens, u.cost]))"
        ).stdout
    )
    # The scripted server reports prompt tokens as len(json(messages)) // 4.
    expected_prompt = sum(max(1, len(json.dumps(r.messages)) // 4) for r in script.requests)
    assert usage[0] == expected_prompt
    assert usage[1] > 0
    assert usage[2] is not None and usage[2] > 0  # litellm knows gpt-4o-mini's price
    assert "$0.0" in agent_kernel.html_text()


def test_tools_are_described_and_callable(agent_kernel: KernelHarness, script: ScriptedLLMServer):
    agent_kernel.execute(
        "def lookup_price(item: str) -> float:\n    '''Price of one item, in euros.'''\n"
        "    return {'apple': 0.5}.get(item, 1.0)"
    )
    script.script(code("final_answer(lookup_price('apple'))"))
    run = auto(agent_kernel, "Price of an apple?", "--tools lookup_price")
    assert run.result == "0.5"
    system = script.requests[0].messages[0]["content"]
    assert "lookup_price(item: str) -> float: Price of one item, in euros." in system
    bad = agent_kernel.execute("%agent --approve auto --tools no_such_tool Task")
    assert "no function named 'no_such_tool'" in bad.error_text


def test_python_api_returns_steps(agent_kernel: KernelHarness, script: ScriptedLLMServer):
    script.script(code("api_v = 3", "Set it."), code("final_answer(api_v + 1)"))
    run = agent_kernel.execute(
        "api_result = await jupyter_agents.Agent(approve='auto', max_steps=5).run('API task')\n"
        "first = api_result.steps[0]\n"
        "print(api_result.answer, api_result.status, len(api_result.steps))\n"
        "print(first.proposed_code, '|', first.code_run, '|', first.status, '|', first.thought)\n"
        "print(first.usage.prompt_tokens > 0, first.timings.execution_seconds >= 0,\n"
        "      'Cell 1 ran' in first.feedback())",
        timeout=90,
    )
    assert run.status == "ok", run.error_text
    lines = run.stdout.strip().splitlines()
    assert lines[0] == "4 completed 2"
    assert lines[1] == "api_v = 3 | api_v = 3 | auto | Set it."
    assert lines[2] == "True True True"


def test_replies_without_code_use_the_step_budget_then_the_best_answer_ends_the_run(
    agent_kernel: KernelHarness, script: ScriptedLLMServer
):
    """Prose never ends a run with an error while steps are left: each reply without code
    costs a step and gets a correction; at the limit the model's best answer is the result."""
    script.script("Let me think.", "Still thinking.", "The answer is probably 4.")
    run = agent_kernel.execute("%agent --approve auto --max-steps 2 Think", timeout=60)
    assert run.status == "ok", run.error_text
    assert run.result == "'The answer is probably 4.'"
    status = agent_kernel.execute("print(jupyter_agents.last_run().status)").stdout.strip()
    assert status == "max-steps"
    # Nothing had run yet, so the correction asks for the code for the task.
    correction = script.requests[1].messages[-1]["content"]
    assert correction.startswith("Your reply had no ```python block")
    assert "Write the code for the task." in correction
    assert "used all 2 steps" in script.requests[2].messages[-1]["content"]
    assert len(script.requests) == 3


def test_prose_stating_what_a_cell_showed_is_the_answer_after_one_correction(
    agent_kernel: KernelHarness, script: ScriptedLLMServer
):
    """After a cell printed 42, "The answer is 42." twice (once past a correction) ends the
    run as answered without code; prose with a number no cell showed gets corrected again."""
    script.script(
        code("print(6 * 7)"),
        "The answer is 41.",
        "The answer is 41, I am sure.",
        "The answer is 42.",
    )
    run = agent_kernel.execute("%agent --approve auto Compute it", timeout=60)
    assert run.status == "ok", run.error_text
    assert run.result == "'The answer is 42.'"
    corrections = [r.messages[-1]["content"] for r in script.requests[2:]]
    assert "If the cells so far answer the task" in corrections[0]
    assert corrections[0] == corrections[1]  # 41 was never shown: no answer, corrected again
    printed = agent_kernel.execute(
        "r = jupyter_agents.last_run(); print(r.status, len(r.steps))"
    ).stdout.strip()
    assert printed == "answered-without-code 1"
    assert "Answered without code" in agent_kernel.html_text()


def test_model_kwargs_reach_litellm(agent_kernel: KernelHarness, script: ScriptedLLMServer):
    script.script(code("final_answer('tuned')"))
    run = agent_kernel.execute(
        "r = await jupyter_agents.Agent(approve='auto', model_kwargs={'temperature': 0}).run('x')\n"
        "print(r.answer)",
        timeout=60,
    )
    assert run.stdout.strip() == "tuned", run.error_text
    assert script.requests[0].body["temperature"] == 0


def test_many_displays_stay_within_the_budget(
    agent_kernel: KernelHarness, script: ScriptedLLMServer
):
    script.script(
        code("from IPython.display import display\nfor i in range(3000):\n    display(i)"),
        code("final_answer('shown')"),
    )
    auto(agent_kernel, "Display a lot")
    observation = script.requests[1].last_user_text
    assert "and 2,980 more" in observation
    assert len(observation) < 2000 * 4 + 400


def test_secrets_in_variables_and_cells_are_not_sent(
    agent_kernel: KernelHarness, script: ScriptedLLMServer
):
    agent_kernel.execute(
        "import os\nos.environ['SERVICE_TOKEN'] = 'tok-very-secret-123'\n"
        "backup_api_key = 'sk-proj-abcdefghijklmnopqrstuvwxyz0123'"
    )
    script.script(code("print(os.environ['SERVICE_TOKEN'])"), code("final_answer('done')"))
    auto(agent_kernel, "Check the service")
    sent = str(script.requests[0].messages) + str(script.requests[1].messages)
    assert "tok-very-secret-123" not in sent and "sk-proj-abcdefghij" not in sent
    assert "backup_api_key: str (value hidden" in sent and "[redacted]" in sent
