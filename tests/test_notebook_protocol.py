"""The notebook protocol, kernel side, against a real kernel and a frontend speaking it.

The harness plays JupyterLab with the extension: it sends execute requests with the cell id,
answers the protocol through :class:`NotebookFrontend` (the same code a headless runner
uses), routes captured outputs into cells, and clicks widget buttons as a browser does.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell

from jupyter_agents.notebook import protocol
from jupyter_agents.notebook.frontend import NotebookFrontend
from jupyter_agents.notebook.schema import metadata_errors
from tests.conftest import PREPARE, start_kernel
from tests.support.kernel import KernelHarness, attached_notebook
from tests.support.llm_server import ScriptedLLMServer
from tests.support.replies import code

pytestmark = pytest.mark.kernel

AGENT_CELL = "agent-cell"


@pytest.fixture(scope="module")
def lab(
    llm: ScriptedLLMServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[KernelHarness]:
    kernel = start_kernel(llm, tmp_path_factory.mktemp("protocol"))
    try:
        assert kernel.execute(PREPARE, timeout=120).status == "ok"
        yield kernel
    finally:
        kernel.shutdown()


@pytest.fixture
def notebook(lab: KernelHarness) -> Iterator[NotebookFrontend]:
    """A fresh notebook: a markdown cell, the %agent cell, a cell after it."""
    cells = [
        new_markdown_cell("## Revenue analysis\nGoal: monthly revenue for the board."),
        new_code_cell("%agent ...", id=AGENT_CELL),
        new_code_cell("print('the user cell after')", id="after-cell"),
    ]
    with attached_notebook(lab, cells) as frontend:
        yield frontend


def first_edit_button_layout(lab: KernelHarness) -> str:
    """The comm id of the latest Edit button's layout model."""
    button = [
        w
        for w in lab.widgets.values()
        if w.model_name == "ButtonModel" and w.get("description") == "Edit"
    ][-1]
    return button.get("layout").removeprefix("IPY_MODEL_")


def agent_cells(frontend: NotebookFrontend) -> list[nbformat.NotebookNode]:
    return [c for c in frontend.notebook.cells if "step" in c.metadata.get("jupyter_agents", {})]


def pending_cell(
    lab: KernelHarness, frontend: NotebookFrontend, *seen: nbformat.NotebookNode
) -> nbformat.NotebookNode:
    """Wait for a pending agent cell other than the ``seen`` ones (they may still say pending)."""
    seen_ids = {cell.id for cell in seen}

    def find() -> nbformat.NotebookNode | None:
        for cell in agent_cells(frontend):
            if cell.metadata["jupyter_agents"]["status"] == "pending" and cell.id not in seen_ids:
                return cell
        return None

    return lab.wait_for(find, 30, "a new pending cell in the notebook")


def test_approved_steps_become_cells_with_outputs_and_provenance(
    lab: KernelHarness, notebook: NotebookFrontend, script: ScriptedLLMServer
):
    script.script(
        code("nb_total = 40 + 2\nprint('total', nb_total)\nnb_total", "Add."),
        code("final_answer(nb_total)", "Done."),
    )
    run = lab.start("%agent Add up", cell_id=AGENT_CELL)
    first = pending_cell(lab, notebook)
    assert first.source == "nb_total = 40 + 2\nprint('total', nb_total)\nnb_total"
    assert notebook.notebook.cells[2] is first  # right below the %agent cell
    lab.click("Approve")
    second = pending_cell(lab, notebook, first)
    lab.click("Approve")
    lab.wait_done(run)

    assert run.status == "ok" and run.result == "42"
    cells = notebook.notebook.cells
    assert cells[1].id == AGENT_CELL
    assert cells[2] is first and cells[3] is second and cells[4].id == "after-cell"
    # Outputs went to the step's cell, not to the %agent cell.
    assert [o["output_type"] for o in first.outputs] == ["stream", "execute_result"]
    assert first.outputs[0]["text"] == "total 42\n"
    assert not any("total 42" in o.get("text", "") for o in run.outputs)
    assert first.execution_count is not None and second.execution_count == first.execution_count + 1
    provenance = first.metadata["jupyter_agents"]
    run_id = cells[1].metadata["jupyter_agents"]["run_id"]
    assert provenance == {
        "run_id": run_id,
        "step": 1,
        "role": "agent",
        "model": "openai/scripted",
        "status": "approved",
    }
    assert cells[1].metadata["jupyter_agents"] == {"run_id": run_id, "prompt": True}
    nbformat.validate(notebook.notebook)
    assert metadata_errors(notebook.notebook) == []
    # The model saw the markdown above the %agent cell, and the user's cell below it.
    task_message = script.requests[0].messages[1]["content"]
    assert (
        "Notebook cells above this one" in task_message and "Goal: monthly revenue" in task_message
    )
    below = task_message.split("Notebook cells below this one")[1]
    assert notebook.notebook.cells[4].source in below


def step_requests(frontend: NotebookFrontend) -> dict[str, list[str]]:
    """The requests that named each agent cell, in order: what each step cost in round trips."""
    by_cell: dict[str, list[str]] = {cell.id: [] for cell in agent_cells(frontend)}
    for op, cell_id in frontend.requests:
        if cell_id in by_cell:
            by_cell[cell_id].append(op)
    return by_cell


def test_an_auto_step_takes_two_requests_and_its_outputs_still_land_in_its_cell(
    lab: KernelHarness, notebook: NotebookFrontend, script: ScriptedLLMServer
):
    """Protocol version 2: the policy decided, so the cell goes in as it starts running, with
    the capture of its outputs; its end (release, count, provenance, tag, run record) is one
    update. Run All must still pass the cell that raised."""
    script.script(
        code("nb_auto = 6 * 7\nprint('auto', nb_auto)"),
        code("1 / 0"),
        code("final_answer(nb_auto)"),
    )
    run = lab.execute("%agent --approve auto Multiply", cell_id=AGENT_CELL, timeout=60)

    assert run.status == "ok" and run.result == "42"
    first, raised, last = agent_cells(notebook)
    assert [o["text"] for o in first.outputs] == ["auto 42\n"]
    assert not any("auto 42" in o.get("text", "") for o in run.outputs)
    assert [o["ename"] for o in raised.outputs if o["output_type"] == "error"] == [
        "ZeroDivisionError"
    ]
    assert raised.metadata["tags"] == ["raises-exception"] and "tags" not in first.metadata
    for cell in (first, raised, last):
        assert cell.metadata["jupyter_agents"]["status"] == "auto"
        assert "running" not in cell.metadata["jupyter_agents"]
    assert list(step_requests(notebook).values()) == [["insert_cell", "update_cell"]] * 3
    # The whole run: the notebook read once, the prompt cell marked with the first record,
    # two requests a step (the record of the run so far rides on each end), the final record.
    assert [op for op, _ in notebook.requests] == [
        "read_notebook",
        "update_cell",
        *["insert_cell", "update_cell"] * 3,
        "record_run",
    ]
    (record,) = notebook.notebook.metadata["jupyter_agents"]["runs"]
    assert record["status"] == "completed" and record["steps"] == 3
    assert metadata_errors(notebook.notebook) == []


def test_an_approved_step_reads_the_cell_once_after_the_decision(
    lab: KernelHarness, notebook: NotebookFrontend, script: ScriptedLLMServer
):
    """A person decided, so the pending cell was in the notebook, and what runs is its text
    at that moment: one read, then one update that marks it running and captures, one that
    ends it."""
    script.script(code("nb_read = 1"), code("final_answer(nb_read)"))
    run = lab.start("%agent Set", cell_id=AGENT_CELL)
    first = pending_cell(lab, notebook)
    lab.click("Approve")
    pending_cell(lab, notebook, first)
    lab.click("Approve")
    lab.wait_done(run)

    assert run.result == "1"
    expected = ["insert_cell", "read_cell", "update_cell", "update_cell"]
    assert list(step_requests(notebook).values()) == [expected] * 2


def test_edits_in_the_notebook_cell_are_what_runs(
    lab: KernelHarness, notebook: NotebookFrontend, script: ScriptedLLMServer
):
    script.script(code("nb_edited = 1"), code("final_answer(nb_edited)"))
    run = lab.start("%agent Set it", cell_id=AGENT_CELL)
    cell = pending_cell(lab, notebook)
    cell.source = "nb_edited = 5  # typed in the notebook"
    lab.click("Approve")
    pending_cell(lab, notebook, cell)
    lab.click("Approve")
    lab.wait_done(run)

    assert run.result == "5"
    assert cell.metadata["jupyter_agents"]["status"] == "edited"
    assert cell.metadata["jupyter_agents"]["proposed_source"] == "nb_edited = 1"
    assert "nb_edited = 5  # typed in the notebook" in script.requests[1].last_user_text
    # The widget hides its Edit button when the notebook cell is the editor.
    edit = lab.widgets[first_edit_button_layout(lab)]
    assert edit.get("display") == "none"


def test_a_step_that_raised_is_tagged_for_run_all_and_keeps_the_users_tags(
    lab: KernelHarness, notebook: NotebookFrontend, script: ScriptedLLMServer
):
    script.script(code("1 / 0", "Divide."), code("final_answer('recovered')", "Fix it."))
    run = lab.start("%agent Divide", cell_id=AGENT_CELL)
    cell = pending_cell(lab, notebook)
    cell.metadata["tags"] = ["reviewed"]  # the user tags the proposal while reviewing it
    lab.click("Approve")
    pending_cell(lab, notebook, cell)
    lab.click("Approve")
    lab.wait_done(run)

    assert run.result == "'recovered'"
    assert cell.metadata["tags"] == ["reviewed", "raises-exception"]
    assert [o["ename"] for o in cell.outputs if o["output_type"] == "error"] == [
        "ZeroDivisionError"
    ]
    final = agent_cells(notebook)[-1]
    assert "tags" not in final.metadata  # a step that did not raise gets no tag


def test_rejected_cells_disappear_or_stay_as_records(
    lab: KernelHarness, notebook: NotebookFrontend, script: ScriptedLLMServer
):
    reason_box = "Reason (optional, sent to the model)"
    script.script(code("nb_rejected = 'no'"), code("final_answer('fine')"))
    run = lab.start("%agent Try", cell_id=AGENT_CELL)
    pending_cell(lab, notebook)
    lab.click("Reject")
    pending_cell(lab, notebook)
    lab.click("Approve")
    lab.wait_done(run)
    assert [c.source for c in agent_cells(notebook)] == ["final_answer('fine')"]

    lab.execute("%agent_config keep_rejected=True")
    try:
        script.script(code("nb_rejected = 'no'"), code("final_answer('kept')"))
        run = lab.start("%agent Try again", cell_id=AGENT_CELL)
        pending_cell(lab, notebook)
        reason = lab.widget("TextModel", disabled=False, placeholder=reason_box)
        lab.set_state(reason, value="not that variable")
        lab.click("Reject")
        pending_cell(lab, notebook)
        lab.click("Approve")
        lab.wait_done(run)
    finally:
        lab.execute("%agent_config keep_rejected=False")
    record = notebook.notebook.cells[2]
    assert record.cell_type == "markdown" and record.metadata["jupyter"]["source_hidden"] is True
    assert "Rejected proposal" in record.source and "nb_rejected = 'no'" in record.source
    assert record.metadata["jupyter_agents"]["status"] == "rejected"
    assert record.metadata["jupyter_agents"]["reason"] == "not that variable"


# Model text that, in a ``` fence, would end it and go on as Markdown.
ESCAPING_CODE = (
    'notes = """\n```\n**Approved by the reviewer.** ![x](http://attacker.example/x)\n"""'
)
INLINE_FENCE = 'fence = "````"\nnb_kept_fence = fence'


def test_a_kept_rejection_shows_the_models_code_as_code_whatever_backticks_it_holds(
    lab: KernelHarness, notebook: NotebookFrontend, script: ScriptedLLMServer
):
    from markdown_it import MarkdownIt

    lab.execute("%agent_config keep_rejected=True")
    try:
        script.script(
            f"Notes first.\n<code>\n{ESCAPING_CODE}\n</code>",  # smolagents' reply form
            code(INLINE_FENCE),
            code("final_answer('kept')"),
        )
        run = lab.start("%agent Keep notes", cell_id=AGENT_CELL)
        for _ in range(2):
            pending_cell(lab, notebook)
            lab.click("Reject")
        pending_cell(lab, notebook)
        lab.click("Approve")
        lab.wait_done(run)
    finally:
        lab.execute("%agent_config keep_rejected=False")
    records = [c for c in notebook.notebook.cells if c.cell_type == "markdown"][1:]
    assert len(records) == 2
    for record, proposed in zip(records, (ESCAPING_CODE, INLINE_FENCE), strict=True):
        tokens = MarkdownIt("commonmark").parse(record.source)
        blocks = [token for token in tokens if token.type == "fence"]
        assert [(b.info, b.content) for b in blocks] == [("python", proposed + "\n")]
        assert tokens[-1] is blocks[0], record.source  # nothing rendered after the code


def test_decisions_from_the_cell_toolbar(
    lab: KernelHarness, notebook: NotebookFrontend, script: ScriptedLLMServer
):
    script.script(code("nb_toolbar = 'approved in the notebook'"), code("final_answer(nb_toolbar)"))
    run = lab.start("%agent From the toolbar", cell_id=AGENT_CELL)
    decided = []
    for _ in range(2):
        cell = pending_cell(lab, notebook, *decided)
        decided.append(cell)
        lab.button("Approve")  # the question is open
        comm_id = next(iter(notebook.comms))
        lab.send_comm(comm_id, notebook.decision(cell.id, "approve"))
        lab.wait_for(
            lambda c=cell: c.metadata["jupyter_agents"]["status"] != "pending", 30, "the decision"
        )
    lab.wait_done(run)
    assert run.result == "'approved in the notebook'"


def test_stop_removes_the_pending_cell(
    lab: KernelHarness, notebook: NotebookFrontend, script: ScriptedLLMServer
):
    script.script(code("nb_stopped = 1"))
    run = lab.start("%agent Then stop", cell_id=AGENT_CELL)
    pending_cell(lab, notebook)
    lab.click("Stop")
    lab.wait_done(run)
    assert agent_cells(notebook) == []
    assert not notebook.comms  # the run ended its protocol


def test_interrupt_removes_the_pending_cell(
    lab: KernelHarness, notebook: NotebookFrontend, script: ScriptedLLMServer
):
    script.script(code("nb_interrupted = 1"))
    run = lab.start("%agent Interrupt me", cell_id=AGENT_CELL)
    pending_cell(lab, notebook)
    lab.interrupt()
    lab.wait_done(run)
    assert run.status == "error" and "RunInterrupted" in run.error_text
    assert agent_cells(notebook) == []


def test_a_deleted_proposal_counts_as_rejected(
    lab: KernelHarness, notebook: NotebookFrontend, script: ScriptedLLMServer
):
    script.script(code("nb_deleted = 1"), code("final_answer('after delete')"))
    run = lab.start("%agent Delete", cell_id=AGENT_CELL)
    cell = pending_cell(lab, notebook)
    notebook.notebook.cells.remove(cell)
    lab.click("Approve")
    pending_cell(lab, notebook, cell)
    lab.click("Approve")
    lab.wait_done(run)
    assert "you deleted the proposed cell" in script.requests[1].last_user_text
    assert lab.execute("print('nb_deleted' in globals())").stdout.strip() == "False"


def test_without_a_capable_frontend_nothing_waits(lab: KernelHarness, script: ScriptedLLMServer):
    """A run from a notebook cell in a frontend without the protocol, which closes the comm."""
    script.script(code("final_answer('widget only')"))
    started = time.monotonic()
    run = lab.execute("%agent --approve auto Plain", cell_id="cell-nobody-knows", timeout=60)
    assert run.result == "'widget only'"
    assert time.monotonic() - started < 10


def test_a_frontend_that_declines_says_why_and_the_run_goes_on_in_the_widget(
    lab: KernelHarness, notebook: NotebookFrontend, script: ScriptedLLMServer, monkeypatch
):
    script.script(code("final_answer('declined')"))
    refusal = protocol.hello(False, "test-lab", "0.0", "protocol version 1 is not supported")
    monkeypatch.setattr(notebook, "on_comm_open", lambda comm_id, data: refusal)
    run = lab.execute("%agent --approve auto Decline", cell_id=AGENT_CELL, timeout=60)
    assert run.result == "'declined'"
    assert (
        "test-lab declined the notebook protocol: protocol version 1 is not supported; "
        "the run goes on in this widget." in lab.html_text()
    )
    assert agent_cells(notebook) == []


def test_the_kernel_refuses_a_frontend_of_another_protocol_version_in_one_line(
    lab: KernelHarness, notebook: NotebookFrontend, script: ScriptedLLMServer, monkeypatch
):
    """An extension of version 1 (one that would ignore ``capture``) accepting the handshake
    must not get the run's cells: the kernel says what to do, and the widget takes over."""
    script.script(code("final_answer('old')"))
    old = {
        "op": "hello",
        "version": 1,
        "accepted": True,
        "client": "old-lab",
        "client_version": "0",
    }
    monkeypatch.setattr(notebook, "on_comm_open", lambda comm_id, data: old)
    run = lab.execute("%agent --approve auto Old", cell_id=AGENT_CELL, timeout=60)
    assert run.result == "'old'"
    assert (
        f"old-lab speaks notebook protocol version 1, this kernel {protocol.VERSION}: install "
        "the same jupyter-agents version in both" in lab.html_text()
    )
    assert agent_cells(notebook) == [] and notebook.requests == []


def test_losing_the_frontend_mid_run_falls_back_to_the_widget(
    lab: KernelHarness, notebook: NotebookFrontend, script: ScriptedLLMServer, monkeypatch
):
    script.script(code("nb_lost = 'still ran'"), code("final_answer(nb_lost)"))
    run = lab.start("%agent Lose it", cell_id=AGENT_CELL)
    pending_cell(lab, notebook)
    # The frontend goes silent (a closed browser tab): requests are no longer answered.
    monkeypatch.setattr(notebook, "on_comm_msg", lambda comm_id, data: None)
    lab.click("Approve")
    lab.click("Approve", timeout=60)
    lab.wait_done(run, 60)
    assert run.result == "'still ran'"
    assert "The notebook stopped answering" in lab.html_text()


@pytest.mark.parametrize("verdict", ["reject", "approve"])
def test_a_pending_cell_the_user_ran_runs_only_through_the_gate(
    verdict: str, lab: KernelHarness, notebook: NotebookFrontend, script: ScriptedLLMServer
):
    # Shift+Enter on a pending cell: JupyterLab sends its execute request, which waits behind
    # the %agent cell, and the extension sends the `queued` event.
    name = f"nb_queued_{verdict}"
    script.script(
        code(f"{name} = {name} + 1 if '{name}' in globals() else 1"),
        code("final_answer('counted')"),
    )
    run = lab.start("%agent Count once", cell_id=AGENT_CELL)
    cell = pending_cell(lab, notebook)
    queued = lab.start(cell.source, cell_id=cell.id)
    comm_id = next(iter(notebook.comms))
    lab.send_comm(comm_id, {"op": "queued", "cell_id": cell.id})
    lab.button("Approve")  # the question is open
    if verdict == "reject":
        lab.click("Reject")
    else:
        lab.click("Approve")
    lab.click("Approve")  # the final answer
    lab.wait_done(run)
    lab.wait_done(queued)

    assert "not run again" in queued.stdout
    ran = lab.execute(f"print({name} if '{name}' in globals() else 'never')").stdout.strip()
    assert ran == ("never" if verdict == "reject" else "1")
    # A later run of that cell by the user is theirs, and runs.
    if verdict == "approve":
        assert "not run again" not in lab.execute(cell.source, cell_id=cell.id).stdout
        assert lab.execute(f"print({name})").stdout.strip() == "2"


def undo_listing(lab: KernelHarness) -> str:
    """The newest Undo run list (the module's kernel keeps older runs' widgets)."""
    return [
        w.get("value") for w in lab.find_widgets("HTMLModel") if "be undone:" in w.get("value")
    ][-1]


def test_undo_run_clicked_in_the_widget_removes_the_runs_cells(
    lab: KernelHarness, notebook: NotebookFrontend, script: ScriptedLLMServer, monkeypatch
):
    """No cell executes behind the click: the kernel asks with ``purpose: undo`` instead."""
    script.script(code("nb_undo = 1"), code("final_answer(nb_undo)"))
    run = lab.execute("%agent --approve auto Undo me", cell_id=AGENT_CELL, timeout=60)
    assert run.result == "1" and len(agent_cells(notebook)) == 2
    handshakes: list[dict] = []
    answer = notebook.on_comm_open
    monkeypatch.setattr(
        notebook,
        "on_comm_open",
        lambda comm_id, data: handshakes.append(data) or answer(comm_id, data),
    )

    button = lab.button("Undo run")
    lab.click("Undo run", acknowledged=False)
    lab.wait_for(lambda: button.get("description") == "Undo now", 30, "the list")
    assert "remove the run&#x27;s cells from the notebook" in undo_listing(lab)
    assert handshakes == [] and len(agent_cells(notebook)) == 2  # listing asks nothing
    lab.click("Undo now", acknowledged=False)
    lab.wait_for(lambda: button.get("description") == "undone", 30, "the undo")

    assert [data.get("purpose") for data in handshakes] == ["undo"]
    assert handshakes[0]["anchor_cell_id"] == AGENT_CELL
    assert agent_cells(notebook) == []
    assert "2 cell(s) removed from the notebook" in undo_listing(lab)
    [record] = notebook.notebook.metadata["jupyter_agents"]["runs"]
    assert record["undone"]["not_undone"]
    assert lab.execute("print('nb_undo' in dir())").stdout.strip() == "False"


def test_undo_run_clicked_with_no_notebook_answering_says_the_cells_stay(
    lab: KernelHarness, notebook: NotebookFrontend, script: ScriptedLLMServer, monkeypatch
):
    script.script(code("nb_undo_gone = 1"), code("final_answer(nb_undo_gone)"))
    run = lab.execute("%agent --approve auto Undo me", cell_id=AGENT_CELL, timeout=60)
    assert run.result == "1"
    refusal = protocol.hello(False, "test-lab", "0.0", "the notebook was closed")
    monkeypatch.setattr(notebook, "on_comm_open", lambda comm_id, data: refusal)

    button = lab.button("Undo run")
    lab.click("Undo run", acknowledged=False)
    lab.click("Undo now", acknowledged=False)
    lab.wait_for(lambda: button.get("description") == "undone", 30, "the undo")
    assert "the run&#x27;s cells stay in the notebook" in undo_listing(lab)
    assert len(agent_cells(notebook)) == 2
    assert lab.execute("print('nb_undo_gone' in dir())").stdout.strip() == "False"
