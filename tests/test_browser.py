"""The approval widget in a real JupyterLab, in a real browser (Debian Chromium, Playwright).

This is the path users take: JupyterLab renders the widget, its widget manager answers the
kernel's frontend probe, clicks travel as comm messages into the still-running %agent cell,
and outputs are captured under each step.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import kernel_env
from tests.support.lab import LabServer, launch_browser, start_lab, write_notebook
from tests.support.llm_server import ScriptedLLMServer
from tests.support.replies import code

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
README_IMAGES = Path(__file__).resolve().parent.parent / "docs" / "images"
SETUP_CELL = "%load_ext jupyter_agents\n%agent_config model=openai/scripted"


@pytest.fixture(scope="module")
def lab(llm: ScriptedLLMServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    home = tmp_path_factory.mktemp("lab")
    server = start_lab(home, kernel_env(llm, home))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with playwright_api.sync_playwright() as playwright:
        browser = launch_browser(playwright)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser, request: pytest.FixtureRequest, lab: LabServer):
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    try:
        yield page
    finally:
        report = getattr(request.node, "report_call", None)
        if report is not None and report.failed:
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
            shutil.copy(lab.log, ARTIFACTS / f"{request.node.name}-jupyterlab.log")
        context.close()


def open_notebook(page, lab: LabServer, name: str, cells: list[str]) -> None:
    write_notebook(lab.root / name, cells)
    lab.start_session(name)
    page.goto(lab.notebook_url(name))
    page.wait_for_function("() => window.jupyterapp !== undefined", timeout=60_000)
    expect(page.locator(".jp-Notebook .jp-Cell").first).to_be_visible(timeout=60_000)
    kernel_idle(page)


def kernel_idle(page, timeout: float = 60_000) -> None:
    # Running cells before the session context is ready makes JupyterLab ask for a kernel.
    page.wait_for_function(
        """() => {
            const panel = window.jupyterapp.shell.currentWidget;
            const context = panel && panel.sessionContext;
            const kernel = context && context.session && context.session.kernel;
            return Boolean(context && context.isReady && kernel
                && kernel.connectionStatus === 'connected' && kernel.status === 'idle');
        }""",
        timeout=timeout,
    )


def run_all(page) -> None:
    # Not awaited: the command's promise resolves only when every cell has finished.
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")


def cell_output(page, index: int):
    return page.locator(".jp-Notebook .jp-Cell").nth(index).locator(".jp-Cell-outputArea")


def decision_button(page, name: str):
    # By text: the icon's pseudo-element is part of the accessible name, so roles don't match.
    label = re.compile(rf"^\s*{re.escape(name)}\s*$")
    return page.locator(".jupyter-agents button.widget-button:visible").filter(has_text=label)


def test_approve_in_jupyterlab(page, lab: LabServer, script: ScriptedLLMServer):
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
        "approve.ipynb",
        [SETUP_CELL, "%agent Compute browser_x", "print('browser_x =', browser_x)"],
    )
    run_all(page)

    approve = decision_button(page, "Approve")
    expect(approve).to_be_enabled(timeout=60_000)
    widget = page.locator(".jupyter-agents")
    expect(widget).to_contain_text("I'll compute the value")
    save_screenshot(widget, "approval-widget.png")
    approve.click()

    expect(cell_output(page, 1)).to_contain_text("Jan", timeout=30_000)  # the table, under step 1
    expect(approve).to_be_enabled(timeout=30_000)
    approve.click()

    expect(cell_output(page, 1)).to_contain_text("Done. Final answer: 42", timeout=30_000)
    expect(cell_output(page, 2)).to_contain_text("browser_x = 42", timeout=30_000)
    save_screenshot(widget, "finished-run.png")


def test_edit_and_reject_in_jupyterlab(page, lab: LabServer, script: ScriptedLLMServer):
    script.script(
        code("edited_in_browser = 1", "Set a value."),
        code("rejected_in_browser = True", "Another try."),
        code("final_answer(edited_in_browser)", "Done."),
    )
    open_notebook(
        page,
        lab,
        "edit.ipynb",
        [SETUP_CELL, "%agent Set a value", "print('after', edited_in_browser)"],
    )
    run_all(page)

    edit = decision_button(page, "Edit")
    expect(edit).to_be_enabled(timeout=60_000)
    edit.click()
    editor = page.locator(".jupyter-agents textarea")
    expect(editor).to_have_value("edited_in_browser = 1")
    editor.fill("edited_in_browser = 7")
    decision_button(page, "Approve").click()

    reason = page.locator(".jupyter-agents input[placeholder^='Reason']")
    expect(reason).to_be_enabled(timeout=30_000)
    reason.fill("No flags, please")
    decision_button(page, "Reject").click()

    approve = decision_button(page, "Approve")
    expect(approve).to_be_enabled(timeout=30_000)
    approve.click()

    expect(cell_output(page, 1)).to_contain_text("Done. Final answer: 7", timeout=60_000)
    expect(cell_output(page, 2)).to_contain_text("after 7", timeout=60_000)
    told = script.requests[1].last_user_text
    assert "edited_in_browser = 7" in told
    assert "No flags, please" in script.requests[2].last_user_text


def save_screenshot(locator, name: str) -> None:
    """Screenshots for the README are taken here, by the test suite, from the real UI."""
    target = README_IMAGES if os.environ.get("JUPYTER_AGENTS_UPDATE_SCREENSHOTS") else ARTIFACTS
    target.mkdir(parents=True, exist_ok=True)
    locator.screenshot(path=str(target / name))
