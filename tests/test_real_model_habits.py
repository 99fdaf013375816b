"""What real models do that scripted replies used to leave out, in a real kernel: repeating a
cell, ``!pip``, typing an answer in, and failing on a column name. Replies are scripted here;
tests/test_real_model.py and ``python -m benchmarks.quality`` use real models."""

from __future__ import annotations

import pytest

from tests.support.kernel import KernelHarness
from tests.support.llm_server import ScriptedLLMServer
from tests.support.replies import code

pytestmark = pytest.mark.kernel


def last_run(kernel: KernelHarness, what: str) -> str:
    return kernel.execute(f"_r = jupyter_agents.last_run(); print({what})").stdout.strip()


def test_a_repeated_cell_does_not_run_and_the_model_is_told(
    agent_kernel: KernelHarness, script: ScriptedLLMServer
):
    failing = "rep_n = rep_n + 1 if 'rep_n' in globals() else 1\nraise ValueError('boom')"
    script.script(code(failing), code(failing), code("final_answer(rep_n)"))
    run = agent_kernel.execute("%agent --approve auto Count", timeout=60)
    assert run.result == "1", run.error_text  # the repeat did not run
    told = script.requests[2].messages[-1]["content"]
    assert "same as cell 1, which failed with ValueError, so it did not run again" in told
    assert last_run(agent_kernel, "len(_r.steps), _r.status") == "2 completed"


def test_shell_pip_is_proposed_and_run_as_the_kernels_pip(
    agent_kernel: KernelHarness, script: ScriptedLLMServer
):
    script.script(code("!pip --version"), code("final_answer(pip_seen)"))
    run = agent_kernel.start("pip_seen = 'yes'\n%agent Which pip")
    agent_kernel.button("Approve")
    assert "`!pip` was changed to `%pip`" in agent_kernel.html_text()
    agent_kernel.click("Approve")
    agent_kernel.button("Approve")
    agent_kernel.click("Approve")
    agent_kernel.wait_done(run, 60)
    assert run.result == "'yes'", run.error_text
    ran = last_run(agent_kernel, "_r.steps[0].code_run, _r.steps[0].proposed_code")
    assert ran == "%pip --version %pip --version"
    # %pip runs the kernel's own interpreter: the model sees that pip's version line.
    assert "pip " in script.requests[1].messages[-1]["content"]


def test_a_typed_in_answer_nobody_computed_is_turned_back_once(
    agent_kernel: KernelHarness, script: ScriptedLLMServer
):
    script.script(code("final_answer(7)"), code("final_answer(7)"))
    run = agent_kernel.execute("%agent --approve auto Guess", timeout=60)
    assert run.result == "7", run.error_text
    told = script.requests[1].messages[-1]["content"]
    assert "final_answer was called with 7, written into the code" in told
    assert last_run(agent_kernel, "len(_r.steps), _r.status") == "2 completed"
    assert "the model was asked to compute it first" in agent_kernel.html_text()


def test_a_typed_in_answer_that_a_cell_printed_is_taken(
    agent_kernel: KernelHarness, script: ScriptedLLMServer
):
    script.script(code("print(round(22 / 7, 4))"), code("final_answer(3.14)"))
    run = agent_kernel.execute("%agent --approve auto Pi-ish", timeout=60)
    assert run.result == "3.14", run.error_text
    assert len(script.requests) == 2


def test_a_key_error_is_followed_by_the_frames_columns(
    agent_kernel: KernelHarness, script: ScriptedLLMServer
):
    script.script(
        code(
            "import pandas as pd\n"
            "hint_df = pd.DataFrame({'Region': ['n'], 'unit_price': [1.0]})\n"
            "hint_df['region']"
        ),
        code("final_answer(len(hint_df))"),
    )
    run = agent_kernel.execute("%agent --approve auto Regions", timeout=60)
    assert run.result == "1", run.error_text
    seen = script.requests[1].messages[-1]["content"]
    assert "KeyError: 'region'" in seen
    assert "Hint:\nThe names this cell used, as they are now:\n- hint_df: DataFrame" in seen
    assert "columns: Region (" in seen
