"""The bodies of ``jupyter agents run``, ``replay`` and ``export``.

Each takes the parsed command line (:mod:`jupyter_agents.cli`) and returns the exit status:
0 when all went well, 1 when a cell failed or a replay diverged from the record.
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path
from typing import Any, TextIO

import nbformat

from ..core.records import METADATA_KEY, run_records
from ..text.terminal_text import first_line, one_line
from .execution import ExecutionEnd, cell_label, execute_notebook, notebook_client
from .export import html_trace, strip_transcripts
from .headless import approved_or_own, is_agent_step, recorded_status, was_cut_short
from .inputs import UsageError, agent_cell_timeout, read_notebook, writable_path
from .replay_compare import Divergence, first_difference


def run_command(args: argparse.Namespace) -> int:
    """Execute the notebook, agent cells included, and write it back (or to ``--output``)."""
    check_rerun_trust(args)
    nb = read_notebook(args.notebook)
    out = writable_path(args.output or args.notebook)
    end = run_notebook(nb, args)
    nbformat.write(nb, out)
    print(f"wrote {out}", file=sys.stderr)
    return 1 if end.failed else 0


def check_rerun_trust(args: argparse.Namespace) -> None:
    """``--rerun`` runs what a model writes with nobody to approve it: only with a policy."""
    if args.rerun and args.approve not in ("auto", "risky"):
        raise UsageError(
            "--rerun asks a model again and runs what it writes with nobody to approve it; "
            "add --approve auto to allow that, or --approve risky to run only unflagged cells."
        )


def run_notebook(
    nb: nbformat.NotebookNode,
    args: argparse.Namespace,
    report: TextIO | None = None,
    folder: str | None = None,
    kernel_stderr: TextIO | None = None,
) -> ExecutionEnd:
    """What ``run`` does to ``nb`` in place (``batch`` runs each job through this too):
    execute it with the command line's model, policy and limits, reporting on ``report``
    (and the kernel's own stderr on ``kernel_stderr``, a file, where given)."""
    settings: dict[str, Any] = {"frontend_timeout": 0.1, "cell_timeout": agent_cell_timeout(args)}
    if args.model:
        settings["model"] = args.model
    if args.approve:
        settings["approve"] = args.approve
    if args.rerun:
        settings["rerun"] = True
    progress = sys.stderr if report is None else report
    client = notebook_client(nb, args, settings, progress=progress, folder=folder)
    return execute_notebook(client, args.notebook, report, kernel_stderr)


def replay_command(args: argparse.Namespace) -> int:
    """Re-execute without any model, say what runs, and exit 1 if an agent cell diverges."""
    nb = read_notebook(args.notebook)
    out = writable_path(args.output) if args.output else None
    settings = {
        "offline": True,
        "approve": "auto",
        "frontend_timeout": 0.1,
        "cell_timeout": agent_cell_timeout(args),
    }
    client = notebook_client(nb, args, settings, should_run=approved_or_own)
    recorded = copy.deepcopy(nb)
    steps = [(i, c) for i, c in enumerate(nb.cells) if is_agent_step(c)]
    if not steps:
        undone = [run for run in run_records(nb.metadata.get(METADATA_KEY)) if run.undone]
        why = f": its {len(undone)} agent run(s) were undone (%agent_undo)" if undone else ""
        raise UsageError(f"{args.notebook} has no recorded agent cells to check{why}.")
    runs = [c for c in nb.cells if c.cell_type == "code" and approved_or_own(c)]
    skipped = [(i, c) for i, c in steps if not approved_or_own(c)]
    print(f"replay will execute {len(runs)} code cell(s), without calling any model:")
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and approved_or_own(cell):
            print(f"  cell {index:>3} {cell_label(cell)}: {first_line(cell.source)}")
    for index, cell in skipped:
        status = "cut short" if was_cut_short(cell) else recorded_status(cell)
        print(f"  cell {index:>3} {cell_label(cell)}: NOT executed (recorded as {status})")
    failed = execute_notebook(client, args.notebook).failed
    divergences = compare(recorded, nb)
    if out is not None:
        nbformat.write(nb, out)
        print(f"wrote {out}", file=sys.stderr)
    checked = len(steps) - len(skipped)
    if divergences:
        print(f"{len(divergences)} of {checked} agent cell(s) diverge from the record:")
        for divergence in divergences:
            print(f"  {one_line(divergence, 400)}")
        print("(text outputs are compared exactly, images by presence only)")
        return 1
    if failed:
        print("the agent cells match, but other cells failed (see above).")
        return 1
    print(f"reproduced: all {checked} agent cell(s) match the record.")
    return 0


def compare(recorded: nbformat.NotebookNode, new: nbformat.NotebookNode) -> list[Divergence]:
    """Every executed agent cell whose outputs differ from the recorded notebook's."""
    now = {cell.get("id"): cell for cell in new.cells}
    divergences = []
    for index, cell in enumerate(recorded.cells):
        if not is_agent_step(cell) or not approved_or_own(cell) or cell.cell_type != "code":
            continue
        replayed = now.get(cell.get("id"))
        if replayed is None:
            detail = "the cell is gone from the replayed notebook"
        else:
            detail = first_difference(cell.get("outputs", []), replayed.get("outputs", []))
        if detail:
            divergences.append(Divergence(index, cell.get("id", "?"), cell_label(cell), detail))
    return divergences


def export_command(args: argparse.Namespace) -> int:
    """Write a copy without transcripts (to share it), or an HTML trace of its runs."""
    if not (args.strip_transcripts or args.html):
        raise UsageError("say what to export: --strip-transcripts or --html.")
    if args.strip_transcripts and args.html:
        raise UsageError(
            "--strip-transcripts writes a notebook and --html a web page: run export once for each."
        )
    nb = read_notebook(args.notebook)
    default = Path(args.notebook).with_suffix(".agents.html") if args.html else args.notebook
    out = writable_path(args.output or default)
    if args.strip_transcripts:
        nb, removed = strip_transcripts(nb)
        print(f"removed {removed} transcript(s)", file=sys.stderr)
    if args.html:
        out.write_text(html_trace(nb, Path(args.notebook).name), encoding="utf-8")
    else:
        nbformat.write(nb, out)
    print(f"wrote {out}", file=sys.stderr)
    return 0
