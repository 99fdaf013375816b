"""Time limits on agent cells, in a real kernel: interrupted as the stop button does, the
kernel survives, the model is told, and the run goes on."""

from __future__ import annotations

import pytest

from tests.support.kernel import KernelHarness
from tests.support.llm_server import ScriptedLLMServer
from tests.support.replies import code

pytestmark = pytest.mark.kernel

TOLD = "The cell ran longer than its time limit (1 s) and was interrupted"


def printed(kernel: KernelHarness, expression: str) -> str:
    run = kernel.execute(f"print({expression})")
    assert run.status == "ok", run.error_text
    return run.stdout.strip()


def last_steps(kernel: KernelHarness) -> str:
    return printed(
        kernel,
        "[(str(s.status), s.error, s.timed_out_after) for s in jupyter_agents.last_run().steps]",
    )


def test_an_endless_loop_is_interrupted_and_the_run_goes_on(
    agent_kernel: KernelHarness, script: ScriptedLLMServer
):
    script.script(
        code("loop_undone = 'assigned before the loop'\nwhile True:\n    pass", "Loop."),
        code("final_answer('loop_undone' in globals())", "Something else."),
    )
    run = agent_kernel.execute("%agent --approve auto --cell-timeout 1 Spin", timeout=60)

    assert run.status == "ok", run.error_text
    assert run.result == "False"  # the cell did not complete, so its assignment was undone
    told = script.requests[1].last_user_text
    assert TOLD in told and "CellTimeout" in told and "while True" in told
    assert "Its assignments were undone (loop_undone)" in told
    assert "time_limit.py" not in told  # the model sees the cell's frames, not ours
    assert last_steps(agent_kernel) == "[('auto', 'CellTimeout', 1.0), ('auto', None, None)]"
    assert printed(agent_kernel, "jupyter_agents.last_run().status") == "completed"
    assert "interrupted at its time limit (1 s)" in agent_kernel.html_text()
    assert printed(agent_kernel, "6 * 7") == "42"  # the kernel still answers


def test_an_endless_await_loop_is_interrupted_and_awaiting_still_works(
    agent_kernel: KernelHarness, script: ScriptedLLMServer
):
    agent_kernel.execute("%agent_config cell_timeout=1")
    try:
        script.script(
            code("import asyncio\nwhile True:\n    await asyncio.sleep(0.05)", "Wait."),
            code(
                "import asyncio\nawait asyncio.sleep(0.01)\nfinal_answer('awaited again')",
                "Go on.",
            ),
        )
        run = agent_kernel.execute("%agent --approve auto Wait forever", timeout=60)
    finally:
        agent_kernel.execute("%agent_config cell_timeout=")

    assert run.status == "ok", run.error_text
    assert run.result == "'awaited again'"
    assert TOLD in script.requests[1].last_user_text
    assert last_steps(agent_kernel) == "[('auto', 'CellTimeout', 1.0), ('auto', None, None)]"
    assert printed(agent_kernel, "'kernel alive'") == "kernel alive"


def test_a_blocking_call_is_cut_short(agent_kernel: KernelHarness, script: ScriptedLLMServer):
    # Like the stop button's signal, the time limit wakes a thread blocked in a sleep.
    script.script(code("import time\ntime.sleep(600)"), code("final_answer('woke')"))
    run = agent_kernel.execute("%agent --approve auto --cell-timeout 1 Sleep", timeout=60)
    assert run.result == "'woke'"
    assert TOLD in script.requests[1].last_user_text


def test_a_cell_that_catches_the_interrupt_is_interrupted_again(
    agent_kernel: KernelHarness, script: ScriptedLLMServer
):
    stubborn = (
        "try:\n    while True:\n        pass\nexcept KeyboardInterrupt:\n"
        "    print('caught it once', flush=True)\nwhile True:\n    pass"
    )
    script.script(code(stubborn), code("final_answer('second time')"))
    run = agent_kernel.execute("%agent --approve auto --cell-timeout 1 Resist", timeout=60)
    assert run.result == "'second time'"
    told = script.requests[1].last_user_text
    assert TOLD in told and "caught it once" in told


def test_the_stop_button_still_ends_the_run(agent_kernel: KernelHarness, script: ScriptedLLMServer):
    script.script(
        code("print('spinning', flush=True)\nwhile True:\n    pass"),
        code("final_answer('never')"),
    )
    older = set(agent_kernel.widgets)
    run = agent_kernel.start("%agent --approve auto --cell-timeout 300 Spin")
    agent_kernel.wait_for(
        lambda: any(
            "spinning" in o.get("text", "")
            for w in agent_kernel.find_widgets("OutputModel")
            if w.comm_id not in older
            for o in w.captured
        ),
        30,
        "the cell to start",
    )
    agent_kernel.interrupt()
    agent_kernel.wait_done(run, 30)

    assert run.status == "error" and "RunInterrupted" in run.error_text
    assert len(script.requests) == 1  # the user's interrupt ends the run; no next step
    assert printed(agent_kernel, "jupyter_agents.last_run().status") == "interrupted"
