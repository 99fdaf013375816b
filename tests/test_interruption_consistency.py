"""Interrupting a run in each phase leaves a consistent notebook, record and namespace.

For each phase (the model streaming its reply, a proposal waiting for approval, an approved
cell running) the run is interrupted the way the kernel's stop button does it, after one
completed step. Afterwards: no pending cell is left, the completed step's cell is intact,
the run is recorded as interrupted, the namespace holds what the completed cell made and
nothing from the interrupted step, and the kernel still answers. (A kernel *restart* with a
pending cell is covered in the browser, where the extension removes it.)
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from nbformat.v4 import new_code_cell

from jupyter_agents.notebook.frontend import NotebookFrontend
from jupyter_agents.notebook.schema import metadata_errors
from tests.support.kernel import KernelHarness, attached_notebook
from tests.support.llm_server import ScriptedLLMServer
from tests.support.replies import code

pytestmark = pytest.mark.kernel

PROMPT = "interrupt-prompt"


@pytest.fixture
def notebook(agent_kernel: KernelHarness) -> Iterator[NotebookFrontend]:
    with attached_notebook(agent_kernel, [new_code_cell("%agent ...", id=PROMPT)]) as frontend:
        yield frontend


def step_cells(frontend: NotebookFrontend) -> list:
    return [c for c in frontend.notebook.cells if "step" in c.metadata.get("jupyter_agents", {})]


def statuses(frontend: NotebookFrontend) -> list[str]:
    return [cell.metadata["jupyter_agents"]["status"] for cell in step_cells(frontend)]


def wait_for_second_proposal(kernel: KernelHarness, frontend: NotebookFrontend) -> None:
    kernel.wait_for(lambda: len(statuses(frontend)) == 2, 30, "the second proposal")


@pytest.mark.parametrize("phase", ["streaming", "approval", "executing", "awaiting"])
def test_an_interrupt_in_any_phase_leaves_things_consistent(
    phase: str,
    agent_kernel: KernelHarness,
    notebook: NotebookFrontend,
    script: ScriptedLLMServer,
):
    name = f"ic_{phase}"
    first = code(f"{name}_done = 'step 1'")
    second = {
        "streaming": code(f"{name}_late = 1", "Streaming this reply slowly, piece by piece."),
        "approval": code(f"{name}_late = 1"),
        # Cut short after it rebound one name and bound another: both are undone.
        "executing": code(
            f"{name}_done = 'clobbered'\n{name}_late = 1\nimport time\n"
            "print('started', flush=True)\ntime.sleep(60)"
        ),
        # The same in a cell that awaits: ipykernel and the run both cancel it.
        "awaiting": code(
            f"{name}_done = 'clobbered'\n{name}_late = 1\nimport asyncio\n"
            "print('started', flush=True)\nawait asyncio.sleep(60)"
        ),
    }[phase]
    script.script(first, second)
    run = agent_kernel.start("%agent Two steps", cell_id=PROMPT)
    try:
        if phase == "streaming":
            script.chunk_delay = 0.5  # the second reply streams for several seconds
        agent_kernel.click("Approve")
        if phase == "streaming":
            agent_kernel.wait_for(
                lambda: "Streaming this" in agent_kernel.html_text(), 30, "the reply streaming"
            )
        elif phase == "approval":
            wait_for_second_proposal(agent_kernel, notebook)
        else:
            wait_for_second_proposal(agent_kernel, notebook)
            agent_kernel.click("Approve")
            agent_kernel.wait_for(
                lambda: "started" in str(step_cells(notebook)[1].outputs), 30, "step 2"
            )

        agent_kernel.interrupt()
        agent_kernel.wait_done(run, 30)
    finally:
        script.chunk_delay = 0.0

    assert run.status == "error" and "RunInterrupted" in run.error_text
    assert "pending" not in statuses(notebook)
    assert statuses(notebook)[0] == "approved"
    [record] = notebook.notebook.metadata["jupyter_agents"]["runs"]
    assert record["status"] == "interrupted"
    assert metadata_errors(notebook.notebook) == []
    check = agent_kernel.execute(f"print({name}_done, '{name}_late' in globals())", timeout=30)
    assert check.stdout.strip() == "step 1 False"
    if phase == "approval":  # the proposal nobody decided on still counts in the totals
        stepped = sum(m["prompt_tokens"] for m in record["step_metrics"])
        assert record["usage"]["prompt_tokens"] > stepped
        assert record["seconds"]["model"] > sum(m["model_seconds"] for m in record["step_metrics"])
    if phase in ("executing", "awaiting"):  # the cell cut short stays, marked so
        assert step_cells(notebook)[1].metadata["jupyter_agents"].get("interrupted") is True
        assert "running" not in step_cells(notebook)[1].metadata["jupyter_agents"]
        assert "interrupted at step 2; 1 earlier cell(s) completed" in run.error_text
        module = "time" if phase == "executing" else "asyncio"
        undone = ", ".join(sorted([f"{name}_done", f"{name}_late", module]))
        assert f"assignments were undone: {undone}." in run.error_text


def test_stop_during_a_cell_that_never_awaits_records_the_cell_it_let_finish(
    agent_kernel: KernelHarness, notebook: NotebookFrontend, script: ScriptedLLMServer
):
    # The click is read only when the cell ends (the cell holds the event loop): the cell
    # completed, so it is recorded like any cell that ran, and then the run stops.
    script.script(
        code("import time\nprint('start', flush=True)\ntime.sleep(3)\nslow_done = True"),
        code("never_proposed = 1"),
    )
    run = agent_kernel.start("%agent One slow step", cell_id=PROMPT)
    agent_kernel.wait_for(lambda: len(step_cells(notebook)) == 1, 30, "the proposal")
    agent_kernel.click("Approve")
    agent_kernel.wait_for(lambda: "start" in str(step_cells(notebook)[0].outputs), 30, "start")
    agent_kernel.click("Stop")
    agent_kernel.wait_done(run, 30)

    assert run.status == "ok" and "Stopped by you" in agent_kernel.html_text()
    [cell] = step_cells(notebook)
    meta = cell.metadata["jupyter_agents"]
    assert meta["status"] == "approved" and "running" not in meta and "interrupted" not in meta
    assert cell.execution_count is not None
    [record] = notebook.notebook.metadata["jupyter_agents"]["runs"]
    assert record["status"] == "stopped" and record["steps"] == 1
    assert len(script.requests) == 1
    assert agent_kernel.execute("print(slow_done)").stdout.strip() == "True"
