"""Which view a run gets, and when: a run that needs no approval never waits for widgets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import PREPARE, start_kernel
from tests.support.kernel import KernelHarness
from tests.support.llm_server import ScriptedLLMServer
from tests.support.replies import code

pytestmark = pytest.mark.kernel

HEADER = "jupyter-agents · openai/scripted · approve: auto"


@pytest.fixture
def slow_frontend(llm: ScriptedLLMServer, tmp_path: Path) -> Iterator[KernelHarness]:
    """A frontend that renders widgets, but answers the kernel's question only when told."""
    kernel = start_kernel(llm, tmp_path)
    try:
        assert kernel.execute(PREPARE, timeout=120).status == "ok"
        assert kernel.execute("%agent_config frontend_timeout=300").status == "ok"
        yield kernel
    finally:
        kernel.shutdown()


def test_an_auto_run_without_a_widget_frontend_starts_at_once(
    llm: ScriptedLLMServer, script: ScriptedLLMServer, tmp_path: Path
):
    """Were it to wait frontend_timeout (300 s) first, the 60 s below would run out."""
    kernel = start_kernel(llm, tmp_path, widget_frontend=False)
    try:
        assert kernel.execute(PREPARE, timeout=120).status == "ok"
        assert kernel.execute("%agent_config frontend_timeout=300").status == "ok"
        script.script(code("nv_total = 40 + 2\nprint(nv_total)"), code("final_answer(nv_total)"))
        run = kernel.execute("%agent --approve auto Add", timeout=60)
        assert run.status == "ok", run.error_text
        assert run.result == "42"
        assert HEADER in run.stdout  # the plain view
        # Still undecided when the run ended (300 s window): the plain view became final
        # then, and its headless notice still shows in the cell.
        assert "each agent cell may run 600 s" in run.stdout
    finally:
        kernel.shutdown()


def test_a_late_widget_answer_moves_the_run_into_the_widget(
    slow_frontend: KernelHarness, script: ScriptedLLMServer
):
    kernel = slow_frontend
    kernel.held_links = []
    script.script(
        code("import time\ntime.sleep(2)\nnv_late = 7\nprint('slept')", "Wait a little."),
        code("final_answer(nv_late)", "Done."),
    )
    run = kernel.start("%agent --approve auto Wait")
    kernel.wait_for(lambda: HEADER in run.stdout, 30, "the run to start in plain outputs")
    assert kernel.held_links, "the kernel asked whether widgets render"
    kernel.release_links()
    kernel.wait_done(run, 60)
    assert run.status == "ok", run.error_text
    assert run.result == "7"
    shown = kernel.html_text()
    assert "Wait a little." in shown  # step 1, from before the switch, is in the widget too
    assert "Done. Final answer: 7" in shown
    assert kernel.button("Undo run")  # the widget's own controls, live
    assert "Nobody can press stop here" not in shown  # a widget has a Stop button
