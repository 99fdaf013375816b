"""Headless execution with nbclient (what papermill and CI pipelines use)."""

from __future__ import annotations

import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from tests.conftest import kernel_env
from tests.support.llm_server import ScriptedLLMServer
from tests.support.replies import code

pytestmark = pytest.mark.kernel

SETUP = "%load_ext jupyter_agents\n%agent_config model=openai/scripted frontend_timeout=1"


def execute(cells: list[str], llm: ScriptedLLMServer, home: Path) -> nbformat.NotebookNode:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    client = NotebookClient(notebook, timeout=120, kernel_name="python3")
    client.execute(env=kernel_env(llm, home), cwd=str(home))
    return notebook


def test_nbclient_waits_for_an_auto_run(script: ScriptedLLMServer, tmp_path: Path):
    script.script(
        code("headless_total = sum(range(10))\nprint('total', headless_total)", "Count first."),
        "```python\nfinal_answer(headless_total)\n```",
    )
    notebook = execute(
        [SETUP, "%agent --approve auto Add up", "print('next cell', headless_total)"],
        script,
        tmp_path,
    )
    agent_cell, next_cell = notebook.cells[1], notebook.cells[2]
    text = "".join(o.get("text", "") for o in agent_cell.outputs if o.output_type == "stream")
    assert "Step 1 of 10" in text and "Count first." in text and "total 45" in text
    assert "each agent cell may run 600 s" in text  # nobody can press stop under nbclient
    results = [o for o in agent_cell.outputs if o.output_type == "execute_result"]
    assert results and results[-1]["data"]["text/plain"] == "45"
    assert next_cell.outputs[0]["text"] == "next cell 45\n"
    nbformat.validate(notebook)


def test_nbclient_fails_fast_when_approval_is_needed(script: ScriptedLLMServer, tmp_path: Path):
    started = time.monotonic()
    with pytest.raises(CellExecutionError) as caught:
        execute([SETUP, "%agent Needs a human"], script, tmp_path)
    assert time.monotonic() - started < 60
    assert "ApprovalUnavailable" in str(caught.value) and "--approve auto" in str(caught.value)
    assert script.requests == []


def test_a_time_limit_the_user_set_wins_over_the_headless_default(
    script: ScriptedLLMServer, tmp_path: Path
):
    script.script(code("while True:\n    pass", "Spin."), code("final_answer('went on')"))
    notebook = execute([SETUP + " cell_timeout=1", "%agent --approve auto Spin"], script, tmp_path)
    agent_cell = notebook.cells[1]
    text = "".join(o.get("text", "") for o in agent_cell.outputs if o.output_type == "stream")
    assert "600 s" not in text and "interrupted at its time limit (1 s)" in text
    results = [o for o in agent_cell.outputs if o.output_type == "execute_result"]
    assert results[-1]["data"]["text/plain"] == "'went on'"
