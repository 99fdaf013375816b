"""``jupyter agents run | replay | batch | export``: agent notebooks from the terminal.

- ``run`` executes a notebook headlessly; agent and crew cells write their steps into it as
  they would in JupyterLab. Cells whose recorded run is present replay it (no model call)
  unless ``--rerun``, which asks the model again and so needs ``--approve auto``.
- ``replay`` re-executes without any model (offline), then compares each agent cell's new
  outputs with the recorded ones and exits 1 on any divergence.
- ``batch`` runs notebooks over many parameter sets on Dask, each job a ``run``
  (:mod:`jupyter_agents.cli.batch`).
- ``export`` writes a copy without transcripts, or an HTML trace of the runs.

This module reads the command line; the commands' bodies are in
:mod:`jupyter_agents.cli.commands`, checking what they are given in
:mod:`jupyter_agents.cli.inputs`, and running the notebook in :mod:`jupyter_agents.cli.execution`.
"""

from __future__ import annotations

import argparse
import sys

from .._version import __version__
from ..text.terminal_text import one_line
from .batch_command import batch_command
from .commands import export_command, replay_command, run_command
from .inputs import HEADLESS_AGENT_CELL_TIMEOUT, HEADLESS_CELL_TIMEOUT, UsageError


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
    run.set_defaults(handler=run_command)

    replay = commands.add_parser(
        "replay", help="re-execute without a model and compare with the record"
    )
    replay.add_argument("notebook")
    replay.add_argument("-o", "--output", help="also write the re-executed notebook here")
    replay.set_defaults(handler=replay_command)

    batch = commands.add_parser(
        "batch", help="run notebooks over many parameter sets on Dask (jupyter-agents[batch])"
    )
    batch.add_argument("notebooks", nargs="+", metavar="NOTEBOOK")
    batch.add_argument(
        "--params",
        help="parameter sets: a YAML list of mappings, a YAML mapping of lists (their grid) or "
        "a CSV with a header row; injected after each notebook's cell tagged 'parameters'",
    )
    batch.add_argument("-o", "--output", required=True, help="folder for the outputs and summary")
    where = batch.add_mutually_exclusive_group()
    where.add_argument(
        "--workers", type=int, help="local worker processes (default: the number of cores)"
    )
    where.add_argument("--scheduler", help="run on this Dask cluster instead (tcp://HOST:8786)")
    batch.add_argument(
        "--retries",
        type=int,
        default=1,
        help="runs more for a job whose kernel or worker died (default 1)",
    )
    batch.add_argument(
        "--force", action="store_true", help="rerun jobs an earlier batch into -o finished"
    )
    batch.set_defaults(handler=batch_command)

    for sub in (run, batch):
        sub.add_argument("--model", help="litellm model string for every agent cell")
        sub.add_argument(
            "--approve",
            choices=["auto", "risky"],
            help="auto: run every agent cell unreviewed; risky (the safe autopilot): run cells "
            "the risk review did not flag, refuse flagged ones and tell the model why",
        )
        sub.add_argument(
            "--rerun", action="store_true", help="ask the model again even where a run is recorded"
        )

    for sub in (run, replay, batch):
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
