"""Ending badly, cleanly: interrupts, model failures, missing setup, no widget frontend."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from tests.conftest import PREPARE, start_kernel
from tests.support.kernel import KernelHarness
from tests.support.llm_server import Fault, ScriptedLLMServer
from tests.support.replies import code

pytestmark = pytest.mark.kernel


def one_line_error(run) -> str:
    """The error output's text, asserting it is a single line (no traceback)."""
    assert run.status == "error", run.outputs
    assert run.error is not None, run.outputs
    lines = [line for line in "\n".join(run.error["traceback"]).splitlines() if line.strip()]
    assert len(lines) == 1, lines
    return lines[0]


def wait_for_output(kernel: KernelHarness, text: str, older: set[str]) -> None:
    """Wait for ``text`` in a step output widget that is not one of the ``older`` widgets."""
    kernel.wait_for(
        lambda: any(
            text in o.get("text", "")
            for w in kernel.find_widgets("OutputModel")
            if w.comm_id not in older
            for o in w.captured
        ),
        30,
        f"{text!r} in a step's output",
    )


def test_interrupt_while_waiting_for_approval(
    agent_kernel: KernelHarness, script: ScriptedLLMServer
):
    script.script(code("interrupt_wait = 1"))
    run = agent_kernel.start("%agent Wait for me")
    agent_kernel.button("Approve")
    agent_kernel.interrupt()
    agent_kernel.wait_done(run, 30)

    message = one_line_error(run)
    assert "RunInterrupted" in message and "at step 1; 0 earlier cell(s) completed" in message
    assert agent_kernel.execute("print(1 + 1)").stdout.strip() == "2"
    assert agent_kernel.execute("print('interrupt_wait' in globals())").stdout.strip() == "False"


def test_interrupt_stops_a_synchronous_cell(agent_kernel: KernelHarness, script: ScriptedLLMServer):
    script.script(
        code("sync_done = 'first'"),
        code("import time\nprint('looping', flush=True)\nwhile True:\n    time.sleep(0.05)"),
    )
    older = set(agent_kernel.widgets)
    run = agent_kernel.start("%agent --approve auto Loop forever")
    wait_for_output(agent_kernel, "looping", older)
    while_looping = agent_kernel.html_text()
    agent_kernel.interrupt()
    agent_kernel.wait_done(run, 30)

    # While it looped, the widget said what Stop can and cannot do about it.
    assert "interrupt button (■) cuts the cell short" in while_looping

    message = one_line_error(run)
    assert "RunInterrupted" in message and "at step 2; 1 earlier cell(s) completed" in message
    # The completed cell's work is kept and the kernel is usable.
    assert agent_kernel.execute("print(sync_done)").stdout.strip() == "first"
    status = agent_kernel.execute("print(jupyter_agents.last_run().status)").stdout.strip()
    assert status == "interrupted"


def test_model_errors_are_retried_then_reported_in_one_line(
    agent_kernel: KernelHarness, script: ScriptedLLMServer
):
    # model_retries=1 in this kernel: two attempts, then a clear error naming provider and status.
    script.script(Fault(status=500), Fault(status=500))
    run = agent_kernel.execute("%agent --approve auto Anything", timeout=60)

    message = one_line_error(run)
    assert "ModelCallFailed" in message
    assert "openai" in message and "500" in message and "after 2 attempts" in message
    assert len(script.requests) == 2
    assert "Failed:" in agent_kernel.html_text()


def test_rate_limit_then_success(agent_kernel: KernelHarness, script: ScriptedLLMServer):
    script.script(Fault(status=429, retry_after=0), code("final_answer('after retry')"))
    run = agent_kernel.execute("%agent --approve auto Anything", timeout=60)

    assert run.status == "ok", run.error_text
    assert run.result == "'after retry'"
    assert len(script.requests) == 2


TOO_LONG = Fault(
    status=400,
    message="This model's maximum context length is 8192 tokens. However, your messages "
    "resulted in 9100 tokens. Please reduce the length of the messages.",
)


def test_a_context_overflow_shortens_older_steps_once_and_retries(
    agent_kernel: KernelHarness, script: ScriptedLLMServer
):
    # About 5 kB per step; each cell differs (the same cell twice in a row would not run).
    long_prints = [code(f"print('overflow-row-{n}\\n' * 400)") for n in range(4)]
    script.script(*long_prints, TOO_LONG, code("final_answer('fits')"))
    run = agent_kernel.execute("%agent --approve auto Print a lot", timeout=90)

    assert run.status == "ok", run.error_text
    assert run.result == "'fits'"
    overflowed, retried = script.requests[4], script.requests[5]
    assert len(json.dumps(retried.messages)) < len(json.dumps(overflowed.messages)) - 3000
    assert retried.messages[-1] == overflowed.messages[-1]  # the newest step stays whole
    assert "shortened the older steps" in agent_kernel.html_text()


def test_an_overflow_with_nothing_left_to_shorten_fails_clearly(
    agent_kernel: KernelHarness, script: ScriptedLLMServer
):
    script.script(TOO_LONG, TOO_LONG)
    run = agent_kernel.execute("%agent --approve auto Anything", timeout=60)

    message = one_line_error(run)
    assert "ContextOverflow" in message and "context window exceeded" in message
    assert "lower context_tokens or observation_tokens" in message
    assert len(script.requests) == 1  # no steps to shorten: the same prompt is not sent again


def test_a_cut_stream_is_never_executed(agent_kernel: KernelHarness, script: ScriptedLLMServer):
    cut = code("cut_marker = 'partial'\nprint('should never run')")
    script.script(Fault(cut_after=len(cut) - 10, then=cut), code("final_answer('whole')"))
    run = agent_kernel.execute("%agent --approve auto Anything", timeout=60)

    assert run.status == "ok", run.error_text
    assert run.result == "'whole'"
    assert agent_kernel.execute("print('cut_marker' in globals())").stdout.strip() == "False"


def test_a_reply_cut_at_the_output_limit_is_never_executed(
    agent_kernel: KernelHarness, script: ScriptedLLMServer
):
    # The stream ends normally, but the model says it stopped at its token limit: the code is
    # a fragment (the line meant to follow the first is lost), so it must not run, even auto.
    cut = "Clean up.\n```python\ncut_len_marker = 'fragment'\n" + "# step\n" * 2000
    script.script(Fault(then=cut, finish_reason="length"), code("final_answer('short')"))
    run = agent_kernel.execute("%agent --approve auto Anything", timeout=60)

    assert run.status == "ok", run.error_text
    assert run.result == "'short'"
    assert agent_kernel.execute("print('cut_len_marker' in globals())").stdout.strip() == "False"
    retry = script.requests[1].messages
    # The cut reply is re-sent only as a short head and tail: it is not worth its tokens.
    assert retry[-2]["role"] == "assistant" and len(retry[-2]["content"]) <= 600
    assert retry[-2]["content"].startswith("Clean up.")
    assert "cut off at the output token limit" in retry[-1]["content"]


def test_no_model_error_names_every_way_to_set_one(llm: ScriptedLLMServer, tmp_path: Path):
    kernel = start_kernel(llm, tmp_path)
    try:
        run = kernel.execute("%load_ext jupyter_agents\n")
        run = kernel.execute("%agent Do something")
        message = one_line_error(run)
        for way in ("--model", "%agent_config", "c.JupyterAgents.model", "JUPYTER_AGENTS_MODEL"):
            assert way in message
    finally:
        kernel.shutdown()


def test_settings_resolution_order(
    llm: ScriptedLLMServer, script: ScriptedLLMServer, tmp_path: Path
):
    profile = tmp_path / "ipython" / "profile_default"
    profile.mkdir(parents=True)
    (profile / "ipython_kernel_config.py").write_text(
        "c.JupyterAgents.model = 'openai/from-config'\nc.JupyterAgents.max_steps = 4\n"
    )
    kernel = start_kernel(llm, tmp_path, JUPYTER_AGENTS_MODEL="openai/from-env")
    try:
        shown = kernel.execute("%load_ext jupyter_agents\n%agent_config").stdout
        # config beats env: the model's line names its source
        assert re.search(r"model\s+openai/from-config\s+config$", shown, re.MULTILINE), shown
        assert "max_steps          4" in shown

        script.script(
            code("final_answer('a')"), code("final_answer('b')"), code("final_answer('c')")
        )
        kernel.execute("%agent --approve auto one", timeout=60)
        kernel.execute("%agent_config model=openai/from-magic")
        kernel.execute("%agent --approve auto two", timeout=60)
        kernel.execute("%agent --approve auto --model openai/from-option three", timeout=60)
        assert [r.body["model"] for r in script.requests] == [
            "from-config",
            "from-magic",
            "from-option",
        ]

        reset = kernel.execute("%agent_config --reset").stdout
        assert "openai/from-config" in reset
        bad = kernel.execute("%agent_config max_steps=zero")
        assert "InvalidOption" in one_line_error(bad)
    finally:
        kernel.shutdown()


def test_ipython_config_py_is_read_too(llm: ScriptedLLMServer, tmp_path: Path):
    profile = tmp_path / "ipython" / "profile_default"
    profile.mkdir(parents=True)
    (profile / "ipython_config.py").write_text(
        "c.JupyterAgents.model = 'openai/from-ipython-config'\n"
    )
    kernel = start_kernel(llm, tmp_path)
    try:
        shown = kernel.execute("%load_ext jupyter_agents\n%agent_config").stdout
        assert "openai/from-ipython-config" in shown
    finally:
        kernel.shutdown()


def test_env_var_sets_the_model(llm: ScriptedLLMServer, tmp_path: Path):
    kernel = start_kernel(llm, tmp_path, JUPYTER_AGENTS_MODEL="openai/from-env")
    try:
        shown = kernel.execute("%load_ext jupyter_agents\n%agent_config").stdout
        assert "openai/from-env" in shown and "$JUPYTER_AGENTS_MODEL" in shown
    finally:
        kernel.shutdown()


def test_without_a_widget_frontend_approval_fails_fast(
    llm: ScriptedLLMServer, script: ScriptedLLMServer, tmp_path: Path
):
    """Like plain nbclient: nothing answers widgets, so nothing could ever click Approve."""
    kernel = start_kernel(llm, tmp_path, widget_frontend=False)
    try:
        assert (
            kernel.execute(PREPARE + "%agent_config frontend_timeout=1", timeout=120).status == "ok"
        )
        script.script(code("final_answer('headless')"))
        started = time.monotonic()
        run = kernel.execute("%agent Needs approval", timeout=30)
        assert time.monotonic() - started < 15  # fails fast, never waits for a click
        message = one_line_error(run)
        assert "ApprovalUnavailable" in message and "--approve auto" in message
        assert script.requests == []  # nothing was asked of the model

        # With --approve auto the run works and leaves a plain, readable record in the cell.
        run = kernel.execute("%agent --approve auto Run headless", timeout=60)
        assert run.status == "ok", run.error_text
        assert run.result == "'headless'"
        assert "Step 1 of 10" in run.stdout
        assert any("final_answer" in str(o.get("data", {})) for o in run.outputs)
    finally:
        kernel.shutdown()


def test_load_ext_in_the_same_cell_as_agent_explains_itself(llm: ScriptedLLMServer, tmp_path: Path):
    kernel = start_kernel(llm, tmp_path, JUPYTER_AGENTS_PRELOAD="0")
    try:
        run = kernel.execute("%load_ext jupyter_agents\n%agent --model openai/x Do it")
        # IPython shows a UsageError as one line on stderr, and the cell fails.
        assert run.status == "error"
        assert run.stderr.startswith("UsageError:") and "not in the same cell" in run.stderr
        assert len(run.stderr.strip().splitlines()) == 1
        # Loading the extension itself imports neither litellm nor ipywidgets (they cost
        # seconds): with the background import off (tests/test_preload_in_kernel.py), neither
        # is there after it.
        loaded = kernel.execute(
            "import sys; print('litellm' in sys.modules, 'ipywidgets' in sys.modules)"
        )
        assert loaded.stdout.strip() == "False False"
    finally:
        kernel.shutdown()


SLEEPY = "import asyncio\nprint('sleeping', flush=True)\nawait asyncio.sleep(30)"


def test_interrupt_stops_an_awaiting_cell(agent_kernel: KernelHarness, script: ScriptedLLMServer):
    script.script(code(SLEEPY), code("never_asked = 1"), code("final_answer('never')"))
    older = set(agent_kernel.widgets)
    run = agent_kernel.start("%agent --approve auto Sleep")
    wait_for_output(agent_kernel, "sleeping", older)
    agent_kernel.interrupt()
    agent_kernel.wait_done(run, 30)

    message = one_line_error(run)
    assert "RunInterrupted" in message and "at step 1" in message
    assert len(script.requests) == 1  # the model was not asked again
    assert (
        agent_kernel.execute("print(jupyter_agents.last_run().status)").stdout.strip()
        == "interrupted"
    )


def test_stop_ends_an_auto_run_while_a_cell_awaits(
    agent_kernel: KernelHarness, script: ScriptedLLMServer
):
    script.script(code(SLEEPY), code("never_asked = 1"), code("final_answer('never')"))
    older = set(agent_kernel.widgets)
    run = agent_kernel.start("%agent --approve auto Sleep")
    wait_for_output(agent_kernel, "sleeping", older)
    agent_kernel.click("Stop")
    agent_kernel.wait_done(run, 30)

    assert run.status == "ok" and run.result is None
    assert len(script.requests) == 1
    assert "Stopped by you" in agent_kernel.html_text()
    assert agent_kernel.execute("print('never_asked' in globals())").stdout.strip() == "False"


def test_stop_while_the_reply_streams(agent_kernel: KernelHarness, script: ScriptedLLMServer):
    script.script(code("streamed_then_stopped = 1", "Thinking " + "slowly " * 80))
    script.chunk_delay = 0.05
    try:
        run = agent_kernel.start("%agent --approve auto Take your time")
        agent_kernel.wait_for(
            lambda: "Thinking slowly" in agent_kernel.html_text(), 30, "streaming"
        )
        agent_kernel.click("Stop")
        agent_kernel.wait_done(run, 30)
    finally:
        script.chunk_delay = 0.0
    assert run.status == "ok" and run.result is None
    assert (
        agent_kernel.execute("print('streamed_then_stopped' in globals())").stdout.strip()
        == "False"
    )


def test_interrupt_during_the_frontend_check(llm: ScriptedLLMServer, tmp_path: Path):
    kernel = start_kernel(llm, tmp_path, widget_frontend=False)
    try:
        kernel.execute(PREPARE + "%agent_config frontend_timeout=20", timeout=120)
        run = kernel.start("%agent Anything")
        time.sleep(2)
        kernel.interrupt()
        kernel.wait_done(run, 30)
        assert "RunInterrupted" in one_line_error(run)
        status = kernel.execute("print(jupyter_agents.last_run().status)").stdout.strip()
        assert status == "interrupted"
    finally:
        kernel.shutdown()


def test_an_agent_cell_that_does_not_tokenize_does_not_break_the_agent_cells_result(
    agent_kernel: KernelHarness, script: ScriptedLLMServer
):
    """IPython decides whether to show a cell's value by tokenizing the last cell in history
    (a trailing ``;`` silences it). After a run, that is the agent's last cell, which may be
    broken code (an unterminated string): the %agent cell must still return its answer."""
    script.script(code('def broken():\n    """never closed'), "my best answer")
    run = agent_kernel.execute("%agent --approve auto --max-steps 1 Do it", timeout=60)
    assert run.status == "ok", run.error_text
    assert "my best answer" in (run.result or "")
