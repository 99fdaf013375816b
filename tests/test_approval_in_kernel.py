"""The approval widget in a real kernel: buttons clicked with the messages a browser sends.

Each test scripts the model's replies on the loopback server, starts ``%agent`` in the shared
kernel, decides through the widget, and checks the kernel's namespace, the cell's outputs and
what the model was told.
"""

from __future__ import annotations

import ast

import pytest

from tests.support.kernel import KernelHarness
from tests.support.llm_server import ScriptedLLMServer
from tests.support.replies import code

pytestmark = pytest.mark.kernel

REASON = "Reason (optional, sent to the model)"


def value_of(kernel: KernelHarness, expression: str) -> str:
    run = kernel.execute(f"print(repr({expression}))")
    assert run.status == "ok", run.error_text
    return run.stdout.strip()


def test_approved_code_runs_in_user_namespace(
    agent_kernel: KernelHarness, script: ScriptedLLMServer
):
    script.script(
        code("approved_x = 21 * 2\nprint('approved_x is', approved_x)", "Compute it."),
        code("final_answer(approved_x)"),
    )
    run = agent_kernel.start("%agent Compute approved_x")
    agent_kernel.click("Approve")
    agent_kernel.click("Approve")
    agent_kernel.wait_done(run)

    assert run.status == "ok", run.error_text
    assert run.result == "42"  # the final answer is the cell's execute_result
    assert run.stderr == ""  # no warnings or library noise in the user's cell
    assert value_of(agent_kernel, "approved_x") == "42"
    # The approved cells are in the kernel's history, as if the user had typed them.
    history = value_of(agent_kernel, "[c for c in In if 'approved_x' in c]")
    assert "approved_x = 21 * 2" in history
    # The model saw the output of its cell.
    assert "approved_x is 42" in script.requests[1].last_user_text
    # The output appeared under the step (captured by the step's Output widget).
    captured = [o for w in agent_kernel.find_widgets("OutputModel") for o in w.captured]
    assert any("approved_x is 42" in o.get("text", "") for o in captured)


def test_edited_code_runs_instead_of_the_proposal(
    agent_kernel: KernelHarness, script: ScriptedLLMServer
):
    script.script(code("edited_y = 1"), code("final_answer(edited_y)"))
    run = agent_kernel.start("%agent Set edited_y")
    agent_kernel.click("Edit", acknowledged=False)
    editor = agent_kernel.widget("TextareaModel", value="edited_y = 1")
    agent_kernel.set_state(editor, value="edited_y = 2  # my edit")
    agent_kernel.click("Approve")
    agent_kernel.click("Approve")
    agent_kernel.wait_done(run)

    assert run.status == "ok", run.error_text
    assert value_of(agent_kernel, "edited_y") == "2"
    told = script.requests[1].last_user_text
    assert "edited your cell" in told and "edited_y = 2  # my edit" in told


def test_rejected_code_does_not_run_and_the_reason_reaches_the_model(
    agent_kernel: KernelHarness, script: ScriptedLLMServer
):
    script.script(
        code("rejected_marker = 'ran'"),
        code("safe_z = 'safe'\nfinal_answer(safe_z)"),
    )
    run = agent_kernel.start("%agent Do something")
    reason = agent_kernel.widget("TextModel", disabled=False, placeholder=REASON)
    agent_kernel.set_state(reason, value="Please do not touch that variable")
    agent_kernel.click("Reject")
    agent_kernel.click("Approve")
    agent_kernel.wait_done(run)

    assert run.status == "ok", run.error_text
    assert run.result == "'safe'"
    assert value_of(agent_kernel, "'rejected_marker' in globals()") == "False"
    told = script.requests[1].last_user_text
    assert "rejected" in told and "Please do not touch that variable" in told


def test_stop_ends_the_run_and_the_kernel_stays_usable(
    agent_kernel: KernelHarness, script: ScriptedLLMServer
):
    script.script(code("stop_marker = 1"))
    run = agent_kernel.start("%agent Something long")
    agent_kernel.button("Approve")
    agent_kernel.click("Stop")
    agent_kernel.wait_done(run)

    assert run.status == "ok"
    assert run.result is None  # stopped: no final answer
    assert "Stopped by you" in agent_kernel.html_text()
    assert value_of(agent_kernel, "'stop_marker' in globals()") == "False"
    assert value_of(agent_kernel, "1 + 1") == "2"
    assert value_of(agent_kernel, "jupyter_agents.last_run().status.value") == "'stopped'"


def test_approve_all_runs_the_rest_without_asking(
    agent_kernel: KernelHarness, script: ScriptedLLMServer
):
    script.script(code("all_a = 1"), code("all_b = all_a + 1"), code("final_answer(all_b)"))
    run = agent_kernel.start("%agent Count")
    agent_kernel.click("Approve all")
    agent_kernel.wait_done(run)

    assert run.status == "ok", run.error_text
    assert run.result == "2"
    statuses = value_of(agent_kernel, "[str(s.status) for s in jupyter_agents.last_run().steps]")
    assert statuses == "['approved', 'auto', 'auto']"


def test_auto_policy_needs_no_clicks(agent_kernel: KernelHarness, script: ScriptedLLMServer):
    script.script(code("auto_v = sum(range(5))"), code("final_answer(auto_v * 2)"))
    run = agent_kernel.execute("%agent --approve auto Sum things", timeout=60)

    assert run.status == "ok", run.error_text
    assert run.result == "20"
    assert run.stderr == ""
    assert not agent_kernel.find_widgets("ButtonModel", description="Approve")


def test_final_answer_cannot_be_swallowed_by_except_exception(
    agent_kernel: KernelHarness, script: ScriptedLLMServer
):
    script.script(
        code(
            "try:\n    final_answer('kept')\nexcept Exception:\n    print('swallowed')\n"
            "print('after')"
        )
    )
    run = agent_kernel.execute("%agent --approve auto Answer", timeout=60)

    assert run.status == "ok", run.error_text
    assert run.result == "'kept'"
    captured = [o for w in agent_kernel.find_widgets("OutputModel") for o in w.captured]
    assert not any(
        "swallowed" in o.get("text", "") or "after" in o.get("text", "") for o in captured
    )


def test_a_cell_ended_by_final_answer_is_not_kept_as_an_error(
    agent_kernel: KernelHarness, script: ScriptedLLMServer
):
    """IPython keeps a formatted traceback of each cell that raised (costly to build); the
    end of a turn is not an error, so the cell counts as succeeded. A real error is kept."""
    script.script(code("1 / 0"), code("final_answer('done')"))
    run = agent_kernel.execute("%agent --approve auto Answer", timeout=60)
    assert run.status == "ok" and run.result == "'done'", run.error_text

    stored = value_of(
        agent_kernel, "[e['ename'] for e in get_ipython().history_manager.exceptions.values()]"
    )
    names = ast.literal_eval(stored)
    assert names[-1] == "ZeroDivisionError" and "FinalAnswer" not in names


def test_cell_magic_takes_the_task_from_the_body(
    agent_kernel: KernelHarness, script: ScriptedLLMServer
):
    script.script(code("final_answer('ok')"))
    run = agent_kernel.execute(
        '%%agent --approve auto\nSummarize the data.\nUse the column "order date", it\'s clean.',
        timeout=60,
    )
    assert run.status == "ok", run.error_text
    task_message = script.requests[0].messages[1]["content"]
    assert 'Summarize the data.\nUse the column "order date", it\'s clean.' in task_message


def test_two_runs_at_once_get_a_clear_error(agent_kernel: KernelHarness, script: ScriptedLLMServer):
    # The agent's own cell starts a second run in the same kernel while the first is active.
    script.script(
        code("nested = jupyter_agents.Agent(approve='auto')\nawait nested.run('inner task')"),
        code("final_answer('outer done')"),
    )
    run = agent_kernel.execute("%agent --approve auto Outer task", timeout=60)

    assert run.status == "ok", run.error_text
    assert run.result == "'outer done'"
    told = script.requests[1].last_user_text
    assert "RunAlreadyActive" in told and "another agent run is active" in told


def test_run_all_queued_cells_wait_and_clicks_still_arrive(
    agent_kernel: KernelHarness, script: ScriptedLLMServer
):
    """As with JupyterLab's Run All: the next cell is queued behind the running agent cell."""
    script.script(code("queued_q = 5"), code("final_answer(queued_q)"))
    run = agent_kernel.start("%agent Set queued_q")
    queued = agent_kernel.start("print('queued sees', queued_q)")
    agent_kernel.click("Approve")
    agent_kernel.click("Approve")
    agent_kernel.wait_done(run)
    agent_kernel.wait_done(queued)
    assert run.result == "5"
    assert queued.stdout == "queued sees 5\n"


def test_discard_edit_runs_the_original_proposal(
    agent_kernel: KernelHarness, script: ScriptedLLMServer
):
    script.script(code("discard_v = 'original'"), code("final_answer(discard_v)"))
    run = agent_kernel.start("%agent Set discard_v")
    agent_kernel.click("Edit", acknowledged=False)
    editor = agent_kernel.widget("TextareaModel", value="discard_v = 'original'")
    agent_kernel.set_state(editor, value="discard_v = 'edited'")
    agent_kernel.click("Discard edit", acknowledged=False)
    agent_kernel.click("Approve")
    agent_kernel.click("Approve")
    agent_kernel.wait_done(run)
    assert run.result == "'original'"
    assert "edited your cell" not in script.requests[1].last_user_text


def test_model_text_is_escaped_never_rendered_as_html(
    agent_kernel: KernelHarness, script: ScriptedLLMServer
):
    script.script(
        code("final_answer('<b>x</b>')", "<img src=x onerror=alert(1)> <script>alert(2)</script>")
    )
    run = agent_kernel.execute("%agent --approve auto <i>task</i>", timeout=60)
    assert run.status == "ok", run.error_text
    html = agent_kernel.html_text()
    assert "<img" not in html and "<script>" not in html and "<i>task" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and "&lt;i&gt;task&lt;/i&gt;" in html


def test_assignment_form_and_help(agent_kernel: KernelHarness, script: ScriptedLLMServer):
    script.script(code("final_answer(6 * 7)"))
    run = agent_kernel.execute("stored_answer = %agent --approve auto What is 6 * 7?", timeout=60)
    assert run.status == "ok", run.error_text
    assert agent_kernel.execute("print(stored_answer)").stdout.strip() == "42"
    usage = agent_kernel.execute("%agent --help")
    assert usage.status == "ok", usage.error_text
    assert usage.stdout.startswith("Usage:  %agent [options] TASK")
    assert "--approve each|auto" in usage.stdout
    crew_usage = agent_kernel.execute("%crew -h")
    assert crew_usage.status == "ok", crew_usage.error_text
    assert "process: sequential" in crew_usage.stdout


def test_the_reason_box_is_emptied_after_each_decision(
    agent_kernel: KernelHarness, script: ScriptedLLMServer
):
    script.script(code("reason_a = 1"), code("reason_b = 2"), code("final_answer('ok')"))
    run = agent_kernel.start("%agent Reasons")
    reason = agent_kernel.widget("TextModel", disabled=False, placeholder=REASON)
    agent_kernel.set_state(reason, value="typed, then changed my mind")
    agent_kernel.click("Approve")
    agent_kernel.click("Reject")  # step 2, without typing a reason
    agent_kernel.click("Approve")
    agent_kernel.wait_done(run)
    told = script.requests[2].last_user_text
    assert "No reason was given." in told and "changed my mind" not in told


def test_task_text_is_not_expanded_by_ipython(
    agent_kernel: KernelHarness, script: ScriptedLLMServer
):
    agent_kernel.execute("region = 'EMEA'; USD = 1.1")
    script.script(code("final_answer('ok')"))
    agent_kernel.execute("%agent --approve auto Sum sales by {region} in $USD", timeout=60)
    assert "Task: Sum sales by {region} in $USD" in script.requests[0].messages[1]["content"]


def test_a_user_variable_named_final_answer_is_explained(
    agent_kernel: KernelHarness, script: ScriptedLLMServer
):
    agent_kernel.execute("final_answer_backup = final_answer; final_answer = 'my draft'")
    try:
        run = agent_kernel.execute("%agent --approve auto Anything", timeout=60)
        assert run.status == "error"
        assert "`final_answer` in your namespace is a str" in run.error_text
        assert script.requests == []
    finally:
        agent_kernel.execute("final_answer = final_answer_backup")
