"""Runs recorded in the notebook: the record, replay without a model, --rerun, offline, secrets.

The notebook is held in memory by the headless frontend (the same protocol the extension
speaks), so what these tests read is what a saved .ipynb would hold.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator

import nbformat
import pytest
from nbformat.v4 import new_code_cell

from jupyter_agents.core.result import RunResult, RunStatus
from jupyter_agents.notebook.frontend import NotebookFrontend
from jupyter_agents.notebook.recorded import find_recorded_run
from jupyter_agents.notebook.run_record import run_record
from jupyter_agents.notebook.schema import metadata_errors
from jupyter_agents.notebook.transcript import Transcript
from tests.conftest import start_kernel
from tests.support.kernel import KernelHarness, attached_notebook
from tests.support.llm_server import Fault, ScriptedLLMServer
from tests.support.replies import code
from tests.test_approval_in_kernel import REASON

pytestmark = pytest.mark.kernel

PROMPT = "prompt-cell"
FAKE_KEY = "sk-proj-FAKEFAKEFAKEFAKEFAKE1234"
FAKE_ENV_SECRET = "correct-horse-battery-staple-42"


@pytest.fixture(scope="module")
def kernel(llm: ScriptedLLMServer, tmp_path_factory: pytest.TempPathFactory):
    harness = start_kernel(
        llm, tmp_path_factory.mktemp("recorded"), WAREHOUSE_PASSWORD=FAKE_ENV_SECRET
    )
    try:
        harness.execute(
            "%load_ext jupyter_agents\n%agent_config model=openai/scripted model_retries=1\n"
            "import jupyter_agents"
        )
        yield harness
    finally:
        harness.shutdown()


@pytest.fixture
def notebook(kernel: KernelHarness) -> Iterator[NotebookFrontend]:
    cells = [
        new_code_cell("%agent --approve auto Add up the sales", id=PROMPT),
        new_code_cell("print('mine')", id="user-cell"),
    ]
    with attached_notebook(kernel, cells) as frontend:
        yield frontend
    kernel.execute("jupyter_agents.session_settings().command_line.clear()")


def agent_cells(frontend: NotebookFrontend) -> list[str]:
    return [
        cell.source
        for cell in frontend.notebook.cells
        if "step" in cell.metadata.get("jupyter_agents", {})
    ]


def run_prompt(kernel: KernelHarness, line: str = "%agent --approve auto Add up the sales"):
    run = kernel.execute(line, timeout=60, cell_id=PROMPT)
    assert run.status == "ok", run.error_text
    return run


def test_a_run_is_recorded_and_run_all_replays_it_without_a_model(
    kernel: KernelHarness, notebook: NotebookFrontend, script: ScriptedLLMServer
):
    script.script(code("rec_sales = [3, 4]", "Load."), code("final_answer(sum(rec_sales))", "Sum."))
    first = run_prompt(kernel)
    assert first.result == "7"
    runs = notebook.notebook.metadata["jupyter_agents"]["runs"]
    assert len(runs) == 1
    record = runs[0]
    assert record["prompt_cell"] == PROMPT and record["status"] == "completed"
    assert record["answer"] == {"json": 7} and record["steps"] == 2
    assert record["usage"]["prompt_tokens"] > 0
    metrics = record["step_metrics"]
    assert [m["step"] for m in metrics] == [1, 2] and all(m["status"] == "auto" for m in metrics)
    assert sum(m["prompt_tokens"] for m in metrics) == record["usage"]["prompt_tokens"]
    assert all(m["model_seconds"] > 0 for m in metrics)
    calls = record["transcript"]["calls"]
    assert [call["step"] for call in calls] == [1, 2]
    assert calls[1]["reply"].startswith("Sum.")
    cells_before = [cell.source for cell in notebook.notebook.cells]
    requests_before = len(script.requests)

    # Run All by a colleague with no model configured: the same cell, the record below it.
    kernel.execute("%agent_config model=")
    try:
        replay = run_prompt(kernel)
    finally:
        kernel.execute("%agent_config model=openai/scripted")

    assert len(script.requests) == requests_before, "a replay must not call the model"
    assert replay.result == "7"
    assert "not calling a model" in kernel.html_text()
    # The header names the record, not this kernel's (empty) model and policy.
    assert f"jupyter-agents · replaying the recorded run {record['run_id']}" in kernel.html_text()
    assert [cell.source for cell in notebook.notebook.cells] == cells_before
    assert len(notebook.notebook.metadata["jupyter_agents"]["runs"]) == 1
    nbformat.validate(notebook.notebook)
    assert metadata_errors(notebook.notebook) == []
    # last_run() lists the replayed steps, as it listed the original's; this run used no tokens.
    listed = kernel.execute(
        "replayed = jupyter_agents.last_run()\n"
        "print([(s.number, str(s.status), s.code_run) for s in replayed.steps], "
        "replayed.usage.prompt_tokens)"
    ).stdout.strip()
    assert listed == (
        "[(1, 'auto', 'rec_sales = [3, 4]'), (2, 'auto', 'final_answer(sum(rec_sales))')] 0"
    )


def test_replayed_steps_keep_decisions_edits_and_rejections():
    """What a replay's steps hold for each kind of cell, read from a saved notebook."""
    run_id = "0123456789ab"

    def step_cell(source: str, step: int, status: str, **extra) -> nbformat.NotebookNode:
        provenance = {"run_id": run_id, "step": step, "role": "agent", "model": "m"}
        return new_code_cell(
            source, metadata={"jupyter_agents": {**provenance, "status": status, **extra}}
        )

    cells = [
        new_code_cell(
            "%agent Task",
            id=PROMPT,
            metadata={"jupyter_agents": {"run_id": run_id, "prompt": True}},
        ),
        step_cell("bad = 1", 2, "rejected", reason="no"),
        step_cell("good = 2", 3, "edited", proposed_source="good = 3"),
        step_cell("final_answer(good)", 4, "approved"),
    ]
    metrics = [
        {"step": n, "role": "agent", "status": status}
        for n, status in [(1, "rejected"), (2, "rejected"), (3, "edited"), (4, "approved")]
    ]
    record = {"run_id": run_id, "kind": "agent", "step_metrics": metrics}
    # As read_notebook returns it: the cells, and the notebook's jupyter_agents metadata.
    notebook = {"cells": cells, "metadata": {"runs": [record]}}

    steps = find_recorded_run(notebook, PROMPT).steps()

    assert [(s.number, str(s.status), s.proposed_code, s.code_run, s.reason) for s in steps] == [
        (1, "rejected", "", None, None),  # not kept as a cell: its code is not in the notebook
        (2, "rejected", "bad = 1", None, "no"),
        (3, "edited", "good = 3", "good = 2", None),
        (4, "approved", "final_answer(good)", "final_answer(good)", None),
    ]
    assert all(s.role is None and s.usage.prompt_tokens == 0 and s.reply == "" for s in steps)


def test_rerun_replaces_exactly_that_runs_cells(
    kernel: KernelHarness, notebook: NotebookFrontend, script: ScriptedLLMServer
):
    script.script(code("rr_a = 1"), code("final_answer(rr_a)"))
    run_prompt(kernel)
    assert agent_cells(notebook) == ["rr_a = 1", "final_answer(rr_a)"]
    old_run = notebook.notebook.metadata["jupyter_agents"]["runs"][0]["run_id"]

    script.script(code("rr_b = 2"), code("final_answer(rr_b)"))
    rerun = run_prompt(kernel, "%agent --approve auto --rerun Add up the sales")

    assert rerun.result == "2"
    assert agent_cells(notebook) == ["rr_b = 2", "final_answer(rr_b)"]
    assert "print('mine')" in [cell.source for cell in notebook.notebook.cells]
    runs = notebook.notebook.metadata["jupyter_agents"]["runs"]
    assert len(runs) == 1 and runs[0]["run_id"] != old_run
    assert metadata_errors(notebook.notebook) == []


def test_an_interactive_rerun_still_asks_for_approval(
    kernel: KernelHarness, notebook: NotebookFrontend, script: ScriptedLLMServer
):
    script.script(code("ir_a = 1"), code("final_answer(ir_a)"))
    run_prompt(kernel)  # recorded under --approve auto

    script.script(code("ir_b = 2"), code("final_answer(ir_b)"))
    rerun = kernel.start("%agent --rerun Add up the sales", cell_id=PROMPT)
    kernel.click("Approve")  # each new cell waits for a person, as always
    kernel.click("Approve")
    kernel.wait_done(rerun, 60)

    assert rerun.result == "2"
    statuses = [c.metadata["jupyter_agents"]["status"] for c in notebook.notebook.cells[1:3]]
    assert statuses == ["approved", "approved"]


def test_a_rerun_that_fails_before_its_first_cell_keeps_the_old_run(
    kernel: KernelHarness, notebook: NotebookFrontend, script: ScriptedLLMServer
):
    script.script(code("kept_a = 1"), code("final_answer(kept_a)"))
    run_prompt(kernel)
    before = copy.deepcopy(notebook.notebook)

    script.script(Fault(status=400, message="model not found"))
    failed = kernel.execute("%agent --approve auto --rerun Add up the sales", cell_id=PROMPT)

    assert failed.status == "error" and "ModelCallFailed" in failed.error_text
    assert notebook.notebook.cells == before.cells  # the old run's cells and the prompt's id
    assert notebook.notebook.metadata == before.metadata  # and its record, as they were


def test_a_changed_task_is_a_new_run(
    kernel: KernelHarness, notebook: NotebookFrontend, script: ScriptedLLMServer
):
    script.script(code("ct_first = 1"), code("final_answer(ct_first)"))
    run_prompt(kernel)
    script.script(code("final_answer(2)"))
    changed = run_prompt(kernel, "%agent --approve auto Add up the sales twice")
    assert changed.result == "2"
    assert len(script.requests) == 3
    # The new run replaced the old run's cells (no orphans for Run All), and said so.
    assert agent_cells(notebook) == ["final_answer(2)"]
    assert "print('mine')" in [cell.source for cell in notebook.notebook.cells]
    assert "The task changed" in kernel.html_text() and "replaces its 2 cell(s)" in (
        kernel.html_text()
    )
    runs = notebook.notebook.metadata["jupyter_agents"]["runs"]
    assert [run["task"] for run in runs] == ["Add up the sales twice"]
    assert metadata_errors(notebook.notebook) == []


def test_the_python_api_replays_its_cells_record_unless_told_to_rerun(
    kernel: KernelHarness, notebook: NotebookFrontend, script: ScriptedLLMServer
):
    api = "r = await jupyter_agents.Agent(approve='auto'{}).run('Add up the sales')\nr.answer"
    script.script(code("api_a = 1"), code("final_answer(api_a)"))
    assert run_prompt(kernel, api.format("")).result == "1"
    assert len(script.requests) == 2

    replayed = run_prompt(kernel, api.format(""))  # the same cell again: its record is below it
    assert replayed.result == "1" and len(script.requests) == 2

    script.script(code("api_b = 2"), code("final_answer(api_b)"))
    rerun = run_prompt(kernel, api.format(", rerun=True"))
    assert rerun.result == "2" and len(script.requests) == 4
    assert agent_cells(notebook) == ["api_b = 2", "final_answer(api_b)"]


def test_offline_mode_refuses_a_cell_without_a_recorded_run(
    kernel: KernelHarness, notebook: NotebookFrontend, script: ScriptedLLMServer
):
    setup = kernel.execute("jupyter_agents.session_settings().command_line['offline'] = True")
    assert setup.status == "ok", setup.error_text
    run = kernel.execute("%agent --approve auto Add up the sales", timeout=60, cell_id=PROMPT)
    assert run.status == "error"
    assert "NotRecorded" in run.error_text and "offline mode never calls a model" in run.error_text
    assert script.requests == []


def test_secrets_never_reach_the_saved_notebook(
    kernel: KernelHarness, notebook: NotebookFrontend, script: ScriptedLLMServer, tmp_path
):
    # A key sits in a variable (so in the kernel summary the model sees) and a secret in an
    # environment variable that an agent cell reads; the model's reply quotes both.
    kernel.execute(f"import os\nvendor_config = {{'endpoint': 'x', 'key': {FAKE_KEY!r}}}")
    script.script(
        code("pw_len = len(os.environ['WAREHOUSE_PASSWORD'])", f"I saw {FAKE_KEY}."),
        code(  # JSON output is data, not text: its strings are redacted too
            "from IPython.display import JSON\n"
            "display(JSON({'pw': os.environ['WAREHOUSE_PASSWORD']}))\n"
            "final_answer(pw_len)",
            f"Length of {FAKE_ENV_SECRET}.",
        ),
    )
    run_prompt(kernel)
    path = tmp_path / "saved.ipynb"
    nbformat.write(notebook.notebook, path)
    saved = path.read_text()
    assert FAKE_KEY not in saved and FAKE_ENV_SECRET not in saved
    shown = [
        output["data"]["application/json"]
        for cell in notebook.notebook.cells
        for output in cell.get("outputs", [])
        if "application/json" in output.get("data", {})
    ]
    assert shown == [{"pw": "[redacted]"}]
    assert "[redacted]" in saved  # the transcript kept the messages, with the secrets cut


def test_a_provider_error_quoting_the_key_is_redacted_in_the_prompt_cell(
    kernel: KernelHarness, notebook: NotebookFrontend, script: ScriptedLLMServer
):
    script.script(Fault(status=401, message=f"Incorrect API key provided: {FAKE_KEY}."))
    run = kernel.execute("%agent --approve auto Add up the sales", timeout=60, cell_id=PROMPT)

    assert run.status == "error" and "ModelCallFailed" in run.error_text
    shown = json.dumps(run.outputs) + run.error_text + kernel.html_text()
    assert FAKE_KEY not in shown and "[redacted]" in run.error_text
    # The next cell is the user's own: nothing of the agent's rules is left on it.
    mine = kernel.execute(f"print('{FAKE_KEY}')")
    assert mine.stdout.strip() == FAKE_KEY


def test_secrets_in_rejections_and_edited_proposals_stay_out_of_the_notebook(
    kernel: KernelHarness, notebook: NotebookFrontend, script: ScriptedLLMServer, tmp_path
):
    kernel.execute("%agent_config keep_rejected=True")
    try:
        script.script(
            code(f"client = connect(key={FAKE_KEY!r})", "Connect."),
            code(f"token = {FAKE_KEY!r}\nsecret_done = 1", "Again."),
            code("final_answer(secret_done)", "Done."),
        )
        run = kernel.start("%agent Connect to the warehouse", cell_id=PROMPT)
        reason = kernel.widget("TextModel", disabled=False, placeholder=REASON)
        kernel.set_state(reason, value=f"never paste {FAKE_KEY} into code")
        kernel.click("Reject")

        def second_proposal():
            return next((c for c in notebook.notebook.cells if "token =" in c.source), None)

        kernel.wait_for(second_proposal, 30, "the second proposal")
        second_proposal().source = "secret_done = 1  # key removed by the reviewer"
        kernel.click("Approve")
        kernel.click("Approve")
        kernel.wait_done(run, 60)
    finally:
        kernel.execute("%agent_config keep_rejected=False")

    assert run.status == "ok", run.error_text
    statuses = [c.metadata["jupyter_agents"].get("status") for c in notebook.notebook.cells[1:-1]]
    assert statuses == ["rejected", "edited", "approved"]
    path = tmp_path / "saved.ipynb"
    nbformat.write(notebook.notebook, path)
    saved = path.read_text()
    assert FAKE_KEY not in saved
    assert "[redacted]" in notebook.notebook.cells[1].source  # the kept rejection
    edited = notebook.notebook.cells[2].metadata["jupyter_agents"]
    assert "[redacted]" in edited["proposed_source"]


def test_the_transcript_stores_each_message_once_and_stays_within_budget():
    transcript = Transcript(
        redact=lambda text: text.replace("SECRET", "[redacted]"), max_chars=5000
    )
    system = {"role": "system", "content": "You are a code agent. SECRET"}
    history = [system, {"role": "user", "content": "task " + "x" * 3000}]
    for step in range(1, 6):
        history = [*history, {"role": "user", "content": f"observation {step} " + "y" * 1000}]
        transcript.record("m", history, f"reply {step}", step=step, role=None)
    stored = transcript.as_json()
    assert len(stored["messages"]) == 7  # system, task, five observations: each once
    assert stored["calls"][-1]["messages"] == list(range(7))
    assert len(json.dumps(stored)) <= 5000
    assert stored["messages"][1]["cut"] > 0  # the oldest long message was cut first
    assert "SECRET" not in json.dumps(stored)


@pytest.mark.parametrize("budget", [1000, 3000, 20_000])
def test_the_transcript_budget_holds_for_any_sizes(budget: int):
    import random

    rng = random.Random(budget)
    for _ in range(30):
        transcript = Transcript(redact=lambda text: text, max_chars=budget)
        history = [{"role": "system", "content": "s" * rng.randint(10, 3000)}]
        for step in range(1, rng.randint(2, 12)):
            reply = "r" * rng.randint(1, 4000)
            transcript.record("m", history, reply, step=step, role=None)
            history = [*history, {"role": "assistant", "content": reply}]
            history.append({"role": "user", "content": "u" * rng.randint(1, 3000)})
        size = len(json.dumps(transcript.as_json()))
        structure_only = all(m["content"] == "" for m in transcript.messages)
        assert size <= budget or structure_only, size


def test_long_replies_and_many_calls_stay_within_the_transcript_budget():
    transcript = Transcript(redact=lambda text: text, max_chars=5000)
    history = [{"role": "system", "content": "system"}]
    for step in range(1, 40):
        reply = f"reply {step} " + "z" * 1500
        transcript.record("m", history, reply, step=step, role=None)
        history = [*history, {"role": "assistant", "content": reply}]
        history.append({"role": "user", "content": f"observation {step} " + "y" * 800})
        assert len(json.dumps(transcript.as_json())) <= 5000, step
    stored = transcript.as_json()
    assert stored["dropped_calls"] > 0 and stored["calls"][-1]["step"] == 39
    run = RunResult(task="t", model="m", approve="auto", max_steps=40)
    run.status = RunStatus.COMPLETED
    nb = nbformat.v4.new_notebook()
    record = run_record(run, prompt_cell="p", redact=str, transcript=stored)
    nb.metadata["jupyter_agents"] = {"runs": [record]}
    assert metadata_errors(nb) == []  # reply_cut and dropped_calls are in the schema
