"""The JupyterLab extension's half of the notebook protocol, in a real JupyterLab and browser.

The kernel side is played by hand: the notebook's first cell opens the protocol's comm with
the `comm` package and sends requests as `%agent` would, awaiting replies and decision events
(ipykernel >= 7.4 delivers comm messages while the cell awaits). Meanwhile the test acts as
the user in Chromium: it edits the pending cell and clicks Approve and Reject on the cell's
toolbar. The cell writes every reply to a JSON file the test reads at the end.

The risk-flag tests run `%agent` with a scripted model instead (or open a saved notebook), for
what the extension shows on the agent's cells: the risk review's flags.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import nbformat
import pytest

from tests.conftest import kernel_env
from tests.support.lab import LabServer, browser_page, running_lab
from tests.support.llm_server import ScriptedLLMServer
from tests.support.notebooks import write_python_notebook
from tests.support.replies import code
from tests.support.screenshots import ARTIFACTS, save_screenshot

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect
# A 2-core CI machine running JupyterLab, a kernel and Chromium at once can take seconds to
# show what a fast machine shows at once: every check waits up to 15 s by default. A check
# passes as soon as its condition holds and still fails if it never does.
expect.set_options(timeout=15_000)

pytestmark = pytest.mark.browser

RESULTS = "protocol-results.json"
SETUP_CELL = "%load_ext jupyter_agents\n%agent_config model=openai/scripted"

# The kernel side of one run, by hand. `get_parent()` is the execute request of this cell:
# its metadata carries the cell id (the anchor), its header the msg_id outputs are sent under.
KERNEL_SIDE = r'''
import asyncio, json, sys
from pathlib import Path
from comm import create_comm
from IPython.display import HTML, clear_output, display

parent = get_ipython().get_parent()
anchor = parent["metadata"]["cellId"]
execute_msg_id = parent["header"]["msg_id"]
loop = asyncio.get_running_loop()
results = {"anchor": anchor}


class ByHand:
    """One protocol comm, as the kernel side opens it."""

    def __init__(self, anchor_cell_id, version=2):
        self.hello = loop.create_future()
        self.replies = {}
        self.events = asyncio.Queue()
        self.closed = False
        self.next_id = 0
        self.comm = create_comm(
            target_name="jupyter_agents.notebook",
            data={"protocol": "jupyter-agents", "version": version, "run_id": "run-1",
                  "anchor_cell_id": anchor_cell_id, "model": "by-hand", "role": "analyst"},
        )
        self.comm.on_msg(self._receive)
        self.comm.on_close(lambda msg: setattr(self, "closed", True))

    def _receive(self, msg):
        data = msg["content"]["data"]
        if data.get("op") == "hello":
            loop.call_soon_threadsafe(self.hello.set_result, data)
        elif "reply_to" in data:
            loop.call_soon_threadsafe(self.replies[data["reply_to"]].set_result, data)
        else:
            loop.call_soon_threadsafe(self.events.put_nowait, data)

    async def request(self, op, **args):
        self.next_id += 1
        self.replies[self.next_id] = loop.create_future()
        self.comm.send({"id": self.next_id, "op": op, **args})
        return await asyncio.wait_for(self.replies[self.next_id], 10)

    async def silent(self):
        """Whether the frontend neither answered nor closed the comm within 1.5 s."""
        await asyncio.sleep(1.5)
        return {"replied": self.hello.done(), "closed": self.closed}


def provenance(step, status, **extra):
    return {"jupyter_agents": {"run_id": "run-1", "step": step, "role": "analyst",
                               "model": "by-hand", "status": status, **extra}}


# Not this notebook's cell: the frontend must stay silent and leave the comm open.
ghost = ByHand("no-such-cell")
results["ghost"] = await ghost.silent()
ghost.comm.close()

# A major version this frontend does not know: refused, with a reason.
future = ByHand(anchor, version=1)
results["refused"] = await asyncio.wait_for(future.hello, 5)
future.comm.close()

run = ByHand(anchor)
results["hello"] = await asyncio.wait_for(run.hello, 5)
results["read_notebook_start"] = await run.request("read_notebook")
proposed = "proposed = 1\n"
insert = await run.request("insert_cell", cell_id="proposal-1", after=anchor, cell_type="code",
                           source=proposed, metadata=provenance(1, "pending"))
results["insert"] = insert
cell = insert["result"]["cell_id"]
results["errors"] = {
    "unknown_op": await run.request("explode"),
    "unknown_cell": await run.request("read_cell", cell_id="no-such-cell"),
    "bad_after": await run.request("insert_cell", cell_id="n1", after="no-such-cell",
                                   cell_type="code"),
    "bad_type": await run.request("insert_cell", cell_id="n2", after=anchor, cell_type="raw"),
    "duplicate_id": await run.request("insert_cell", cell_id="proposal-1", after=anchor,
                                      cell_type="code"),
}

# The user edits the pending cell and clicks Approve on its toolbar.
results["approve"] = await asyncio.wait_for(run.events.get(), 120)
results["read_cell"] = await run.request("read_cell", cell_id=cell)

results["capture"] = await run.request("update_cell", cell_id=cell, capture=execute_msg_id)
print("cleared before the end")
clear_output()
print("captured print")
display(HTML("<b class='captured-html'>captured html</b>"))
handle = display(HTML("display v1"), display_id=True)
handle.update(HTML("display v2"))
try:
    1 / 0
except ZeroDivisionError:
    get_ipython().showtraceback()
sys.stdout.flush()
sys.stderr.flush()
results["release"] = await run.request(
    "update_cell", cell_id=cell, release=True,
    record={"run": {"run_id": "run-1", "status": "running"}, "replaces": None})
print("after release")
sys.stdout.flush()

edited = results["read_cell"]["result"]["source"]
results["update"] = await run.request(
    "update_cell", cell_id=cell, source=edited, execution_count=7,
    metadata={**provenance(1, "edited", proposed_source=proposed), "tags": ["reviewed"]})

# A second proposal, rejected from its toolbar with a reason, then deleted. Its first line is
# long enough to reach under the cell toolbar, which must stay usable all the same.
long_line = "summary = revenue.groupby('region').agg(total='sum', mean='mean', n='count') " * 2
second = (await run.request("insert_cell", cell_id="proposal-2", after=cell, cell_type="code",
                            source=long_line, metadata=provenance(2, "pending")))
second = second["result"]["cell_id"]
results["reject"] = await asyncio.wait_for(run.events.get(), 120)
results["delete"] = await run.request("delete_cell", cell_id=second)
results["read_notebook_end"] = await run.request("read_notebook")

# Another cell of this notebook, which this execution did not send: silent too.
other = results["read_notebook_end"]["result"]["cells"][-1]["id"]
not_running = ByHand(other)
results["not_running"] = await not_running.silent()
not_running.comm.close()

run.comm.send({"op": "end", "status": "completed"})
run.comm.close()
Path("protocol-results.json").write_text(json.dumps(results))
print("PROTOCOL DONE")
'''


@pytest.fixture(scope="module")
def lab(llm: ScriptedLLMServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    home = tmp_path_factory.mktemp("lab-extension")
    with running_lab(home, kernel_env(llm, home)) as server:
        yield server


@pytest.fixture
def page(browser, request: pytest.FixtureRequest, lab: LabServer):
    with browser_page(browser, request, 1000, {"lab": lab}) as page:
        yield page


def open_notebook(page, lab: LabServer, name: str, cells: list, kernel: bool = True) -> None:
    write_python_notebook(lab.root / name, cells)
    if kernel:
        lab.start_session(name)  # so JupyterLab attaches to it without asking
    page.goto(lab.notebook_url(name))
    page.wait_for_function("() => window.jupyterapp !== undefined", timeout=60_000)
    expect(page.locator(".jp-Notebook .jp-Cell").first).to_be_visible(timeout=60_000)
    if kernel:
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


def cells(page):
    return page.locator(".jp-Notebook .jp-Cell")


def active_cell_index(page) -> int:
    return page.evaluate("() => window.jupyterapp.shell.currentWidget.content.activeCellIndex")


def toolbar_button(cell, command: str):
    return cell.locator(f".jp-cell-toolbar [data-command='{command}']")


def test_protocol_in_jupyterlab(page, lab: LabServer):
    user_cell = nbformat.v4.new_code_cell("user_value = 41")
    open_notebook(page, lab, "protocol.ipynb", [nbformat.v4.new_code_cell(KERNEL_SIDE), user_cell])
    # Run the first cell without moving the selection, as Ctrl+Enter does. Not awaited: the
    # command's promise resolves only when the cell has finished.
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-cell'); }")

    pending = cells(page).nth(1)
    expect(pending).to_contain_class("jp-agents-pending", timeout=30_000)
    expect(pending.locator(".jp-agents-badge")).to_have_text("analyst · step 1 · pending")
    expect(cells(page)).to_have_count(3)
    # From the model: a windowed notebook leaves the text of cells out of view unrendered.
    after = page.evaluate(
        "() => window.jupyterapp.shell.currentWidget.content.model.cells.get(2)"
        ".sharedModel.getSource()"
    )
    assert after == "user_value = 41"
    assert active_cell_index(page) == 0, "inserting a cell must not move the selection"

    # The user edits the proposal in the notebook's own editor, then approves it.
    pending.locator(".cm-content").click()
    page.keyboard.press("Control+a")
    page.keyboard.type("edited_in_lab = 2")
    approve = toolbar_button(pending, "jupyter-agents:approve-cell")
    expect(approve).to_be_visible()
    expect(toolbar_button(pending, "jupyter-agents:reject-cell")).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    pending.screenshot(path=str(ARTIFACTS / "labextension-pending-cell.png"))
    approve.click()

    approved = cells(page).nth(1)
    expect(approved).to_contain_class("jp-agents-edited", timeout=30_000)
    expect(approved.locator(".jp-agents-badge")).to_have_text("analyst · step 1 · edited")
    expect(approved.locator(".jp-InputPrompt")).to_contain_text("[7]")
    expect(approve).to_be_hidden()
    outputs = approved.locator(".jp-Cell-outputArea")
    expect(outputs).to_contain_text("captured print")
    expect(outputs.locator("b.captured-html")).to_have_text("captured html")
    expect(outputs).to_contain_text("display v2")
    expect(outputs).to_contain_text("ZeroDivisionError")
    expect(outputs).not_to_contain_text("cleared before the end")
    expect(outputs).not_to_contain_text("display v1")

    # The second proposal: rejected from its toolbar, with a reason, then deleted.
    second = cells(page).nth(2)
    expect(second).to_contain_class("jp-agents-pending", timeout=30_000)
    second.locator(".jp-InputPrompt").click()
    reject = toolbar_button(second, "jupyter-agents:reject-cell")
    expect(reject).to_be_visible()
    second.screenshot(path=str(ARTIFACTS / "labextension-pending-long-line.png"))
    reject.click()
    dialog = page.locator(".jp-Dialog")
    dialog.locator("input").fill("use the cleaned table")
    dialog.locator(".jp-Dialog-content").screenshot(path=str(ARTIFACTS / "labextension-reject.png"))
    dialog.locator("button.jp-mod-accept").click()

    anchor_output = cells(page).nth(0).locator(".jp-Cell-outputArea")
    expect(anchor_output).to_contain_text("PROTOCOL DONE", timeout=60_000)
    expect(anchor_output).to_contain_text("after release")
    for captured in ("captured print", "captured html", "display v2", "ZeroDivisionError"):
        expect(anchor_output).not_to_contain_text(captured)
    expect(cells(page)).to_have_count(3)
    trusted = page.evaluate(
        "() => window.jupyterapp.shell.currentWidget.content.widgets[1].model.trusted"
    )
    assert trusted, "outputs from the user's own session render as trusted"
    approved.screenshot(path=str(ARTIFACTS / "labextension-approved-cell.png"))

    results = json.loads((lab.root / RESULTS).read_text())
    anchor = results["anchor"]
    assert results["ghost"] == {"replied": False, "closed": False}
    assert results["not_running"] == {"replied": False, "closed": False}
    refused = results["refused"]
    assert refused["accepted"] is False and refused["version"] == 2
    assert "version 1" in refused["reason"]
    hello = results["hello"]
    assert hello == {
        "op": "hello",
        "version": 2,
        "accepted": True,
        "client": "jupyterlab",
        "client_version": hello["client_version"],
    }
    assert hello["client_version"].startswith("4.")

    start = results["read_notebook_start"]["result"]
    assert start["anchor_index"] == 0
    assert [cell["source"] for cell in start["cells"]] == [KERNEL_SIDE, "user_value = 41"]
    assert start["cells"][0]["id"] == anchor
    cell_id = results["insert"]["result"]["cell_id"]
    assert results["insert"]["ok"] is True
    assert cell_id == "proposal-1"  # the id the kernel chose

    errors = results["errors"]
    assert all(reply["ok"] is False for reply in errors.values()), errors
    assert "unknown op" in errors["unknown_op"]["error"]
    assert "no-such-cell" in errors["unknown_cell"]["error"]
    assert "already exists" in errors["duplicate_id"]["error"]

    assert results["approve"] == {"op": "decision", "cell_id": cell_id, "verdict": "approve"}
    read = results["read_cell"]["result"]
    assert read["source"] == "edited_in_lab = 2"
    assert read["cell_type"] == "code"
    assert read["metadata"]["jupyter_agents"]["status"] == "pending"
    for key in ("capture", "release", "update", "delete"):
        assert results[key]["ok"] is True, results[key]
    assert results["reject"]["verdict"] == "reject"
    assert results["reject"]["reason"] == "use the cleaned table"

    end = results["read_notebook_end"]["result"]
    # The record that came with the release is in the notebook's metadata.
    assert end["metadata"]["runs"] == [{"run_id": "run-1", "status": "running"}]
    assert [cell["id"] for cell in end["cells"]][:2] == [anchor, cell_id]
    assert {key: value for key, value in end["cells"][1].items() if key != "metadata"} == {
        "id": cell_id,
        "cell_type": "code",
        "source": "edited_in_lab = 2",
        "execution_count": 7,
    }
    # Only the cell's own jupyter_agents entry comes back, not the rest of its metadata.
    assert list(end["cells"][1]["metadata"]) == ["jupyter_agents"]
    assert end["cells"][1]["metadata"]["jupyter_agents"]["run_id"] == "run-1"
    assert end["cells"][0]["metadata"] == {}
    assert len(end["cells"]) == 3


def test_saved_notebook_shows_status(page, lab: LabServer):
    def agent_cell(source: str, status: str, step: int, role: str | None = None):
        provenance = {"run_id": "r", "step": step, "status": status}
        if role:
            provenance["role"] = role
        return nbformat.v4.new_code_cell(source, metadata={"jupyter_agents": provenance})

    prompt = nbformat.v4.new_code_cell(
        "%agent Plot monthly revenue", metadata={"jupyter_agents": {"run_id": "r", "prompt": True}}
    )
    open_notebook(
        page,
        lab,
        "saved.ipynb",
        [
            prompt,
            agent_cell("df = load()", "approved", 1),
            agent_cell("df = load(dates=True)", "edited", 2, role="cleaner"),
            agent_cell("plot(df)", "auto", 3),
            agent_cell("rm_everything()", "rejected", 4),
            agent_cell("df.describe()", "pending", 5),
            nbformat.v4.new_code_cell("mine = True"),
        ],
        kernel=False,
    )
    expected = [
        ("jp-agents-prompt", None),
        ("jp-agents-approved", "agent · step 1 · approved"),
        ("jp-agents-edited", "cleaner · step 2 · edited"),
        ("jp-agents-auto", "agent · step 3 · auto"),
        ("jp-agents-rejected", "agent · step 4 · rejected"),
        ("jp-agents-pending", "agent · step 5 · pending"),
    ]
    for index, (css_class, badge) in enumerate(expected):
        cell = cells(page).nth(index)
        expect(cell).to_contain_class(css_class, timeout=30_000)
        expect(cell.locator(".jp-agents-badge")).to_have_count(0 if badge is None else 1)
        if badge:
            expect(cell.locator(".jp-agents-badge")).to_have_text(badge)
    user = cells(page).nth(6)
    expect(user.locator(".jp-agents-badge")).to_have_count(0)
    assert "jp-agents" not in (user.get_attribute("class") or "")

    # A saved pending cell has no live run behind it: no Approve button on its toolbar.
    cells(page).nth(5).locator(".jp-InputPrompt").click()
    expect(cells(page).nth(5).locator(".jp-cell-toolbar")).to_be_visible()
    expect(toolbar_button(cells(page).nth(5), "jupyter-agents:approve-cell")).to_be_hidden()

    user.locator(".jp-InputPrompt").click()  # the look of cells that are not selected
    ARTIFACTS.mkdir(exist_ok=True)
    notebook = page.locator(".jp-Notebook")
    notebook.screenshot(path=str(ARTIFACTS / "labextension-statuses-light.png"))
    page.evaluate(
        "() => window.jupyterapp.commands.execute('apputils:change-theme', "
        "{theme: 'JupyterLab Dark'})"
    )
    page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'", timeout=30_000)
    page.wait_for_timeout(500)
    notebook.screenshot(path=str(ARTIFACTS / "labextension-statuses-dark.png"))
    page.evaluate(
        "() => window.jupyterapp.commands.execute('apputils:change-theme', "
        "{theme: 'JupyterLab Light'})"
    )

    # Metadata changes show at once: the look follows the metadata, not the run.
    page.evaluate(
        """() => {
            const cell = window.jupyterapp.shell.currentWidget.content.widgets[5];
            const provenance = cell.model.getMetadata('jupyter_agents');
            cell.model.setMetadata('jupyter_agents', {...provenance, status: 'approved'});
        }"""
    )
    expect(cells(page).nth(5)).to_contain_class("jp-agents-approved")
    expect(cells(page).nth(5)).not_to_contain_class("jp-agents-pending")


def run_all(page) -> None:
    # Not awaited: the command's promise resolves only when every cell has finished.
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")


def set_theme(page, theme: str) -> None:
    light = "false" if "Dark" in theme else "true"
    page.evaluate(
        f"() => window.jupyterapp.commands.execute('apputils:change-theme', {{theme: '{theme}'}})"
    )
    page.wait_for_function(
        f"() => document.body.dataset.jpThemeLight === '{light}'", timeout=30_000
    )
    page.wait_for_timeout(500)


def approve_from_toolbar(cell, screenshot: str | None = None) -> None:
    cell.locator(".jp-InputPrompt").click()  # the cell toolbar belongs to the active cell
    approve = toolbar_button(cell, "jupyter-agents:approve-cell")
    expect(approve).to_be_visible(timeout=10_000)
    if screenshot:
        cell.screenshot(path=str(ARTIFACTS / screenshot))
    approve.click()


def test_risk_flags_show_on_the_pending_cell(page, lab: LabServer, script: ScriptedLLMServer):
    """Who approves from the cell's own toolbar sees what the risk review flagged, on the cell."""
    build = lab.root / "build"
    build.mkdir(exist_ok=True)
    (build / "stale.o").write_text("old")
    script.script(
        code('import shutil\nshutil.rmtree("build")', "Remove the stale build folder."),
        code("flag_free = 6 * 7", "Compute the value."),
        code("final_answer(flag_free)", "Done."),
    )
    open_notebook(
        page,
        lab,
        "risky.ipynb",
        [nbformat.v4.new_code_cell(SETUP_CELL), nbformat.v4.new_code_cell("%agent Clean up")],
    )
    run_all(page)

    reason = "line 2: shutil.rmtree('build') deletes a whole directory tree"
    risky = cells(page).nth(2)
    expect(risky).to_contain_class("jp-agents-pending", timeout=60_000)
    expect(risky.locator(".jp-agents-badge")).to_have_text("agent · step 1 · pending")
    marker = risky.locator(".jp-agents-badge-row .jp-agents-risk-count")
    expect(marker).to_be_visible()
    expect(marker).to_contain_text("1 flag")
    expect(marker).to_have_attribute("title", re.compile("flagged 1 flag in this proposal"))
    flags = risky.locator(".jp-agents-risks .jp-agents-risk")
    expect(flags).to_have_count(1)
    expect(flags).to_have_text(reason)
    expect(flags).to_be_visible()  # on the cell, without hovering anything
    expect(flags).to_have_attribute("data-category", "delete_files")
    # Between the badge and the code: it never covers the editor.
    flags_box = risky.locator(".jp-agents-risks").bounding_box()
    editor_box = risky.locator(".jp-InputArea-editor").bounding_box()
    badge_box = risky.locator(".jp-agents-badge-row").bounding_box()
    assert badge_box and flags_box and editor_box
    assert badge_box["y"] + badge_box["height"] <= flags_box["y"] + 1
    assert flags_box["y"] + flags_box["height"] <= editor_box["y"] + 1

    ARTIFACTS.mkdir(exist_ok=True)
    save_screenshot(risky, "risk-flags.png")  # the README's
    risky.screenshot(path=str(ARTIFACTS / "labextension-risk-flags-light.png"))
    set_theme(page, "JupyterLab Dark")
    risky.screenshot(path=str(ARTIFACTS / "labextension-risk-flags-dark.png"))
    set_theme(page, "JupyterLab Light")

    approve_from_toolbar(risky, screenshot="labextension-risk-flags-toolbar.png")

    # It ran, and keeps showing the flags of the code that ran.
    expect(risky).to_contain_class("jp-agents-approved", timeout=30_000)
    expect(risky.locator(".jp-agents-risks .jp-agents-risk")).to_have_text(reason)
    expect(risky.locator(".jp-agents-risk-count")).to_contain_text("1 flag")
    expect(risky.locator(".jp-agents-risk-count")).to_have_attribute(
        "title", re.compile("flagged 1 flag in this cell")
    )
    # "approved" shows as the cell starts; its execution count once it has run.
    expect(risky.locator(".jp-InputPrompt")).to_contain_text(re.compile(r"\[\d+\]"))
    assert not build.exists()

    # A cell the review did not flag shows nothing extra, pending or run.
    benign = cells(page).nth(3)
    expect(benign).to_contain_class("jp-agents-pending", timeout=30_000)
    expect(benign).to_contain_text("flag_free = 6 * 7")
    expect(benign.locator(".jp-agents-badge")).to_have_text("agent · step 2 · pending")
    expect(benign.locator(".jp-agents-risk-count")).to_have_count(0)
    expect(benign.locator(".jp-agents-risks")).to_have_count(0)
    approve_from_toolbar(benign)
    expect(benign).to_contain_class("jp-agents-approved", timeout=30_000)
    expect(benign.locator(".jp-agents-risks")).to_have_count(0)

    last = cells(page).nth(4)
    expect(last).to_contain_class("jp-agents-pending", timeout=30_000)
    approve_from_toolbar(last)
    expect(cells(page).nth(1).locator(".jp-Cell-outputArea")).to_contain_text(
        "Done. Final answer: 42", timeout=30_000
    )
    flagged = page.evaluate(
        "() => window.jupyterapp.shell.currentWidget.content.model.sharedModel.cells"
        ".map(cell => (cell.getMetadata().jupyter_agents || {}).risks || null)"
    )
    assert flagged == [
        None,
        None,
        [
            {
                "category": "delete_files",
                "reason": "shutil.rmtree('build') deletes a whole directory tree",
                "line": 2,
            }
        ],
        None,
        None,
    ]


def test_saved_risk_flags_are_text_and_follow_the_metadata(page, lab: LabServer):
    """Flags from a saved notebook: markup in a reason stays text; many flags fold; edits show."""
    hostile = {
        "category": "overwrite_files",
        "reason": "open('<img src=x onerror=\"window.pwned=1\">', 'w') overwrites the file",
        "line": 1,
    }
    reversed_name = {
        "category": "delete_files",
        "reason": "os.remove('\u202etxt.exe') deletes a file",
        "line": 2,
    }
    many = [
        {"category": "shell", "reason": f"!step{n} runs a shell command", "line": n}
        for n in range(1, 10)
    ]

    def agent_cell(source: str, status: str, step: int, risks: list | None):
        provenance = {"run_id": "r", "step": step, "status": status}
        if risks is not None:
            provenance["risks"] = risks
        return nbformat.v4.new_code_cell(source, metadata={"jupyter_agents": provenance})

    open_notebook(
        page,
        lab,
        "saved-risks.ipynb",
        [
            nbformat.v4.new_code_cell(
                "%agent Tidy up", metadata={"jupyter_agents": {"run_id": "r", "prompt": True}}
            ),
            agent_cell(
                "open(name, 'w')\nos.remove(other)", "approved", 1, [hostile, reversed_name]
            ),
            agent_cell("\n".join(f"!step{n}" for n in range(1, 10)), "pending", 2, many),
            agent_cell("x = 1", "approved", 3, []),
            nbformat.v4.new_code_cell("mine = True", metadata={"jupyter_agents": {"risks": "x"}}),
        ],
        kernel=False,
    )
    first = cells(page).nth(1)
    expect(first).to_contain_class("jp-agents-approved", timeout=30_000)
    expect(first.locator(".jp-agents-risk-count")).to_contain_text("2 flags")
    reasons = first.locator(".jp-agents-risk")
    expect(reasons).to_have_count(2)
    expect(reasons.nth(0)).to_have_text("line 1: " + hostile["reason"])
    expect(first.locator(".jp-agents-risks img")).to_have_count(0)
    # A direction override in a reason is shown, not obeyed.
    expect(reasons.nth(1)).to_have_text("line 2: os.remove('\\u202etxt.exe') deletes a file")
    assert page.evaluate("() => window.pwned") is None

    # Nine flags: five listed, four folded under "4 more", all of them counted.
    crowded = cells(page).nth(2)
    expect(crowded.locator(".jp-agents-risk-count")).to_contain_text("9 flags")
    expect(crowded.locator(".jp-agents-risk:visible")).to_have_count(5)
    more = crowded.locator(".jp-agents-risks-more > summary")
    expect(more).to_have_text("4 more")
    ARTIFACTS.mkdir(exist_ok=True)
    crowded.screenshot(path=str(ARTIFACTS / "labextension-risk-flags-folded.png"))
    more.click()
    expect(crowded.locator(".jp-agents-risk:visible")).to_have_count(9)
    expect(crowded.locator(".jp-agents-risk").last).to_have_text(
        "line 9: !step9 runs a shell command"
    )

    for index in (0, 3, 4):  # the %agent cell, an empty list, a cell of the user's own
        expect(cells(page).nth(index).locator(".jp-agents-risk-count")).to_have_count(0)
        expect(cells(page).nth(index).locator(".jp-agents-risks")).to_have_count(0)

    # The flags follow the metadata: the kernel rewrites them when an edited cell runs.
    page.evaluate(
        """() => {
            const cell = window.jupyterapp.shell.currentWidget.content.widgets[1];
            const provenance = cell.model.getMetadata('jupyter_agents');
            cell.model.setMetadata('jupyter_agents', {...provenance, risks: [
                {category: 'network', reason: "requests.get(url) talks to the network", line: 4}
            ]});
        }"""
    )
    expect(first.locator(".jp-agents-risk")).to_have_text(
        "line 4: requests.get(url) talks to the network"
    )
    expect(first.locator(".jp-agents-risk-count")).to_contain_text("1 flag")
    page.evaluate(
        """() => {
            const cell = window.jupyterapp.shell.currentWidget.content.widgets[1];
            const {risks, ...provenance} = cell.model.getMetadata('jupyter_agents');
            cell.model.setMetadata('jupyter_agents', provenance);
        }"""
    )
    expect(first.locator(".jp-agents-risks")).to_have_count(0)
    expect(first.locator(".jp-agents-risk-count")).to_have_count(0)
    expect(first.locator(".jp-agents-badge")).to_have_text("agent · step 1 · approved")
