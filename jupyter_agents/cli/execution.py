"""Executing a notebook from the terminal, and reporting on stderr how it went.

nbclient runs the notebook (:class:`~jupyter_agents.cli.headless.AgentNotebookClient`); a run
that stops early keeps what ran and says why, and only the user's own cells' errors fail
the command: an agent step's error is part of its run, which the model saw and answered.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

import nbformat

from ..core.records import PromptMark, StepProvenance, cell_record
from ..text.terminal_text import first_line, one_line
from .headless import AgentNotebookClient, end_unfinished_runs, is_agent_step, recorded_status
from .inputs import user_cell_timeout


def notebook_client(
    nb: nbformat.NotebookNode,
    args: argparse.Namespace,
    settings: dict[str, Any],
    should_run: Any = None,
) -> AgentNotebookClient:
    """The client that executes ``nb`` with the command line's kernel and time limits."""
    timeout = user_cell_timeout(args)
    return AgentNotebookClient(
        nb,
        settings=settings,
        should_run=should_run,
        timeout=timeout,
        timeout_func=nbclient_timeout_func(timeout),
        allow_errors=True,
        kernel_name=args.kernel or nb.metadata.get("kernelspec", {}).get("name", "python3"),
        resources={"metadata": {"path": str(Path(args.notebook).resolve().parent)}},
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


def execute_notebook(client: AgentNotebookClient, path: str) -> bool:
    """Run the notebook; True if a cell failed (the failure is reported, nothing is lost)."""
    stopped: BaseException | None = None
    try:
        client.execute()
    except (Exception, KeyboardInterrupt) as error:  # timeouts, a dead kernel, Ctrl-C
        stopped = error
    if stopped is not None:  # keep what ran, and say why it ended
        _report_stop(client, path, stopped)
        return True
    return _report_errors(client)


def _report_stop(client: AgentNotebookClient, path: str, stopped: BaseException) -> None:
    """Say why execution stopped early, and record the agent run it cut short as interrupted."""
    if client.stopped_by_signal:
        print(f"execution of {path} stopped by Ctrl-C (or SIGTERM).", file=sys.stderr)
        reason = "the run was stopped with Ctrl-C"
    else:
        message = one_line(f"{type(stopped).__name__}: {stopped}".rstrip(": "), 400)
        if client.killed_because:
            message = client.killed_because
        elif client.where:
            message = f"{client.where}: {message} (did a cell shut the kernel down?)"
        print(f"execution of {path} stopped: {message}", file=sys.stderr)
        reason = f"the kernel stopped during the run ({type(stopped).__name__})"
    if end_unfinished_runs(client.nb, reason):
        print("the agent run that was going is recorded as interrupted", file=sys.stderr)


def _report_errors(client: AgentNotebookClient) -> bool:
    """List the cells that failed; True if one of the user's own cells did."""
    errors = {
        index: error
        for index, cell in enumerate(client.nb.cells)
        if cell.cell_type == "code"
        for error in [_first_error(cell) or _failed_reply(client, cell)]
        if error is not None
    }
    if errors:
        print(f"cells with errors: {', '.join(map(str, errors))}", file=sys.stderr)
    # An agent step's error is part of its run (the model saw it); any other cell's is not.
    failed = False
    for index, error in errors.items():
        cell = client.nb.cells[index]
        if is_agent_step(cell):
            print(f"  cell {index} ({cell_label(cell)}, part of its run): {error}", file=sys.stderr)
        else:
            failed = True
            print(f"  cell {index}: {error}", file=sys.stderr)
    return failed


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
