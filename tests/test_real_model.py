"""The agent against a real model: SmolLM2-135M-Instruct, served by llama.cpp on 127.0.0.1 and
reached through litellm's real HTTP path (``openai/local``), in a real kernel.

Scripted replies only say what a test expects. This model rambles to its token limit, answers
in prose, repeats itself and rarely writes usable code; whatever it writes, every run must
end within a bound in a documented way (a final answer, an answer in prose, or the step
limit: a reply format never ends a run with an error), and nothing may run that a person did
not approve. The model is free to
choose its path, so the tests follow whichever it takes and assert something in each.

Skipped, with one line saying why, where the weights or the server cannot be had; with
``JUPYTER_AGENTS_REQUIRE_REAL_MODEL=1`` (as in CI) that fails instead. ``-m "not realmodel"``
leaves the tier out.
"""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from jupyter_agents.notebook.schema import metadata_errors
from tests.conftest import kernel_env
from tests.support.kernel import CellRun, KernelHarness, attached_notebook
from tests.support.real_model import (
    REQUIRE_ENV,
    RealModelServer,
    RealModelUnavailable,
    fetch_model,
    required,
    start_server,
)

pytestmark = [pytest.mark.realmodel, pytest.mark.kernel]

#: One %agent cell, from start to end (a reply takes a few seconds on two cores).
RUN_SECONDS = 120
#: Each cell the model writes (--cell-timeout): an endless loop must not hold the run.
CELL_SECONDS = 15
TASK = "Write one Python code block: real_total = sum(range(1, 11)), then print(real_total)."
#: README, "How a run ends": what a run left alone by the person can end with.
ENDINGS = {"completed", "answered-without-code", "max-steps"}
AGENT_CELL = "real-agent-cell"
#: What the model sees of a cell's outputs: small enough that two steps fit the server's
#: 4,096-token context (the default, 2,000, is meant for models with far larger ones).
OBSERVATION_TOKENS = 500

#: Every cell the kernel runs is logged before it runs (IPython's pre_run_cell event, which
#: agent cells trigger too): the test reads the log from outside while a proposal waits.
PREPARE = """\
%load_ext jupyter_agents
%agent_config model={model} observation_tokens={observation_tokens}
import json as _json, jupyter_agents, jupyter_agents.agent.model
jupyter_agents.agent.model.load_litellm()
def _log_cell(info, _path={log!r}):
    with open(_path, "a") as _file:
        _file.write(_json.dumps(info.raw_cell) + "\\n")
get_ipython().events.register("pre_run_cell", _log_cell)
"""

LAST_RUN = """\
_r = jupyter_agents.last_run()
print(_json.dumps({"status": str(_r.status), "error": _r.error,
    "usage": [_r.usage.prompt_tokens, _r.usage.completion_tokens],
    "steps": [{"status": str(s.status), "ran": s.code_run} for s in _r.steps]}))
"""


@pytest.fixture(scope="session")
def real_model(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealModelServer]:
    """The llama.cpp server for the whole session; stopped at its end, however it ends."""
    try:
        server = start_server(fetch_model(), tmp_path_factory.mktemp("llama") / "server.log")
    except RealModelUnavailable as error:
        why = str(error)  # reported outside the handler: one line, no chained traceback
    else:
        with server:
            yield server
        return
    if required():
        pytest.fail(f"{REQUIRE_ENV}=1 but the real model is unavailable: {why}", pytrace=False)
    pytest.skip(f"real model unavailable: {why}")


def real_env(server: RealModelServer, home: Path) -> dict[str, str]:
    """A clean kernel environment pointed at the real model. HOME is the test's own folder:
    the model's code runs unreviewed under --approve auto, so ``~`` should not be the user's."""
    return kernel_env(server, home, HOME=str(home), **server.env())  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def real_kernel(
    real_model: RealModelServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[KernelHarness, Path]]:
    """A kernel with the extension loaded, the real model set, and every cell logged."""
    home = tmp_path_factory.mktemp("real-kernel")
    log = home / "cells.jsonl"
    kernel = KernelHarness(real_env(real_model, home), cwd=str(home))
    try:
        prepare = PREPARE.format(
            log=str(log), model=real_model.model, observation_tokens=OBSERVATION_TOKENS
        )
        prepared = kernel.execute(prepare, timeout=120)
        assert prepared.status == "ok", prepared.error_text
        yield kernel, log
    finally:
        kernel.shutdown()


@dataclass
class InteractiveRun:
    """What a person saw and did during one ``%agent`` run with ``--approve each``."""

    cell: CellRun
    #: ("Approve" or "Reject", the proposed code), in order.
    decisions: list[tuple[str, str]] = field(default_factory=list)
    #: The cells that had run since the %agent cell, at the moment each proposal waited.
    ran_while_waiting: list[list[str]] = field(default_factory=list)
    #: Every cell that ran since the %agent cell, once it ended.
    ran: list[str] = field(default_factory=list)
    seconds: float = 0.0
    #: ``jupyter_agents.last_run()`` as JSON, and the run's record in the notebook.
    last_run: dict[str, Any] = field(default_factory=dict)
    record: dict[str, Any] = field(default_factory=dict)
    notebook: Any = None


@pytest.fixture(scope="module")
def interactive(real_kernel: tuple[KernelHarness, Path]) -> InteractiveRun:
    """One run in a notebook as JupyterLab with the extension shows it: Reject on the first
    proposal, Approve on later ones (Reject on any with a risk flag: this is a weak model's
    code), until the run ends on its own."""
    kernel, log = real_kernel
    with attached_notebook(kernel, [new_code_cell("%agent ...", id=AGENT_CELL)]) as frontend:
        before = len(logged_cells(log))
        started = time.monotonic()
        cell = kernel.start(
            f"%agent --max-steps 2 --cell-timeout {CELL_SECONDS} {TASK}", cell_id=AGENT_CELL
        )
        seen = InteractiveRun(cell)

        def ran_since_prompt() -> list[str]:
            logged = logged_cells(log)
            assert logged[before] == cell.code, "the %agent cell is logged first"
            return logged[before + 1 :]

        while True:
            proposal = kernel.wait_for(
                lambda: cell.done or _new_pending_cell(frontend.notebook, seen),
                started + RUN_SECONDS - time.monotonic(),
                f"the %agent cell to end within {RUN_SECONDS} s",
                cell,
            )
            if cell.done:
                break
            seen.ran_while_waiting.append(ran_since_prompt())
            flagged = proposal.metadata["jupyter_agents"].get("risks")
            decision = "Approve" if seen.decisions and not flagged else "Reject"
            kernel.click(decision)
            seen.decisions.append((decision, proposal.source))
        seen.seconds = time.monotonic() - started
        seen.ran = ran_since_prompt()
        seen.notebook = frontend.notebook
    query = kernel.execute(LAST_RUN)
    assert query.status == "ok", query.error_text
    seen.last_run = json.loads(query.stdout)
    seen.record = frontend.notebook.metadata["jupyter_agents"]["runs"][-1]
    return seen


def _new_pending_cell(notebook: Any, seen: InteractiveRun) -> Any:
    """A pending agent cell not decided yet (the cell of the latest decision may still say
    pending for a moment)."""
    decided = len(seen.decisions)
    pending = [
        cell
        for cell in notebook.cells
        if cell.metadata.get("jupyter_agents", {}).get("status") == "pending"
        and cell.metadata["jupyter_agents"].get("step", 0) > decided
    ]
    return pending[0] if pending else None


def logged_cells(log: Path) -> list[str]:
    """Every cell the kernel has begun to run, in order (the pre_run_cell log)."""
    lines = log.read_text().splitlines() if log.exists() else []
    return [json.loads(line) for line in lines]


def assert_documented_ending(status: str, error_outputs: list[dict[str, Any]]) -> None:
    """A run left to itself ends with a final answer, an answer in prose, or at the step
    limit; never with an error, whatever the model wrote."""
    assert status in ENDINGS, status
    assert error_outputs == []


def test_nothing_runs_unless_approved(interactive: InteractiveRun):
    run = interactive
    assert run.seconds < RUN_SECONDS and run.cell.status in ("ok", "error")
    errors = [o for o in run.cell.outputs if o["output_type"] == "error"]
    assert_documented_ending(run.last_run["status"], errors)
    approved = [code for decision, code in run.decisions if decision == "Approve"]
    # What ran is exactly what was approved, in order: the log sees agent cells, so a
    # rejected proposal that ran, or an approved one that did not, would show here.
    assert run.ran == approved
    assert [s["ran"] for s in run.last_run["steps"] if s["ran"] is not None] == approved
    if not run.decisions:
        # The model never wrote a runnable cell: its replies used the steps, nothing ran.
        assert run.last_run["status"] == "max-steps" and run.last_run["steps"] == []
        return
    # While each proposal waited, only the cells approved before it had run.
    for index, ran_then in enumerate(run.ran_while_waiting):
        assert ran_then == [code for d, code in run.decisions[:index] if d == "Approve"]
    first = run.last_run["steps"][0]
    assert run.decisions[0][0] == "Reject"
    assert first == {"status": "rejected", "ran": None}
    cells = [c for c in run.notebook.cells if "step" in c.metadata.get("jupyter_agents", {})]
    assert all(c.metadata["jupyter_agents"]["status"] != "pending" for c in cells)


STREAMING = re.compile(r'<div class="ja-text ja-streaming">(.*)</div>', re.DOTALL)


def test_streamed_text_reaches_the_widget(
    interactive: InteractiveRun, real_kernel: tuple[KernelHarness, Path]
):
    kernel, _ = real_kernel
    replies = [call["reply"] for call in interactive.record["transcript"]["calls"]]
    assert replies and any(reply.strip() for reply in replies)
    shown: list[list[str]] = []  # per widget, the streamed text at each refresh
    for widget in kernel.widgets.values():
        texts = [STREAMING.fullmatch(str(u.get("value", ""))) for u in widget.updates]
        texts = [html.unescape(m.group(1)) for m in texts if m]
        if texts:
            shown.append(texts)
    snapshots = [text for texts in shown for text in texts]
    assert snapshots, "no streamed text reached the widget"
    # Each snapshot is the start of a reply the model gave (the widget shows the model's
    # words, escaped, not something else) ...
    for text in snapshots:
        assert any(reply.startswith(text) for reply in replies), text[:200]
    # ... and the text grew in place while the reply streamed, not in one piece at the end.
    assert any(
        len(later) > len(earlier) and later.startswith(earlier)
        for texts in shown
        for earlier, later in pairwise(texts)
    )


def test_tokens_are_recorded(interactive: InteractiveRun):
    prompt_tokens, completion_tokens = interactive.last_run["usage"]
    assert prompt_tokens > 0 and completion_tokens > 0
    record = interactive.record
    assert record["status"] == interactive.last_run["status"]
    usage = record["usage"]
    assert [usage["prompt_tokens"], usage["completion_tokens"]] == [
        prompt_tokens,
        completion_tokens,
    ]
    nbformat.validate(interactive.notebook)
    assert metadata_errors(interactive.notebook) == []


def test_headless_run_writes_a_valid_record(real_model: RealModelServer, tmp_path: Path):
    home = tmp_path / "home"
    nb = new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [
        new_code_cell(
            f"%load_ext jupyter_agents\n%agent_config observation_tokens={OBSERVATION_TOKENS}"
        ),
        new_code_cell(f"%agent --max-steps 2 {TASK}", id="prompt"),
    ]
    nbformat.write(nb, tmp_path / "task.ipynb")
    started = time.monotonic()
    ran = subprocess.run(
        [sys.executable, "-m", "jupyter_agents.cli", "run", "task.ipynb", "--model",
         real_model.model, "--approve", "auto", "--cell-timeout", str(CELL_SECONDS),
         "-o", "out.ipynb"],
        env=real_env(real_model, home), cwd=tmp_path, capture_output=True, text=True,
        timeout=RUN_SECONDS + 60,
    )  # fmt: skip
    assert time.monotonic() - started < RUN_SECONDS + 30, "kernel start-up plus one run"

    assert (tmp_path / "out.ipynb").is_file(), ran.stderr
    out = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    nbformat.validate(out)
    assert metadata_errors(out) == []
    record = out.metadata["jupyter_agents"]["runs"][-1]
    prompt = next(cell for cell in out.cells if cell.id == "prompt")
    errors = [o for o in prompt.outputs if o["output_type"] == "error"]
    assert_documented_ending(record["status"], errors)
    assert ran.returncode == 0, ran.stderr
    assert record["usage"]["prompt_tokens"] > 0 and record["usage"]["completion_tokens"] > 0
    assert record["transcript"]["calls"], "the model calls are recorded"
    steps = [cell for cell in out.cells if "step" in cell.metadata.get("jupyter_agents", {})]
    assert len(steps) == record["cells_run"]
    assert all(cell.metadata["jupyter_agents"]["status"] == "auto" for cell in steps)
