"""The agent in a real JupyterLab, in a real browser (Debian Chromium, Playwright).

With the extension, proposals become real notebook cells below the ``%agent`` cell, are
edited in the notebook's own editor, fill with their outputs when approved, and are saved
with their provenance. Without it (``jupyter labextension disable``), the same run completes
inside the approval widget. The model's replies are scripted by the loopback server.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

from jupyter_agents.notebook.schema import metadata_errors
from tests.conftest import kernel_env
from tests.support.lab import LabServer, browser_page, running_lab
from tests.support.llm_server import ScriptedLLMServer
from tests.support.notebooks import write_python_notebook
from tests.support.replies import code
from tests.support.screenshots import ROOT, save_screenshot

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect
# A 2-core CI machine running JupyterLab, a kernel and Chromium at once can take seconds to
# show what a fast machine shows at once: every check waits up to 15 s by default. A check
# passes as soon as its condition holds and still fails if it never does.
expect.set_options(timeout=15_000)

pytestmark = pytest.mark.browser

NOTEBOOKS = ROOT / "notebooks"
SETUP_CELL = "%load_ext jupyter_agents\n%agent_config model=openai/scripted"


@pytest.fixture(scope="module")
def lab(llm: ScriptedLLMServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    home = tmp_path_factory.mktemp("lab")
    with running_lab(home, kernel_env(llm, home)) as server:
        yield server


@pytest.fixture(scope="module")
def lab_without_extension(
    llm: ScriptedLLMServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LabServer]:
    """JupyterLab with the extension disabled the documented way, in this server's config."""
    home = tmp_path_factory.mktemp("lab-plain")
    env = {**kernel_env(llm, home), "JUPYTER_CONFIG_DIR": str(home / "config")}
    jupyter = str(Path(sys.executable).parent / "jupyter")
    subprocess.run(
        [jupyter, "labextension", "disable", "jupyter-agents", "--level=user"],
        env=env,
        check=True,
        capture_output=True,
    )
    with running_lab(home, env) as server:
        yield server


@pytest.fixture(scope="module")
def notebook7(
    llm: ScriptedLLMServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LabServer]:
    home = tmp_path_factory.mktemp("notebook7")
    with running_lab(home, kernel_env(llm, home), app="notebook") as server:
        yield server


@pytest.fixture
def page(browser, request: pytest.FixtureRequest):
    names = ("lab", "lab_without_extension", "notebook7")
    servers = {
        name: request.getfixturevalue(name) for name in names if name in request.fixturenames
    }
    with browser_page(browser, request, 1100, servers) as page:
        yield page


# -- helpers --------------------------------------------------------------------------------------


def open_notebook(page, lab: LabServer, name: str, cells: list[str]) -> None:
    write_python_notebook(lab.root / name, cells)
    open_existing(page, lab, name)


def open_existing(page, lab: LabServer, name: str) -> None:
    lab.start_session(name)
    page.goto(lab.notebook_url(name))
    page.wait_for_function("() => window.jupyterapp !== undefined", timeout=60_000)
    expect(page.locator(".jp-Notebook .jp-Cell").first).to_be_visible(timeout=60_000)
    # Running cells before the session context is ready makes JupyterLab ask for a kernel.
    page.wait_for_function(
        """() => {
            const panel = window.jupyterapp.shell.currentWidget;
            const context = panel && panel.sessionContext;
            const kernel = context && context.session && context.session.kernel;
            return Boolean(context && context.isReady && kernel
                && kernel.connectionStatus === 'connected' && kernel.status === 'idle');
        }""",
        timeout=60_000,
    )


def run_all(page) -> None:
    # Not awaited: the command's promise resolves only when every cell has finished.
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")


def run_cell(page, index: int) -> None:
    """Run one cell as Ctrl+Enter does, after making it the active cell."""
    page.evaluate(
        """index => {
            window.jupyterapp.shell.currentWidget.content.activeCellIndex = index;
            window.jupyterapp.commands.execute('notebook:run-cell');
        }""",
        index,
    )


def save(page) -> None:
    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")


def cells(page):
    return page.locator(".jp-Notebook .jp-Cell")


def cell_output(page, index: int):
    return cells(page).nth(index).locator(".jp-Cell-outputArea")


def notebook_sources(page) -> list[str]:
    """The cells' sources from the notebook model (what would be saved)."""
    return page.evaluate(
        "() => window.jupyterapp.shell.currentWidget.content.model.sharedModel.cells"
        ".map(cell => cell.getSource())"
    )


def pending_cell(page):
    return page.locator(".jp-Notebook .jp-Cell.jp-agents-pending")


def widget_button(page, name: str):
    # By text: the icon's pseudo-element is part of the accessible name, so roles don't match.
    label = re.compile(rf"^\s*{re.escape(name)}\s*$")
    return page.locator(".jupyter-agents button.widget-button:visible").filter(has_text=label)


# -- with the extension ------------------------------------------------------------------------


def test_proposals_become_cells_and_approve_fills_them(
    page, lab: LabServer, script: ScriptedLLMServer
):
    script.script(
        code(
            "import pandas as pd\nbrowser_x = 21 * 2\n"
            "table = pd.DataFrame({'month': ['Jan', 'Feb'], 'revenue': [1200, 1350]})\ntable",
            "I'll compute the value and show a small table to check it.",
        ),
        code("final_answer(browser_x)", "The value is computed; returning it."),
    )
    open_notebook(
        page,
        lab,
        "cells.ipynb",
        [SETUP_CELL, "%agent Compute browser_x", "print('browser_x =', browser_x)"],
    )
    run_all(page)

    proposal = pending_cell(page)
    expect(proposal).to_have_count(1, timeout=60_000)
    expect(cells(page).nth(2)).to_have_class(re.compile("jp-agents-pending"))  # right below %agent
    expect(proposal).to_contain_text("browser_x = 21 * 2")
    expect(proposal.locator(".jp-agents-badge")).to_have_text(re.compile("step 1.*pending"))
    save_screenshot(page.locator(".jp-NotebookPanel"), "pending-cell.png")
    widget_button(page, "Approve").click()

    first = cells(page).nth(2)
    expect(first).to_have_class(re.compile("jp-agents-approved"), timeout=30_000)
    # The table, in its own cell. The badge says approved as soon as the cell starts, and a
    # first pandas import can take seconds on a loaded machine: wait as long as for the rest.
    expect(first.locator(".jp-Cell-outputArea")).to_contain_text("Jan", timeout=30_000)
    expect(first.locator(".jp-InputPrompt")).to_contain_text(re.compile(r"\[\d+\]"), timeout=30_000)
    expect(pending_cell(page)).to_have_count(1, timeout=30_000)
    widget_button(page, "Approve").click()

    expect(cell_output(page, 1)).to_contain_text("Done. Final answer: 42", timeout=30_000)
    expect(cell_output(page, 4)).to_contain_text("browser_x = 42", timeout=30_000)
    expect(cells(page).nth(1).locator("table")).to_have_count(0)  # no output in the %agent cell
    sources = cells(page).evaluate_all(
        "nodes => nodes.map(n => n.classList.contains('jp-agents-approved'))"
    )
    assert sources == [False, False, True, True, False]  # exactly the two cells that ran, in order
    save_screenshot(page.locator(".jp-NotebookPanel"), "finished-run.png")

    save(page)
    saved = nbformat.read(lab.root / "cells.ipynb", as_version=4)
    nbformat.validate(saved)
    assert metadata_errors(saved) == []
    [record] = saved.metadata["jupyter_agents"]["runs"]  # written by the extension's host
    assert record["status"] == "completed" and record["answer"] == {"json": 42}
    provenance = [cell.metadata.get("jupyter_agents") for cell in saved.cells]
    run_id = provenance[1]["run_id"]
    assert provenance[1] == {"run_id": run_id, "prompt": True}
    assert [p["step"] for p in provenance[2:4]] == [1, 2]
    assert all(p["status"] == "approved" and p["run_id"] == run_id for p in provenance[2:4])
    assert all(p["model"] == "openai/scripted" and p["role"] == "agent" for p in provenance[2:4])
    assert saved.cells[2].source.startswith("import pandas as pd")
    assert saved.cells[2].execution_count is not None
    assert any("Jan" in json.dumps(output) for output in saved.cells[2].outputs)


def test_edit_the_pending_cell_then_approve_from_its_toolbar(
    page, lab: LabServer, script: ScriptedLLMServer
):
    script.script(
        code("edited_in_browser = 1", "Set a value."),
        code("final_answer(edited_in_browser)", "Done."),
    )
    open_notebook(
        page,
        lab,
        "edit.ipynb",
        [SETUP_CELL, "%agent Set a value", "print('after', edited_in_browser)"],
    )
    run_all(page)

    proposal = pending_cell(page)
    expect(proposal).to_have_count(1, timeout=60_000)
    editor = proposal.locator(".cm-content")
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.type("edited_in_browser = 7")
    approve = proposal.locator(".jp-cell-toolbar").get_by_text("Approve", exact=True)
    expect(approve).to_be_visible(timeout=10_000)
    approve.click()

    edited = cells(page).nth(2)
    expect(edited).to_have_class(re.compile("jp-agents-edited"), timeout=30_000)
    expect(edited.locator(".jp-agents-badge")).to_have_text(re.compile("edited"))
    expect(pending_cell(page)).to_have_count(1, timeout=30_000)
    widget_button(page, "Approve").click()
    expect(cell_output(page, 4)).to_contain_text("after 7", timeout=30_000)
    assert "edited_in_browser = 7" in script.requests[1].last_user_text


def test_reject_removes_the_cell_and_tells_the_model(
    page, lab: LabServer, script: ScriptedLLMServer
):
    script.script(
        code("rejected_in_browser = 'dropped'", "First idea."),
        code("final_answer('second idea')", "Second idea."),
    )
    open_notebook(page, lab, "reject.ipynb", [SETUP_CELL, "%agent Try twice"])
    run_all(page)

    expect(pending_cell(page)).to_have_count(1, timeout=60_000)
    page.locator(".jupyter-agents input[placeholder^='Reason']").fill("No flags, please")
    widget_button(page, "Reject").click()
    expect(pending_cell(page)).to_contain_text("final_answer('second idea')", timeout=30_000)
    assert not any("rejected_in_browser" in source for source in notebook_sources(page))
    widget_button(page, "Approve").click()
    expect(cell_output(page, 1)).to_contain_text(
        "Done. Final answer: 'second idea'", timeout=30_000
    )
    assert "No flags, please" in script.requests[1].last_user_text
    expect(cells(page)).to_have_count(3)  # setup, %agent, the one cell that ran


@pytest.mark.parametrize("verdict", ["Reject", "Approve"])
def test_a_pending_cell_run_with_shift_enter_runs_only_through_the_decision(
    verdict: str, page, lab: LabServer, script: ScriptedLLMServer
):
    name = f"shift_enter_{verdict.lower()}"
    script.script(
        code(f"{name} = globals().get('{name}', 0) + 1\nprint('ran', {name})", "Count."),
        code("final_answer('done')", "Done."),
    )
    open_notebook(page, lab, f"{name}.ipynb", [SETUP_CELL, "%agent Count once"])
    run_all(page)
    proposal = pending_cell(page)
    expect(proposal).to_have_count(1, timeout=60_000)
    proposal.locator(".cm-content").click()
    page.keyboard.press("Shift+Enter")  # queued behind the %agent cell
    expect(proposal.locator(".jp-InputPrompt")).to_contain_text("*", timeout=10_000)
    widget_button(page, verdict).click()
    expect(pending_cell(page)).to_contain_text("final_answer", timeout=30_000)
    widget_button(page, "Approve").click()
    expect(cell_output(page, 1)).to_contain_text("Done. Final answer: 'done'", timeout=30_000)

    check = cells(page).nth(2) if verdict == "Approve" else None
    if check is not None:  # ran once, as the agent's step; the queued request only says so
        expect(check.locator(".jp-Cell-outputArea")).to_contain_text(
            "not run again", timeout=30_000
        )
        expect(check.locator(".jp-Cell-outputArea")).to_contain_text("ran 1")
        assert check.locator(".jp-Cell-outputArea").inner_text().count("ran 1") == 1
    # Ask the kernel: a cell added at the end, run by itself.
    page.evaluate(
        "() => { const nb = window.jupyterapp.shell.currentWidget.content;"
        " nb.model.sharedModel.insertCell(nb.model.cells.length, "
        f"{{cell_type: 'code', source: \"print('count:', globals().get('{name}', 0))\"}});"
        " nb.activeCellIndex = nb.model.cells.length - 1; }"
    )
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-cell')")
    expected = "count: 1" if verdict == "Approve" else "count: 0"
    expect(cells(page).last.locator(".jp-Cell-outputArea")).to_contain_text(
        expected, timeout=30_000
    )


RUNS_IN_PAGE = (
    "() => (window.jupyterapp.shell.currentWidget.context.model.getMetadata('jupyter_agents')"
    " || {}).runs || []"
)


@pytest.mark.parametrize("phase", ["approval", "executing"])
def test_a_kernel_restart_leaves_no_pending_cell_and_records_the_run_interrupted(
    phase: str, page, lab: LabServer, script: ScriptedLLMServer
):
    first = {
        "approval": "restart_x = 1",
        "executing": "print('started', flush=True)\nimport time\ntime.sleep(120)",
    }[phase]
    script.script(code(first, "First."), code("final_answer(1)", "Then."))
    open_notebook(page, lab, f"restart-{phase}.ipynb", [SETUP_CELL, "%agent Wait for me"])
    run_all(page)
    expect(pending_cell(page)).to_have_count(1, timeout=60_000)
    if phase == "executing":
        widget_button(page, "Approve").click()
        expect(cell_output(page, 2)).to_contain_text("started", timeout=30_000)

    page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.restartKernel()")

    expect(pending_cell(page)).to_have_count(0, timeout=30_000)
    if phase == "approval":
        expect(cells(page)).to_have_count(2)  # the setup cell and the %agent cell, nothing else
    else:  # the cell that ran stays, with what it printed
        expect(cells(page)).to_have_count(3)
        expect(cells(page).nth(2)).to_have_class(re.compile("jp-agents-approved"))
        expect(cell_output(page, 2)).to_contain_text("started")
        entry = page.evaluate(
            "() => window.jupyterapp.shell.currentWidget.content.model.cells.get(2)"
            ".getMetadata('jupyter_agents')"
        )
        assert entry["interrupted"] is True and "running" not in entry  # replay skips it
    page.wait_for_function(f"() => ({RUNS_IN_PAGE})().some(r => r.status === 'interrupted')")
    [record] = page.evaluate(RUNS_IN_PAGE)
    assert record["status"] == "interrupted" and "kernel restarted" in record["error"]


def test_notebook_7_agent_undo_removes_the_cells_and_the_widget_says_undone(
    page, notebook7: LabServer, script: ScriptedLLMServer
):
    """``%agent_undo`` in a cell of Notebook 7: the cells leave, the kernel is put back, and the
    run's widget, in its own cell above, shows the run as undone."""
    script.script(
        code("nb7_list.append(2)\nnb7_made = 5", "Extending the list."),
        code("final_answer(nb7_made)", "Done."),
    )
    sources = [
        SETUP_CELL + "\nnb7_list = [1]",
        "%agent --approve auto Extend nb7_list",
        "%agent_undo",
        "print('after undo:', nb7_list, 'nb7_made' in dir())",
    ]
    open_notebook(page, notebook7, "nb7-undo.ipynb", sources)
    run_cell(page, 0)
    expect(cells(page).nth(0).locator(".jp-InputPrompt")).to_contain_text(re.compile(r"\[\d+\]"))
    run_cell(page, 1)
    expect(cell_output(page, 1)).to_contain_text("Done. Final answer: 5", timeout=60_000)
    expect(cells(page)).to_have_count(6)

    run_cell(page, 4)  # %agent_undo
    expect(cells(page)).to_have_count(4, timeout=30_000)
    expect(cell_output(page, 2)).to_contain_text("2 cell(s) removed from the notebook")
    widget = cells(page).nth(1).locator(".jupyter-agents")
    expect(widget).to_contain_text("Undone: the names and objects it changed are back")
    expect(widget_button(page, "undone")).to_be_disabled()
    run_cell(page, 3)
    expect(cell_output(page, 3)).to_contain_text("after undo: [1] False")
    assert notebook_sources(page) == sources


def test_notebook_7(page, notebook7: LabServer, script: ScriptedLLMServer):
    """The same extension in Jupyter Notebook 7: a pending cell, approved on its toolbar."""
    script.script(
        code(
            "nb7_value = 6 * 7\nprint('nb7', nb7_value)\n"
            "import matplotlib.pyplot as plt\nplt.plot([1, 3, 2])\nplt.show()\n"
            "import ipywidgets\nipywidgets.IntSlider(value=nb7_value, description='agent slider')",
            "Multiply, plot, and show a slider.",
        ),
        code("final_answer(nb7_value)", "Done."),
    )
    open_notebook(page, notebook7, "nb7.ipynb", [SETUP_CELL, "%agent Multiply"])
    run_all(page)

    proposal = pending_cell(page)
    expect(proposal).to_have_count(1, timeout=60_000)
    expect(proposal.locator(".jp-agents-badge")).to_have_text(re.compile("step 1.*pending"))
    proposal.locator(".cm-content").click()  # the cell toolbar belongs to the active cell
    proposal.locator(".jp-cell-toolbar").get_by_text("Approve", exact=True).click()
    first = cells(page).nth(2)
    expect(first).to_have_class(re.compile("jp-agents-approved"), timeout=30_000)
    outputs = first.locator(".jp-Cell-outputArea")
    expect(outputs).to_contain_text("nb7 42", timeout=30_000)  # approved shows as it starts
    expect(outputs.locator("img")).to_have_count(
        1, timeout=30_000
    )  # the plot, an image output in the cell
    expect(outputs.locator(".widget-slider")).to_be_visible()  # a live widget in the cell
    expect(outputs).to_contain_text("agent slider")
    expect(pending_cell(page)).to_have_count(1, timeout=30_000)
    widget_button(page, "Approve").click()
    expect(cell_output(page, 1)).to_contain_text("Done. Final answer: 42", timeout=30_000)


def test_in_a_console_the_run_goes_on_in_its_widget_and_says_why(
    page, lab: LabServer, script: ScriptedLLMServer
):
    """A console has no notebook: the extension refuses at once, with a reason the user sees."""
    script.script(
        code("console_value = 6 * 7", "Compute it."),
        code("final_answer(console_value)", "Return it."),
    )
    open_notebook(page, lab, "console.ipynb", [SETUP_CELL])
    run_all(page)
    expect(cells(page).nth(0).locator(".jp-InputPrompt")).to_contain_text(
        re.compile(r"\[\d+\]"), timeout=30_000
    )
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:create-console')")
    prompt = page.locator(".jp-CodeConsole-promptCell .cm-content")
    expect(prompt).to_be_visible(timeout=30_000)
    prompt.click()
    page.keyboard.type("%agent --approve auto Compute a value")
    page.keyboard.press("Shift+Enter")

    console = page.locator(".jp-CodeConsole-content")
    expect(console).to_contain_text("Final answer: 42", timeout=60_000)
    expect(console).to_contain_text("a console has no notebook to write the agent's cells into")
    assert len(script.requests) == 2


def test_a_two_role_crew_writes_two_sections(page, lab: LabServer, script: ScriptedLLMServer):
    script.script_for(
        "You are the Data engineer",
        code(
            "import pandas as pd\n"
            "sales = pd.DataFrame({'month': ['Jan', 'Feb', 'Mar'], 'revenue': [1200, 1350, 990]})\n"
            "sales.shape",
            "Load the sales into a DataFrame.",
        ),
        code('handoff("Analyst", "sales is clean: 3 months, revenue in euros")', "Hand over."),
    )
    script.script_for(
        "You are the Analyst",
        code("best = sales.loc[sales.revenue.idxmax(), 'month']\nbest", "Find the best month."),
        code("final_answer(f'The best month is {best}.')", "Report."),
    )
    crew = (
        "%%crew --approve auto\n"
        "task: Find the best month of sales\n"
        "agents:\n"
        "  - role: Data engineer\n    goal: Load the sales into a DataFrame named sales\n"
        "    section: Data preparation\n"
        "  - role: Analyst\n    goal: Find the month with the most revenue\n"
        "    section: Analysis\n"
    )
    open_notebook(page, lab, "crew.ipynb", [SETUP_CELL, crew])
    run_all(page)

    expect(cell_output(page, 1)).to_contain_text("The best month is Feb.", timeout=60_000)
    headings = page.locator(".jp-Notebook .jp-MarkdownCell")
    expect(headings).to_have_count(2)
    expect(headings.nth(0)).to_contain_text("Data preparation")
    expect(headings.nth(1)).to_contain_text("Analysis")
    section_badges = page.locator(".jp-agents-section .jp-agents-badge").all_inner_texts()
    assert section_badges == ["Data engineer · section", "Analyst · section"]
    step_badges = page.locator(".jp-CodeCell .jp-agents-badge").all_inner_texts()
    roles = [badge.split(" · ")[0] for badge in step_badges]
    assert roles == ["Data engineer", "Data engineer", "Analyst", "Analyst"]
    assert notebook_sources(page)[2:] == [
        "## Data preparation",
        "import pandas as pd\n"
        "sales = pd.DataFrame({'month': ['Jan', 'Feb', 'Mar'], 'revenue': [1200, 1350, 990]})\n"
        "sales.shape",
        'handoff("Analyst", "sales is clean: 3 months, revenue in euros")',
        "## Analysis",
        "best = sales.loc[sales.revenue.idxmax(), 'month']\nbest",
        "final_answer(f'The best month is {best}.')",
    ]
    page.set_viewport_size({"width": 1200, "height": 1800})
    cells(page).nth(1).scroll_into_view_if_needed()
    save_screenshot(page.locator(".jp-NotebookPanel"), "crew-sections.png")


def test_undo_run_lists_then_removes_the_runs_cells_and_restores_the_kernel(
    page, lab: LabServer, script: ScriptedLLMServer
):
    """The widget's button: no cell executes, yet the notebook that clicked removes the cells."""
    script.script(
        code("undo_list.append(2)\nundo_new = len(undo_list) * 10", "I'll extend the list."),
        code("final_answer(undo_new)", "Returning the computed value."),
    )
    sources = [
        SETUP_CELL + "\nundo_list = [1]",
        "%agent --approve auto Extend undo_list",
        "print('after undo:', undo_list, 'undo_new' in dir())",
    ]
    open_notebook(page, lab, "undo.ipynb", sources)
    run_cell(page, 0)
    expect(cells(page).nth(0).locator(".jp-InputPrompt")).to_contain_text(re.compile(r"\[\d+\]"))
    run_cell(page, 1)
    expect(cell_output(page, 1)).to_contain_text("Done. Final answer: 20", timeout=60_000)
    expect(cells(page)).to_have_count(5)  # the run's two cells, below its %agent cell

    widget_button(page, "Undo run").click()  # the first click only lists
    widget = cells(page).nth(1).locator(".jupyter-agents")
    expect(widget).to_contain_text("Undoing this run will:")
    expect(widget).to_contain_text("undo_new")
    expect(widget).to_contain_text("remove the run's cells from the notebook")
    expect(widget_button(page, "Undo now")).to_be_enabled()
    save_screenshot(widget, "undo-run.png")
    assert cells(page).count() == 5  # listing changed nothing

    widget_button(page, "Undo now").click()
    expect(cells(page)).to_have_count(3, timeout=30_000)
    expect(widget).to_contain_text("2 cell(s) removed from the notebook")
    expect(widget).to_contain_text("Undone: the names and objects it changed are back")
    expect(widget_button(page, "undone")).to_be_disabled()
    run_cell(page, 2)
    expect(cell_output(page, 2)).to_contain_text("after undo: [1] False")
    assert notebook_sources(page) == sources

    save(page)
    saved = nbformat.read(lab.root / "undo.ipynb", as_version=4)
    nbformat.validate(saved)
    assert metadata_errors(saved) == []
    [record] = saved.metadata["jupyter_agents"]["runs"]
    assert record["undone"]["not_undone"] and record["status"] == "completed"


def test_run_all_replays_a_recorded_notebook_without_a_model(
    page, lab: LabServer, script: ScriptedLLMServer
):
    shutil.copy(NOTEBOOKS / "quickstart.ipynb", lab.root / "quickstart.ipynb")
    shutil.copytree(NOTEBOOKS / "data", lab.root / "data", dirs_exist_ok=True)
    recorded = nbformat.read(NOTEBOOKS / "quickstart.ipynb", as_version=4)
    open_existing(page, lab, "quickstart.ipynb")
    run_all(page)

    last = len(recorded.cells) - 1
    expect(cells(page).nth(last).locator(".jp-InputPrompt")).to_contain_text(
        re.compile(r"\[\d+\]"), timeout=90_000
    )
    assert script.requests == [], "Run All of a recorded notebook must not call the model"
    prompt = next(i for i, c in enumerate(recorded.cells) if c.source.startswith("%agent"))
    expect(cell_output(page, prompt)).to_contain_text("not calling a model")
    expect(cell_output(page, prompt)).to_contain_text("had the highest revenue")
    assert notebook_sources(page) == [cell.source for cell in recorded.cells]
    for index, cell in enumerate(recorded.cells):
        step = cell.metadata.get("jupyter_agents", {}).get("step")
        text = "".join(o.get("text", "") for o in cell.get("outputs", []) if "text" in o)
        if step and text.strip():  # the recorded cell ran again, printing the same
            expect(cell_output(page, index)).to_contain_text(text.strip().splitlines()[0])
    expect(cell_output(page, last)).to_contain_text(
        recorded.cells[last].outputs[0]["data"]["text/plain"].splitlines()[0]
    )


# -- without the extension ---------------------------------------------------------------------


def test_without_the_extension_the_run_completes_in_the_widget(
    page, lab_without_extension: LabServer, script: ScriptedLLMServer
):
    script.script(
        code(
            "import pandas as pd\nplain_x = 21 * 2\n"
            "table = pd.DataFrame({'month': ['Jan', 'Feb'], 'revenue': [1200, 1350]})\ntable",
            "I'll compute the value and show a small table to check it.",
        ),
        code("final_answer(plain_x)", "The value is computed; returning it."),
    )
    lab = lab_without_extension
    open_notebook(
        page,
        lab,
        "plain.ipynb",
        [SETUP_CELL, "%agent Compute plain_x", "print('plain_x =', plain_x)"],
    )
    run_all(page)

    approve = widget_button(page, "Approve")
    expect(approve).to_be_enabled(timeout=60_000)
    widget = page.locator(".jupyter-agents")
    expect(widget).to_contain_text("I'll compute the value")
    save_screenshot(widget, "approval-widget.png")
    approve.click()
    expect(cell_output(page, 1)).to_contain_text(
        "Jan", timeout=30_000
    )  # under the step, in the widget
    expect(approve).to_be_enabled(timeout=30_000)
    approve.click()

    expect(cell_output(page, 1)).to_contain_text("Done. Final answer: 42", timeout=30_000)
    expect(cell_output(page, 2)).to_contain_text("plain_x = 42", timeout=30_000)
    expect(cells(page)).to_have_count(3)  # no cells were inserted
    save_screenshot(widget, "widget-run.png")
