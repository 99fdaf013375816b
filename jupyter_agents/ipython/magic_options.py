"""Parsing ``%agent [options] TASK``: options first, then the task exactly as typed.

IPython's magic_arguments splits the whole line like a shell, which mangles free text: an
apostrophe ("What's the mean?") is an unclosed quote and quotes around "order date" vanish.
So only the leading ``--options`` are tokenized; the task is the rest of the line, verbatim.
"""

from __future__ import annotations

import math
import re
import shlex
from dataclasses import dataclass, field

from ..core.errors import InvalidOption
from ..safety.approval import POLICIES
from ..text.terminal_text import quoted

USAGE = """\
Usage:  %agent [options] TASK
        %%agent [options]        (the task is the cell body)

Options:
  -m, --model MODEL       litellm model string, e.g. openai/gpt-4o-mini
  --max-steps N           most cells the model may propose (default 10)
  --approve each|auto|risky
                          ask before every cell (default), run them without asking, or
                          ask only about cells with risk flags (deleting files, shell, ...)
  --cell-timeout SECONDS  interrupt a cell that runs longer; the model is told (default: none)
  --tools NAME[,NAME...]  functions in your namespace the agent may call
  --section TITLE         work in this existing notebook section (needs the extension)
  --rerun                 ask the model again even if this cell's recorded run is below it,
                          replacing that run's cells (approval applies as always)
  -h, --help              show this help
  --                      end of options (for a task that starts with '-')

Defaults: %agent_config shows them; %agent_config model=... max_steps=... sets them."""

CREW_USAGE = """\
Usage:  %%crew [--model MODEL] [--approve each|auto|risky] [--max-steps N]
               [--cell-timeout SECONDS] [--rerun]
        task: what the team should do
        process: sequential          # or: hierarchical (a manager delegates)
        agents:
          - role: Data engineer
            goal: Load sales.csv and leave a clean DataFrame named sales
            section: Data preparation
          - role: Analyst
            goal: Find the three strongest drivers of revenue, with evidence
            section: Analysis

Each agent may also have: backstory, model, tools (names of your functions), max_steps.
The crew may also have: manager_model (hierarchical), max_handoffs (default 3 per role).
Options on the first line apply to every role that does not set its own."""

_FLAGS = {
    "-m": "model",
    "--model": "model",
    "--max-steps": "max_steps",
    "--approve": "approve",
    "--cell-timeout": "cell_timeout",
    "--tools": "tools",
    "--section": "section",
}
_TOKEN = re.compile(r"\s*(\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|\S+)")


@dataclass
class MagicCall:
    """An ``%agent`` line, parsed."""

    options: dict[str, object] = field(default_factory=dict)
    tools: list[str] = field(default_factory=list)
    task: str = ""
    help: bool = False
    section: str | None = None


def parse_magic_line(line: str, cell: str | None = None) -> MagicCall:
    call = MagicCall()
    position = 0
    rest = ""
    while (match := _TOKEN.match(line, position)) is not None:
        token = match.group(1)
        if not token.startswith("-") or token == "-":
            rest = line[match.start(1) :]
            break
        position = match.end()
        if token == "--":
            rest = line[position:]
            break
        if token in ("-h", "--help"):
            call.help = True
            continue
        if token == "--rerun":
            call.options["rerun"] = True
            continue
        flag, equals, inline = token.partition("=")
        name = _FLAGS.get(flag)
        if name is None:
            raise InvalidOption(
                f"unknown option {quoted(flag)}. Options: -m/--model, --max-steps, --approve, "
                "--cell-timeout, --tools, --section, --rerun (see %agent --help)."
            )
        if equals and not inline:
            raise InvalidOption(f"option {flag} needs a value (see %agent --help).")
        if not inline:
            value_match = _TOKEN.match(line, position)
            if value_match is None:
                raise InvalidOption(f"option {flag} needs a value (see %agent --help).")
            inline = value_match.group(1)
            position = value_match.end()
        _set_option(call, flag, name, _unquote(inline))
    task_parts = [rest.strip(), (cell or "").strip()]
    call.task = "\n".join(part for part in task_parts if part)
    return call


def _set_option(call: MagicCall, flag: str, name: str, value: str) -> None:
    if name == "max_steps":
        try:
            call.options[name] = int(value)
        except ValueError:
            raise InvalidOption(f"{flag} takes a whole number, not {quoted(value)}.") from None
    elif name == "approve":
        if value not in POLICIES:
            raise InvalidOption(f"{flag} takes 'each', 'auto' or 'risky', not {quoted(value)}.")
        call.options[name] = value
    elif name == "cell_timeout":
        try:
            seconds = float(value)
        except ValueError:
            seconds = -1.0
        if not (seconds >= 0 and math.isfinite(seconds)):
            raise InvalidOption(
                f"{flag} takes a number of seconds (0: no limit), not {quoted(value)}."
            )
        call.options[name] = seconds
    elif name == "tools":
        call.tools.extend(part.strip() for part in value.split(",") if part.strip())
    elif name == "section":
        call.section = value.strip() or None
    else:
        call.options[name] = value


def _unquote(value: str) -> str:
    if value[:1] in "\"'":
        try:
            return shlex.split(value)[0]
        except (ValueError, IndexError):
            raise InvalidOption(f"unbalanced quotes in {quoted(value)}.") from None
    return value
