"""Undo in a real kernel: ``%agent_undo`` and ``last_run().undo()`` put the namespace back as it
was before a run (names, identities, objects changed in place), newest run first, after any
ending. The scripted model server writes the cells."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.kernel import KernelHarness
from tests.support.llm_server import Fault, ScriptedLLMServer
from tests.support.replies import code

pytestmark = pytest.mark.kernel


def value_of(kernel: KernelHarness, expression: str) -> str:
    run = kernel.execute(f"print(repr(({expression})))")
    assert run.status == "ok", run.error_text
    return run.stdout.strip()


def test_undo_puts_names_objects_and_aliases_back_and_a_dry_run_changes_nothing(
    agent_kernel: KernelHarness, script: ScriptedLLMServer
):
    setup = agent_kernel.execute(
        "import pandas as pd\n"
        "u_df = pd.DataFrame({'a': [1, 2]}); u_df_alias = u_df\n"
        "u_list = [1]; u_list_alias = u_list\nu_b = object(); u_original_b = u_b\n"
        "open('u_written.txt', 'w').close()  # so the agent's write overwrites it: flagged"
    )
    assert setup.status == "ok", setup.error_text
    script.script(
        code("u_df['c'] = u_df['a'] * 10\nu_list.append(2)"),
        code(
            "u_b = 'rebound'\nu_new = 42\nwith open('u_written.txt', 'w') as f:\n    f.write('x')"
        ),
        code("final_answer(u_new)"),
    )
    run = agent_kernel.execute("%agent --approve auto Change things", timeout=60)
    assert run.status == "ok", run.error_text

    dry = agent_kernel.execute("%agent_undo --dry-run")
    assert dry.status == "ok", dry.error_text
    assert "would:" in dry.stdout and "u_new" in dry.stdout
    assert "files written: step 2" in dry.stdout  # what no undo can take back
    assert value_of(agent_kernel, "list(u_df_alias.columns), u_list, u_new") == (
        "(['a', 'c'], [1, 2], 42)"
    )

    undo = agent_kernel.execute("%agent_undo")
    assert undo.status == "ok", undo.error_text
    assert "Undid run" in undo.stdout and "Cannot be undone:" in undo.stdout
    assert value_of(agent_kernel, "list(u_df_alias.columns), u_df is u_df_alias") == (
        "(['a'], True)"
    )
    assert value_of(agent_kernel, "u_list_alias, u_b is u_original_b, 'u_new' in dir()") == (
        "([1], True, False)"
    )
    assert value_of(agent_kernel, "jupyter_agents.last_run().undone") == "True"
    again = agent_kernel.execute("%agent_undo")  # as Run All re-runs an undo cell: no error
    assert again.status == "ok", again.error_text
    assert "undone already: nothing to undo" in again.stdout


def test_runs_undo_newest_first(agent_kernel: KernelHarness, script: ScriptedLLMServer):
    agent_kernel.execute("%agent_config undo_depth=2")
    try:
        script.script(code("s_first = 1\nfinal_answer(1)"), code("s_second = 2\nfinal_answer(2)"))
        assert agent_kernel.execute("%agent --approve auto One", timeout=60).status == "ok"
        agent_kernel.execute("s_older = jupyter_agents.last_run()")
        assert agent_kernel.execute("%agent --approve auto Two", timeout=60).status == "ok"

        refused = agent_kernel.execute("await s_older.undo()")
        assert refused.status == "error"
        assert "is not the latest undoable run: undo run" in refused.error_text
        assert agent_kernel.execute("%agent_undo").status == "ok"
        assert value_of(agent_kernel, "'s_second' in dir(), s_first") == "(False, 1)"
        report = agent_kernel.execute("print(await s_older.undo())")
        assert report.status == "ok", report.error_text
        assert value_of(agent_kernel, "'s_first' in dir()") == "False"
    finally:
        agent_kernel.execute("%agent_config undo_depth=")


def test_a_run_can_no_longer_be_undone_once_a_later_run_started(
    agent_kernel: KernelHarness, script: ScriptedLLMServer
):
    script.script(code("d_first = 1\nfinal_answer(1)"), code("d_second = 2\nfinal_answer(2)"))
    assert agent_kernel.execute("%agent --approve auto One", timeout=60).status == "ok"
    agent_kernel.execute("d_older = jupyter_agents.last_run()")
    assert agent_kernel.execute("%agent --approve auto Two", timeout=60).status == "ok"
    refused = agent_kernel.execute("await d_older.undo()")
    assert "can no longer be undone: a later run started since" in refused.error_text


def test_undo_after_a_failed_run_and_after_an_interrupt(
    agent_kernel: KernelHarness, script: ScriptedLLMServer
):
    script.script(code("f_made = [1]\nf_made.append(2)"), Fault(status=500), Fault(status=500))
    failed = agent_kernel.execute("%agent --approve auto Fail later", timeout=60)
    assert failed.status == "error"
    assert agent_kernel.execute("%agent_undo").status == "ok"
    assert value_of(agent_kernel, "'f_made' in dir()") == "False"

    agent_kernel.execute("i_items = [0]\ni_marker = 'i_marker.txt'")
    script.script(
        code("i_items.append(1)\nopen(i_marker, 'w').close()\nimport time\ntime.sleep(30)")
    )
    marker = Path(value_of(agent_kernel, "__import__('os').getcwd()").strip("'")) / "i_marker.txt"
    run = agent_kernel.start("%agent --approve auto Sleep")
    agent_kernel.wait_for(marker.exists, 30, "the agent's cell to start")
    agent_kernel.interrupt()
    agent_kernel.wait_done(run, 30)
    assert "RunInterrupted" in run.error_text
    undo = agent_kernel.execute("%agent_undo")
    assert undo.status == "ok", undo.error_text
    assert value_of(agent_kernel, "i_items") == "[0]"


def test_a_bad_option_is_one_line(agent_kernel: KernelHarness):
    bad = agent_kernel.execute("%agent_undo --everything")
    assert bad.status == "error" and "unknown option '--everything'" in bad.error_text


def test_the_widgets_undo_run_button_lists_first_then_undoes(
    agent_kernel: KernelHarness, script: ScriptedLLMServer
):
    agent_kernel.execute("w_list = [1]\nw_alias = w_list")
    script.script(code("w_made = 7\nw_list.append(2)"), code("final_answer(w_made)"))
    added = agent_kernel.execute("%agent --approve auto Add", timeout=60)
    assert added.status == "ok", added.error_text

    agent_kernel.click("Undo run", acknowledged=False)
    agent_kernel.button("Undo now")  # the first click only lists
    listed = agent_kernel.html_text()
    assert "Undoing this run will:" in listed and "w_made" in listed
    assert "Cannot be undone:" in listed
    assert value_of(agent_kernel, "w_made, w_alias") == "(7, [1, 2])"

    agent_kernel.click("Undo now", acknowledged=False)
    agent_kernel.button("undone", enabled=False)  # nothing more to click
    assert "Undone: the names and objects it changed are back" in agent_kernel.html_text()
    assert value_of(agent_kernel, "'w_made' in dir(), w_alias") == "(False, [1])"
    assert value_of(agent_kernel, "jupyter_agents.last_run().undone") == "True"


def test_agent_undo_in_a_cell_marks_the_runs_widget_undone(
    agent_kernel: KernelHarness, script: ScriptedLLMServer
):
    """The widget above would otherwise still offer Undo run for a run that is gone."""
    script.script(code("wu_made = 1"), code("final_answer(wu_made)"))
    assert agent_kernel.execute("%agent --approve auto Make", timeout=60).status == "ok"
    button = agent_kernel.button("Undo run")
    assert agent_kernel.execute("%agent_undo").status == "ok"
    agent_kernel.wait_for(lambda: button.get("description") == "undone", 30, "the widget")
    assert button.get("disabled") is True


def test_undo_after_stop_puts_back_what_the_approved_cells_did(
    agent_kernel: KernelHarness, script: ScriptedLLMServer
):
    agent_kernel.execute("st_dict = {'a': 1}")
    script.script(code("st_dict.update(b=2)\nst_new = 1"), code("st_later = 2"))
    run = agent_kernel.start("%agent Two cells")
    agent_kernel.click("Approve")
    agent_kernel.button("Approve")  # the second cell waits: stop instead
    agent_kernel.click("Stop")
    agent_kernel.wait_done(run)
    assert value_of(agent_kernel, "st_dict, 'st_new' in dir()") == "({'a': 1, 'b': 2}, True)"

    undo = agent_kernel.execute("%agent_undo")
    assert undo.status == "ok", undo.error_text
    assert value_of(agent_kernel, "st_dict, 'st_new' in dir()") == "({'a': 1}, False)"
