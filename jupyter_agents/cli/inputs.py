"""What the terminal commands are given, checked before any work is done.

The time limits from ``--timeout`` and ``--cell-timeout``, the notebook to read (with its
jupyter-agents metadata checked and cell ids given), and the file to write. A bad one is a
:class:`UsageError`: one line on stderr, exit 2.
"""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path

import nbformat
from nbformat.v4.nbbase import random_cell_id

from ..kernel.time_limit import HEADLESS_CELL_TIMEOUT as HEADLESS_CELL_TIMEOUT_FOR_AGENTS
from ..notebook.schema import metadata_errors
from ..text.terminal_text import one_line

#: Seconds one of the user's cells may run in a headless run (``--timeout``).
HEADLESS_CELL_TIMEOUT = 600
#: Seconds one cell an agent proposes may run in a headless run (``--cell-timeout``): nobody
#: is there to press the stop button, and the model can try something else.
HEADLESS_AGENT_CELL_TIMEOUT = HEADLESS_CELL_TIMEOUT_FOR_AGENTS


class UsageError(Exception):
    """A bad command line or input file: one line, then exit 2."""


def agent_cell_timeout(args: argparse.Namespace) -> float:
    """The agent cells' time limit: ``--cell-timeout``, else the headless default."""
    if args.cell_timeout is None:
        return HEADLESS_AGENT_CELL_TIMEOUT
    if not args.cell_timeout >= 0 or args.cell_timeout == float("inf"):
        raise UsageError("--cell-timeout takes a number of seconds (0: no limit).")
    return args.cell_timeout


def user_cell_timeout(args: argparse.Namespace) -> int:
    """Seconds one of the user's cells may run: ``--timeout``, whole seconds (nbclient's unit)."""
    if args.timeout is None:
        return HEADLESS_CELL_TIMEOUT
    if not 0 < args.timeout < float("inf"):
        raise UsageError("--timeout takes a number of seconds greater than 0.")
    return math.ceil(args.timeout)


def read_notebook(path: str) -> nbformat.NotebookNode:
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


def writable_path(path: str | Path) -> Path:
    """``path``, if a notebook can be written there (checked before any work is done)."""
    out = Path(path)
    if not out.parent.is_dir():
        raise UsageError(f"cannot write {out}: there is no folder {out.parent}.")
    if out.is_dir():
        raise UsageError(f"cannot write {out}: it is a folder; give a file name.")
    if not os.access(out if out.exists() else out.parent, os.W_OK):
        raise UsageError(f"cannot write {out}: permission denied.")
    return out
