"""``jupyter agents run | replay | export``: agent notebooks from the terminal.

- ``run`` executes a notebook headlessly; agent and crew cells write their steps into it as
  they would in JupyterLab. Cells whose recorded run is present replay it (no model call)
  unless ``--rerun``, which asks the model again and so needs ``--approve auto``.
- ``replay`` re-executes without any model (offline), then compares each agent cell's new
  outputs with the recorded ones and exits 1 on any divergence.
- ``export`` writes a copy without transcripts, or an HTML trace of the runs.
"""

from __future__ import annotations

import argparse
import copy
import math
import os
import re
import sys
from pathlib import Path
from typing import Any

import nbformat
from nbformat.v4.nbbase import random_cell_id

from ._version import __version__
from .export import html_trace, strip_transcripts
from .headless import (
    AgentNotebookClient,
    agent_metadata,
    approved_or_own,
    end_unfinished_runs,
    is_agent_step,
    was_cut_short,
)
from .replay_compare import Divergence, first_difference
from .schema import metadata_errors
from .terminal_text import first_line, one_line
from .time_limit import HEADLESS_CELL_TIMEOUT as HEADLESS_CELL_TIMEOUT_FOR_AGENTS

#: Seconds one of the user's cells may run in a headless run (``--timeout``).
HEADLESS_CELL_TIMEOUT = 600
#: Seconds one cell an agent proposes may run in a headless run (``--cell-timeout``): nobody
#: is there to press the stop button, and the model can try something else.
HEADLESS_AGENT_CELL_TIMEOUT = HEADLESS_CELL_TIMEOUT_FOR_AGENTS


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        return args.handler(args)
    except UsageError as problem:
        print(f"jupyter agents {args.command}: {one_line(problem, 1000)}", file=sys.stderr)
        return 2


class UsageError(Exception):
    """A bad command line or input file: one line, then exit 2."""


# -- run ----------------------------------------------------------------------------------------


def run_command(args: argparse.Namespace) -> int:
    if args.rerun and args.approve not in ("auto", "risky"):
        raise UsageError(
            "--rerun asks a model again and runs what it writes with nobody to approve it; "
            "add --approve auto to allow that, or --approve risky to run only unflagged cells."
        )
    nb = _read(args.notebook)
    out = _writable(args.output or args.notebook)
    settings: dict[str, Any] = {"frontend_timeout": 0.1, "cell_timeout": _cell_timeout(args)}
    if args.model:
        settings["model"] = args.model
    if args.approve:
        settings["approve"] = args.approve
    if args.rerun:
        settings["rerun"] = True
    client = _client(nb, args, settings)
    failed = _execute(client, args.notebook)
    nbformat.write(nb, out)
    print(f"wrote {out}", file=sys.stderr)
    return 1 if failed else 0


# -- replay -------------------------------------------------------------------------------------


def replay_command(args: argparse.Namespace) -> int:
    nb = _read(args.notebook)
    out = _writable(args.output) if args.output else None
    settings = {
        "offline": True,
        "approve": "auto",
        "frontend_timeout": 0.1,
        "cell_timeout": _cell_timeout(args),
    }
    client = _client(nb, args, settings, should_run=approved_or_own)
    recorded = copy.deepcopy(nb)
    steps = [(i, c) for i, c in enumerate(nb.cells) if is_agent_step(c)]
    if not steps:
        raise UsageError(f"{args.notebook} has no recorded agent cells to check.")
    runs = [c for c in nb.cells if c.cell_type == "code" and approved_or_own(c)]
    skipped = [(i, c) for i, c in steps if not approved_or_own(c)]
    print(f"replay will execute {len(runs)} code cell(s), without calling any model:")
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and approved_or_own(cell):
            print(f"  cell {index:>3} {_label(cell)}: {first_line(cell.source)}")
    for index, cell in skipped:
        status = "cut short" if was_cut_short(cell) else agent_metadata(cell).get("status")
        print(f"  cell {index:>3} {_label(cell)}: NOT executed (recorded as {status})")
    failed = _execute(client, args.notebook)
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
            divergences.append(Divergence(index, cell.get("id", "?"), _label(cell), detail))
    return divergences


# -- export -------------------------------------------------------------------------------------


def export_command(args: argparse.Namespace) -> int:
    if not (args.strip_transcripts or args.html):
        raise UsageError("say what to export: --strip-transcripts or --html.")
    if args.strip_transcripts and args.html:
        raise UsageError(
            "--strip-transcripts writes a notebook and --html a web page: run export once for each."
        )
    nb = _read(args.notebook)
    default = Path(args.notebook).with_suffix(".agents.html") if args.html else args.notebook
    out = _writable(args.output or default)
    if args.strip_transcripts:
        nb, removed = strip_transcripts(nb)
        print(f"removed {removed} transcript(s)", file=sys.stderr)
    if args.html:
        out.write_text(html_trace(nb, Path(args.notebook).name), encoding="utf-8")
    else:
        nbformat.write(nb, out)
    print(f"wrote {out}", file=sys.stderr)
    return 0


# -- shared -------------------------------------------------------------------------------------


def _client(
    nb: nbformat.NotebookNode,
    args: argparse.Namespace,
    settings: dict[str, Any],
    should_run: Any = None,
) -> AgentNotebookClient:
    timeout = _timeout(args)
    return AgentNotebookClient(
        nb,
        settings=settings,
        should_run=should_run,
        timeout=timeout,
        timeout_func=_timeout_for(timeout),
        allow_errors=True,
        kernel_name=args.kernel or nb.metadata.get("kernelspec", {}).get("name", "python3"),
        resources={"metadata": {"path": str(Path(args.notebook).resolve().parent)}},
    )


_PROMPT_CELL = re.compile(r"^\s*(?:\w+\s*=\s*)?%%?(?:agent|crew)\b", re.MULTILINE)


def _timeout_for(timeout: float) -> Any:
    """nbclient's per-cell limit: ``timeout`` for ordinary cells, none for an agent cell.

    An ``%agent`` or ``%%crew`` cell runs many steps; each step's cell has its own limit
    (``--cell-timeout``) and each model call its own (``model_timeout``), so a limit on the
    whole would only cut long runs short and stop the notebook.
    """

    def limit(cell: nbformat.NotebookNode) -> float | None:
        return None if _PROMPT_CELL.search(cell.source) else timeout

    return limit


def _cell_timeout(args: argparse.Namespace) -> float:
    """The agent cells' time limit: ``--cell-timeout``, else the headless default."""
    if args.cell_timeout is None:
        return HEADLESS_AGENT_CELL_TIMEOUT
    if not args.cell_timeout >= 0 or args.cell_timeout == float("inf"):
        raise UsageError("--cell-timeout takes a number of seconds (0: no limit).")
    return args.cell_timeout


def _execute(client: AgentNotebookClient, path: str) -> bool:
    """Run the notebook; True if a cell failed (the failure is reported, nothing is lost)."""
    stopped: BaseException | None = None
    try:
        client.execute()
    except (Exception, KeyboardInterrupt) as error:  # timeouts, a dead kernel, Ctrl-C
        stopped = error
    if stopped is not None:  # keep what ran, and say why it ended
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
        return True
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
            print(f"  cell {index} ({_label(cell)}, part of its run): {error}", file=sys.stderr)
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


def _read(path: str) -> nbformat.NotebookNode:
    """The notebook at ``path``, with cell ids, its jupyter-agents metadata checked."""
    try:
        nb = nbformat.read(path, as_version=4)
    except FileNotFoundError:
        raise UsageError(f"no such notebook: {path}") from None
    except Exception as error:
        raise UsageError(f"{path} is not a readable notebook: {one_line(error)}") from None
    problems = metadata_errors(nb)
    if problems:
        more = f"; {len(problems)} problems in all" if len(problems) > 1 else ""
        raise UsageError(
            f"{path}: its jupyter-agents metadata does not match the schema this version reads "
            f"({problems[0]}{more}). Fix or remove that metadata (see docs/notebook-format.md)."
        )
    return with_cell_ids(nb)


def with_cell_ids(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Notebooks older than format 4.5 have no cell ids; give them some, as JupyterLab does.

    The agent anchors its cells, records and replays by cell id: without ids nothing would be
    recorded, and replay would compare the wrong cells.
    """
    if nb.nbformat_minor >= 5 and all(cell.get("id") for cell in nb.cells):
        return nb
    nb.nbformat_minor = max(nb.nbformat_minor, 5)
    for cell in nb.cells:
        if not cell.get("id"):
            cell.id = random_cell_id()
    return nb


def _writable(path: str | Path) -> Path:
    """``path``, if a notebook can be written there (checked before any work is done)."""
    out = Path(path)
    if not out.parent.is_dir():
        raise UsageError(f"cannot write {out}: there is no folder {out.parent}.")
    if out.is_dir():
        raise UsageError(f"cannot write {out}: it is a folder; give a file name.")
    if not os.access(out if out.exists() else out.parent, os.W_OK):
        raise UsageError(f"cannot write {out}: permission denied.")
    return out


def _timeout(args: argparse.Namespace) -> int:
    """Seconds one of the user's cells may run: ``--timeout``, whole seconds (nbclient's unit)."""
    if args.timeout is None:
        return HEADLESS_CELL_TIMEOUT
    if not 0 < args.timeout < float("inf"):
        raise UsageError("--timeout takes a number of seconds greater than 0.")
    return math.ceil(args.timeout)


def _label(cell: nbformat.NotebookNode) -> str:
    meta = agent_metadata(cell)
    if "step" in meta:
        label = f"{meta.get('role', 'agent')} step {meta.get('step')}, {meta.get('status')}"
        return one_line(label, 80)
    return "agent prompt" if meta.get("prompt") else "your cell"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jupyter agents",
        description="Run, replay and export notebooks made with jupyter-agents.",
    )
    parser.add_argument("--version", action="version", version=f"jupyter-agents {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = commands.add_parser("run", help="execute a notebook, agent cells included")
    run.add_argument("notebook")
    run.add_argument("-o", "--output", help="write here (default: overwrite the notebook)")
    run.add_argument("--model", help="litellm model string for every agent cell")
    run.add_argument(
        "--approve",
        choices=["auto", "risky"],
        help="auto: run every agent cell unreviewed; risky (the safe autopilot): run cells the "
        "risk review did not flag, refuse flagged ones and tell the model why",
    )
    run.add_argument(
        "--rerun", action="store_true", help="ask the model again even where a run is recorded"
    )
    run.set_defaults(handler=run_command)

    replay = commands.add_parser(
        "replay", help="re-execute without a model and compare with the record"
    )
    replay.add_argument("notebook")
    replay.add_argument("-o", "--output", help="also write the re-executed notebook here")
    replay.set_defaults(handler=replay_command)

    for sub in (run, replay):
        sub.add_argument(
            "--timeout",
            type=float,
            default=None,
            help=f"seconds one of your cells may run (default {HEADLESS_CELL_TIMEOUT}; agent "
            "cells are bounded by --cell-timeout per step instead)",
        )
        sub.add_argument(
            "--cell-timeout",
            type=float,
            default=None,
            help="seconds one cell an agent proposes may run before it is interrupted and the "
            f"model told (default {HEADLESS_AGENT_CELL_TIMEOUT:g}; 0: no limit)",
        )
        sub.add_argument("--kernel", help="kernel name (default: the notebook's)")

    export = commands.add_parser("export", help="share a notebook's agent record")
    export.add_argument("notebook")
    export.add_argument("-o", "--output", help="output file")
    export.add_argument(
        "--strip-transcripts", action="store_true", help="remove the stored model calls"
    )
    export.add_argument("--html", action="store_true", help="write a readable HTML trace")
    export.set_defaults(handler=export_command)
    return parser


if __name__ == "__main__":
    sys.exit(main())
