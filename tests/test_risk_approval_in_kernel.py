"""Risk flags at the approval gate, in a real kernel: shown to the human, never to the model.

The widget shows the risk review's flags above the proposed code (in notebook mode, in the
step's area, while the code waits in its cell), the notebook stores them in the cell's
provenance, the plain headless record prints them, and ``--approve risky`` runs unflagged
cells at once while flagged ones wait for a click.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from jupyter_agents.notebook.frontend import NotebookFrontend
from jupyter_agents.notebook.schema import metadata_errors
from tests.conftest import PREPARE, start_kernel
from tests.support.kernel import KernelHarness, WidgetModel, attached_notebook
from tests.support.llm_server import ScriptedLLMServer
from tests.support.replies import code

pytestmark = pytest.mark.kernel

AGENT_CELL = "risk-agent-cell"
RMTREE = "import shutil\nshutil.rmtree('risky_data')"
RMTREE_FLAG = "line 2: shutil.rmtree(&#x27;risky_data&#x27;) deletes a whole directory tree"


def value_of(kernel: KernelHarness, expression: str) -> str:
    run = kernel.execute(f"print(repr({expression}))")
    assert run.status == "ok", run.error_text
    return run.stdout.strip()


def risk_widgets(kernel: KernelHarness, older: set[str]) -> list[WidgetModel]:
    """The HTML widgets showing flags, among those created since ``older``."""
    return [
        w
        for w in kernel.find_widgets("HTMLModel")
        if w.comm_id not in older and 'class="ja-risks"' in str(w.get("value"))
    ]


def never_told_the_model(script: ScriptedLLMServer, *fragments: str) -> None:
    sent = json.dumps([request.messages for request in script.requests])
    for fragment in fragments:
        assert fragment not in sent


def steps_of_last_run(kernel: KernelHarness) -> list[Any]:
    text = value_of(
        kernel,
        "[(str(s.status), [(f.category.value, f.line) for f in s.risks]) "
        "for s in jupyter_agents.last_run().steps]",
    )
    return eval(text)  # a repr of lists, tuples and strings


def test_risky_runs_unflagged_cells_and_waits_for_flagged_ones(
    agent_kernel: KernelHarness, script: ScriptedLLMServer
):
    agent_kernel.execute("import os\nos.makedirs('risky_data', exist_ok=True)")
    script.script(
        code("risky_benign = 21 * 2"),
        code(RMTREE, "Clean up the data folder."),
        code("final_answer(risky_benign)"),
    )
    run = agent_kernel.start("%agent --approve risky Compute, then clean up")
    agent_kernel.button("Reject")  # enabled only once a cell waits for a human: step 2
    html = agent_kernel.html_text()
    assert "ran (auto-approved)" in html  # step 1 ran without a click
    assert RMTREE_FLAG in html
    assert "It has risk flags, so it waits for your decision (--approve risky)." in html
    agent_kernel.click("Reject")
    agent_kernel.wait_done(run)  # step 3 has no flag: it runs without a click

    assert run.status == "ok", run.error_text
    assert run.result == "42"
    assert value_of(agent_kernel, "os.path.isdir('risky_data')") == "True"
    assert steps_of_last_run(agent_kernel) == [
        ("auto", []),
        ("rejected", [("delete_files", 2)]),
        ("auto", []),
    ]
    assert "approve: risky" in html
    never_told_the_model(script, "directory tree", "risk flag")


# Trojan Source: the comment's right-to-left override makes the line read as the end of the
# comment, while Python runs the statement after it.
TROJAN = "\n".join(
    [
        "is_admin = False",
        "# check \u202e } \u2066if is_admin:\u2069 \u2066 # begin",
        "trojan_ran = 1",
    ]
)


def test_hidden_text_direction_characters_are_flagged_and_shown_in_the_code_view(
    agent_kernel: KernelHarness, script: ScriptedLLMServer
):
    script.script(code(TROJAN, "Check access."), code("final_answer('checked')"))
    older = set(agent_kernel.widgets)
    run = agent_kernel.start("%agent --approve risky Check access")
    agent_kernel.button("Reject")  # the flag makes the cell wait under --approve risky
    [flags] = risk_widgets(agent_kernel, older)
    assert "line 2: hidden text-direction characters (U+202E, U+2066, U+2069)" in flags.get("value")
    [view] = [
        w
        for w in agent_kernel.find_widgets("HTMLModel")
        if w.comm_id not in older and '<pre class="ja-code">' in str(w.get("value"))
    ]
    shown = view.get("value")
    assert "\u202e" not in shown and "\u2066" not in shown and "\u2069" not in shown
    assert shown.count('class="ja-hidden"') == 4 and "⟨U+202E⟩" in shown
    agent_kernel.click("Approve")
    agent_kernel.wait_done(run)

    assert run.status == "ok", run.error_text
    assert value_of(agent_kernel, "globals().get('trojan_ran')") == "1"  # what ran: the original
    assert steps_of_last_run(agent_kernel)[0] == ("approved", [("dynamic_code", 2)])


def test_flags_are_escaped_and_above_the_code(
    agent_kernel: KernelHarness, script: ScriptedLLMServer
):
    script.script(
        code("import os\nos.remove('<img src=x onerror=alert(1)>.txt')"),
        code("final_answer('kept')"),
    )
    older = set(agent_kernel.widgets)
    run = agent_kernel.start("%agent Remove the odd file")
    agent_kernel.button("Approve")
    [flags] = risk_widgets(agent_kernel, older)
    shown = flags.get("value")
    assert "<img" not in shown
    assert (
        "⚠ line 2: os.remove(&#x27;&lt;img src=x onerror=alert(1)&gt;.txt&#x27;) deletes" in shown
    )
    step = next(
        box
        for box in agent_kernel.find_widgets("VBoxModel")
        if f"IPY_MODEL_{flags.comm_id}" in box.get("children", [])
    )
    children = [agent_kernel.widgets[c.removeprefix("IPY_MODEL_")] for c in step.get("children")]
    code_index = next(i for i, w in enumerate(children) if "ja-code" in str(w.get("value", "")))
    assert children.index(flags) < code_index
    agent_kernel.click("Reject")
    agent_kernel.click("Approve")
    agent_kernel.wait_done(run)
    assert run.result == "'kept'"
    never_told_the_model(script, "deletes a file")


def test_an_edit_is_reviewed_again_and_the_step_records_what_ran(
    agent_kernel: KernelHarness, script: ScriptedLLMServer
):
    script.script(code("import shutil\nshutil.rmtree('edit_gone')"), code("final_answer('ok')"))
    older = set(agent_kernel.widgets)
    run = agent_kernel.start("%agent Tidy up")
    agent_kernel.click("Edit", acknowledged=False)
    editor = agent_kernel.widget("TextareaModel", value="import shutil\nshutil.rmtree('edit_gone')")
    agent_kernel.set_state(editor, value="edit_safe = 'kept'")
    agent_kernel.click("Approve")
    agent_kernel.button("Approve")  # the next proposal waits: the edited step is done
    assert not risk_widgets(agent_kernel, older), "the edit has no flags; the old ones must go"
    agent_kernel.click("Approve")
    agent_kernel.wait_done(run)
    assert steps_of_last_run(agent_kernel) == [("edited", []), ("approved", [])]

    # And the other way round: an edit that adds a risky call is flagged on the step.
    script.script(code("edit_plain = 1"), code("final_answer('ok')"))
    run = agent_kernel.start("%agent Set it")
    agent_kernel.click("Edit", acknowledged=False)
    editor = agent_kernel.widget("TextareaModel", value="edit_plain = 1")
    agent_kernel.set_state(editor, value="import os\nedit_plain = os.environ.get('HOME')")
    agent_kernel.click("Approve")
    agent_kernel.click("Approve")
    agent_kernel.wait_done(run)
    assert steps_of_last_run(agent_kernel) == [("edited", [("secrets", 2)]), ("approved", [])]


# -- with the notebook extension ----------------------------------------------------------------


class TypingFrontend(NotebookFrontend):
    """A notebook whose user types into the first agent cell the moment it appears."""

    def __init__(self, notebook: nbformat.NotebookNode, addition: str) -> None:
        super().__init__(notebook, client="test-lab")
        self.addition: str | None = addition

    def _op_insert_cell(self, data: dict[str, Any]) -> dict[str, Any]:
        result = super()._op_insert_cell(data)
        cell = self.cell(result["cell_id"])
        if self.addition and cell.cell_type == "code":
            cell.source += self.addition
            self.addition = None
        return result


@pytest.fixture
def notebook(agent_kernel: KernelHarness) -> Iterator[NotebookFrontend]:
    with attached_notebook(agent_kernel, [new_code_cell("%agent ...", id=AGENT_CELL)]) as frontend:
        yield frontend


def agent_cells(frontend: NotebookFrontend) -> list[nbformat.NotebookNode]:
    return [c for c in frontend.notebook.cells if "step" in c.metadata.get("jupyter_agents", {})]


def test_in_the_notebook_flags_are_in_the_step_area_and_the_provenance(
    agent_kernel: KernelHarness, notebook: NotebookFrontend, script: ScriptedLLMServer
):
    echo = "import subprocess\nnb_echo = subprocess.run(['echo', 'hi'], capture_output=True)"
    script.script(code("nb_plain = 1"), code(echo), code("final_answer('done')"))
    older = set(agent_kernel.widgets)
    run = agent_kernel.start("%agent --approve risky Echo", cell_id=AGENT_CELL)

    def flagged_pending() -> nbformat.NotebookNode | None:
        for cell in agent_cells(notebook):
            entry = cell.metadata["jupyter_agents"]
            if entry["status"] == "pending" and entry.get("risks"):
                return cell
        return None

    pending = agent_kernel.wait_for(flagged_pending, 30, "a pending cell with risk flags")
    [flag] = pending.metadata["jupyter_agents"]["risks"]
    assert (flag["category"], flag["line"]) == ("shell", 2) and "runs a program" in flag["reason"]
    assert metadata_errors(notebook.notebook) == []
    # The widget shows the flag in the step's area; the code itself is in the pending cell.
    agent_kernel.button("Approve")
    [flags] = risk_widgets(agent_kernel, older)
    layout = agent_kernel.widgets[flags.get("layout").removeprefix("IPY_MODEL_")]
    assert layout.get("display") in (None, "")
    assert "runs a program" in flags.get("value")
    # Approved from the cell's toolbar, as a person would in JupyterLab.
    comm_id = next(iter(notebook.comms))
    agent_kernel.send_comm(comm_id, notebook.decision(pending.id, "approve"))
    agent_kernel.wait_done(run)

    assert run.result == "'done'"
    first, second, third = agent_cells(notebook)
    assert first.metadata["jupyter_agents"]["status"] == "auto"
    assert "risks" not in first.metadata["jupyter_agents"]
    assert second.metadata["jupyter_agents"]["status"] == "approved"
    assert second.metadata["jupyter_agents"]["risks"] == [flag]
    assert third.metadata["jupyter_agents"]["status"] == "auto"
    nbformat.validate(notebook.notebook)
    assert metadata_errors(notebook.notebook) == []
    never_told_the_model(script, "runs a program")


def test_a_cell_the_policy_approves_never_waits_where_it_could_be_changed_unreviewed(
    agent_kernel: KernelHarness, script: ScriptedLLMServer
):
    """Under ``risky``, an unflagged proposal is not shown as a pending cell: it enters the
    notebook as it starts running (protocol version 2), so nobody can slip an unreviewed change
    into it between the review and the run. Text typed into it then is not what ran."""
    document = new_notebook()
    document.cells = [new_code_cell("%agent ...", id=AGENT_CELL)]
    agent_kernel.execute("import os\nos.makedirs('typed_keep', exist_ok=True)")
    frontend = TypingFrontend(document, "\nimport shutil\nshutil.rmtree('typed_keep')")
    agent_kernel.notebook = frontend
    try:
        script.script(code("typed_plain = 1"), code("final_answer('after')"))
        run = agent_kernel.execute("%agent --approve risky Plain work", cell_id=AGENT_CELL)
    finally:
        agent_kernel.notebook = None
    assert run.result == "'after'"
    assert value_of(agent_kernel, "os.path.isdir('typed_keep')") == "True"
    assert value_of(agent_kernel, "'typed_plain' in globals()") == "True"
    assert steps_of_last_run(agent_kernel)[0] == ("auto", [])
    first = agent_cells(frontend)[0]
    assert first.metadata["jupyter_agents"]["status"] == "auto"
    assert "read_cell" not in [op for op, _ in frontend.requests]


# -- without a widget frontend ------------------------------------------------------------------


def test_the_plain_record_prints_the_flags_and_risky_without_widgets_refuses_flagged_cells(
    llm: ScriptedLLMServer, tmp_path: Path
):
    kernel = start_kernel(llm, tmp_path, widget_frontend=False)
    try:
        assert kernel.execute(PREPARE + "%agent_config frontend_timeout=0.5", timeout=120).status
        llm.reset()
        llm.script(code("plain_listing = !echo hi"), code("final_answer(plain_listing)"))
        run = kernel.execute("%agent --approve auto List", timeout=60)
        assert run.status == "ok", run.error_text
        assert "⚠ line 1: !echo hi runs a shell command" in run.stdout
        never_told_the_model(llm, "runs a shell command")

        # Nobody can approve here: the flagged cell is refused, the model told so, not run.
        llm.reset()
        llm.script(code("refused_listing = !echo hi"), code("final_answer('no shell')"))
        refused = kernel.execute("%agent --approve risky List", timeout=60)
        assert refused.status == "ok", refused.error_text
        assert value_of(kernel, "'refused_listing' in globals()") == "False"
        told = json.dumps(llm.requests[-1].messages)
        assert "nobody is here to approve such a cell" in told
    finally:
        kernel.shutdown()
