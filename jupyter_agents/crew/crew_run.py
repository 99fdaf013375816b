"""Role agents that own notebook sections and hand the work to each other.

A crew is a run made of turns. Each turn is one role working in its section with the ordinary
loop (:func:`~jupyter_agents.agent.loop.run_turn`): same approval, same kernel, same widget, its own
prompt. Between turns the crew decides who is next:

- ``sequential``: the listed order; a role may ``handoff`` the work to any role (sending it
  back, say), and one that finishes without handing off passes its final answer on as the note.
- ``hierarchical``: a manager model, which writes no code, delegates sections to roles, reads
  their reports, may send a section back, and gives the final answer.

Either way a bound on handoffs stops roles passing the work back and forth forever.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .. import prompts
from ..agent.loop import TurnOutcome, run_turn
from ..core.errors import InvalidOption, JupyterAgentsError, ReplyFormatError, UnknownHandoffTarget
from ..core.events import (
    NoteShown,
    ReplyShown,
    SectionStarted,
    StepStarted,
    StreamRestarted,
    TextStreamed,
    WorkHandedOn,
)
from ..core.observation import CHARS_PER_TOKEN
from ..core.result import RunResult, RunStatus
from ..core.steps import Memory, Step
from ..kernel.namespace_summary import summarize_namespace
from ..kernel.turn_end import NO_ANSWER
from ..run.config import Settings, SettingsStore
from ..run.python_api import Agent, current_shell
from ..run.run_context import RunContext
from ..run.runner import bind_tools, new_result, run_context
from ..run.session import KernelSession
from ..text.terminal_text import quoted
from .manager import ManagerDecision, ManagerReplyError, parse_manager_reply
from .role_instructions import (
    SectionSummary,
    cell_lines,
    cells_above_text,
    role_system_prompt,
    role_task_message,
)
from .spec import CrewSpec, CrewSpecError, RoleSpec, build_crew_spec

#: Manager replies in a row without a readable decision before the crew gives up.
MAX_UNREADABLE_DECISIONS = 3


class CrewStalled(JupyterAgentsError):
    """The roles kept passing the work back and forth past the handoff bound."""


@dataclass
class TurnRecord:
    """One role's turn: what it started from, how it ended, what it passed on."""

    role: str
    section: str
    received: str
    status: RunStatus
    note: str
    steps: list[Step] = field(default_factory=list)


@dataclass
class CrewResult(RunResult):
    """A crew run: the usual result (all steps, answer, status) plus its turns."""

    process: str = "sequential"
    roles: tuple[str, ...] = ()
    turns: list[TurnRecord] = field(default_factory=list)


async def run_crew(
    spec: CrewSpec,
    settings: Settings,
    session: KernelSession,
    tools: dict[str, list[Callable[..., Any]]] | None = None,
) -> CrewResult:
    """Run the crew on its task in ``session``'s kernel."""
    tools = tools or {}
    crew = new_result(CrewResult, spec.task, settings, process=spec.process, roles=spec.role_names)
    session.require_final_answer(crew=True)
    for role_tools in tools.values():
        bind_tools(session.shell.user_ns, role_tools)
    async with run_context(session, crew, settings, crew_spec=spec.as_record()) as context:
        if context.recorded is not None:
            return crew
        turns = CrewTurns(context, spec, crew, tools)
        await context.drive(turns.run())
    return crew


class CrewTurns:
    """Decides who works next and runs their turns."""

    def __init__(
        self,
        context: RunContext,
        spec: CrewSpec,
        crew: CrewResult,
        tools: dict[str, list[Callable[..., Any]]],
    ) -> None:
        self.context = context
        self.spec = spec
        self.crew = crew
        self.tools = tools
        self.sections: dict[str, SectionSummary] = {}
        self.notes: dict[str, list[str]] = {role.role: [] for role in spec.roles}
        self.cells_above: list[Any] | None = None
        self.crew_approved = False
        #: Roles whose later cells the user approved with "Approve all": it holds for every
        #: turn of that role, also when the work comes back to it.
        self.roles_approved: set[str] = set()
        self.handoffs = 0

    async def run(self) -> None:
        titles = [role.section_title for role in self.spec.roles]
        taken = await self.context.recorder.sections_present(titles)
        if taken:
            raise CrewSpecError(
                f"the notebook already has a section {quoted(taken[0])}: give that role another "
                "`section:` title, or delete the old section (its heading and cells) first."
            )
        self.cells_above = await self.context.recorder.context_cells()
        for role in self.spec.roles:
            if role.model:
                self.context.recorder.use_model(role.role, role.model)
        if self.spec.process == "hierarchical":
            await self.hierarchical()
        else:
            await self.sequential()

    # -- the two processes ---------------------------------------------------------------------

    async def sequential(self) -> None:
        roles = self.spec.roles
        index = 0
        while True:
            role = roles[index]
            turn, outcome = await self.turn(role)
            if outcome.status is RunStatus.STOPPED:
                self.crew.finish(RunStatus.STOPPED)
                return
            if outcome.handoff is not None:
                self.count_handoff(role.role, outcome.handoff.to)
                self.notes[outcome.handoff.to].append(f"From {role.role}: {turn.note}")
                index = self.spec.role_names.index(outcome.handoff.to)
                continue
            if index == len(roles) - 1:
                self.crew.answer = outcome.answer
                answered = (RunStatus.COMPLETED, RunStatus.ANSWERED_WITHOUT_CODE)
                done = outcome.status in answered
                self.crew.finish(outcome.status if done else RunStatus.MAX_STEPS)
                return
            index += 1
            self.notes[roles[index].role].append(f"From {role.role}: {turn.note}")

    async def hierarchical(self) -> None:
        manager = self.context.model(self.spec.manager_model, role="manager")
        messages = [
            {"role": "system", "content": self.manager_prompt()},
            {"role": "user", "content": self.manager_task()},
        ]
        for number in itertools.count(1):
            decision, reply = await self.ask_manager(manager, messages, number)
            if decision.action == "finish":
                self.crew.answer = decision.answer
                self.crew.finish(RunStatus.COMPLETED)
                return
            self.count_handoff("the manager", decision.role)
            role = self.spec.role(decision.role)
            assert role is not None  # parse_manager_reply checked it
            turn, outcome = await self.turn(role, instructions=decision.instructions)
            if outcome.status is RunStatus.STOPPED:
                self.crew.finish(RunStatus.STOPPED)
                return
            messages.append({"role": "assistant", "content": reply})
            messages.append({"role": "user", "content": self.report(turn)})

    # -- one turn --------------------------------------------------------------------------------

    async def turn(self, role: RoleSpec, instructions: str = "") -> tuple[TurnRecord, TurnOutcome]:
        """One role working in its section until it finishes, hands off, or is stopped."""
        context = self.context
        section = role.section_title
        context.events.emit(SectionStarted(section, role.role))
        await context.recorder.start_section(section, role.role)
        received = self.notes[role.role][-1] if self.notes[role.role] else ""
        memory = Memory(
            system=role_system_prompt(self.spec, role, self.tools.get(role.role, [])),
            task=role_task_message(
                self.spec,
                role,
                notes=self.notes[role.role],
                instructions=instructions,
                namespace=context.shell.user_ns,
                hidden=list(getattr(context.shell, "user_ns_hidden", {})),
                sections=list(self.sections.values()),
                cells_above=self.cells_above,
                redact=context.redact,
            ),
            context_chars=context.settings.context_tokens * CHARS_PER_TOKEN,
        )
        approved_before = self.crew_approved or role.role in self.roles_approved
        gate = context.gate("auto" if approved_before else None)
        parts = context.parts(
            memory,
            gate,
            model=role.model,
            max_steps=role.max_steps,
            role=role.role,
            roles=self.spec.role_names,
        )
        first = len(self.crew.steps)
        outcome = await run_turn(parts, self.crew.steps)
        self.crew_approved = self.crew_approved or gate.crew_approved
        if gate.policy == "auto" and not approved_before:  # "Approve all" for this role
            self.roles_approved.add(role.role)
        steps = self.crew.steps[first:]
        note = outcome.handoff.note if outcome.handoff else _as_note(outcome.answer)
        turn = TurnRecord(role.role, section, received or instructions, outcome.status, note, steps)
        if outcome.handoff is not None:
            context.events.emit(WorkHandedOn(f"{role.role} → {outcome.handoff.to}: {note}"))
        elif note:
            context.events.emit(WorkHandedOn(f"{role.role} reports: {note}"))
        self.crew.turns.append(turn)
        summary = self.sections.setdefault(section, SectionSummary(section, role.role))
        summary.notes.append(note)
        summary.cells.extend(
            step.code_run
            for step in steps
            # A handoff to an unknown role is refused before its cell runs.
            if step.code_run is not None and step.error != UnknownHandoffTarget.__name__
        )
        return turn, outcome

    def count_handoff(self, source: str, target: str) -> None:
        self.handoffs += 1
        limit = self.spec.handoff_limit
        if self.handoffs > limit:
            raise CrewStalled(
                f"the crew stopped after {limit} handoffs ({source} -> {target} was one too "
                "many): the work kept going back and forth. Raise `max_handoffs:` in the crew "
                "spec, or make the roles' goals more distinct."
            )

    # -- the manager -------------------------------------------------------------------------------

    async def ask_manager(
        self, manager: Any, messages: list[dict[str, str]], number: int
    ) -> tuple[ManagerDecision, str]:
        emit = self.context.events.emit
        corrections: list[dict[str, str]] = []
        for _ in range(MAX_UNREADABLE_DECISIONS):
            emit(StepStarted(number, title=f"Manager · decision {number}"))
            on_text = lambda text: emit(TextStreamed(text))  # noqa: E731
            reply = await manager.complete(messages + corrections, on_text=on_text)
            self.crew.add_usage(reply.usage, reply.seconds)
            self.context.control.check()
            try:
                decision = parse_manager_reply(reply.text, self.spec.role_names)
            except ManagerReplyError as problem:
                corrections += [
                    {"role": "assistant", "content": reply.text},
                    {"role": "user", "content": self.manager_correction(str(problem))},
                ]
                emit(StreamRestarted(f"Unreadable decision ({problem}); asking again."))
                continue
            parts = (decision.thought, "→ " + decision.describe())
            emit(ReplyShown("\n".join(part for part in parts if part)))
            emit(NoteShown(f"{reply.usage.describe()}"))
            return decision, reply.text
        raise ReplyFormatError(
            f"the manager replied {MAX_UNREADABLE_DECISIONS} times without a valid decision. "
            "Try again, or set a stronger `manager_model:` in the crew spec."
        )

    def manager_prompt(self) -> str:
        roles = "\n".join(
            f'- {role.role} (section "{role.section_title}"): {role.goal}'
            for role in self.spec.roles
        )
        return prompts.render("manager_system", roles=roles).strip()

    def manager_task(self) -> str:
        shell = self.context.shell
        recent = cells_above_text(self.cells_above)
        return prompts.render(
            "manager_task",
            task=self.spec.task,
            state=summarize_namespace(
                shell.user_ns,
                list(getattr(shell, "user_ns_hidden", {})),
                redact=self.context.redact,
            ),
            recent=self.context.redact(recent),
        ).strip()

    def report(self, turn: TurnRecord) -> str:
        codes = [step.code_run for step in turn.steps if step.code_run is not None]
        return prompts.render(
            "manager_report",
            role=turn.role,
            section=turn.section,
            status=_status_words(turn.status),
            report=turn.note or "(no report)",
            cells=cell_lines(codes),
        ).strip()

    def manager_correction(self, problem: str) -> str:
        return prompts.render(
            "manager_invalid", problem=problem, roles=", ".join(self.spec.role_names)
        ).strip()


class Crew:
    """Role agents working one task together: ``await Crew([...]).run("task")``.

    ``agents`` are :class:`~jupyter_agents.Agent` objects with a ``role`` and a ``goal``
    (and optionally ``section``, ``backstory``, ``model``, ``tools``, ``max_steps``).
    Settings not given here come from ``%agent_config`` and the other usual places.
    """

    def __init__(
        self,
        agents: Sequence[Any],
        process: str = "sequential",
        *,
        manager_model: str | None = None,
        max_handoffs: int | None = None,
        model: str | None = None,
        approve: str | None = None,
        max_steps: int | None = None,
        **settings: Any,
    ) -> None:
        self.agents = list(agents)
        if not self.agents or not all(
            isinstance(agent, Agent) and agent.role for agent in self.agents
        ):
            raise InvalidOption(
                "a Crew needs a list of Agent(role=..., goal=...) objects, at least one."
            )
        self.process = process
        self.manager_model = manager_model
        self.max_handoffs = max_handoffs
        self.options = {"model": model, "approve": approve, "max_steps": max_steps, **settings}
        SettingsStore().check(self.options)
        self.spec("(checked when the crew is made)")  # bad process, duplicate roles: now

    def spec(self, task: str) -> CrewSpec:
        return build_crew_spec(
            {
                "process": self.process,
                "manager_model": self.manager_model,
                "max_handoffs": self.max_handoffs,
                "agents": [agent.role_entry() for agent in self.agents],
            },
            task=task,
        )

    async def run(self, task: str) -> CrewResult:
        spec = self.spec(task)
        session = KernelSession.for_shell(current_shell())
        settings = session.settings.resolve(**self.options)
        tools = {agent.role: list(agent.tools) for agent in self.agents}
        return await run_crew(spec, settings, session, tools)


def _as_note(answer: Any) -> str:
    if answer is NO_ANSWER or answer is None:
        return ""
    return answer if isinstance(answer, str) else repr(answer)


def _status_words(status: RunStatus) -> str:
    return {
        RunStatus.COMPLETED: "finished",
        RunStatus.HANDED_OFF: "finished",
        RunStatus.MAX_STEPS: "stopped at its step limit",
        RunStatus.ANSWERED_WITHOUT_CODE: "answered without code",
    }.get(status, str(status))
