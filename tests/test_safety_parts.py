"""The parts behind risk flags at the gate, time limits and output limits, without a kernel:
the ``risky`` policy, the options and settings, the provenance schema, and the output caps."""

from __future__ import annotations

import asyncio

import nbformat
import pytest
from traitlets.config import Config
from traitlets.config.loader import DeferredConfigString

from jupyter_agents import prompts
from jupyter_agents.agent.loop import undone_note
from jupyter_agents.cli.entry_point import _parser
from jupyter_agents.cli.headless import approved_or_own, end_unfinished_runs
from jupyter_agents.cli.inputs import HEADLESS_AGENT_CELL_TIMEOUT, UsageError, agent_cell_timeout
from jupyter_agents.core.errors import InvalidOption
from jupyter_agents.ipython.magic_options import parse_magic_line
from jupyter_agents.kernel.output_limits import StreamBudget, cap_bundle, head_of, size_of
from jupyter_agents.kernel.output_redaction import redacted_bundle
from jupyter_agents.notebook.schema import metadata_errors, schema
from jupyter_agents.run.config import SettingsStore
from jupyter_agents.run.python_api import Agent
from jupyter_agents.safety.approval import ApprovalDecision, ApprovalGate, ApprovalRequest
from jupyter_agents.safety.approver import Approver
from jupyter_agents.safety.redact import Redactor
from jupyter_agents.safety.risk import Category, review_cell

FLAGGED = tuple(review_cell("import os\nos.remove('old.csv')"))

# -- the risky policy ----------------------------------------------------------------------------


def test_risky_asks_only_about_flagged_cells():
    asked: list[ApprovalRequest] = []

    async def ask(request: ApprovalRequest) -> ApprovalDecision:
        asked.append(request)
        return ApprovalDecision.reject("no")

    async def scenario():
        gate = ApprovalGate("risky", ask)
        plain = await gate.decide(ApprovalRequest(1, "x = 1"))
        flagged = await gate.decide(ApprovalRequest(2, "import os", risks=FLAGGED))
        return plain, flagged

    (plain, plain_by_policy), (flagged, flagged_by_policy) = asyncio.run(scenario())
    assert FLAGGED and FLAGGED[0].category is Category.DELETE_FILES
    assert plain.code == "x = 1" and plain_by_policy
    assert flagged.reason == "no" and not flagged_by_policy
    assert [request.step for request in asked] == [2]


def test_approve_all_under_risky_stops_asking():
    async def ask(request: ApprovalRequest) -> ApprovalDecision:
        return ApprovalDecision.approve(request.code, approve_rest=True)

    async def scenario():
        gate = ApprovalGate("risky", ask)
        first = await gate.decide(ApprovalRequest(1, "a", risks=FLAGGED))
        second = await gate.decide(ApprovalRequest(2, "b", risks=FLAGGED))
        return first[1], second[1], gate.policy

    assert asyncio.run(scenario()) == (False, True, "auto")


def test_the_gate_knows_whom_each_policy_asks():
    async def ask(request: ApprovalRequest) -> ApprovalDecision:
        raise AssertionError("not asked")

    assert ApprovalGate("each", ask).asks(()) and ApprovalGate("each", ask).asks(FLAGGED)
    assert not ApprovalGate("auto", None).asks(FLAGGED)
    assert ApprovalGate("risky", ask).asks(FLAGGED) and not ApprovalGate("risky", ask).asks(())
    with pytest.raises(ValueError, match="risky"):
        ApprovalGate("risky", None)
    with pytest.raises(ValueError):
        ApprovalGate("sometimes", ask)


def test_the_approver_takes_the_first_answer_from_any_source_and_tells_its_watchers():
    seen: list[int | None] = []
    approver = Approver()
    approver.watch(lambda request: seen.append(None if request is None else request.step))

    async def scenario():
        assert not approver.answer(ApprovalDecision.stop())  # nothing pending: ignored
        asked = asyncio.ensure_future(
            ApprovalGate("each", approver.ask).decide(ApprovalRequest(3, "x = 1"))
        )
        await asyncio.sleep(0)
        assert approver.pending == ApprovalRequest(3, "x = 1")
        toolbar = approver.answer(ApprovalDecision.reject("from the toolbar"))
        widget = approver.answer(ApprovalDecision.approve("x = 1"))  # the later click
        decision, by_policy = await asked
        return toolbar, widget, decision, by_policy, approver.pending

    toolbar, widget, decision, by_policy, pending = asyncio.run(scenario())
    assert (toolbar, widget, by_policy, pending) == (True, False, False, None)
    assert decision == ApprovalDecision.reject("from the toolbar")
    assert seen == [3, None]


# -- options and settings ------------------------------------------------------------------------


def test_options_for_the_policy_and_the_time_limit():
    call = parse_magic_line("--approve risky --cell-timeout 2.5 Clean the data")
    assert call.options == {"approve": "risky", "cell_timeout": 2.5}
    assert call.task == "Clean the data"
    assert parse_magic_line("--cell-timeout=0 Go").options == {"cell_timeout": 0.0}


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ("--approve sometimes Go", "'each', 'auto' or 'risky'"),
        ("--cell-timeout soon Go", "number of seconds"),
        ("--cell-timeout -1 Go", "number of seconds"),
        ("--cell-timeout inf Go", "number of seconds"),
        ("--cell-timeout nan Go", "number of seconds"),
    ],
)
def test_bad_values_are_refused(line, fragment):
    with pytest.raises(InvalidOption, match=fragment):
        parse_magic_line(line)


def test_settings_defaults_and_agent_config_values():
    store = SettingsStore()
    defaults = store.resolve()
    assert (defaults.cell_timeout, defaults.max_output_bytes) == (0.0, 1_000_000)
    store.set_from_strings({"approve": "risky", "cell_timeout": "30", "max_output_bytes": "5000"})
    resolved = store.resolve()
    assert (resolved.approve, resolved.cell_timeout, resolved.max_output_bytes) == (
        "risky",
        30.0,
        5000,
    )
    assert store.resolve(approve="each").approve == "each"
    for bad in ({"cell_timeout": "-2"}, {"max_output_bytes": "-1"}, {"approve": "maybe"}):
        with pytest.raises(InvalidOption):
            store.set_from_strings(bad)


def test_setting_errors_are_one_line_in_plain_words():
    store = SettingsStore()
    cases = {
        "stream=maybe": "stream='maybe' is not valid: 'maybe' is not 1, 0, true, or false",
        "max_steps=0": "max_steps='0' is not valid: should not be less than 1, but a value of 0 "
        "was specified",
        "model_kwargs={}": "model_kwargs cannot be set with %agent_config: set "
        "c.JupyterAgents.model_kwargs in your IPython config file, or pass model_kwargs=... "
        "to Agent(...).",
    }
    for assignment, message in cases.items():
        name, value = assignment.split("=", 1)
        with pytest.raises(InvalidOption) as raised:
            store.set_from_strings({name: value})
        assert str(raised.value) == message


def test_a_bad_value_in_the_config_file_is_reported_and_the_default_used(capsys):
    config = Config()
    config.JupyterAgents.approve = "sometimes"
    config.JupyterAgents.max_steps = 4
    store = SettingsStore(config)  # what %load_ext builds: it must not fail
    resolved = store.resolve()
    assert (resolved.approve, resolved.max_steps) == ("each", 4)
    assert capsys.readouterr().err == (
        "jupyter-agents: c.JupyterAgents.approve = 'sometimes' in your IPython config is not "
        "valid (expected any of ['each', 'auto', 'risky'], not the str 'sometimes'); using the "
        "default 'each'.\n"
    )
    assert config.JupyterAgents.approve == "sometimes"  # the user's config object is untouched


def test_config_values_traitlets_converts_are_kept():
    config = Config()
    config.JupyterAgents.max_steps = DeferredConfigString("5")  # --JupyterAgents.max_steps=5
    config.JupyterAgents.model_kwargs.update({"temperature": 0})
    config.JupyterAgents.approve = "sometimes"
    resolved = SettingsStore(config).resolve()
    assert (resolved.max_steps, resolved.model_kwargs) == (5, {"temperature": 0})
    assert resolved.approve == "each"


def test_the_python_api_takes_the_new_settings():
    agent = Agent(approve="risky", cell_timeout=5, max_output_bytes=10_000)
    assert agent.options["approve"] == "risky"
    assert (agent.options["cell_timeout"], agent.options["max_output_bytes"]) == (5, 10_000)


def test_the_headless_cli_gives_agent_cells_a_time_limit():
    parser = _parser()
    assert agent_cell_timeout(parser.parse_args(["run", "a.ipynb"])) == HEADLESS_AGENT_CELL_TIMEOUT
    assert HEADLESS_AGENT_CELL_TIMEOUT == 600
    assert agent_cell_timeout(parser.parse_args(["run", "a.ipynb", "--cell-timeout", "5"])) == 5
    assert agent_cell_timeout(parser.parse_args(["replay", "a.ipynb", "--cell-timeout", "0"])) == 0
    with pytest.raises(UsageError):
        agent_cell_timeout(parser.parse_args(["run", "a.ipynb", "--cell-timeout", "-3"]))


def test_the_model_is_told_about_the_time_limit_from_a_template():
    text = prompts.render("timed_out", seconds="2.5", undone=undone_note(["df"]))
    assert "time limit (2.5 s)" in text and "$" not in text
    assert "Its assignments were undone (df)" in text


# -- provenance ----------------------------------------------------------------------------------


def step_cell(**extra) -> dict:
    entry = {
        "run_id": "0123456789ab",
        "step": 1,
        "role": "agent",
        "model": "openai/x",
        "status": "approved",
        **extra,
    }
    return {"cells": [{"cell_type": "code", "metadata": {"jupyter_agents": entry}}]}


def test_the_cell_schema_knows_every_category_and_the_flag_shape():
    enum = schema("cell")["$defs"]["risk"]["properties"]["category"]["enum"]
    assert enum == [category.value for category in Category]
    flags = [flag.as_json() for flag in FLAGGED]
    assert flags == [{"category": "delete_files", "reason": FLAGGED[0].reason, "line": 2}]
    assert metadata_errors(step_cell(risks=flags)) == []
    assert metadata_errors(step_cell(risks=[{**flags[0], "category": "scary"}]))
    assert metadata_errors(step_cell(risks=[{"category": "shell", "reason": "x"}]))


def test_replay_skips_agent_cells_that_were_cut_short():
    def cell(**extra):
        return nbformat.from_dict(step_cell(**extra)["cells"][0])

    assert approved_or_own(cell())
    assert not approved_or_own(cell(interrupted=True))  # interrupted or past its time limit
    assert not approved_or_own(cell(running=True))  # still running when the kernel died
    assert not approved_or_own(cell(status="rejected"))
    assert metadata_errors(step_cell(interrupted=True)) == []
    assert metadata_errors(step_cell(running=True)) == []


def test_a_dead_kernel_ends_the_runs_and_cells_it_left_running():
    nb = nbformat.from_dict(step_cell(running=True))
    nb.metadata = {"jupyter_agents": {"runs": [{"run_id": "0123456789ab", "status": "running"}]}}
    assert end_unfinished_runs(nb, "the kernel died") == 1
    assert nb.metadata["jupyter_agents"]["runs"][0] == {
        "run_id": "0123456789ab",
        "status": "interrupted",
        "error": "the kernel died",
    }
    entry = nb.cells[0].metadata["jupyter_agents"]
    assert entry["interrupted"] is True and "running" not in entry
    assert end_unfinished_runs(nb, "again") == 0


# -- output limits -------------------------------------------------------------------------------


def test_a_stream_keeps_its_budget_then_one_note():
    written: list[str] = []
    budget = StreamBudget(lambda text: written.append(text) or len(text), "stdout", 10)
    assert budget.write("12345") == 5
    assert budget.write("67890") == 5  # exactly full
    assert budget.write("more") == 4  # over: the note, once
    assert budget.write("and more") == 8
    assert written[:2] == ["12345", "67890"]
    assert len(written) == 3 and written[2].startswith("\n[jupyter-agents: stdout cut here.")

    written.clear()
    straddling = StreamBudget(lambda text: written.append(text), "stderr", 4)
    straddling.write("abcdefgh")
    assert written[0].startswith("abcd\n[jupyter-agents: stderr cut here.")


def test_sizes_are_utf8_bytes_and_cuts_never_split_a_character():
    assert size_of("abc") == 3 and size_of("é") == 2 and size_of("€") == 3
    assert head_of("ééé", 3) == "é"
    assert head_of("abc", 2) == "ab"


def test_a_bundle_over_the_limit_becomes_its_plain_text_start_and_a_note():
    small = {"text/plain": "hi", "text/html": "<b>hi</b>"}
    assert cap_bundle(small, 100) is small
    big = {"text/plain": "<Figure>", "image/png": "A" * 5000}
    capped = cap_bundle(big, 1000)
    assert list(capped) == ["text/plain"]
    assert capped["text/plain"].startswith("<Figure>\n[jupyter-agents: this output had 5,008 bytes")
    assert "Left out: image/png (5,000 bytes)" in capped["text/plain"]
    long_text = {"text/plain": ["x" * 3000, "y" * 3000]}  # nbformat's list form
    cut = cap_bundle(long_text, 1000)["text/plain"]
    assert cut.startswith("xxx") and " ...\n[jupyter-agents:" in cut and len(cut) <= 1000


def test_only_the_text_and_json_forms_of_a_bundle_are_redacted():
    key = "AIza" + "B" * 35  # a Google key's shape, which base64 image data can spell
    redact = Redactor({})
    bundle = {
        "text/plain": f"key={key}",
        "text/html": ["<b>", key, "</b>"],  # nbformat's list form
        "image/png": f"iVBOR{key}",
        "application/json": {"env": {"KEY": key, "n": 3}, "keys": [key, None]},
        "application/vnd.example+json": {"key": key},
    }
    redacted = redacted_bundle(bundle, redact)
    assert redacted["text/plain"] == "key=[redacted]"
    assert redacted["text/html"] == ["<b>", "[redacted]", "</b>"]
    assert redacted["image/png"] == bundle["image/png"]
    # IPython.display.JSON(dict(os.environ)) is JSON, not base64: its strings are redacted.
    assert redacted["application/json"] == {
        "env": {"KEY": "[redacted]", "n": 3},
        "keys": ["[redacted]", None],
    }
    assert redacted["application/vnd.example+json"] == {"key": "[redacted]"}


def test_progress_lines_show_code_as_written_but_escape_control_characters():
    from jupyter_agents.text.terminal_text import first_line, one_line

    assert first_line('handoff("Analyst", "données prêtes")\nmore') == (
        'handoff("Analyst", "données prêtes")'
    )
    hostile = "print('x')  \x1b[2J\x1b[31mgotcha\r\u202eok\u200b\x9b"
    assert first_line(hostile) == "print('x')  \\x1b[2J\\x1b[31mgotcha\\r\\u202eok\\u200b\\x9b"
    assert first_line("  \n\n") == "(empty)"
    assert one_line("a" * 50 + "b" * 50, 11) == "aaaaa…bbbbb"


def test_output_changes_undo_cleanly_even_when_exited_out_of_order(monkeypatch):
    # The prompt cell's redaction ends at post_run_cell, which may come before an agent
    # cell's own contexts end (a task that outlived its cell): nothing may stay changed.
    import io
    import sys
    from contextlib import ExitStack

    from jupyter_agents.kernel.output_pipeline import redact_outputs

    class Shell:
        def __init__(self):
            self.shown = []

        def _showtraceback(self, etype, evalue, stb):
            self.shown.append((evalue, stb))

    class Stream(io.StringIO):
        pass

    shell = Shell()
    monkeypatch.setattr(sys, "stdout", Stream())
    monkeypatch.setattr(sys, "stderr", Stream())
    outer, inner = ExitStack(), ExitStack()
    outer.enter_context(redact_outputs(shell, lambda text: text.replace("a", "P")))
    inner.enter_context(redact_outputs(shell, lambda text: text.replace("b", "E")))
    # Whole lines: a redactor holds an unfinished line back until its newline (a secret may
    # be written in pieces), and sends it through the layers still in place then.
    sys.stdout.write("ab\n")
    outer.close()  # out of order: the first one entered ends first
    sys.stdout.write("ab\n")
    inner.close()
    sys.stdout.write("ab")
    shell._showtraceback(ValueError, "ab", ["ab"])

    assert sys.stdout.getvalue() == "PE\naE\nab"
    assert "write" not in vars(sys.stdout) and "_showtraceback" not in vars(shell)
    assert shell.shown == [("ab", ["ab"])]


def test_the_html_trace_shows_hidden_characters_as_markers():
    # Trojan Source: in the shared trace a cell must read as it runs, as in the widget.
    from jupyter_agents.cli.export import html_trace

    source = 'access = "user"  # \u202e } \u2066if admin:\u2069 \u2066'
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["jupyter_agents"] = {"run_id": "r1", "step": 1, "status": "auto"}
    nb = nbformat.v4.new_notebook(cells=[cell])
    nb.metadata["jupyter_agents"] = {"runs": [{"run_id": "r1", "task": "t\u200b"}]}

    page = html_trace(nb, "trace")

    assert "\u202e" not in page and "\u2066" not in page and "\u200b" not in page
    assert "⟨U+202E⟩" in page and "⟨U+2066⟩" in page and "⟨U+200B⟩" in page


def test_the_sigint_chain_calls_the_innermost_layer_first_and_restores_the_handler_after():
    import signal

    from jupyter_agents.kernel.sigint import sigint_layer

    heard: list[str] = []

    def before(signum, frame):
        heard.append("before the run")

    def run_layer(signum, frame, below):
        heard.append("run")
        below()

    def cell_layer(signum, frame, below):
        heard.append("cell")
        below()

    previous = signal.signal(signal.SIGINT, before)
    try:
        with sigint_layer(run_layer):
            cell = sigint_layer(cell_layer)
            cell.__enter__()
            signal.raise_signal(signal.SIGINT)
            cell.__exit__(None, None, None)
            signal.raise_signal(signal.SIGINT)
        assert signal.getsignal(signal.SIGINT) is before
    finally:
        signal.signal(signal.SIGINT, previous)
    assert heard == ["cell", "run", "before the run", "run", "before the run"]
