"""``%agent``, ``%%agent``, ``%%crew``, ``%agent_config`` and ``%agent_undo``."""

from __future__ import annotations

import shlex
from collections.abc import Awaitable, Coroutine, Generator
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import (
    Magics,
    line_cell_magic,
    line_magic,
    magics_class,
    no_var_expand,
)

from ..core.errors import InvalidOption, NotUndoable
from ..core.result import RunResult
from ..crew.crew_run import run_crew
from ..crew.spec import build_crew_spec, parse_crew_text
from ..run.config import SETTABLE, Settings
from ..run.runner import run_agent
from ..run.session import KernelSession
from ..safety.redact import Redactor
from ..text.terminal_text import quoted
from .awaitable import caller_can_await
from .magic_options import CREW_USAGE, USAGE, parse_magic_line


class PendingRun(Awaitable[Any]):
    """What ``%agent`` returns: awaiting it runs the agent and gives the final answer."""

    def __init__(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        self._coroutine = coroutine
        self._awaited = False

    def __await__(self) -> Generator[Any, None, Any]:
        self._awaited = True
        return self._coroutine.__await__()

    def __del__(self) -> None:
        if not self._awaited:  # close quietly: no "coroutine was never awaited" warning
            self._coroutine.close()

    def __repr__(self) -> str:
        return "<agent run: await it to start>"


def _usage(text: str) -> PendingRun:
    """Print the usage; awaitable like a run, since the cell awaits what the magic returns."""
    print(text)

    async def nothing() -> None:
        return None

    return PendingRun(nothing())


@magics_class
class AgentMagics(Magics):
    def __init__(self, shell: Any, session: KernelSession) -> None:
        super().__init__(shell)
        self.session = session

    @no_var_expand  # the task is prose: "{region}" or "$USD" must reach the model as typed
    @line_cell_magic
    def agent(self, line: str, cell: str | None = None) -> PendingRun:
        """Start a code agent in this kernel; it proposes cells for you to approve.

        %agent [options] TASK
        %%agent [options]        (the task is the cell body)

        Run `%agent --help` for the options.
        """
        call = parse_magic_line(line, cell)
        if call.help:
            return _usage(USAGE)
        if not call.task:
            raise InvalidOption(
                "no task given: `%agent [options] TASK`, or `%%agent` with the task in the cell."
            )
        if not caller_can_await():
            raise UsageError(
                "%agent must be at the top level of a cell, in a cell run after "
                "`%load_ext jupyter_agents` (not in the same cell). In async code, use "
                "`await jupyter_agents.Agent(...).run(task)`."
            )
        tools = [self._tool(name) for name in call.tools]
        settings = self.session.settings.resolve(**call.options)
        return PendingRun(self._run(call.task, settings, tools, call.section))

    async def _run(
        self, task: str, settings: Settings, tools: list[Any], section: str | None
    ) -> Any:
        self._redact_this_cell()
        run = await run_agent(task, settings, tools, self.session, section=section)
        return run.answer

    @no_var_expand
    @line_cell_magic
    def crew(self, line: str, cell: str | None = None) -> PendingRun:
        """Role agents that own notebook sections and hand the work to each other.

        %%crew [--model MODEL] [--approve each|auto|risky] [--max-steps N] [--cell-timeout S]
        task: ...
        process: sequential | hierarchical
        agents:
          - role: ...
            goal: ...
            section: ...

        Run `%crew --help` for the full format.
        """
        call = parse_magic_line(line)
        if call.help:
            return _usage(CREW_USAGE)
        if cell is None:
            raise InvalidOption("use %%crew, with the crew's description (YAML) in the cell.")
        if call.task or call.tools or call.section:
            raise InvalidOption(
                "%%crew takes only --model, --approve, --max-steps, --cell-timeout and --rerun "
                "on its first line; the task and the agents go in the cell (see %crew --help)."
            )
        spec = build_crew_spec(parse_crew_text(cell))
        tools = {role.role: [self._tool(name) for name in role.tools] for role in spec.roles}
        if not caller_can_await():
            raise UsageError(
                "%%crew must be in a cell run after `%load_ext jupyter_agents` (not in the "
                "same cell)."
            )
        settings = self.session.settings.resolve(**call.options)
        return PendingRun(self._run_crew(spec, settings, tools))

    async def _run_crew(self, spec: Any, settings: Settings, tools: dict[str, list[Any]]) -> Any:
        self._redact_this_cell()
        crew = await run_crew(spec, settings, self.session, tools)
        return crew.answer

    def _redact_this_cell(self) -> None:
        """The prompt cell's outputs (notices, an error, the answer) are saved: no secrets."""
        if self.session.output_rules is not None:
            self.session.output_rules.redact_current_cell(Redactor(namespace=self.shell.user_ns))

    def _tool(self, name: str) -> Any:
        tool = self.shell.user_ns.get(name)
        if not callable(tool):
            raise InvalidOption(
                f"--tools: there is no function named {quoted(name)} in your namespace."
            )
        return tool

    @line_magic
    def agent_undo(self, line: str) -> PendingRun:
        """Undo the latest agent run of this kernel: the names it bound and the objects it
        changed go back to how they were before it, and its cells leave the notebook.

        %agent_undo              undo it, and list what could not be undone
        %agent_undo --dry-run    only list what would be undone and what cannot be
        """
        options = line.split()
        unknown = [option for option in options if option != "--dry-run"]
        if unknown:
            raise InvalidOption(
                f"unknown option {unknown[0]!r}: use `%agent_undo` or `%agent_undo --dry-run`."
            )
        run = self.session.undo.latest()
        last = self.session.last
        if run is None and last is not None and last.undone:  # Run All over an undone run
            return _usage(f"The latest run ({last.run_id}) is undone already: nothing to undo.")
        if run is None:
            raise NotUndoable(
                "no agent run of this kernel can be undone (none ran since the kernel started, "
                "or undo_depth is 0)."
            )
        if not caller_can_await():
            raise UsageError("%agent_undo must be at the top level of a cell.")
        return PendingRun(_print_undo(run, dry_run="--dry-run" in options))

    @no_var_expand
    @line_magic
    def agent_config(self, line: str) -> None:
        """Show or set the defaults for %agent in this kernel.

        %agent_config                                   show the settings and where each comes from
        %agent_config model=openai/gpt-4o-mini max_steps=5
        %agent_config --reset                           forget the values set here
        """
        store = self.session.settings
        line = line.strip()
        if line == "--reset":
            store.overrides.clear()
        elif line:
            try:
                tokens = shlex.split(line)
            except ValueError as error:
                raise InvalidOption(f"could not read {quoted(line)}: {error}.") from None
            assignments = {}
            for token in tokens:
                name, equals, value = token.partition("=")
                if not equals:
                    raise InvalidOption(
                        f"expected name=value, got {quoted(token)}; e.g. "
                        "`%agent_config model=openai/gpt-4o-mini max_steps=5`."
                    )
                assignments[name.strip()] = value
            store.set_from_strings(assignments)
        print(format_settings(store.resolve()))


async def _print_undo(run: RunResult, dry_run: bool) -> None:
    print(await run.undo(dry_run=dry_run))


def format_settings(settings: Settings) -> str:
    lines = [
        "jupyter-agents settings (the first that sets a value wins: "
        "option > command line (jupyter agents run) > %agent_config > config file > "
        "environment > default)"
    ]
    for name in SETTABLE:
        value = settings.values[name]
        shown = "(not set)" if value is None else str(value)
        lines.append(f"  {name:<18} {shown:<36} {settings.sources[name]}")
    return "\n".join(lines)
