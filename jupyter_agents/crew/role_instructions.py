"""What a role is told: its part of the system prompt, and the message that starts its turn.

Context discipline is the point here. A role sees the team's task, its own goal, the notes
handed to it, the kernel's variables, and *summaries* of the sections before it: a few lines
each (who, the note, the first line of each cell that ran), never their full transcripts.
So the prompt for a role's first step stays about the same size however long the earlier
sections were.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .. import prompts
from ..agent.instructions import format_notebook, system_prompt
from ..kernel.namespace_summary import summarize_namespace
from ..text.clipping import squeezed
from .spec import CrewSpec, RoleSpec

#: Sections summarised in full (older ones get one line each).
DETAILED_SECTIONS = 4
MAX_NOTE_CHARS = 600
MAX_CELLS_LISTED = 6
MAX_LINE_CHARS = 100
#: Notes handed to a role that it sees (the most recent ones).
MAX_NOTES = 4


@dataclass
class SectionSummary:
    """What the crew did in one section so far."""

    title: str
    role: str
    notes: list[str] = field(default_factory=list)
    cells: list[str] = field(default_factory=list)


def role_system_prompt(
    spec: CrewSpec, role: RoleSpec, tools: Sequence[Callable[..., Any]] = ()
) -> str:
    """The base system prompt plus who this role is and how its turn ends."""
    others = [r for r in spec.roles if r.role != role.role]
    if spec.process == "hierarchical":
        ending = prompts.render("role_report").strip()
    else:
        following = spec.roles[spec.roles.index(role) + 1 :]
        next_role = repr(following[0].role) if following else "none: you are the last role"
        ending = prompts.render("role_handoff", next=next_role).strip()
    block = prompts.render(
        "role",
        role=role.role,
        backstory=f" {role.backstory}" if role.backstory else "",
        goal=role.goal,
        section=role.section_title,
        others=", ".join(f"{r.role} ({r.section_title})" for r in others) or "none",
        ending=ending,
    )
    return system_prompt(tools) + "\n" + block.rstrip()


def role_task_message(
    spec: CrewSpec,
    role: RoleSpec,
    *,
    notes: Sequence[str],
    instructions: str,
    namespace: Mapping[str, Any],
    hidden: Sequence[str],
    sections: Sequence[SectionSummary],
    cells_above: Sequence[Mapping[str, Any]] | None,
    redact: Callable[[str], str],
) -> str:
    """The first message of a role's turn."""
    shown_notes = [squeezed(note, MAX_NOTE_CHARS) for note in notes[-MAX_NOTES:]]
    above = cells_above_text(cells_above)
    return prompts.render(
        "role_task",
        task=spec.task,
        goal=role.goal,
        instructions=f"Instructions from the manager: {instructions}\n" if instructions else "",
        notes="\n".join(f"- {note}" for note in shown_notes) or "(none yet)",
        state=summarize_namespace(namespace, hidden, redact=redact),
        sections=redact(summarize_sections(sections)),
        recent=redact(above),
    ).strip()


def summarize_sections(sections: Sequence[SectionSummary]) -> str:
    """A few lines per section; older sections one line each."""
    if not sections:
        return "(none yet)"
    lines = []
    older = len(sections) - DETAILED_SECTIONS
    for index, section in enumerate(sections):
        note = squeezed(section.notes[-1], MAX_NOTE_CHARS) if section.notes else "(no note)"
        if index < older:
            lines.append(f"## {section.title} ({section.role}): {squeezed(note, 150)}")
            continue
        lines.append(f"## {section.title} ({section.role})")
        lines.append(f"Note: {note}")
        shown = section.cells[-MAX_CELLS_LISTED:]
        skipped = len(section.cells) - len(shown)
        lines.append(
            f"Cells that ran: {len(section.cells)}"
            + (f" ({skipped} older not listed)" if skipped else "")
        )
        lines.extend(f"  - {_first_line(cell)}" for cell in shown)
    return "\n".join(lines)


def cell_lines(codes: Sequence[str]) -> str:
    """The first line of each cell, for the manager's reports."""
    return "\n".join(f"- {_first_line(code)}" for code in codes) or "(no cells ran)"


def _first_line(code: str) -> str:
    lines = [line for line in code.strip().splitlines() if line.strip()]
    first = lines[0] if lines else ""
    more = f"  (+{len(lines) - 1} lines)" if len(lines) > 1 else ""
    return squeezed(first, MAX_LINE_CHARS) + more


def cells_above_text(cells: Sequence[Mapping[str, Any]] | None) -> str:
    """The notebook's cells above the crew, for a role's or the manager's first message."""
    if cells is None:
        return ""
    return "Notebook cells above the crew (oldest first):\n" + format_notebook(cells)
