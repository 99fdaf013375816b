"""Crews in a real kernel: roles, sections, handoffs, the manager, human handoff.

Each role's replies are scripted by routing on its system prompt ("You are the Analyst"), so
the tests do not depend on the order in which roles happen to speak.
"""

from __future__ import annotations

from collections.abc import Iterator

import litellm
import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell

from jupyter_agents.notebook.frontend import NotebookFrontend
from jupyter_agents.notebook.schema import metadata_errors
from tests.support.kernel import KernelHarness, attached_notebook
from tests.support.llm_server import ScriptedLLMServer
from tests.support.replies import code

pytestmark = pytest.mark.kernel

CREW_CELL = "crew-cell"
ENGINEER = "You are the Data engineer"
ANALYST = "You are the Analyst"
MANAGER = "You are the manager of a small team"

TWO_ROLES = """%%crew --approve auto
task: Sum the sales
process: {process}
{extra}agents:
  - role: Data engineer
    goal: Load the sales into a list named crew_sales
    section: Data preparation
  - role: Analyst
    goal: Add up crew_sales
    section: Analysis
"""


def crew_cell(process: str = "sequential", extra: str = "", options: str = "--approve auto") -> str:
    return TWO_ROLES.format(process=process, extra=extra).replace("--approve auto", options)


@pytest.fixture
def notebook(agent_kernel: KernelHarness) -> Iterator[NotebookFrontend]:
    cells = [
        new_markdown_cell("Quarterly sales review."),
        new_code_cell("%%crew ...", id=CREW_CELL),
        new_code_cell("print('after the crew')", id="after-crew"),
    ]
    with attached_notebook(agent_kernel, cells) as frontend:
        yield frontend


def first_request(script: ScriptedLLMServer, system_text: str):
    return next(r for r in script.requests if system_text in r.system_text)


def layout(frontend: NotebookFrontend) -> list[str]:
    """The notebook as (kind: text) lines: headings and agent cells with their role."""
    lines = []
    for cell in frontend.notebook.cells:
        meta = cell.metadata.get("jupyter_agents", {})
        if "section" in meta:
            lines.append(f"heading: {cell.source} [{meta['role']}]")
        elif "step" in meta:
            lines.append(f"{meta['role']}: {cell.source.splitlines()[0]}")
        else:
            lines.append(f"user: {cell.source.splitlines()[0]}")
    return lines


def test_sequential_crew_writes_sections_and_passes_the_note(
    agent_kernel: KernelHarness, notebook: NotebookFrontend, script: ScriptedLLMServer
):
    script.script_for(
        ENGINEER,
        code("crew_sales = [120, 80, 100]", "Load them."),
        code('handoff("Analyst", "crew_sales is clean: 3 values, no gaps")', "Done."),
    )
    script.script_for(ANALYST, code("final_answer(sum(crew_sales))", "Add."))
    run = agent_kernel.execute(crew_cell(), timeout=90, cell_id=CREW_CELL)

    assert run.status == "ok", run.error_text
    assert run.result == "300"
    assert (
        "crew_sales is clean: 3 values, no gaps"
        in first_request(script, ANALYST).messages[1]["content"]
    )
    assert layout(notebook) == [
        "user: Quarterly sales review.",
        "user: %%crew ...",
        "heading: ## Data preparation [Data engineer]",
        "Data engineer: crew_sales = [120, 80, 100]",
        'Data engineer: handoff("Analyst", "crew_sales is clean: 3 values, no gaps")',
        "heading: ## Analysis [Analyst]",
        "Analyst: final_answer(sum(crew_sales))",
        "user: print('after the crew')",
    ]
    nbformat.validate(notebook.notebook)
    assert metadata_errors(notebook.notebook) == []
    record = notebook.notebook.metadata["jupyter_agents"]["runs"][0]
    assert record["kind"] == "crew" and record["crew"]["process"] == "sequential"
    assert [role["section"] for role in record["crew"]["roles"]] == ["Data preparation", "Analysis"]
    turns = agent_kernel.execute(
        "r = jupyter_agents.last_run()\n"
        "print([(t.role, t.section, str(t.status), t.note) for t in r.turns], r.process)"
    ).stdout
    assert "('Data engineer', 'Data preparation', 'handed-off', 'crew_sales is clean" in turns
    assert "('Analyst', 'Analysis', 'completed', '300')" in turns


def test_a_final_answer_without_handoff_is_passed_on_as_the_note(
    agent_kernel: KernelHarness, script: ScriptedLLMServer
):
    script.script_for(ENGINEER, code("crew_sales = [1, 2]\nfinal_answer('two sales loaded')"))
    script.script_for(ANALYST, code("final_answer(sum(crew_sales))"))
    run = agent_kernel.execute(crew_cell(), timeout=90)  # no notebook: sections in the widget

    assert run.result == "3"
    assert (
        "From Data engineer: two sales loaded"
        in first_request(script, ANALYST).messages[1]["content"]
    )
    shown = agent_kernel.html_text()
    assert "Data preparation" in shown and "ja-section" in shown
    assert "Data engineer reports: two sales loaded" in shown


def test_an_unknown_role_in_handoff_is_explained_to_the_model(
    agent_kernel: KernelHarness, script: ScriptedLLMServer
):
    script.script_for(
        ENGINEER,
        code('crew_typo = "ran"\nhandoff("Analyts", "ready")'),
        code('crew_sales = [5]\nhandoff("Analyst", "ready")'),
    )
    script.script_for(ANALYST, code("final_answer((sum(crew_sales), 'crew_typo' in globals()))"))
    run = agent_kernel.execute(crew_cell(), timeout=90)

    assert run.result == "(5, False)"  # the misspelt cell's first line did not run either
    engineer = [r for r in script.requests if ENGINEER in r.system_text]
    told = engineer[1].last_user_text
    assert "there is no role named 'Analyts'; the roles are 'Data engineer', 'Analyst'" in told
    assert "Nothing in this cell ran." in told
    # The analyst's summary of the section lists only the cell that ran.
    analyst_sees = first_request(script, ANALYST).messages[1]["content"]
    assert "crew_sales = [5]" in analyst_sees and "crew_typo" not in analyst_sees


def test_the_handoff_bound_stops_ping_pong(agent_kernel: KernelHarness, script: ScriptedLLMServer):
    script.script_for(ENGINEER, *[code('handoff("Analyst", "your turn")')] * 3)
    script.script_for(ANALYST, *[code('handoff("Data engineer", "no, yours")')] * 3)
    run = agent_kernel.execute(crew_cell(extra="max_handoffs: 3\n"), timeout=90)

    assert run.status == "error"
    assert "CrewStalled: the crew stopped after 3 handoffs" in run.error_text
    assert len(run.error["traceback"]) == 1
    status = agent_kernel.execute("print(jupyter_agents.last_run().status)").stdout.strip()
    assert status == "failed"


def test_hierarchical_delegates_sends_back_and_finishes(
    agent_kernel: KernelHarness, notebook: NotebookFrontend, script: ScriptedLLMServer
):
    def decide(action: str, **fields: str) -> str:
        import json

        return f"Next.\n```json\n{json.dumps({'action': action, **fields})}\n```"

    script.script_for(
        MANAGER,
        decide("delegate", role="Data engineer", instructions="Load the sales."),
        decide("delegate", role="Analyst", instructions="Add them up."),
        decide("delegate", role="Analyst", instructions="Feedback: also report the mean."),
        decide("finish", answer="Total 300, mean 100."),
    )
    script.script_for(ENGINEER, code("crew_sales = [120, 80, 100]\nfinal_answer('loaded 3 sales')"))
    script.script_for(
        ANALYST,
        code("crew_total = sum(crew_sales)\nfinal_answer(f'total {crew_total}')"),
        code("crew_mean = crew_total / len(crew_sales)\nfinal_answer(f'mean {crew_mean}')"),
    )
    run = agent_kernel.execute(crew_cell("hierarchical"), timeout=120, cell_id=CREW_CELL)

    assert run.status == "ok", run.error_text
    assert run.result == "'Total 300, mean 100.'"
    manager_requests = [r for r in script.requests if MANAGER in r.system_text]
    assert len(manager_requests) == 4
    assert "Report from Data engineer" in manager_requests[1].last_user_text
    assert "loaded 3 sales" in manager_requests[1].last_user_text
    second_analyst = [r for r in script.requests if ANALYST in r.system_text][1]
    assert "Feedback: also report the mean." in second_analyst.messages[1]["content"]
    # The section sent back grew at its own end, under its one heading.
    assert layout(notebook)[2:8] == [
        "heading: ## Data preparation [Data engineer]",
        "Data engineer: crew_sales = [120, 80, 100]",
        "heading: ## Analysis [Analyst]",
        "Analyst: crew_total = sum(crew_sales)",
        "Analyst: crew_mean = crew_total / len(crew_sales)",
        "user: print('after the crew')",
    ]


def test_the_python_api_runs_a_crew_with_a_model_and_tools_per_role(
    agent_kernel: KernelHarness, script: ScriptedLLMServer
):
    script.script_for(ENGINEER, code('py_sales = [2, 3]\nhandoff("Analyst", "py_sales ready")'))
    script.script_for(ANALYST, code("final_answer(doubled(sum(py_sales)))"))
    run = agent_kernel.execute(
        "from jupyter_agents import Agent, Crew\n"
        "def doubled(x):\n"
        "    'Twice x.'\n"
        "    return 2 * x\n"
        "crew = Crew([\n"
        "    Agent(role='Data engineer', goal='Load the sales into py_sales', section='Data'),\n"
        "    Agent(role='Analyst', goal='Double their sum', section='Analysis',\n"
        "          model='openai/analyst-model', tools=[doubled]),\n"
        "], approve='auto')\n"
        "result = await crew.run('Sum the sales, doubled')\n"
        "print(result.answer, [(t.role, t.note) for t in result.turns])",
        timeout=90,
    )

    assert run.status == "ok", run.error_text
    assert run.stdout.strip() == ("10 [('Data engineer', 'py_sales ready'), ('Analyst', '10')]")
    analyst = first_request(script, ANALYST)
    assert analyst.body["model"] == "analyst-model"
    assert "doubled" in analyst.system_text  # the role's tool is described to that role only
    assert "doubled" not in first_request(script, ENGINEER).system_text
    assert first_request(script, ENGINEER).body["model"] == "scripted"


def test_a_malformed_crew_runs_nothing(agent_kernel: KernelHarness, script: ScriptedLLMServer):
    bad = (
        "%%crew --approve auto\ntask: t\nagents:\n"
        "  - {role: A, goal: g, section: S}\n  - {role: B, goal: h, section: S}"
    )
    run = agent_kernel.execute(bad, timeout=30)
    assert run.status == "error"
    assert "both own the section 'S'" in run.error_text and len(run.error["traceback"]) == 1
    assert script.requests == []


def test_a_section_title_already_in_the_notebook_runs_nothing(
    agent_kernel: KernelHarness, notebook: NotebookFrontend, script: ScriptedLLMServer
):
    notebook.notebook.cells.insert(0, new_markdown_cell("## Analysis\nWritten by hand."))
    before = [cell.source for cell in notebook.notebook.cells]
    run = agent_kernel.execute(crew_cell(), timeout=60, cell_id=CREW_CELL)

    assert run.status == "error"
    assert "the notebook already has a section 'Analysis'" in run.error_text
    assert len(run.error["traceback"]) == 1
    assert script.requests == []
    assert [cell.source for cell in notebook.notebook.cells] == before


def test_an_edited_crew_spec_replaces_the_old_sections(
    agent_kernel: KernelHarness, notebook: NotebookFrontend, script: ScriptedLLMServer
):
    script.script_for(ENGINEER, code('crew_sales = [5]\nhandoff("Analyst", "one sale")'))
    script.script_for(ANALYST, code("final_answer(sum(crew_sales))"))
    first = agent_kernel.execute(crew_cell(), timeout=90, cell_id=CREW_CELL)
    assert first.result == "5", first.error_text

    script.reset()
    script.script_for(ENGINEER, code('crew_sales = [6, 7]\nhandoff("Analyst", "two sales")'))
    script.script_for(ANALYST, code("final_answer(max(crew_sales))"))
    edited = crew_cell().replace("Add up crew_sales", "Find the largest of crew_sales")
    second = agent_kernel.execute(edited, timeout=90, cell_id=CREW_CELL)

    assert second.status == "ok", second.error_text
    assert second.result == "7"
    assert layout(notebook) == [
        "user: Quarterly sales review.",
        "user: %%crew ...",
        "heading: ## Data preparation [Data engineer]",
        "Data engineer: crew_sales = [6, 7]",
        "heading: ## Analysis [Analyst]",
        "Analyst: final_answer(max(crew_sales))",
        "user: print('after the crew')",
    ]
    assert "The crew changed" in agent_kernel.html_text()
    runs = notebook.notebook.metadata["jupyter_agents"]["runs"]
    assert len(runs) == 1 and runs[0]["crew"]["roles"][1]["goal"].startswith("Find the largest")
    assert metadata_errors(notebook.notebook) == []

    # Unchanged, the cell replays the record; last_run() lists each role's steps.
    requests = len(script.requests)
    replay = agent_kernel.execute(edited, timeout=90, cell_id=CREW_CELL)
    assert replay.result == "7" and len(script.requests) == requests
    listed = agent_kernel.execute(
        "import jupyter_agents\n"
        "print([(s.role, s.number, s.code_run) for s in jupyter_agents.last_run().steps])"
    )
    assert listed.stdout.strip() == str(
        [
            ("Data engineer", 1, 'crew_sales = [6, 7]\nhandoff("Analyst", "two sales")'),
            ("Analyst", 1, "final_answer(max(crew_sales))"),
        ]
    )


def test_a_crew_whose_roles_all_name_models_needs_no_crew_model(
    agent_kernel: KernelHarness, script: ScriptedLLMServer
):
    script.script_for(ENGINEER, code('crew_sales = [2]\nhandoff("Analyst", "ok")'))
    script.script_for(ANALYST, code("final_answer(sum(crew_sales))"))
    spec = (
        crew_cell()
        .replace(
            "    section: Data preparation", "    section: Data preparation\n    model: openai/eng"
        )
        .replace("    section: Analysis", "    section: Analysis\n    model: openai/ana")
    )
    agent_kernel.execute("%agent_config model=")
    try:
        run = agent_kernel.execute(spec, timeout=90)
    finally:
        agent_kernel.execute("%agent_config model=openai/scripted")

    assert run.status == "ok", run.error_text
    assert run.result == "2"
    assert {r.body["model"] for r in script.requests} == {"eng", "ana"}


def test_approve_all_covers_one_role_and_approve_crew_the_rest(
    agent_kernel: KernelHarness, script: ScriptedLLMServer
):
    script.script_for(
        ENGINEER,
        code("crew_sales = [1]"),
        code("crew_sales.append(2)"),
        code('handoff("Analyst", "ok")'),
    )
    script.script_for(
        ANALYST, code("crew_total = sum(crew_sales)"), code("final_answer(crew_total)")
    )
    run = agent_kernel.start(crew_cell(options="--approve each"))
    agent_kernel.click("Approve all")  # the engineer's three cells
    agent_kernel.click("Approve crew")  # the analyst must still be asked once
    agent_kernel.wait_done(run, 60)

    assert run.result == "3"
    statuses = agent_kernel.execute(
        "print([(s.role, str(s.status)) for s in jupyter_agents.last_run().steps])"
    ).stdout
    assert statuses.strip() == (
        "[('Data engineer', 'approved'), ('Data engineer', 'auto'), ('Data engineer', 'auto'), "
        "('Analyst', 'approved'), ('Analyst', 'auto')]"
    )


def test_approve_all_holds_when_the_work_comes_back_to_the_role(
    agent_kernel: KernelHarness, script: ScriptedLLMServer
):
    script.script_for(
        ENGINEER,
        code("crew_sales = [1]"),
        code('handoff("Analyst", "one sale")'),
        code('crew_sales.append(2)\nhandoff("Analyst", "two sales now")'),
    )
    script.script_for(
        ANALYST,
        code('handoff("Data engineer", "need the second sale")'),
        code("final_answer(sum(crew_sales))"),
    )
    run = agent_kernel.start(crew_cell(options="--approve each"))
    agent_kernel.click("Approve all")  # the engineer, in every turn
    agent_kernel.click("Approve")  # the analyst sends the work back
    agent_kernel.click("Approve")  # the analyst's answer: the engineer was not asked again
    agent_kernel.wait_done(run, 60)

    assert run.result == "3", run.error_text
    statuses = agent_kernel.execute(
        "print([(s.role, str(s.status)) for s in jupyter_agents.last_run().steps])"
    ).stdout
    assert statuses.strip() == (
        "[('Data engineer', 'approved'), ('Data engineer', 'auto'), ('Analyst', 'approved'), "
        "('Data engineer', 'auto'), ('Analyst', 'approved')]"
    )


def test_a_role_first_prompt_stays_bounded_as_earlier_sections_grow(
    agent_kernel: KernelHarness, script: ScriptedLLMServer
):
    def analyst_first_prompt_tokens(engineer_steps: int) -> int:
        script.reset()
        printing = code("print('row, value\\n' * 600)")  # about 10 kB per cell
        script.script_for(
            ENGINEER,
            *[printing] * engineer_steps,
            code('crew_sales = [1]\nhandoff("Analyst", "ok")'),
        )
        script.script_for(ANALYST, code("final_answer(1)"))
        run = agent_kernel.execute(crew_cell(options="--approve auto --max-steps 12"), timeout=120)
        assert run.status == "ok", run.error_text
        return litellm.token_counter(
            model="gpt-4o", messages=first_request(script, ANALYST).messages
        )

    small, large = analyst_first_prompt_tokens(1), analyst_first_prompt_tokens(10)
    assert large < 2500  # a fixed budget for a role's first step
    assert large - small < 300  # ten more 10 kB cells upstream add a few summary lines


def test_human_handoff_to_an_existing_section(
    agent_kernel: KernelHarness, script: ScriptedLLMServer
):
    cells = [
        new_markdown_cell("# Report"),
        new_markdown_cell("## Analysis"),
        new_code_cell("human_total = 40", id="human-cell"),
        new_markdown_cell("## Appendix"),
        new_code_cell("%agent --section Analysis ...", id="agent-here"),
    ]
    with attached_notebook(agent_kernel, cells) as frontend:
        agent_kernel.execute("human_total = 40")
        script.script(code("final_answer(human_total + 2)", "Continue."))
        run = agent_kernel.execute(
            '%agent --approve auto --section "Analysis" Finish the total',
            timeout=60,
            cell_id="agent-here",
        )
        requests = len(script.requests)
        absent = agent_kernel.execute(
            "%agent --approve auto --section Conclusions Write it", timeout=30, cell_id="agent-here"
        )
    assert "there is no section 'Conclusions' in this notebook" in absent.error_text
    assert len(absent.error["traceback"]) == 1 and len(script.requests) == requests
    assert run.result == "42"
    task = script.requests[0].messages[1]["content"]
    assert 'You work in the notebook section "Analysis"' in task and "human_total = 40" in task
    sources = [cell.source for cell in frontend.notebook.cells]
    assert sources[:5] == [
        "# Report",
        "## Analysis",
        "human_total = 40",
        "final_answer(human_total + 2)",
        "## Appendix",
    ]

    missing = agent_kernel.execute("%agent --approve auto --section Nowhere Do it", timeout=30)
    assert "--section 'Nowhere' needs the notebook" in missing.error_text


def test_a_crew_under_risky_asks_only_about_flagged_cells(
    agent_kernel: KernelHarness, script: ScriptedLLMServer
):
    script.script_for(
        ENGINEER,
        code("crew_sales = [5, 6]", "Load them."),
        code("import os\nos.remove('crew_old_sales.csv')", "Remove the old file."),
        code('handoff("Analyst", "crew_sales is ready")', "Done."),
    )
    script.script_for(ANALYST, code("final_answer(sum(crew_sales))", "Add."))
    run = agent_kernel.start(crew_cell(options="--approve risky --cell-timeout 30"))
    agent_kernel.click("Reject")  # the only cell that waits: the flagged one
    agent_kernel.wait_done(run, 90)

    assert run.status == "ok", run.error_text
    assert run.result == "11"
    statuses = agent_kernel.execute(
        "print([(s.role, str(s.status)) for s in jupyter_agents.last_run().steps])"
    ).stdout.strip()
    assert statuses == (
        "[('Data engineer', 'auto'), ('Data engineer', 'rejected'), "
        "('Data engineer', 'auto'), ('Analyst', 'auto')]"
    )
    assert "deletes a file" in agent_kernel.html_text()


def test_a_crew_run_undoes_as_one_run(
    agent_kernel: KernelHarness, notebook: NotebookFrontend, script: ScriptedLLMServer
):
    agent_kernel.execute("uc_total = 'before'")
    script.script_for(
        ENGINEER,
        code("uc_sales = [1, 2]", "Load them."),
        code('handoff("Analyst", "uc_sales has 2 values")', "Done."),
    )
    script.script_for(ANALYST, code("uc_total = sum(uc_sales)\nfinal_answer(uc_total)"))
    run = agent_kernel.execute(crew_cell(), timeout=90, cell_id=CREW_CELL)
    assert run.status == "ok", run.error_text

    undo = agent_kernel.execute("%agent_undo", cell_id="after-crew")
    assert undo.status == "ok", undo.error_text
    assert "uc_sales" in undo.stdout and "uc_total" in undo.stdout  # both roles' names
    check = agent_kernel.execute("print('uc_sales' in dir(), uc_total)")
    assert check.stdout.strip() == "False before"
    assert layout(notebook) == [
        "user: Quarterly sales review.",
        "user: %%crew ...",
        "user: print('after the crew')",
    ]
    (record,) = notebook.notebook.metadata["jupyter_agents"]["runs"]
    assert record["undone"]["not_undone"]
    assert metadata_errors(notebook.notebook) == []
