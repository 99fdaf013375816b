"""Executing a notebook from the terminal, and reporting on stderr how it went.

nbclient runs the notebook (:class:`~jupyter_agents.cli.headless.AgentNotebookClient`); a run
that stops early keeps what ran and says why, and only the user's own cells' errors fail
the command: an agent step's error is part of its run, which the model saw and answered.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import nbformat
from nbclient.exceptions import DeadKernelError

from ..core.records import PromptMark, StepProvenance, cell_record
from ..text.terminal_text import first_line, one_line
from .headless import AgentNotebookClient, end_unfinished_runs, is_agent_step, recorded_status
from .inputs import user_cell_timeout


def notebook_client(
    nb: nbformat.NotebookNode,
    args: argparse.Namespace,
    settings: dict[str, Any],
    should_run: Any = None,
    progress: TextIO | None = sys.stderr,
    folder: str | None = None,
) -> AgentNotebookClient:
    """The client that executes ``nb`` with the command line's kernel and time limits, in
    ``folder`` (default: the notebook's), printing its progress on ``progress``."""
    timeout = user_cell_timeout(args)
    return AgentNotebookClient(
        nb,
        settings=settings,
        should_run=should_run,
        progress=progress,
        timeout=timeout,
        timeout_func=nbclient_timeout_func(timeout),
        allow_errors=True,
        kernel_name=args.kernel or nb.metadata.get("kernelspec", {}).get("name", "python3"),
        resources={"metadata": {"path": folder or str(Path(args.notebook).resolve().parent)}},
    )


_PROMPT_CELL = re.compile(r"^\s*(?:\w+\s*=\s*)?%%?(?:agent|crew)\b", re.MULTILINE)


def nbclient_timeout_func(timeout: float) -> Any:
    """nbclient's per-cell limit: ``timeout`` for ordinary cells, none for an agent cell.

    An ``%agent`` or ``%%crew`` cell runs many steps; each step's cell has its own limit
    (``--cell-timeout``) and each model call its own (``model_timeout``), so a limit on the
    whole would only cut long runs short and stop the notebook.
    """

    def limit(cell: nbformat.NotebookNode) -> float | None:
        return None if _PROMPT_CELL.search(cell.source) else timeout

    return limit


@dataclass(frozen=True)
class ExecutionEnd:
    """How executing a notebook ended: what ``run`` reports and ``batch`` summarises."""

    #: A cell of the user's failed, or execution stopped early (nothing ran after it).
    failed: bool
    #: What stopped execution early (a dead kernel, a timeout, Ctrl-C); None if it finished.
    stopped: BaseException | None = None
    #: The first problem, in one line ("" when nothing failed).
    problem: str = ""
    #: The kernel died under the notebook, not killed for a time limit or by Ctrl-C: another
    #: attempt may succeed (``batch --retries``).
    kernel_died: bool = False


def execute_notebook(
    client: AgentNotebookClient,
    path: str,
    report: TextIO | None = None,
    kernel_stderr: TextIO | None = None,
) -> ExecutionEnd:
    """Run the notebook and report on ``report`` (stderr) how it went; nothing is lost.
    The kernel's own stderr goes to ``kernel_stderr`` (a file) where given, else to ours."""
    report = sys.stderr if report is None else report
    stopped: BaseException | None = None
    try:
        client.execute(**({} if kernel_stderr is None else {"stderr": kernel_stderr}))
    except (Exception, KeyboardInterrupt) as error:  # timeouts, a dead kernel, Ctrl-C
        stopped = error
    if stopped is not None:  # keep what ran, and say why it ended
        died = isinstance(stopped, DeadKernelError)
        died = died and not (client.killed_because or client.stopped_by_signal)
        return ExecutionEnd(True, stopped, _report_stop(client, path, stopped, report), died)
    return _report_errors(client, report)


def _report_stop(
    client: AgentNotebookClient, path: str, stopped: BaseException, report: TextIO
) -> str:
    """Say why execution stopped early, and record the agent run it cut short as interrupted."""
    if client.stopped_by_signal:
        message = "stopped by Ctrl-C (or SIGTERM)"
        print(f"execution of {path} {message}.", file=report)
        reason = "the run was stopped with Ctrl-C"
    else:
        message = one_line(f"{type(stopped).__name__}: {stopped}".rstrip(": "), 400)
        if client.killed_because:
            message = client.killed_because
        elif client.where:
            message = f"{client.where}: {message} (did a cell shut the kernel down?)"
        print(f"execution of {path} stopped: {message}", file=report)
        reason = f"the kernel stopped during the run ({type(stopped).__name__})"
    if end_unfinished_runs(client.nb, reason):
        print("the agent run that was going is recorded as interrupted", file=report)
    return message


def _report_errors(client: AgentNotebookClient, report: TextIO) -> ExecutionEnd:
    """List the cells that failed; failed if one of the user's own cells did."""
    errors = {
        index: error
        for index, cell in enumerate(client.nb.cells)
        if cell.cell_type == "code"
        for error in [_first_error(cell) or _failed_reply(client, cell)]
        if error is not None
    }
    if errors:
        print(f"cells with errors: {', '.join(map(str, errors))}", file=report)
    # An agent step's error is part of its run (the model saw it); any other cell's is not.
    problem = ""
    for index, error in errors.items():
        cell = client.nb.cells[index]
        if is_agent_step(cell):
            print(f"  cell {index} ({cell_label(cell)}, part of its run): {error}", file=report)
        else:
            problem = problem or f"cell {index}: {error}"
            print(f"  cell {index}: {error}", file=report)
    return ExecutionEnd(bool(problem), None, problem)


def _first_error(cell: nbformat.NotebookNode) -> str | None:
    """``ename: evalue`` (first line) of the cell's first error output, if it has one."""
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            evalue = str(output.get("evalue", ""))
            value = first_line(evalue, 300) if evalue.strip() else ""
            return f"{one_line(output.get('ename', 'Error'), 80)}: {value}".rstrip(": ")
    return None


def _failed_reply(client: AgentNotebookClient, cell: nbformat.NotebookNode) -> str | None:
    """The error a cell's execute reply gave, when the cell has no error output to show it
    (a magic's UsageError is only printed on stderr)."""
    error = client.failed_cells.get(cell.get("id", ""))
    return None if error is None else first_line(error, 300)


def cell_label(cell: nbformat.NotebookNode) -> str:
    """What a cell is, for the terminal: an agent step (role, number, status), a prompt, yours."""
    record = cell_record(cell)
    if isinstance(record, StepProvenance):
        label = f"{record.role} step {record.step}, {recorded_status(cell)}"
        return one_line(label, 80)
    return "agent prompt" if isinstance(record, PromptMark) else "your cell"
