"""The loop's typed events reach the views, and the typed records read and write the notebook
format: a field means one thing for every reader."""

from __future__ import annotations

import pytest

from jupyter_agents.core.events import (
    ModelReplied,
    NoteShown,
    Notice,
    ProposalShown,
    ReplyShown,
    RunEnded,
    RunEvents,
    StepEnded,
    StepStarted,
    TextStreamed,
)
from jupyter_agents.core.records import (
    RecordError,
    RunRecord,
    StepProvenance,
    cell_record,
    run_records,
)
from jupyter_agents.core.result import RunResult, RunStatus
from jupyter_agents.core.risk_flags import Category, RiskFlag
from jupyter_agents.core.steps import Step, StepStatus
from jupyter_agents.notebook.run_record import run_record
from jupyter_agents.notebook.schema import metadata_errors
from jupyter_agents.notebook.transcript import Transcript
from jupyter_agents.ui.plain_view import PlainRunView
from jupyter_agents.ui.view import ViewSubscriber

RUN_ID = "0123456789ab"


def test_every_subscriber_hears_every_event_in_order():
    events = RunEvents()
    first: list[object] = []
    second: list[object] = []
    events.subscribe(first.append)
    events.subscribe(second.append)
    sent = [StepStarted(1), TextStreamed("x = "), TextStreamed("1"), Notice("n")]
    for event in sent:
        events.emit(event)
    assert first == sent and second == sent


def test_a_view_shows_the_events_of_the_step_most_recently_started(capsys):
    run = RunResult(task="t", model="m", approve="auto", max_steps=3)
    events = RunEvents()
    shown = ViewSubscriber(PlainRunView(run))
    events.subscribe(shown)
    events.emit(TextStreamed("before any step: nothing to show it in"))
    events.emit(StepStarted(1))
    events.emit(ProposalShown("Add them up.", "total = 1 + 2"))
    events.emit(NoteShown("runs without asking"))
    step = Step(1, "reply", "Add them up.", "total = 1 + 2", StepStatus.AUTO, execution_count=4)
    events.emit(StepEnded(step))
    events.emit(StepStarted(4, title="Step limit reached"))
    events.emit(ReplyShown("It is 3."))
    events.emit(Notice("a notice about the run"))
    run.finish(RunStatus.MAX_STEPS)
    events.emit(RunEnded(run))
    out = capsys.readouterr().out
    assert "before any step" not in out
    assert "── Step 1 of 3 ──\nAdd them up." in out
    assert "[Step 1 of 3] auto as In [4]" in out
    assert "── Step limit reached ──\nIt is 3." in out
    assert "a notice about the run" in out and run.headline() in out
    assert out.index("Add them up.") < out.index("It is 3.") < out.index("a notice")


def _step(**changes: object) -> StepProvenance:
    fields = dict(run_id=RUN_ID, step=2, role="agent", model="openai/m", status=StepStatus.EDITED)
    return StepProvenance(**{**fields, **changes})  # type: ignore[arg-type]


def test_the_transcript_keeps_the_model_calls_it_hears_of_and_nothing_else():
    events = RunEvents()
    transcript = Transcript(redact=lambda text: text.replace("sk-secret", "[redacted]"))
    events.subscribe(transcript)
    sent = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "sk-secret"}]
    events.emit(StepStarted(1))
    events.emit(ModelReplied("openai/local", sent, "print(1)", step=1, role="analyst"))
    events.emit(TextStreamed("not a call"))
    stored = transcript.as_json()
    assert stored["messages"][1] == {"role": "user", "content": "[redacted]"}
    assert stored["calls"] == [
        {
            "model": "openai/local",
            "step": 1,
            "messages": [0, 1],
            "role": "analyst",
            "reply": "print(1)",
        }
    ]


def test_step_provenance_round_trips_through_the_notebook_format():
    flag = RiskFlag(Category.SHELL, "!ls runs a shell command", 1)
    written = _step(proposed_source="x = 1", cut_short=True, risks=(flag,))
    entry = written.dump()
    assert entry["interrupted"] is True and "cut_short" not in entry  # the format's own name
    assert entry["status"] == "edited" and entry["risks"] == [flag.as_json()]
    cell = {"cell_type": "code", "source": "", "metadata": {"jupyter_agents": entry}}
    assert metadata_errors({"cells": [cell]}) == []
    assert cell_record(cell) == written
    assert not written.ran_to_its_end  # cut short: replay skips it
    assert _step().ran_to_its_end and not _step(status=None).ran_to_its_end


def test_pending_is_the_absence_of_a_decision():
    entry = _step(status=None).dump()
    assert entry["status"] == "pending"
    assert cell_record({"metadata": {"jupyter_agents": entry}}).status is None


def test_a_writer_cannot_break_the_cell_schema():
    with pytest.raises(RecordError, match="cell record"):
        _step(run_id="not-a-run-id").dump()


def test_damaged_metadata_reads_as_what_can_be_read():
    odd = {"run_id": RUN_ID, "step": 1, "status": "approved-ish", "risks": [{"category": "?"}]}
    read = cell_record({"metadata": {"jupyter_agents": odd}})
    assert isinstance(read, StepProvenance) and read.status is None and read.risks == ()
    assert cell_record({"metadata": {"jupyter_agents": "garbage"}}) is None
    assert cell_record({"metadata": {}}) is None


def test_a_run_record_round_trips_and_validates():
    run = RunResult(task="t", model="m", approve="auto", max_steps=2)
    run.steps.append(Step(1, "r", "", "x = 1", StepStatus.AUTO, code_run="x = 1"))
    run.finish(RunStatus.COMPLETED)
    entry = run_record(run, prompt_cell="p", redact=str)
    nb = {"cells": [], "metadata": {"jupyter_agents": {"runs": [entry]}}}
    assert metadata_errors(nb) == []
    [loaded] = run_records(nb["metadata"]["jupyter_agents"])
    assert loaded.status is RunStatus.COMPLETED and loaded.step_metrics[0].status is StepStatus.AUTO
    assert loaded.dump() == entry


def test_run_records_leave_out_what_cannot_be_read():
    runs = [{"run_id": RUN_ID, "status": "somewhere", "step_metrics": [{"status": "?"}]}, 7, {}]
    [record] = run_records({"runs": runs})
    assert record.run_id == RUN_ID and record.status is None and record.step_metrics == []
    assert run_records({"runs": "garbage"}) == [] and run_records(None) == []
    assert RunRecord.load({"status": "completed"}) is None  # no run id: no record


def test_a_hand_edited_step_metric_is_left_out_not_fatal():
    metrics = [{"status": "approved", "role": "agent"}, {"step": 2, "status": "auto"}]
    [record] = run_records({"runs": [{"run_id": RUN_ID, "step_metrics": metrics}]})
    assert [(m.step, m.role) for m in record.step_metrics] == [(2, "agent")]
